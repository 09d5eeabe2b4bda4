"""lif_net (examples/networks/lif_net.toml) on Lava's own LIF: fidelity against Brian2 and Lava's run time.

For each seed: Brian2 (float64, the reference), the lowering for loihi2 (the population on
Lava's LIF with each gain compensation, and as neuromorph's lowered program with
``lif="never"``), the network emulator; mean rate, its error against Brian2 and the per-neuron
coincidence factor Gamma (2 ms window). With ``--lava`` the default lowering of the first seed
also runs as a real Lava graph (``Loihi2SimCfg(select_tag="fixed_pt")``), is checked equal to
the emulator (every spike, u, v and overflow count) and its wall time is printed.

Usage: python bench/bench_lif_net.py [--seeds 1,2,3] [--duration 1.0] [--lava]
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from neuromorph.execution.emulator import spike_trains_from
from neuromorph.network.emulator import run_network
from neuromorph.network.lif_mapping import LifOptions
from neuromorph.network.lower import lower_network, recorded_variables
from neuromorph.network.network_file import load_network_file
from neuromorph.network.reference import Recording, replay_sources, run_network_brian2
from neuromorph.reference.codegen import choose_codegen
from neuromorph.network.statistics import per_neuron_gamma
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.targets import load_target

ROOT = Path(__file__).resolve().parents[1]
#: label -> lower_network keyword arguments
VARIANTS = {"LIF, moments (default)": {}, "LIF, mean": {"lif_options": LifOptions(compensation="mean")},
            "LIF, none": {"lif_options": LifOptions(compensation="none")}, "lowered program": {"lif": "never"}}


def row(label: str, seed: int, reference_trains, spikes: np.ndarray, dt: float, duration: float) -> str:
    rate_ref = np.mean([len(t) for t in reference_trains]) / duration
    rate = spikes.sum() / spikes.shape[1] / duration
    gamma, undefined = per_neuron_gamma(reference_trains, spike_trains_from(spikes, dt), 2e-3, duration)
    return (f"| {seed} | {label} | {rate_ref:.2f} | {rate:.2f} | {rate / rate_ref - 1:+.2%} | "
            f"{np.nanmean(gamma):.4f} | {np.nanmin(gamma):.4f} | {np.nanmedian(gamma):.4f} |"
            + (f" undefined: {undefined}" if undefined else ""))


def run_lava(lowered) -> None:
    from neuromorph.lava.graph import run_graph

    started = time.perf_counter()
    lava = run_graph(lowered)
    total = time.perf_counter() - started
    emulated = run_network(lowered)
    equal = all(np.array_equal(getattr(emulated.populations[n], k), getattr(lava.populations[n], k))
                for n in emulated.populations for k in ("spikes", "states", "overflows"))
    print(f"Lava graph: {lowered.n_steps} steps, run (with start-up and streamed readout) {lava.wall_time_s:.1f} s, "
          f"total with build and stop {total:.1f} s; emulator {emulated.wall_time_s:.1f} s; "
          f"Lava == emulator: {equal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--lava", action="store_true")
    args = parser.parse_args()
    target = load_target("loihi2")
    print("| seed | population | Brian2 rate (Hz) | rate (Hz) | rate error | Gamma mean | worst | median |")
    print("|---|---|---|---|---|---|---|---|")
    first = None
    for seed in (int(s) for s in args.seeds.split(",")):
        spec = dataclasses.replace(load_network_file(ROOT / "examples/networks/lif_net.toml", seed=seed),
                                   duration=args.duration)
        reference = run_network_brian2(spec, codegen=choose_codegen(),
                                       record=Recording(variables=recorded_variables(spec)))
        replayed = replay_sources(spec, reference)
        for label, kwargs in VARIANTS.items():
            lowered = lower_network(replayed, reference, target, QuantConfig.for_target(target), **kwargs)
            first = first or lowered
            spikes = run_network(lowered, record=False).populations["lif"].spikes
            print(row(label, seed, reference.populations["lif"].spike_trains, spikes, spec.dt, spec.duration))
    print(first.notes[0])
    if args.lava:
        run_lava(first)


if __name__ == "__main__":
    main()
