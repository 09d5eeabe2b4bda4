"""Run the example networks in Brian2 (float64) and print what they do.

For each network file in ``examples/networks`` and each seed (the seed redraws the whole
network: connectivity, weights, delays, initial values and Poisson input), it prints the
population rates, the wall time of the Brian2 run and, for every population, the peak of
the population-rate spectrum in 20-100 Hz with its prominence (peak power over the median
power in 1-250 Hz). PING's E population must peak in the gamma band (30-80 Hz).

Run: ``python examples/network_examples.py [--seeds 1,2,3] [--codegen cython|numpy]``.
The first Cython run of each network compiles its code (minutes on a loaded machine); the
numbers below exclude it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.signal import welch

from neuromorph.network.network_file import load_network_file
from neuromorph.network.reference import run_network_brian2
from neuromorph.reference.codegen import choose_codegen

NETWORKS = Path(__file__).resolve().parent / "networks"
EXAMPLES = ("ff_hh", "ping", "lif_net")


def rate_spectrum(spike_trains, duration: float, bin_s: float = 1e-3, segment_s: float = 0.5):
    """Welch power spectrum of the population rate (spike counts in ``bin_s`` bins, mean removed)."""
    times = np.concatenate(spike_trains) if spike_trains else np.empty(0)
    counts = np.histogram(times, bins=np.arange(0.0, duration + bin_s / 2, bin_s))[0].astype(float)
    return welch(counts - counts.mean(), fs=1.0 / bin_s, nperseg=min(counts.size, int(round(segment_s / bin_s))))


def spectral_peak(spike_trains, duration: float, band=(20.0, 100.0)) -> tuple[float, float]:
    """Frequency (Hz) of the largest rate-spectrum power in ``band`` and its prominence."""
    f, power = rate_spectrum(spike_trains, duration)
    inside = (f >= band[0]) & (f <= band[1])
    k = np.flatnonzero(inside)[np.argmax(power[inside])]
    baseline = np.median(power[(f > 0) & (f <= 250)])
    return float(f[k]), float(power[k] / baseline) if baseline > 0 else float("inf")


def measure(name: str, seed: int, codegen: str) -> dict:
    """Rates, spectral peaks and run time of one example network for one seed."""
    spec = load_network_file(NETWORKS / f"{name}.toml", seed=seed)
    started = time.perf_counter()
    trace = run_network_brian2(spec, codegen=codegen, record=None)
    result = {"network": name, "seed": seed, "run_s": trace.extra["wall_time_s"],
              "total_s": time.perf_counter() - started}
    for population, pop in trace.populations.items():
        result[f"{population} rate (Hz)"] = pop.rate_hz(trace.duration)
        result[f"{population} peak (Hz), prominence"] = spectral_peak(pop.spike_trains, trace.duration)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--codegen", default=choose_codegen())
    parser.add_argument("--networks", default=",".join(EXAMPLES))
    args = parser.parse_args()
    for name in args.networks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            result = measure(name, seed, args.codegen)
            cells = [f"{k} {v[0]:.1f}, {v[1]:.1f}" if isinstance(v, tuple) else
                     f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()]
            print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
