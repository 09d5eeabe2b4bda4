"""Neuron-steps per second: compiled emulators, Brian2 (numpy, cython), the Lava process and Lava's own LIF.

Squid HH (examples/squid_hh.toml, loihi2 target at 16 bits, LUT 1024 interpolated) with
its OU input at N = 1,000, 10,000 and 100,000 neurons, all measured in this run on this
machine; ratios are against Brian2's cython target. Every tool is timed after its set-up:
the compiled kernels after they are compiled (once per machine: numba caches them), Brian2
on a second ``run`` of a built network (after code generation and compilation), the Lava
processes on a second ``run`` of started processes (after process start-up). Lava's own
fixed-point ``LIF`` runs in the same harness (ring-buffer source, sink) as the lowered
neuron, so the second table compares their wall time per step.

Steps per size: ``min(--steps, --budget / N)``; Brian2's numpy target, slow at some sizes,
gets as many of them as it runs in about ``--brian2-numpy-seconds``. The Lava processes
cycle through ``--lava-data`` steps of input. Each timing is the fastest of ``--repeat``
runs: the cores are shared with other work, and the fastest run is the least disturbed.

Usage: python bench/bench_neuron.py [--steps 2000] [--budget 5e7] [--sizes 1000,10000,100000] [--repeat 3]
    [--skip-lava]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import brian2
import numpy as np

from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.kernel import FixedPointKernel, FloatKernel
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import network_of_model
from neuromorph.network.reference import build_brian2_network
from neuromorph.targets import load_target

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 20


def best_time(run, repeat: int) -> float:
    """Fewest seconds of ``repeat`` calls of ``run()`` (the cores are shared: the minimum is the least disturbed)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def time_brian2(model, stimulus, codegen: str, repeat: int, seconds: float | None = None) -> tuple[float, int]:
    """(seconds, steps) of later ``run`` calls of a built network; with ``seconds``, as many steps as take about that.

    The stimulus must hold ``10 + (1 + repeat) * steps`` steps (a TimedArray is read at the network's time).
    """
    network, *_ = build_brian2_network(network_of_model(model, stimulus), codegen, record=None)
    dt = model.simulation.dt * brian2.second
    network.run(10 * dt, namespace={})  # code generation and compilation
    steps = (stimulus.shape[0] - 10) // (repeat + 1)
    if seconds is not None:
        per_step = best_time(lambda: network.run(WARMUP_STEPS * dt, namespace={}), 1) / WARMUP_STEPS
        steps = int(np.clip(seconds / per_step, 20, (stimulus.shape[0] - 10 - WARMUP_STEPS) // repeat))
    return best_time(lambda: network.run(steps * dt, namespace={}), repeat), steps


def time_kernel(kernel, drive, repeat: int) -> float:
    """Seconds of a fused run of ``kernel`` (compiled beforehand, on a few steps)."""
    state = kernel.initial_state(drive.shape[1])
    kernel.run(state, drive[:WARMUP_STEPS], 0, False)
    return best_time(lambda: kernel.run(state, drive, 0, False), repeat)


def time_lava(make, steps: int, repeat: int) -> float:
    """Seconds per step of later ``run`` calls of the started processes ``make()`` returns (process, run config)."""
    from lava.magma.core.run_conditions import RunSteps

    process, config = make()
    try:
        process.run(condition=RunSteps(num_steps=WARMUP_STEPS), run_cfg=config)
        return best_time(lambda: process.run(condition=RunSteps(num_steps=steps), run_cfg=config), repeat) / steps
    finally:
        process.stop()


def lowered_processes(kernel, data: np.ndarray):
    """Ring-buffer source -> lowered neuron (fixed_pt, the compiled kernel) -> sink, the processes
    :func:`neuromorph.lava.graph.run_graph` uses for a population fed by a sampled current."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import PyReceiveModelFixed, RingBuffer as SinkBuffer
    from lava.proc.io.source import RingBuffer as SourceBuffer

    from neuromorph.lava.models import PyLoweredNeuronFixed, PySendModelInt64, prepare
    from neuromorph.lava.processes import LoweredNeuron

    n = data.shape[0]
    prepare(kernel, n)
    source = SourceBuffer(data=data)
    neuron = LoweredNeuron(kernel=kernel, n_neurons=n, record_steps=0)
    sink = SinkBuffer(shape=(n,), buffer=data.shape[1])
    source.s_out.connect(neuron.a_in)
    neuron.s_out.connect(sink.a_in)
    models = {source: PySendModelInt64, neuron: PyLoweredNeuronFixed, sink: PyReceiveModelFixed}
    return neuron, Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=models)


def lif_processes(data: np.ndarray):
    """The same harness around Lava's own fixed-point LIF (its bit-accurate Loihi model)."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as SinkBuffer
    from lava.proc.io.source import RingBuffer as SourceBuffer
    from lava.proc.lif.process import LIF

    n = data.shape[0]
    source = SourceBuffer(data=data.astype(np.int32))
    lif = LIF(shape=(n,), du=409, dv=409, vth=100, bias_mant=0)
    sink = SinkBuffer(shape=(n,), buffer=data.shape[1])
    source.s_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    return lif, Loihi2SimCfg(select_tag="fixed_pt")


def measure(base, target, n: int, args) -> tuple[dict, dict]:
    """Neuron-steps per second of every tool at ``n`` neurons, and the Lava wall times per step."""
    steps, repeat = int(min(args.steps, args.budget // n)), args.repeat
    sim = dataclasses.replace(base.simulation, neurons=n, duration=(10 + (repeat + 1) * steps) * base.simulation.dt)
    model = dataclasses.replace(base, simulation=sim)
    stimulus = sample_stimulus(model.stimulus, sim)
    profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=float(abs(stimulus).max()))
    neurons = {r: quantize(model.spec, target, QuantConfig.for_target(target, state_bits=16, rounding=r), profile,
                           sim.dt, dict(model.initial)) for r in ("nearest", "dither")}
    rates, per_step = {}, {}
    for rounding, neuron in neurons.items():
        rates[f"emulator {rounding}"] = n * steps / time_kernel(FixedPointKernel(neuron),
                                                                neuron.quantize_drive(stimulus[:steps]), repeat)
    float_kernel = FloatKernel(model.spec, sim.dt, dict(model.initial), model.simulation.method)
    rates["float emulator"] = n * steps / time_kernel(float_kernel, stimulus[:steps], repeat)
    for codegen in ("numpy", "cython"):
        seconds, done = time_brian2(model, stimulus, codegen, repeat,
                                    args.brian2_numpy_seconds if codegen == "numpy" else None)
        rates[f"brian2 {codegen}"] = n * done / seconds
    if not args.skip_lava:
        lava_steps = max(WARMUP_STEPS, int(min(args.steps, args.lava_budget // n)))
        drive = neurons["nearest"].quantize_drive(stimulus[:args.lava_data]).T.copy()
        per_step["lava lowered HH"] = time_lava(lambda: lowered_processes(FixedPointKernel(neurons["nearest"]), drive),
                                                lava_steps, repeat)
        lif_drive = np.random.default_rng(0).integers(0, 200, size=(n, args.lava_data))
        per_step["lava LIF"] = time_lava(lambda: lif_processes(lif_drive), lava_steps, repeat)
        rates.update({k: n / v for k, v in per_step.items()})
    print(f"[bench] N={n:,} ({steps} steps): " + ", ".join(f"{k} {v:.3g}/s" for k, v in rates.items()),
          file=sys.stderr, flush=True)
    return rates, per_step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--budget", type=float, default=5e7, help="neuron-steps per tool and size")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--brian2-numpy-seconds", type=float, default=5.0)
    parser.add_argument("--lava-budget", type=float, default=2e7, help="neuron-steps per Lava process and size")
    parser.add_argument("--lava-data", type=int, default=100, help="steps of input the Lava sources cycle through")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool and size (the fastest counts)")
    parser.add_argument("--skip-lava", action="store_true")
    args = parser.parse_args(argv)
    base = load_model(ROOT / "examples" / "squid_hh.toml")
    target = load_target("loihi2")
    results = [(n, *measure(base, target, n, args)) for n in (int(s) for s in args.sizes.split(","))]
    print_tables(results)
    return 0


def print_tables(results) -> None:
    names = list(results[0][1])
    print("\nneuron-steps per second (squid HH, dt 0.025 ms); ratio = x / brian2 cython\n")
    print("| N | " + " | ".join(names) + " |")
    print("|---" * (1 + len(names)) + "|")
    for n, rates, _ in results:
        print(f"| {n:,} | " + " | ".join(f"{rates[k]:.3g}" for k in names) + " |")
    print("\n| N | " + " | ".join(f"{k} ratio" for k in names if k != "brian2 cython") + " |")
    print("|---" * len(names) + "|")
    for n, rates, _ in results:
        ref = rates["brian2 cython"]
        print(f"| {n:,} | " + " | ".join(f"{rates[k] / ref:.2f}" for k in names if k != "brian2 cython") + " |")
    if results[0][2]:
        print("\nLava wall time per step (ms), same harness (ring-buffer source, process, sink)\n")
        print("| N | lowered HH (fixed_pt, compiled) | Lava LIF (fixed_pt) | HH / LIF |")
        print("|---|---|---|---|")
        for n, _, per_step in results:
            hh, lif = per_step["lava lowered HH"], per_step["lava LIF"]
            print(f"| {n:,} | {hh * 1e3:.3f} | {lif * 1e3:.3f} | {hh / lif:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
