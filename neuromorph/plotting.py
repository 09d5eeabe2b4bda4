"""Figures: voltage traces overlaid and spike rasters, float reference against fixed point."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .execution.trace import Trace  # noqa: E402
from .files import replace_file  # noqa: E402

REFERENCE_STYLE = {"color": "black", "lw": 1.2}
CANDIDATE_STYLE = {"color": "tab:red", "lw": 0.9, "ls": "--"}


def plot_compare(reference: Trace, candidate: Trace, path: str | Path, *, neurons: int = 3,
                 window_s: float = 0.25, title: str = "") -> Path:
    """Write a figure comparing ``candidate`` with ``reference`` and return its path.

    Top panels: membrane potential (mV) of the first ``neurons`` neurons over the first
    ``window_s`` seconds, reference solid, candidate dashed. Bottom panel: spike rasters of
    all neurons over the whole run, reference above candidate in each row.
    """
    shown = min(neurons, reference.n_neurons)
    fig, axes = plt.subplots(shown + 1, 1, figsize=(10, 2.0 * shown + 3), sharex=False,
                             gridspec_kw={"height_ratios": [1] * shown + [1.5]})
    samples = min(int(window_s / reference.dt), reference.v.shape[0], candidate.v.shape[0])
    t_ms = reference.t[:samples] * 1e3
    for i, ax in enumerate(axes[:shown]):
        ax.plot(t_ms, reference.v[:samples, i] * 1e3, label=reference.label, **REFERENCE_STYLE)
        ax.plot(t_ms, candidate.v[:samples, i] * 1e3, label=candidate.label, **CANDIDATE_STYLE)
        ax.set_ylabel(f"neuron {i}\nv (mV)")
        ax.set_xlim(t_ms[0], t_ms[-1])
    axes[0].legend(loc="upper right", fontsize=8)
    axes[shown - 1].set_xlabel("time (ms)")
    _raster(axes[-1], reference, candidate)
    return save_figure(fig, title or f"{reference.label} vs {candidate.label}", path)


def save_figure(fig, title: str, path: str | Path) -> Path:
    """Title, lay out, write and close a figure; shared by every neuromorph figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, closed afterwards.
    title : str
        Its suptitle.
    path : str or Path
        Where the PNG goes (110 dpi); missing directories are created. Written atomically
        (:func:`~neuromorph.files.replace_file`): never through a symlink.

    Returns
    -------
    Path
        ``path``.
    """
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        replace_file(path, lambda temporary: fig.savefig(temporary, dpi=110, format="png"))
    finally:
        plt.close(fig)
    return path


def _raster(ax, reference: Trace, candidate: Trace) -> None:
    for i, (ref, cand) in enumerate(zip(reference.spike_trains, candidate.spike_trains)):
        ax.plot(ref, np.full(len(ref), i + 0.15), "|", color="black", ms=5,
                label=reference.label if i == 0 else None)
        ax.plot(cand, np.full(len(cand), i - 0.15), "|", color="tab:red", ms=5,
                label=candidate.label if i == 0 else None)
    ax.set_xlim(0, reference.duration)
    ax.set_ylim(-0.7, reference.n_neurons - 0.3)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    ax.legend(loc="upper right", fontsize=8, ncol=2)


def pareto_front(records: list[dict]) -> list[dict]:
    """Points not dominated in (fewer total state bits per neuron, less table memory, higher Gamma)."""
    def bits(r):
        return r.get("state_bits_per_neuron", r["state_bits"])

    def dominates(a, b):
        no_worse = (bits(a) <= bits(b) and a["table_memory_bits"] <= b["table_memory_bits"]
                    and a["gamma"] >= b["gamma"])
        better = (bits(a) < bits(b) or a["table_memory_bits"] < b["table_memory_bits"]
                  or a["gamma"] > b["gamma"])
        return no_worse and better
    return [r for r in records if not any(dominates(o, r) for o in records)]


def plot_sweep(records: list[dict], path: str | Path, title: str = "") -> Path:
    """Gamma and spike-time error versus state bits, one line per rounding mode and table.

    Colour encodes the table (size, interpolation), line style the rounding mode.

    Points on the Pareto front (bits, table memory, Gamma) are circled.
    """
    fig, (ax_gamma, ax_error) = plt.subplots(1, 2, figsize=(13, 5))
    def family(r):
        return r["rounding"], r.get("residual_bits", 0), r["lut_size"], r["interpolate"]

    families = sorted({family(r) for r in records})
    tables = sorted({(size, interp) for _, _, size, interp in families})
    colors = {table: plt.cm.viridis(i / max(1, len(tables) - 1)) for i, table in enumerate(tables)}
    styles = {"nearest": "-", "stochastic": "--", "truncate": ":", "dither": "-.", "error_feedback": (0, (6, 1, 1, 1, 1, 1))}
    for rounding, residual, size, interp in families:
        line = sorted((r for r in records if family(r) == (rounding, residual, size, interp)),
                      key=lambda r: r["state_bits"])
        shaping = f" r{residual}" if rounding == "error_feedback" else ""
        style = {"color": colors[(size, interp)], "ls": styles.get(rounding, "-"), "marker": "o", "ms": 3,
                 "label": f"{rounding}{shaping}, LUT {size}{' interp' if interp else ''}"}
        bits = [r["state_bits"] for r in line]
        ax_gamma.plot(bits, [r["gamma"] for r in line], **style)
        ax_error.plot(bits, [np.nan if r["spike_time_error_ms"] is None else r["spike_time_error_ms"] for r in line],
                      **style)
    front = pareto_front(records)
    ax_gamma.plot([r["state_bits"] for r in front], [r["gamma"] for r in front], "o", mfc="none", mec="black",
                  ms=10, label="Pareto front")
    ax_gamma.set_xlabel("state bits")
    ax_gamma.set_ylabel("Gamma (2 ms), mean over held-out seeds")
    ax_gamma.set_ylim(max(-0.1, min(r["gamma"] for r in records) - 0.05), 1.02)
    ax_error.set_xlabel("state bits")
    ax_error.set_ylabel("mean matched spike-time error (ms)")
    ax_error.set_yscale("log")
    ax_gamma.legend(fontsize=7)
    return save_figure(fig, title, path)
