"""Spike-timing fidelity: coincidence factor, matched spike-time error, voltage error."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError
from ..execution.trace import Trace
from .spike_matching import match_spikes


#: Largest change of Gamma allowed between the chance model of Kistler et al. and one that
#: counts overlapping coincidence windows once; beyond it Gamma is reported undefined.
CHANCE_TOLERANCE = 0.05


@dataclass(frozen=True)
class Coincidence:
    """Coincidence factor of one pair of trains: ``gamma`` or, when it is undefined, why.

    ``cause`` names the kind of reason in a few words (:data:`UNDEFINED_CAUSES`), for
    counting neurons by it; ``undefined`` is the full sentence.
    """

    gamma: float | None
    undefined: str | None
    coincidences: int
    cause: str | None = None


#: Why Gamma can be undefined (the ``cause`` of a :class:`Coincidence`).
UNDEFINED_CAUSES = ("2 nu Delta >= 1", "overlapping windows")


def window_coverage(times: np.ndarray, window: float) -> float:
    """Length (s) of the union of the windows ``[t - window, t + window]`` around ``times``."""
    times = np.sort(np.asarray(times, dtype=float))
    if times.size == 0:
        return 0.0
    return float(np.minimum(np.diff(times), 2 * window).sum() + 2 * window)


def _gamma(coincidences: int, n_ref: int, n_cand: int, chance: float) -> float:
    """``(N_coinc - E) / (0.5 (N_ref + N_cand) (1 - E / N_ref))`` for ``E`` chance coincidences."""
    return min(1.0, (coincidences - chance) / (0.5 * (n_ref + n_cand)) / (1 - chance / n_ref))


def _short_interval_share(reference: np.ndarray, candidate: np.ndarray, window: float) -> float:
    intervals = np.concatenate([np.diff(np.sort(reference)), np.diff(np.sort(candidate))])
    return float(np.mean(intervals < 2 * window)) if intervals.size else 0.0


def coincidence(reference, candidate, window: float, duration: float, count: int | None = None) -> Coincidence:
    """Coincidence factor Gamma (Kistler et al. 1997; Jolivet et al. 2008), or why it is undefined.

    ``Gamma = (N_coinc - 2 nu window N_ref) / (0.5 (N_ref + N_cand)) / (1 - 2 nu window)``
    with ``nu = N_cand / duration`` the candidate (model) rate, ``N_coinc`` the number of
    one-to-one coincidences within ``+-window`` and ``2 nu window N_ref`` the number expected
    by chance from a train of rate ``nu``. 1 for identical trains, about 0 for independent
    ones, never above 1. Both trains empty: 1; exactly one empty: 0.

    The chance term counts every candidate spike in every reference window, which is exact
    only while the windows of a train rarely overlap. Gamma is therefore *undefined* when
    ``2 nu window >= 1`` (the formula divides by zero, then exceeds 1) and when counting
    overlapping windows once, i.e. using ``E = min(c_cand N_ref, c_ref N_cand)`` with ``c``
    the fraction of the run covered by a train's windows, changes Gamma by more than
    :data:`CHANCE_TOLERANCE` (trains at high rates without refractoriness, e.g. independent
    Poisson trains at 200 Hz with a 2 ms window, where the formula gives about -1.8).

    ``count``: ``N_coinc`` when the caller matched the trains already (:func:`match_spikes`).
    """
    reference, candidate = np.asarray(reference, float), np.asarray(candidate, float)
    n_ref, n_cand = reference.size, candidate.size
    if n_ref == 0 or n_cand == 0:
        return Coincidence(1.0 if n_ref == n_cand else 0.0, None, 0)
    count = len(match_spikes(reference, candidate, window)[0]) if count is None else count
    rate = n_cand / duration
    if not 2 * rate * window < 1:
        return Coincidence(None, f"Gamma is undefined: 2 nu Delta = {2 * rate * window:.3g} >= 1 (candidate rate "
                                 f"{rate:.4g} Hz, window {window * 1e3:.4g} ms); use a window below "
                                 f"{1e3 / (2 * rate):.3g} ms", count, UNDEFINED_CAUSES[0])
    kistler = _gamma(count, n_ref, n_cand, 2 * rate * window * n_ref)
    overlap_chance = min(window_coverage(candidate, window) / duration * n_ref,
                         window_coverage(reference, window) / duration * n_cand)
    alternative = _gamma(count, n_ref, n_cand, overlap_chance) if overlap_chance < n_ref else -np.inf
    if abs(kistler - alternative) > CHANCE_TOLERANCE:
        share = _short_interval_share(reference, candidate, window)
        return Coincidence(None, f"Gamma is undefined: {share:.0%} of the inter-spike intervals are shorter than "
                                 f"twice the {window * 1e3:.4g} ms window, so the chance level (Kistler's "
                                 f"2 nu Delta) is off by more than {CHANCE_TOLERANCE} in Gamma; use a shorter window",
                           count, UNDEFINED_CAUSES[1])
    return Coincidence(kistler, None, count)


def coincidence_factor(reference, candidate, window: float, duration: float) -> float | None:
    """Gamma of :func:`coincidence`, None when it is undefined."""
    return coincidence(reference, candidate, window, duration).gamma


def _error_summary(errors: np.ndarray) -> dict:
    if errors.size == 0:
        return {"mean": None, "median": None, "max": None}
    return {"mean": float(errors.mean()), "median": float(np.median(errors)), "max": float(errors.max())}


@dataclass(frozen=True)
class NeuronFidelity:
    """Fidelity of one neuron; spike-time errors in ms, voltage RMSE in mV.

    ``gamma`` is None when the coincidence factor is undefined; ``gamma_undefined`` says why.
    """

    gamma: float | None
    gamma_undefined: str | None
    n_reference: int
    n_candidate: int
    spike_count_difference: int
    missed: int
    extra: int
    spike_time_error_ms: dict
    v_rmse_mV: float | None


def _v_rmse_mV(reference_v: np.ndarray, candidate_v: np.ndarray) -> float | None:
    samples = min(reference_v.shape[0], candidate_v.shape[0])
    if samples == 0:
        return None
    rmse = float(np.sqrt(np.mean((candidate_v[:samples] - reference_v[:samples]) ** 2)) * 1e3)
    return rmse if np.isfinite(rmse) else None


def neuron_fidelity(ref_times, cand_times, ref_v, cand_v, window: float, duration: float) -> tuple[NeuronFidelity, np.ndarray]:
    """Metrics of one neuron and the absolute errors (s) of its matched spikes."""
    pairs, missed, extra = match_spikes(ref_times, cand_times, window)
    errors = np.abs(np.asarray(cand_times, float)[pairs[:, 1]] - np.asarray(ref_times, float)[pairs[:, 0]])
    gamma = coincidence(ref_times, cand_times, window, duration, count=len(pairs))
    result = NeuronFidelity(
        gamma=gamma.gamma, gamma_undefined=gamma.undefined,
        n_reference=len(ref_times), n_candidate=len(cand_times),
        spike_count_difference=len(cand_times) - len(ref_times), missed=len(missed), extra=len(extra),
        spike_time_error_ms=_error_summary(errors * 1e3), v_rmse_mV=_v_rmse_mV(ref_v, cand_v),
    )
    return result, errors


@dataclass(frozen=True)
class FidelityReport:
    """Candidate against reference over all neurons; ``gamma`` is the mean over neurons.

    ``gamma`` and ``gamma_min`` are None when Gamma is undefined for any neuron;
    ``gamma_undefined`` then says for how many and why.
    """

    reference: str
    candidate: str
    window_ms: float
    gamma: float | None
    gamma_min: float | None
    gamma_undefined: str | None
    spike_time_error_ms: dict
    missed_spikes: int
    extra_spikes: int
    spike_count_difference: int
    v_rmse_mV: float | None
    per_neuron: tuple[NeuronFidelity, ...]

    def to_dict(self, per_neuron: bool = True) -> dict:
        """Plain, JSON-serialisable data (without the ``per_neuron`` entries unless ``per_neuron``)."""
        data = {key: value for key, value in self.__dict__.items() if key != "per_neuron"}
        data["spike_time_error_ms"] = dict(self.spike_time_error_ms)
        if per_neuron:
            data["per_neuron"] = [asdict(n) for n in self.per_neuron]
        return data


def _gamma_summary(per_neuron: list[NeuronFidelity]) -> tuple[float | None, float | None, str | None]:
    undefined = [(i, n.gamma_undefined) for i, n in enumerate(per_neuron) if n.gamma is None]
    if undefined:
        first, reason = undefined[0]
        return None, None, f"{len(undefined)} of {len(per_neuron)} neurons (first: neuron {first}): {reason}"
    gammas = np.array([n.gamma for n in per_neuron])
    return float(gammas.mean()), float(gammas.min()), None


def compare(reference: Trace, candidate: Trace, window: float = 2e-3) -> FidelityReport:
    """Fidelity of ``candidate`` against ``reference`` (same dt, duration and neurons)."""
    if reference.n_neurons != candidate.n_neurons:
        raise InputError(f"cannot compare {reference.n_neurons} neurons with {candidate.n_neurons}")
    if not np.isclose(reference.dt, candidate.dt) or not np.isclose(reference.duration, candidate.duration):
        raise InputError("cannot compare runs with different time steps or durations")
    if not (np.isfinite(window) and window > 0):
        raise InputError(f"the coincidence window must be a finite positive time, got {window}")
    per_neuron, all_errors = [], []
    for i in range(reference.n_neurons):
        ref_v = reference.v[:, i] if reference.v.size else np.empty(0)
        cand_v = candidate.v[:, i] if candidate.v.size else np.empty(0)
        result, errors = neuron_fidelity(reference.spike_trains[i], candidate.spike_trains[i], ref_v, cand_v,
                                         window, reference.duration)
        per_neuron.append(result)
        all_errors.append(errors)
    gamma, gamma_min, undefined = _gamma_summary(per_neuron)
    return FidelityReport(
        reference=reference.label, candidate=candidate.label, window_ms=window * 1e3,
        gamma=gamma, gamma_min=gamma_min, gamma_undefined=undefined,
        spike_time_error_ms=_error_summary(np.concatenate(all_errors) * 1e3),
        missed_spikes=sum(n.missed for n in per_neuron), extra_spikes=sum(n.extra for n in per_neuron),
        spike_count_difference=sum(n.spike_count_difference for n in per_neuron),
        v_rmse_mV=_v_rmse_mV(reference.v, candidate.v) if reference.v.size and candidate.v.size else None,
        per_neuron=tuple(per_neuron),
    )
