"""Network fidelity: activity statistics of a population, reference against candidate.

Recurrent networks diverge spike by spike even in float (chaos), so beside the per-neuron
coincidence factor this module compares statistics of the activity: the distributions of
firing rates, ISI coefficients of variation and pairwise spike-count correlations (two-sample
Kolmogorov-Smirnov distance), the spectrum of the population rate, and Gamma in successive
windows (when divergence sets in). Each comparison is meant to be read beside the same one for
a "floor" run (the float model perturbed by one LSB per step), which shows how far the float
model itself moves under a perturbation of that size.

All functions are pure and take, per population, a tuple of sorted arrays of spike times (s),
one per neuron, as ``neuromorph.execution.trace.Trace.spike_trains``. Times, durations and bins
are in s, rates in Hz. Statistics that are undefined (a CV from fewer than ``min_spikes_cv``
spikes, a correlation with a silent neuron, a spectrum without power in the band) are ``None``
and the dataclass's ``undefined`` mapping says why; ``to_dict()`` never contains NaN or Infinity.

The measures follow Elephant (``elephant.statistics.cv`` of ``elephant.statistics.isi``,
``elephant.spike_train_correlation.correlation_coefficient`` of an
``elephant.conversion.BinnedSpikeTrain``) but are vectorised over neurons and sampled pairs:
Elephant builds one ``neo.SpikeTrain`` per neuron and the full N x N correlation matrix
(about 6 s and 200 MB at 5,000 neurons). The tests check equality with Elephant.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np
import scipy.sparse

from ..errors import InputError
from ..fidelity import coincidence

#: Elephant's binning tolerance: a spike within this fraction of a bin below an edge counts in
#: the next bin (spike times on a dt grid are otherwise split by rounding).
BIN_TOLERANCE = 1e-8


@dataclass(frozen=True)
class StatisticsConfig:
    """Settings of the network statistics (SI units).

    Attributes
    ----------
    coincidence_window_s : float
        Half-width of the coincidence window of Gamma.
    correlation_bin_s : float
        Bin of the spike counts whose pairwise Pearson correlation is taken.
    max_pairs : int
        Correlations are taken over all pairs if there are at most this many, else over a
        uniform sample of this many distinct pairs (seeded by ``seed``).
    rate_bin_s : float
        Bin of the population rate, rounded to a whole number of time steps (at least one).
    band_hz : (float, float)
        Frequency band in which the population-rate spectrum's peak is sought (inclusive).
    welch_segment_s : float
        Segment length of Welch's method (frequency resolution ``1 / welch_segment_s``).
    divergence_window_s : float
        Width of the successive windows of the windowed Gamma.
    max_divergence_neurons : int
        Windowed Gamma averages over at most this many neurons (a seeded sample).
    divergence_threshold : float
        Divergence onset: start of the first window whose mean Gamma falls below this.
    min_spikes_cv : int
        Fewest spikes for an ISI CV (3: two intervals; a single interval always gives 0).
    seed : int
        Seed of the pair and neuron samples (the same for candidate and floor).
    """

    coincidence_window_s: float = 2e-3
    correlation_bin_s: float = 5e-3
    max_pairs: int = 2000
    rate_bin_s: float = 1e-3
    band_hz: tuple = (20.0, 150.0)
    welch_segment_s: float = 0.25
    divergence_window_s: float = 0.05
    max_divergence_neurons: int = 500
    divergence_threshold: float = 0.5
    min_spikes_cv: int = 3
    seed: int = 0


def check_config(config: StatisticsConfig) -> None:
    """Raise :class:`InputError` naming the first setting that is out of range."""
    positive = ("coincidence_window_s", "correlation_bin_s", "rate_bin_s", "welch_segment_s",
                "divergence_window_s")
    for name in positive:
        if not getattr(config, name) > 0:
            raise InputError(f"must be positive, got {getattr(config, name)}", "StatisticsConfig", name)
    for name in ("max_pairs", "max_divergence_neurons"):
        if int(getattr(config, name)) < 1:
            raise InputError(f"must be at least 1, got {getattr(config, name)}", "StatisticsConfig", name)
    if int(config.min_spikes_cv) < 3:
        raise InputError("a CV needs at least 3 spikes (2 intervals)", "StatisticsConfig", "min_spikes_cv")
    low, high = config.band_hz
    if not 0 <= low < high:
        raise InputError(f"need 0 <= low < high, got {config.band_hz}", "StatisticsConfig", "band_hz")


# --------------------------------------------------------------------------- results


def _plain(value):
    """Dataclasses, tuples, dicts and numpy scalars as JSON data; non-finite floats are a bug."""
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"non-finite value {value} in a statistics result")
        return float(value)
    return value


def _optional(values) -> tuple:
    """Floats with NaN replaced by None."""
    return tuple(None if not np.isfinite(v) else float(v) for v in np.asarray(values, float))


class _Plain:
    def to_dict(self) -> dict:
        """Plain, JSON-serialisable data (None where a statistic is undefined)."""
        return _plain(self)


@dataclass(frozen=True)
class Spectrum(_Plain):
    """Population rate and its Welch power spectral density.

    ``population_rate_hz[k]`` is the spike count of all neurons in ``[k bin_s, (k+1) bin_s)``
    divided by ``n_neurons * bin_s``; ``power`` is its one-sided PSD (Hz^2/Hz), mean removed.
    ``peak_at_band_edge``: the peak is the band's first or last frequency, so the spectrum
    probably rises beyond the band and the peak frequency says little (widen the band).
    """

    bin_s: float
    population_rate_hz: tuple
    frequencies_hz: tuple
    power: tuple
    band_hz: tuple
    peak_frequency_hz: float | None
    peak_power: float | None
    peak_at_band_edge: bool
    undefined: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainStatistics(_Plain):
    """Statistics of one set of spike trains of a population.

    ``rates_hz`` and ``cv`` are per neuron; ``correlations`` per sampled pair, in the order of
    :attr:`PopulationStatistics.pairs`. ``cv`` is ``std(ISI) / mean(ISI)`` (population std, as
    ``elephant.statistics.cv``); a correlation is Pearson's of the binned spike counts.
    """

    label: str
    n_neurons: int
    n_spikes: int
    mean_rate_hz: float
    rates_hz: tuple
    cv: tuple
    correlations: tuple
    spectrum: Spectrum
    undefined: dict = field(default_factory=dict)


@dataclass(frozen=True)
class KSDistance(_Plain):
    """Two-sample Kolmogorov-Smirnov distance ``sup_x |F_ref(x) - F_other(x)|`` and its p-value."""

    statistic: float | None
    p_value: float | None
    n_reference: int
    n_other: int
    undefined: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WindowedGamma(_Plain):
    """Mean Gamma over neurons in successive windows ``[starts_s[k], starts_s[k] + window_s)``.

    ``active_neurons[k]`` neurons of the ``neurons_sampled`` spiked in window k in either train
    and have a defined Gamma; the mean is over them (a neuron silent in both is left out, so
    sparse activity does not read as agreement). ``onset_s``: start of the first window whose
    mean falls below ``threshold``.

    Cutting trains at window edges loses the coincidences across an edge, a fraction
    ``Delta / (2 W)`` of the chance level (``Delta`` the coincidence window, ``W`` the window),
    so for independent trains ``E[Gamma] ~ -Delta / (2 W) * 2 nu Delta / (1 - 2 nu Delta)``
    with ``nu`` the candidate's rate within the window: -0.07 for one spike each in 10 ms
    (Delta 2 ms), -0.002 in 50 ms, growing quickly as ``2 nu Delta`` nears 1. Candidate and
    floor share this bias: compare them with each other, not with 0, and keep ``W >> Delta``.
    """

    window_s: float
    starts_s: tuple
    gamma: tuple
    active_neurons: tuple
    neurons_sampled: int
    threshold: float
    onset_s: float | None
    undefined: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison(_Plain):
    """One set of spike trains (candidate or floor) against the reference.

    ``gamma_mean`` and ``gamma_min`` are over neurons with a defined Gamma. Relative
    differences are ``(other - reference) / reference``.
    """

    label: str
    gamma_mean: float | None
    gamma_min: float | None
    gamma_per_neuron: tuple
    ks_rates: KSDistance
    ks_cv: KSDistance
    ks_correlations: KSDistance
    mean_rate_relative_difference: float | None
    peak_frequency_relative_difference: float | None
    windowed_gamma: WindowedGamma
    undefined: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PopulationStatistics(_Plain):
    """Statistics of one population: reference, candidate and optional floor, and comparisons."""

    name: str
    duration_s: float
    dt_s: float
    config: StatisticsConfig
    pairs: tuple
    reference: TrainStatistics
    candidate: TrainStatistics
    floor: TrainStatistics | None
    candidate_vs_reference: Comparison
    floor_vs_reference: Comparison | None

    def summary(self) -> list[dict]:
        """Rows ``{"statistic", "candidate", "floor"}`` for a table (None where undefined/absent)."""
        def row(name, get):
            floor = get(self.floor_vs_reference) if self.floor_vs_reference is not None else None
            return {"statistic": name, "candidate": get(self.candidate_vs_reference), "floor": floor}
        return [
            row("Gamma mean", lambda c: c.gamma_mean),
            row("Gamma worst", lambda c: c.gamma_min),
            row("mean rate rel. diff", lambda c: c.mean_rate_relative_difference),
            row("peak frequency rel. diff", lambda c: c.peak_frequency_relative_difference),
            row("KS rates", lambda c: c.ks_rates.statistic),
            row("KS CV", lambda c: c.ks_cv.statistic),
            row("KS correlations", lambda c: c.ks_correlations.statistic),
            row("divergence onset (s)", lambda c: c.windowed_gamma.onset_s),
        ]


# --------------------------------------------------------------------------- inputs


def check_trains(trains, duration: float, label: str) -> tuple:
    """The spike trains as a tuple of float arrays; :class:`InputError` if unsorted or outside the run."""
    trains = tuple(np.asarray(t, dtype=float).ravel() for t in trains)
    if not trains:
        raise InputError("a population needs at least one neuron", label)
    for i, times in enumerate(trains):
        if times.size and (np.any(np.diff(times) < 0) or times[0] < 0 or times[-1] > duration * (1 + 1e-12)):
            raise InputError(f"spike times must be sorted and inside [0, {duration}] s", label, f"neuron {i}")
    return trains


def _check_run(duration: float, dt: float) -> None:
    if not duration > 0 or not dt > 0 or dt > duration:
        raise InputError(f"need 0 < dt <= duration, got dt={dt}, duration={duration}")


# --------------------------------------------------------------------------- measures


def firing_rates(trains, duration: float) -> np.ndarray:
    """Rate of each neuron (Hz): its spike count over ``duration`` (s)."""
    return np.array([t.size for t in trains], dtype=float) / duration


def isi_cv(trains, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation of each neuron's inter-spike intervals; NaN below ``min_spikes``.

    ``CV = sqrt(mean((ISI - mean ISI)^2)) / mean(ISI)`` (population standard deviation, as
    ``elephant.statistics.cv(elephant.statistics.isi(train))``), two-pass for accuracy.
    """
    counts = np.array([t.size for t in trains])
    owner = np.repeat(np.arange(len(trains)), counts)
    same = owner[1:] == owner[:-1]
    intervals = np.diff(np.concatenate(trains))[same] if counts.sum() > 1 else np.empty(0)
    ids = owner[1:][same]
    n_intervals = np.bincount(ids, minlength=len(trains)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ids, intervals, minlength=len(trains)) / n_intervals
        variance = np.bincount(ids, (intervals - mean[ids]) ** 2, minlength=len(trains)) / n_intervals
        cv = np.sqrt(variance) / mean
    return np.where(counts >= min_spikes, cv, np.nan)


