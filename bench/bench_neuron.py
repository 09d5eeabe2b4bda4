"""Neuron-steps per second: fixed-point emulator, Brian2 (numpy, cython) and Lava fixed_pt.

Squid HH (examples/squid_hh.toml) with its OU input at N = 1, 100, 1,000 and 10,000 neurons,
all measured in this run on this machine; ratios are against Brian2's cython target.
Set-up (Brian2 code generation and compilation, Lava compilation) is excluded where the
tool allows: Brian2 is timed on a second ``run`` of the same network, Lava includes its
process start-up (reported separately as the N = 1 time).

Usage: python bench/bench_neuron.py [--steps 2000] [--sizes 1,100,1000,10000] [--skip-lava]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import brian2

from neuromorph.execution.emulator import emulate
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.kernel import FixedPointKernel
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.reference.brian2_run import build_network
from neuromorph.targets import load_target

ROOT = Path(__file__).resolve().parents[1]


def time_brian2(model, stimulus, codegen: str) -> float:
    """Seconds for Brian2 to simulate ``stimulus`` (second run of a built network)."""
    network, *_ = build_network(model, stimulus, codegen, record_v=False)
    half = stimulus.shape[0] // 2
    network.run(10 * model.simulation.dt * brian2.second, namespace={})  # code generation and compilation
    started = time.perf_counter()
    network.run(half * model.simulation.dt * brian2.second, namespace={})
    return (time.perf_counter() - started) * stimulus.shape[0] / half


def time_emulator(neuron, stimulus) -> float:
    started = time.perf_counter()
    emulate(neuron, stimulus, record=False)
    return time.perf_counter() - started


def time_lava(neuron, stimulus) -> float:
    from neuromorph.lava_backend import run_lava

    result = run_lava(FixedPointKernel(neuron), neuron.quantize_drive(stimulus), tag="fixed_pt", record=False)
    return result.wall_time_s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument("--skip-lava", action="store_true")
    args = parser.parse_args(argv)
    base = load_model(ROOT / "examples" / "squid_hh.toml")
    target = load_target("loihi2")
    config = QuantConfig.for_target(target, state_bits=16)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        sim = dataclasses.replace(base.simulation, neurons=n, duration=args.steps * base.simulation.dt)
        model = dataclasses.replace(base, simulation=sim)
        stimulus = sample_stimulus(model.stimulus, sim)
        profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=float(abs(stimulus).max()))
        neuron = quantize(model.spec, target, config, profile, sim.dt, dict(model.initial))
        times = {"emulator": time_emulator(neuron, stimulus),
                 "brian2 numpy": time_brian2(model, stimulus, "numpy"),
                 "brian2 cython": time_brian2(model, stimulus, "cython")}
        if not args.skip_lava:
            times["lava fixed_pt"] = time_lava(neuron, stimulus)
        rows.append((n, {k: n * args.steps / t for k, t in times.items()}))
        print(f"[bench] N={n}: " + ", ".join(f"{k} {v:.2f}s" for k, v in times.items()), file=sys.stderr, flush=True)
    print_table(rows, args.steps)
    return 0


def print_table(rows, steps: int) -> None:
    names = list(rows[0][1])
    print(f"\nneuron-steps per second (squid HH, dt 0.025 ms, {steps} steps); ratio = x / brian2 cython\n")
    print("| N | " + " | ".join(names) + " | " + " | ".join(f"{k} ratio" for k in names if k != "brian2 cython") + " |")
    print("|---" * (1 + 2 * len(names) - 1) + "|")
    for n, rates in rows:
        ref = rates["brian2 cython"]
        print(f"| {n:,} | " + " | ".join(f"{rates[k]:.3g}" for k in names) + " | "
              + " | ".join(f"{rates[k] / ref:.2f}" for k in names if k != "brian2 cython") + " |")


if __name__ == "__main__":
    sys.exit(main())
