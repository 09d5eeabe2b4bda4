"""Figures: voltage traces overlaid and spike rasters, float reference against fixed point."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .execution.trace import Trace  # noqa: E402

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
    fig.suptitle(title or f"{reference.label} vs {candidate.label}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
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