def bin_indices(times: np.ndarray, bin_s: float) -> np.ndarray:
    """Bin of each time, ``floor(t / bin_s)``, a time within ``BIN_TOLERANCE`` bins of the next edge
    counting in the next bin (Elephant's ``round_binning_errors``)."""
    scaled = np.asarray(times, float) / bin_s
    index = np.floor(scaled).astype(np.int64)
    index[scaled % 1 >= 1 - BIN_TOLERANCE] += 1
    return index


def n_bins(duration: float, bin_s: float) -> int:
    """Whole bins in ``[0, duration)`` (spikes in a trailing partial bin are dropped, as in Elephant)."""
    return int(bin_indices(np.array([duration]), bin_s)[0])


def binned_counts(trains, bin_s: float, duration: float) -> scipy.sparse.csr_matrix:
    """Spike counts, neurons x bins, as Elephant's ``BinnedSpikeTrain(t_start=0, t_stop=duration)``."""
    bins = n_bins(duration, bin_s)
    counts = np.array([t.size for t in trains])
    rows = np.repeat(np.arange(len(trains)), counts)
    columns = bin_indices(np.concatenate(trains), bin_s) if counts.sum() else np.empty(0, np.int64)
    keep = columns < bins
    return scipy.sparse.csr_matrix((np.ones(keep.sum()), (rows[keep], columns[keep])), shape=(len(trains), bins))


