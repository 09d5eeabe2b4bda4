"""Figures of network fidelity: rasters and population rates, and the statistics of a population.

Colours are fixed across figures: reference black, candidate red (dashed), floor grey (dotted).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..plotting import save_figure  # noqa: E402
from .statistics import PopulationStatistics, TrainStatistics  # noqa: E402

STYLES = {
    "reference": {"color": "black", "lw": 1.3, "ls": "-"},
    "candidate": {"color": "tab:red", "lw": 1.1, "ls": "--"},
    "floor": {"color": "tab:gray", "lw": 1.1, "ls": ":"},
}


def _sets(stats: PopulationStatistics):
    """(key, TrainStatistics, Comparison or None) for reference, candidate and floor if present."""
    rows = [("reference", stats.reference, None), ("candidate", stats.candidate, stats.candidate_vs_reference)]
    if stats.floor is not None:
        rows.append(("floor", stats.floor, stats.floor_vs_reference))
    return rows


def shown_neurons(n_neurons: int, neurons: int) -> np.ndarray:
    """At most ``neurons`` indices spread evenly over the population (first and last included)."""
    return np.unique(np.linspace(0, n_neurons - 1, min(neurons, n_neurons)).round().astype(int))


def _raster(ax, trains, indices, window, color):
    for row, i in enumerate(indices):
        times = np.asarray(trains[i])
        times = times[(times >= window[0]) & (times <= window[1])]
        ax.plot(times * 1e3, np.full(times.size, row), "|", color=color, ms=3, mew=0.8)
    ax.set_xlim(window[0] * 1e3, window[1] * 1e3)
    ax.set_ylim(-1, len(indices))
    ticks = np.unique(np.linspace(0, len(indices) - 1, min(5, len(indices))).round().astype(int))
    ax.set_yticks(ticks, [str(indices[t]) for t in ticks])


def _smoothed_rate(statistics: TrainStatistics, smooth_s: float):
    """Population rate (Hz) averaged over a boxcar of ``smooth_s`` (s) and the bin centres (s)."""
    rate = np.asarray(statistics.spectrum.population_rate_hz)
    bin_s = statistics.spectrum.bin_s
    width = max(1, min(int(round(smooth_s / bin_s)), rate.size))  # a run shorter than the boxcar: its length
    if rate.size == 0:
        return np.zeros(0), rate
    smooth = np.convolve(rate, np.ones(width) / width, mode="same")
    return (np.arange(rate.size) + 0.5) * bin_s, smooth


def plot_activity(populations, path: str | Path, *, neurons: int = 40, window_s: tuple | None = None,
                  smooth_s: float = 5e-3, title: str = "") -> Path:
    """Rasters (reference | candidate) and population rates over time, two rows per population.

    Parameters
    ----------
    populations : sequence of (PopulationStatistics, reference_trains, candidate_trains)
        One entry per population, its statistics and the spike trains they were computed from.
    path : str or Path
        Where to write the PNG.
    neurons : int
        Neurons per raster, spread evenly over the population.
    window_s : (float, float), optional
        Time window shown (s); default the first 0.5 s (or the whole run if shorter).
    smooth_s : float
        Boxcar width (s) applied to the population rate for display.
    """
    populations = list(populations)
    fig = plt.figure(figsize=(13, 5.0 * len(populations)))
    grid = fig.add_gridspec(2 * len(populations), 2, height_ratios=[2.2, 1] * len(populations))
    for p, (stats, reference, candidate) in enumerate(populations):
        window = window_s or (0.0, min(stats.duration_s, 0.5))
        indices = shown_neurons(stats.reference.n_neurons, neurons)
        left = fig.add_subplot(grid[2 * p, 0])
        right = fig.add_subplot(grid[2 * p, 1], sharex=left, sharey=left)
        for ax, trains, key, statistics in ((left, reference, "reference", stats.reference),
                                            (right, candidate, "candidate", stats.candidate)):
            _raster(ax, trains, indices, window, STYLES[key]["color"])
            ax.set_title(f"{stats.name}: {statistics.label}, {statistics.mean_rate_hz:.1f} Hz "
                         f"({len(indices)} of {statistics.n_neurons} neurons)", fontsize=10)
        left.set_ylabel("neuron")
        rate_ax = fig.add_subplot(grid[2 * p + 1, :], sharex=left)
        for order, (key, statistics, _) in enumerate(_sets(stats)):
            t, rate = _smoothed_rate(statistics, smooth_s)
            rate_ax.plot(t * 1e3, rate, label=statistics.label, zorder=3 - order, **STYLES[key])
        rate_ax.set_ylabel(f"{stats.name} rate (Hz)\n{smooth_s * 1e3:g} ms boxcar")
        rate_ax.set_xlabel("time (ms)")
        rate_ax.legend(loc="upper right", fontsize=8, ncol=3)
    return save_figure(fig, title or "network activity: reference | candidate", path)


def _ecdf(ax, values, style, label) -> bool:
    """Step plot of the empirical CDF of the defined values; False if there are none."""
    values = np.sort(np.array([v for v in values if v is not None], dtype=float))
    if values.size:
        ax.step(np.concatenate([[values[0]], values]), np.arange(values.size + 1) / values.size,
                where="post", label=label, **style)
    return bool(values.size)


def _note(ax, text: str, y: float = 0.5) -> None:
    ax.text(0.5, y, textwrap.fill(text, 40), transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="tab:gray")


def _ks_label(statistics: TrainStatistics, ks) -> str:
    if ks is None:
        return statistics.label
    if ks.statistic is None:
        return f"{statistics.label} (KS undefined)"
    return f"{statistics.label}: KS {ks.statistic:.3f} (p {ks.p_value:.2g})"


def _distributions(axes, stats: PopulationStatistics) -> None:
    """ECDFs of rates, CVs and pair correlations, KS distance to the reference in the legend."""
    panels = (("rates_hz", "ks_rates", "firing rate (Hz)"), ("cv", "ks_cv", "ISI CV"),
              ("correlations", "ks_correlations",
               f"spike-count correlation ({stats.config.correlation_bin_s * 1e3:g} ms bins, {len(stats.pairs)} pairs)"))
    for ax, (attribute, ks_name, xlabel) in zip(axes, panels):
        drawn = False
        for key, statistics, comparison in _sets(stats):
            ks = getattr(comparison, ks_name) if comparison is not None else None
            drawn |= _ecdf(ax, getattr(statistics, attribute), STYLES[key], _ks_label(statistics, ks))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of neurons" if attribute != "correlations" else "fraction of pairs")
        ax.set_ylim(0, 1.02)
        if drawn:
            ax.legend(loc="lower right", fontsize=7)
        else:
            _note(ax, f"undefined: {stats.reference.undefined.get(attribute, 'no values')}")


def _spectra(ax, stats: PopulationStatistics) -> None:
    """Welch PSDs of the population rates, band shaded, peaks marked."""
    low, high = stats.config.band_hz
    ax.axvspan(low, high, color="tab:blue", alpha=0.07, label=f"band {low:g}-{high:g} Hz")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD of population rate (Hz$^2$/Hz)")
    if not any(p > 0 for _, statistics, _ in _sets(stats) for p in statistics.spectrum.power):
        _note(ax, f"no power: {stats.reference.spectrum.undefined.get('peak_frequency_hz', 'empty spectrum')}")
        return
    for key, statistics, _ in _sets(stats):
        spectrum = statistics.spectrum
        frequencies, power = np.asarray(spectrum.frequencies_hz), np.asarray(spectrum.power)
        keep = frequencies > 0
        peak = "no peak" if spectrum.peak_frequency_hz is None else f"peak {spectrum.peak_frequency_hz:g} Hz"
        peak += " (band edge)" if spectrum.peak_at_band_edge else ""
        ax.semilogy(frequencies[keep], power[keep], label=f"{statistics.label}: {peak}", **STYLES[key])
        if spectrum.peak_frequency_hz is not None:
            ax.plot(spectrum.peak_frequency_hz, spectrum.peak_power, "o", mfc="none", ms=9, mew=1.5,
                    color=STYLES[key]["color"])
    ax.set_xlim(0, min(max(1.6 * high, 100.0), 0.5 / stats.reference.spectrum.bin_s))
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top * (top / bottom) ** 0.5)  # headroom for the legend
    ax.legend(loc="upper right", fontsize=7)


def _divergence(ax, stats: PopulationStatistics) -> None:
    """Mean Gamma per window, candidate and floor against the reference; onsets marked."""
    for key, statistics, comparison in _sets(stats)[1:]:
        windowed = comparison.windowed_gamma
        centres = (np.asarray(windowed.starts_s) + windowed.window_s / 2) * 1e3
        values = np.array([np.nan if g is None else g for g in windowed.gamma])
        onset = "" if windowed.onset_s is None else f", below {windowed.threshold:g} from {windowed.onset_s * 1e3:g} ms"
        ax.plot(centres, values, marker="o", ms=3, label=f"{comparison.label}{onset}", **STYLES[key])
        if windowed.onset_s is not None:
            ax.axvline(windowed.onset_s * 1e3, color=STYLES[key]["color"], lw=0.8, alpha=0.6)
    threshold = stats.candidate_vs_reference.windowed_gamma.threshold
    ax.axhline(threshold, color="tab:blue", lw=0.8, ls="-.", label=f"onset threshold {threshold:g}")
    ax.axhline(0, color="black", lw=0.5)
    if all(g is None for g in stats.candidate_vs_reference.windowed_gamma.gamma):
        _note(ax, f"undefined: {stats.candidate_vs_reference.windowed_gamma.undefined.get('gamma', 'no windows')}", y=0.3)
    ax.set_ylim(min(-0.1, ax.get_ylim()[0]), 1.05)
    ax.set_xlim(0, stats.duration_s * 1e3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"mean Gamma ({stats.config.coincidence_window_s * 1e3:g} ms) per "
                  f"{stats.config.divergence_window_s * 1e3:g} ms window")
    ax.legend(loc="upper right", fontsize=7)


def _format(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _table(ax, stats: PopulationStatistics) -> None:
    """The summary rows: candidate vs reference beside floor vs reference."""
    ax.axis("off")
    rows = stats.summary()
    cells = [[row["statistic"], _format(row["candidate"]), _format(row["floor"])] for row in rows]
    others = [stats.candidate.label, stats.floor.label if stats.floor else "floor"]
    headers = ["statistic"] + [f"{textwrap.shorten(label, 24)}\nvs reference" for label in others]
    table = ax.table(cellText=cells, colLabels=headers, loc="center", cellLoc="center", colWidths=[0.4, 0.3, 0.3])
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1, 1.6)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_height(cell.get_height() * 1.6)


def plot_statistics(stats: PopulationStatistics, path: str | Path, title: str = "") -> Path:
    """Statistics of one population, reference against candidate and floor, in six panels.

    Top: cumulative distributions (ECDF) of firing rates, ISI CVs and pairwise spike-count
    correlations, the KS distance to the reference in the legend. Bottom: Welch PSDs of the
    population rate with the band shaded and peaks circled; mean Gamma per window over time
    (candidate and floor against the reference, the onset threshold dash-dotted); a table of
    the summary (``PopulationStatistics.summary``).
    """
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    _distributions(axes[0], stats)
    _spectra(axes[1, 0], stats)
    _divergence(axes[1, 1], stats)
    _table(axes[1, 2], stats)
    others = stats.candidate.label + (f" and {stats.floor.label}" if stats.floor else "")
    return save_figure(fig, title or f"{stats.name}: {others} against {stats.reference.label}", path)


def plot_states(name: str, t: np.ndarray, reference: dict, candidate: dict, rmse: dict, path: str | Path, *,
                neurons: np.ndarray, voltage: str = "v", title: str = "") -> Path:
    """One panel per recorded state: the reference (black) and fixed-point (red, dashed) traces of a
    few neurons over time, the state's RMSE in the panel's title.

    Parameters
    ----------
    name : str
        The population.
    t : ndarray (T,)
        Sample times (s).
    reference, candidate : dict of str to ndarray (T, n)
        Each state's samples (SI) of the shown neurons.
    rmse : dict of str to float
        Each state's RMSE over the whole population (SI).
    neurons : ndarray (n,)
        The shown neurons' indices (for the legend).
    voltage : str
        The voltage, drawn in mV (the others in SI units).
    """
    names = [n for n in reference if n in candidate]
    fig, axes = plt.subplots(len(names), 1, figsize=(12, 2.6 * len(names)), sharex=True, squeeze=False)
    for ax, state in zip(axes[:, 0], names):
        scale, unit = (1e3, " (mV)") if state == voltage else (1.0, "")
        for column in range(len(neurons)):
            first = column == 0
            ax.plot(t * 1e3, reference[state][:, column] * scale, label="Brian2" if first else None,
                    **STYLES["reference"])
            ax.plot(t * 1e3, candidate[state][:, column] * scale, label="fixed point" if first else None,
                    **STYLES["candidate"])
        error = rmse.get(state)
        shown = f"neurons {', '.join(str(n) for n in neurons)}" if len(neurons) > 1 else f"neuron {neurons[0]}"
        ax.set_title(f"{name}.{state}, {shown}" + ("" if error is None else
                                                  f": RMSE {error * scale:.3g} {unit.strip(' ()')}".rstrip()),
                     fontsize=10)
        ax.set_ylabel(f"{state}{unit}")
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=2)
    axes[-1, 0].set_xlabel("time (ms)")
    return save_figure(fig, title or f"{name}: Brian2 vs fixed point", path)
