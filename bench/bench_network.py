"""Network benchmark: a COBAHH-like network in Brian2 (Cython) and in the numpy network emulator, same run.

The network is Brian2's COBAHH example (Brette et al. 2007, J. Comput. Neurosci. 23:349,
benchmark 3): 3,200 excitatory and 800 inhibitory Hodgkin-Huxley neurons
(``examples/networks/cobahh_neuron.toml``), each pair connected with probability 2 %
(about 320,000 synapses), exponential conductances ``g_e += 6 nS`` (tau 5 ms) and
``g_i += 67 nS`` (tau 10 ms), no delay, no external input; initial ``v ~ N(-65, 5) mV``,
``g_e ~ N(40, 15) nS``, ``g_i ~ N(200, 120) nS`` (clipped at 0 by the network file). 1 s
at dt = 0.1 ms (10,000 steps).

Timed: Brian2's ``Network.run`` of the whole duration after code generation and compilation
(a zero-length run first), spikes recorded; the network emulator's ``run_network`` of the
lowered network (loihi2 defaults) over the same 10,000 steps, spikes recorded, after its
neuron kernels were compiled (or loaded from the cache). The
emulator's time is then split into neurons and synapses by running the synapse emulators
alone on the spikes the emulator produced (same calls, same order). The emulator runs twice:
stepped from Python (``fused_loop=False``) and as the fused network loop
(:mod:`neuromorph.network.fused`, compiled before), with the same spikes. A last row times the
compiled neuron programs alone over all steps (fused, every thread, zero inputs): the floor
of what any network kernel, fused or not, spends on the neurons with these integer programs.

    python bench/bench_network.py [--scale 1.0] [--duration 1.0] [--target loihi2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import brian2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neuromorph.network.emulator import run_network  # noqa: E402
from neuromorph.network.lava_semantics import SynapseEmulator  # noqa: E402
from neuromorph.network.lower import lower_network, recorded_variables  # noqa: E402
from neuromorph.network.network_file import load_network_file  # noqa: E402
from neuromorph.network.reference import Recording, build_brian2_network, run_network_brian2  # noqa: E402
from neuromorph.quantization.quantize import QuantConfig  # noqa: E402
from neuromorph.targets import load_target  # noqa: E402

NEURON = ROOT / "examples" / "networks" / "cobahh_neuron.toml"

NETWORK = '''
[simulation]
dt = "0.1 * ms"
duration = "{duration} * second"
seed = 1

[populations.E]
size = {n_e}
model = "{neuron}"
initial = {initial}

[populations.I]
size = {n_i}
model = "{neuron}"
initial = {initial}
{projections}
'''

INITIAL = ('{ v = { distribution = "normal", mean = "-65 * mV", std = "5 * mV" }, '
           'g_e = { distribution = "normal", mean = "40 * nS", std = "15 * nS" }, '
           'g_i = { distribution = "normal", mean = "200 * nS", std = "120 * nS" } }')

PROJECTION = '''
[projections.{source}_to_{target}]
source = "{source}"
target = "{target}"
connect = {{ rule = "probability", p = 0.02, autapses = true }}
weight = "{weight}"
effect = "{variable} += w"
'''


def network_text(scale: float, duration: float) -> str:
    """The network file of the benchmark (``scale`` times 3,200 E and 800 I neurons)."""
    weights = {"E": ("6 * nS", "g_e"), "I": ("67 * nS", "g_i")}
    projections = "".join(PROJECTION.format(source=s, target=t, weight=weights[s][0], variable=weights[s][1])
                          for s in ("E", "I") for t in ("E", "I"))
    return NETWORK.format(duration=duration, n_e=int(round(3200 * scale)), n_i=int(round(800 * scale)),
                          neuron=NEURON, initial=INITIAL, projections=projections)


def time_brian2(spec, codegen: str = "cython") -> tuple[float, float, int]:
    """(compile time, run time, spikes) of the spec in Brian2, timed after code generation and compilation."""
    network, _, spikes, _ = build_brian2_network(spec, codegen, record=None)
    started = time.perf_counter()
    network.run(0 * brian2.second, namespace={})
    compiled = time.perf_counter()
    network.run(spec.n_steps * spec.dt * brian2.second, namespace={})
    finished = time.perf_counter()
    return compiled - started, finished - compiled, int(sum(m.num_spikes for m in spikes.values()))


def time_synapses(lowered, run) -> float:
    """Seconds the synapse emulators of ``lowered`` take alone on the spikes of ``run`` (send, then receive)."""
    layers = [(p.source, SynapseEmulator(layer)) for p in lowered.projections for layer in p.layers]
    spikes = {name: r.spikes for name, r in run.populations.items()}
    spikes.update({s.name: s.spikes for s in lowered.sources})
    started = time.perf_counter()
    for t in range(lowered.n_steps):
        for _, layer in layers:
            layer.send()
        for source, layer in layers:
            layer.receive(spikes[source][t])
    return time.perf_counter() - started


def time_neuron_floor(lowered, block: int = 500) -> float:
    """Seconds the compiled neuron programs alone take over every step, fused (the chunk kernel runs
    ``block`` steps per call on every thread, registers kept in the CPU between steps), with zero
    inputs: what any network kernel spends on the neurons, without synapses or per-step calls (the
    programs are branch-free, so their cost does not depend on the inputs)."""
    from neuromorph.quantization.kernel import FixedPointKernel

    total = 0.0
    for population in lowered.populations:
        kernel = FixedPointKernel(population.neuron, backend="numba")
        state = population.initial.copy()
        inputs = np.zeros((block, population.input_rows, population.size), dtype=np.int64)
        started = time.perf_counter()
        for _ in range(0, lowered.n_steps, block):
            state = kernel.run(state, inputs, record=False)[0]
        total += time.perf_counter() - started
    return total


def lower(spec, target_name: str):
    """The Brian2 profiling run (every state of every neuron recorded) and the lowered network."""
    target = load_target(target_name)
    reference = run_network_brian2(spec, codegen="cython", record=Recording(variables=recorded_variables(spec)))
    return lower_network(spec, reference, target, QuantConfig.for_target(target))


def compile_kernels(lowered) -> None:
    """Compile (or load from the cache) every population's neuron kernel before the timed run, and call it
    once: numba loads a cached kernel at its first call (1.5-1.8 s each for COBAHH's), which the timed
    run would otherwise pay.

    A short warm-up run would not do: for a few steps the emulator chooses the interpreter over
    compiling a kernel it has not cached, and the timed run would then compile.
    """
    from neuromorph.quantization.kernel import FixedPointKernel

    for population in lowered.populations:
        kernel = FixedPointKernel(population.neuron, backend="numba")
        kernel.step(population.initial, np.zeros((population.input_rows, population.size), dtype=np.int64), 0)
    run_network(lowered, record=False, n_steps=2, fused_loop=True)  # the fused loop, compiled and cached


def _kernel_backend(lowered) -> str:
    """Which neuron kernel the emulator runs (``numpy`` interpreter unless a compiled one is available)."""
    from neuromorph.quantization.kernel import FixedPointKernel

    return getattr(FixedPointKernel(lowered.populations[0].neuron), "backend", None) or "numpy"


def table(rows: list[tuple], brian2_time: float) -> str:
    lines = ["| run | wall time (s) | neuron-steps/s | spikes | ratio to Brian2 cython (time) |",
             "|---|---|---|---|---|"]
    for name, wall, neuron_steps, spikes in rows:
        ratio = f"{wall / brian2_time:.2f}" if wall is not None else "-"
        lines.append(f"| {name} | {wall:.2f} | {neuron_steps / wall:.3g} | {spikes if spikes is not None else '-'} "
                     f"| {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="network size relative to 3,200 E + 800 I")
    parser.add_argument("--duration", type=float, default=1.0, help="simulated time (s)")
    parser.add_argument("--target", default="loihi2")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "cobahh.toml"
        path.write_text(network_text(args.scale, args.duration))
        spec = load_network_file(path)
    neurons = sum(p.size for p in spec.populations)
    synapses = sum(p.n_synapses for p in spec.projections)
    print(f"COBAHH-like: {neurons:,} neurons, {synapses:,} synapses, {spec.n_steps:,} steps of "
          f"{spec.dt * 1e3:g} ms", flush=True)
    compile_time, brian2_time, brian2_spikes = time_brian2(spec)
    print(f"Brian2 cython: code generation and compilation {compile_time:.1f} s, run {brian2_time:.2f} s", flush=True)
    started = time.perf_counter()
    lowered = lower(spec, args.target)
    print(f"profiling run and lowering: {time.perf_counter() - started:.1f} s", flush=True)
    compile_kernels(lowered)
    run = run_network(lowered, record=False, fused_loop=False)
    fused = run_network(lowered, record=False)
    assert all(np.array_equal(fused.populations[name].spikes, r.spikes) for name, r in run.populations.items())
    emulator_spikes = int(sum(r.spikes.sum() for r in run.populations.values()))
    synapse_time = time_synapses(lowered, run)
    floor_time = time_neuron_floor(lowered)
    steps = neurons * spec.n_steps
    rows = [("Brian2 cython (after compilation)", brian2_time, steps, brian2_spikes),
            (f"network emulator, fused loop ({args.target} defaults; the default)", fused.wall_time_s, steps,
             emulator_spikes),
            (f"network emulator, stepped from Python ({_kernel_backend(lowered)} neuron kernel)", run.wall_time_s,
             steps, emulator_spikes),
            ("  of which synapses (SynapseEmulator, alone on the same spikes)", synapse_time, steps, None),
            ("  of which neurons (the rest)", run.wall_time_s - synapse_time, steps, None),
            ("neuron programs alone, compiled, all steps fused (no synapses, no per-step call)", floor_time, steps,
             None)]
    print(table(rows, brian2_time))
    return 0


if __name__ == "__main__":
    sys.exit(main())