def sample_pairs(n_neurons: int, max_pairs: int, seed: int) -> np.ndarray:
    """All pairs ``i < j`` if at most ``max_pairs``, else that many distinct pairs drawn uniformly.

    Returns an int array (P, 2), rows sorted by linear index of the upper triangle.
    """
    total = n_neurons * (n_neurons - 1) // 2
    if total <= max_pairs:
        return np.stack(np.triu_indices(n_neurons, k=1), axis=1)
    linear = np.sort(np.random.default_rng([seed, 0]).choice(total, size=max_pairs, replace=False))
    return triangle_pairs(linear, n_neurons)


def triangle_pairs(linear: np.ndarray, n: int) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of linear indices into the row-major strict upper triangle of n x n."""
    linear = np.asarray(linear, dtype=np.int64)
    # row i starts at i (2n - i - 1) / 2; invert that quadratic (exact at row boundaries up to n = 3e6, tested)
    i = n - 2 - np.floor(np.sqrt(-8.0 * linear + 4.0 * n * (n - 1) - 7) / 2 - 0.5).astype(np.int64)
    row_start = i * (2 * n - i - 1) // 2
    return np.stack([i, linear - row_start + i + 1], axis=1)


def pair_correlations(counts: scipy.sparse.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """Pearson correlation of the binned counts of each pair; NaN where a neuron's counts are constant.

    ``C_ij = (b_i . b_j - n_i n_j / L) / sqrt((b_i . b_i - n_i^2 / L) (b_j . b_j - n_j^2 / L))``
    with ``n_i`` the total count and ``L`` the number of bins, as Elephant's ``_covariance_sparse``.
    """
    length = counts.shape[1]
    totals = np.asarray(counts.sum(axis=1)).ravel()
    squares = np.asarray(counts.multiply(counts).sum(axis=1)).ravel()
    variance = squares - totals ** 2 / length
    left, right = counts[pairs[:, 0]], counts[pairs[:, 1]]
    products = np.asarray(left.multiply(right).sum(axis=1)).ravel()
    covariance = products - totals[pairs[:, 0]] * totals[pairs[:, 1]] / length
    denominator = variance[pairs[:, 0]] * variance[pairs[:, 1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, covariance / np.sqrt(np.where(denominator > 0, denominator, 1)), np.nan)


def population_rate(trains, bin_s: float, duration: float) -> np.ndarray:
    """Population rate (Hz per neuron) in whole bins: ``counts / (n_neurons * bin_s)``."""
    bins = n_bins(duration, bin_s)
    index = np.concatenate([bin_indices(t, bin_s) for t in trains]).astype(np.int64)
    return np.bincount(index, minlength=bins)[:bins] / (len(trains) * bin_s)


def rate_spectrum(trains, duration: float, dt: float, config: StatisticsConfig) -> Spectrum:
    """Population rate in bins of ``round(rate_bin_s / dt)`` steps and its Welch PSD with its band peak.

    ``scipy.signal.welch`` (Hann window, segments of ``welch_segment_s``, half overlap, mean
    removed per segment, one-sided density); the peak is the largest PSD value with frequency in
    ``band_hz`` (inclusive), undefined if no frequency of the grid lies in the band or the band
    has no power.
    """
    bin_s = max(1, round(config.rate_bin_s / dt)) * dt
    rate = population_rate(trains, bin_s, duration)
    undefined = {}
    if rate.size < 2:
        frequencies, power = np.empty(0), np.empty(0)
    else:
        segment = int(min(rate.size, max(2, round(config.welch_segment_s / bin_s))))
        import scipy.signal  # here: importing it costs 0.2 s and 30,000 objects every collection walks

        frequencies, power = scipy.signal.welch(rate, fs=1.0 / bin_s, nperseg=segment)
    low, high = config.band_hz
    in_band = np.flatnonzero((frequencies >= low) & (frequencies <= high))
    peak_frequency = peak_power = None
    at_edge = False
    if in_band.size == 0:
        resolution = f"{frequencies[1]:g} Hz" if frequencies.size > 1 else "no spectrum: run shorter than 2 bins"
        undefined["peak_frequency_hz"] = f"no frequency of the spectrum lies in {low:g}-{high:g} Hz ({resolution})"
    elif not power[in_band].max() > 0:
        undefined["peak_frequency_hz"] = f"no power in {low:g}-{high:g} Hz (constant population rate)"
    else:
        peak = in_band[np.argmax(power[in_band])]
        peak_frequency, peak_power = float(frequencies[peak]), float(power[peak])
        at_edge = bool(peak in (in_band[0], in_band[-1]))
    return Spectrum(bin_s=float(bin_s), population_rate_hz=tuple(rate.tolist()),
                    frequencies_hz=tuple(frequencies.tolist()), power=tuple(power.tolist()),
                    band_hz=(float(low), float(high)), peak_frequency_hz=peak_frequency,
                    peak_power=peak_power, peak_at_band_edge=at_edge, undefined=undefined)


def gamma(reference: np.ndarray, candidate: np.ndarray, window: float, duration: float) -> tuple:
    """Coincidence factor of two trains, or ``(None, reason)`` where it is undefined.

    The one Gamma rule, :func:`neuromorph.fidelity.coincidence` (Kistler's chance level, and
    the reasons it gives where that level does not hold), as a pair.
    """
    result = coincidence(reference, candidate, window, duration)
    return result.gamma, result.undefined


def per_neuron_gamma(reference, candidate, window: float, duration: float) -> tuple:
    """Gamma of every neuron (NaN where undefined) and why, ``{cause: (count, first neuron's reason)}``."""
    values, reasons = np.empty(len(reference)), {}
    for i, (ref, cand) in enumerate(zip(reference, candidate)):
        result = coincidence(ref, cand, window, duration)
        values[i] = np.nan if result.gamma is None else result.gamma
        if result.gamma is None:
            count, first = reasons.get(result.cause, (0, f"neuron {i}: {result.undefined}"))
            reasons[result.cause] = (count + 1, first)
    return values, reasons


def sample_neurons(n_neurons: int, max_neurons: int, seed: int) -> np.ndarray:
    """All neurons if at most ``max_neurons``, else a sorted uniform sample of that many."""
    if n_neurons <= max_neurons:
        return np.arange(n_neurons)
    return np.sort(np.random.default_rng([seed, 1]).choice(n_neurons, size=max_neurons, replace=False))


def windowed_gamma(reference, other, duration: float, config: StatisticsConfig, neurons: np.ndarray) -> WindowedGamma:
    """Gamma of the trains cut to successive windows ``[k w, (k+1) w)``, averaged over ``neurons``.

    A neuron enters window k's mean if it spikes there in either train and its Gamma (with
    duration ``w``) is defined. Only whole windows are used.
    """
    width = config.divergence_window_s
    count = n_bins(duration, width)
    edges = np.arange(count + 1) * width
    sums, active = np.zeros(count), np.zeros(count, dtype=int)
    for i in neurons:
        ref_cuts = np.searchsorted(reference[i], edges)
        other_cuts = np.searchsorted(other[i], edges)
        for k in np.flatnonzero((np.diff(ref_cuts) > 0) | (np.diff(other_cuts) > 0)):
            value, _ = gamma(reference[i][ref_cuts[k]:ref_cuts[k + 1]], other[i][other_cuts[k]:other_cuts[k + 1]],
                             config.coincidence_window_s, width)
            if value is not None:
                sums[k] += value
                active[k] += 1
    with np.errstate(invalid="ignore"):
        means = sums / active
    below = np.flatnonzero(means < config.divergence_threshold)
    undefined = {}
    if count == 0:
        undefined["gamma"] = f"the run ({duration} s) is shorter than one window ({width} s)"
    elif np.any(active == 0):
        undefined["gamma"] = f"{int(np.sum(active == 0))} windows without a spiking neuron"
    if below.size == 0:
        undefined["onset_s"] = f"the mean Gamma never fell below {config.divergence_threshold}"
    return WindowedGamma(window_s=float(width), starts_s=tuple(edges[:-1].tolist()), gamma=_optional(means),
                         active_neurons=tuple(active.tolist()), neurons_sampled=int(len(neurons)),
                         threshold=float(config.divergence_threshold),
                         onset_s=float(edges[below[0]]) if below.size else None, undefined=undefined)


def ks_distance(reference: np.ndarray, other: np.ndarray) -> KSDistance:
    """Two-sample KS distance (``scipy.stats.ks_2samp``) of the finite values of two samples."""
    reference = np.asarray(reference, float)
    other = np.asarray(other, float)
    reference, other = reference[np.isfinite(reference)], other[np.isfinite(other)]
    if reference.size == 0 or other.size == 0:
        return KSDistance(None, None, int(reference.size), int(other.size),
                          {"statistic": "a sample has no defined values"})
    import scipy.stats  # here, as scipy.signal in rate_spectrum

    with warnings.catch_warnings():  # scipy falls back to the asymptotic p-value with a warning; the statistic is exact
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful", category=RuntimeWarning)
        result = scipy.stats.ks_2samp(reference, other)
    return KSDistance(float(result.statistic), float(result.pvalue), int(reference.size), int(other.size))


def relative_difference(reference: float | None, other: float | None, what: str) -> tuple:
    """``(other - reference) / reference``, or ``(None, reason)``."""
    if reference is None or other is None:
        return None, f"{what} undefined in {'the reference' if reference is None else 'the other run'}"
    if reference == 0:
        return None, f"{what} is 0 in the reference"
    return float((other - reference) / reference), None


# --------------------------------------------------------------------------- assembly


def train_statistics(trains, duration: float, dt: float, pairs: np.ndarray, config: StatisticsConfig,
                     label: str) -> TrainStatistics:
    """Rates, ISI CVs, correlations of ``pairs`` and the population-rate spectrum of one set of trains."""
    rates = firing_rates(trains, duration)
    cv = isi_cv(trains, config.min_spikes_cv)
    correlations = pair_correlations(binned_counts(trains, config.correlation_bin_s, duration), pairs)
    undefined = {}
    if np.isnan(cv).any():
        undefined["cv"] = f"{int(np.isnan(cv).sum())} neurons with fewer than {config.min_spikes_cv} spikes"
    if np.isnan(correlations).any():
        undefined["correlations"] = (f"{int(np.isnan(correlations).sum())} pairs with a neuron whose binned "
                                     "counts are constant (e.g. silent)")
    return TrainStatistics(label=label, n_neurons=len(trains), n_spikes=int(sum(t.size for t in trains)),
                           mean_rate_hz=float(rates.mean()), rates_hz=tuple(rates.tolist()), cv=_optional(cv),
                           correlations=_optional(correlations), spectrum=rate_spectrum(trains, duration, dt, config),
                           undefined=undefined)


def _values(sample: tuple) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in sample], dtype=float)


def compare_to_reference(reference: TrainStatistics, other: TrainStatistics, reference_trains, other_trains,
                         duration: float, config: StatisticsConfig, label: str) -> Comparison:
    """Gamma per neuron and over time, KS distances of the distributions, relative rate and peak shifts."""
    gammas, reasons = per_neuron_gamma(reference_trains, other_trains, config.coincidence_window_s, duration)
    undefined = {"gamma_per_neuron": "; ".join(f"{n} neurons ({cause}; first: {why})"
                                               for cause, (n, why) in reasons.items())} if reasons else {}
    defined = gammas[np.isfinite(gammas)]
    rate_difference, reason = relative_difference(reference.mean_rate_hz, other.mean_rate_hz, "the mean rate")
    if reason:
        undefined["mean_rate_relative_difference"] = reason
    peak_difference, reason = relative_difference(reference.spectrum.peak_frequency_hz,
                                                  other.spectrum.peak_frequency_hz, "the peak frequency")
    if reason:
        undefined["peak_frequency_relative_difference"] = reason
    neurons = sample_neurons(reference.n_neurons, config.max_divergence_neurons, config.seed)
    return Comparison(
        label=label, gamma_mean=float(defined.mean()) if defined.size else None,
        gamma_min=float(defined.min()) if defined.size else None, gamma_per_neuron=_optional(gammas),
        ks_rates=ks_distance(reference.rates_hz, other.rates_hz),
        ks_cv=ks_distance(_values(reference.cv), _values(other.cv)),
        ks_correlations=ks_distance(_values(reference.correlations), _values(other.correlations)),
        mean_rate_relative_difference=rate_difference, peak_frequency_relative_difference=peak_difference,
        windowed_gamma=windowed_gamma(reference_trains, other_trains, duration, config, neurons),
        undefined=undefined,
    )


def population_statistics(reference, candidate, duration: float, dt: float, *, floor=None,
                          config: StatisticsConfig = StatisticsConfig(), name: str = "population",
                          labels: tuple = ("reference", "candidate", "floor")) -> PopulationStatistics:
    """Network fidelity of one population: candidate against reference, beside floor against reference.

    Parameters
    ----------
    reference, candidate : sequence of array_like
        Sorted spike times (s), one array per neuron, e.g. ``Trace.spike_trains``.
    duration, dt : float
        Run length and time step (s), the same for all sets.
    floor : sequence of array_like, optional
        The reference model perturbed (e.g. by one LSB per step): the divergence the float
        model shows by itself, reported beside the candidate's.
    config : StatisticsConfig
        Windows, bins, band and sample sizes.
    name : str
        Population name (reports and error messages).
    labels : (str, str, str)
        Labels of reference, candidate and floor.
    """
    _check_run(duration, dt)
    check_config(config)
    sets = {"reference": reference, "candidate": candidate, "floor": floor}
    trains = {key: check_trains(value, duration, f"{name} {key}") for key, value in sets.items() if value is not None}
    sizes = {key: len(value) for key, value in trains.items()}
    if len(set(sizes.values())) != 1:
        raise InputError(f"neuron counts differ: {sizes}", name)
    pairs = sample_pairs(sizes["reference"], config.max_pairs, config.seed)
    statistics = {key: train_statistics(value, duration, dt, pairs, config, label)
                  for (key, value), label in zip(trains.items(), labels)}
    comparisons = {key: compare_to_reference(statistics["reference"], statistics[key], trains["reference"],
                                             trains[key], duration, config,
                                             f"{statistics[key].label} vs {statistics['reference'].label}")
                   for key in trains if key != "reference"}
    return PopulationStatistics(
        name=name, duration_s=float(duration), dt_s=float(dt), config=config,
        pairs=tuple(map(tuple, pairs.tolist())), reference=statistics["reference"],
        candidate=statistics["candidate"], floor=statistics.get("floor"),
        candidate_vs_reference=comparisons["candidate"], floor_vs_reference=comparisons.get("floor"),
    )
