"""Network benchmark: a COBAHH-like network in Brian2 (Cython) and in the numpy network emulator, same run.

The network is Brian2's COBAHH example (Brette et al. 2007, J. Comput. Neurosci. 23:349,
benchmark 3): 3,200 excitatory and 800 inhibitory Hodgkin-Huxley neurons
(``examples/networks/cobahh_neuron.toml``), each pair connected with probability 2 %
(about 320,000 synapses; ``--scale`` divides the probability by the scale, so the in-degree stays), exponential conductances ``g_e += 6 nS`` (tau 5 ms) and
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
(:mod:`neuromorph.network.fused`, compiled before; on the threads it chooses, and on one),
with the same spikes. A last row times the
compiled neuron programs alone over all steps (fused, every thread, zero inputs): the floor
of what any network kernel, fused or not, spends on the neurons with these integer programs.

With ``--memory`` each run is repeated in a fresh process of its own and its peak memory
measured: the resident set size, sampled every millisecond, above what the process held after
its imports. Brian2's process builds the network and runs it (code from the Cython cache); the
emulator's loads the lowered network from an export (``neuromorph export``'s files, so it holds
the network as a user's run does, and nothing of the profiling run) and runs the fused loop
(kernels from the cache). Beyond 4,000 neurons the profiling run samples the first 3,200 neurons
of each population (what it records at 4,000): recording all of them at 20,000 neurons would
take about 10 GB for ranges the same sample gives.

With ``--threads`` the fused loop runs again on the thread count it chooses per block, on all
CPUs and on one thread, on the idle machine and beside a process that keeps one core busy.

    python bench/bench_network.py [--scale 1.0] [--duration 1.0] [--target loihi2] [--memory] [--threads]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
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
connect = {{ rule = "probability", p = {p}, autapses = true }}
weight = "{weight}"
effect = "{variable} += w"
'''


def network_text(scale: float, duration: float) -> str:
    """The network file of the benchmark (``scale`` times 3,200 E and 800 I neurons, connection probability
    ``0.02 / scale``: every neuron keeps COBAHH's in-degree, 64 excitatory and 16 inhibitory synapses on average)."""
    weights = {"E": ("6 * nS", "g_e"), "I": ("67 * nS", "g_i")}
    projections = "".join(PROJECTION.format(source=s, target=t, weight=weights[s][0], variable=weights[s][1],
                                            p=repr(0.02 / scale)) for s in ("E", "I") for t in ("E", "I"))
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
    """Seconds the compiled neuron programs alone take over every step (the kernel's run: ``block`` steps per
    call, each thread stepping its chunks of neurons through ``_row``), with zero inputs: what any network
    kernel spends on the neurons, without synapses or per-step Python calls (the programs are branch-free,
    so their cost does not depend on the inputs)."""
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


#: Neurons per population the profiling run records (all of them at scale 1).
PROFILED_NEURONS = 3200


def lower(spec, target_name: str):
    """The Brian2 profiling run (every state of the first :data:`PROFILED_NEURONS` neurons of each
    population recorded) and the lowered network."""
    target = load_target(target_name)
    record = Recording(variables=recorded_variables(spec), neurons=PROFILED_NEURONS)
    reference = run_network_brian2(spec, codegen="cython", record=record)
    return lower_network(spec, reference, target, QuantConfig.for_target(target))


def resident_bytes() -> int:
    """This process's resident set size (bytes), from ``/proc/self/statm``."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """The largest resident set size above the one at entry (bytes, ``added``), sampled every millisecond."""

    def __enter__(self) -> "PeakMemory":
        self.baseline = self.peak = resident_bytes()
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.001):
            self.peak = max(self.peak, resident_bytes())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._sampler.join()
        self.peak = max(self.peak, resident_bytes())
        self.added = self.peak - self.baseline


def measure_brian2_memory(network_file: str) -> tuple[int, int]:
    """Peak added memory (bytes) of reading the network file and building its network in Brian2 (Cython code
    loaded by a zero-length run), and of that and running it."""
    with PeakMemory() as memory:
        spec = load_network_file(network_file)
        network, _, _, _ = build_brian2_network(spec, "cython", record=None)
        network.run(0 * brian2.second, namespace={})
        built = resident_bytes() - memory.baseline
        network.run(spec.n_steps * spec.dt * brian2.second, namespace={})
    return built, memory.added


def measure_emulator_memory(export_dir: str) -> tuple[int, int]:
    """Peak added memory (bytes) of loading an exported lowered network with its kernels (numba loads them at
    their first call: two steps), and of that and running the fused loop on it."""
    from neuromorph.network.export import load_export

    with PeakMemory() as memory:
        lowered = load_export(export_dir)
        run_network(lowered, record=False, n_steps=2, fused_loop=True)
        built = resident_bytes() - memory.baseline
        run_network(lowered, record=False, fused_loop=True)
    return built, memory.added


def memory_in_fresh_process(what: str, path: str) -> tuple[int, int]:
    """Run :func:`measure_brian2_memory` or :func:`measure_emulator_memory` in a new Python process."""
    output = subprocess.run([sys.executable, __file__, f"--measure-{what}", path], check=True, capture_output=True,
                            text=True).stdout
    built, total = output.strip().splitlines()[-1].split()
    return int(built), int(total)


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


def fused_with_threads(lowered, threads: str | None):
    """The fused loop's run with ``NEUROMORPH_THREADS`` set to ``threads`` for the call (None: unset, the
    loop chooses per block)."""
    from neuromorph.quantization.compiled import THREADS_ENV

    before = os.environ.pop(THREADS_ENV, None)
    if threads is not None:
        os.environ[THREADS_ENV] = threads
    try:
        return run_network(lowered, record=False)
    finally:
        os.environ.pop(THREADS_ENV, None)
        if before is not None:
            os.environ[THREADS_ENV] = before


def thread_table(lowered) -> str:
    """The fused loop on the thread count it chooses, on all CPUs and on one thread, on the idle machine and
    beside a process that keeps one core busy (a spinning Python loop)."""
    from neuromorph.quantization.compiled import thread_count

    lines = ["| machine | fused loop | wall time (s) | thread count of most steps |", "|---|---|---|---|"]
    for beside in ("idle", "one busy process beside"):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if beside != "idle" else None
        try:
            for label, threads in (("chosen per block (the default)", None), ("all CPUs", str(thread_count())),
                                   ("one thread", "1")):
                run = fused_with_threads(lowered, threads)
                lines.append(f"| {beside} | {label} | {run.wall_time_s:.2f} | {run.threads} |")
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return "\n".join(lines)


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
    parser.add_argument("--memory", action="store_true", help="also measure each run's peak memory (fresh processes)")
    parser.add_argument("--threads", action="store_true",
                        help="also time the fused loop's thread choices, idle and beside a busy process")
    parser.add_argument("--measure-brian2", metavar="NETWORK_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--measure-emulator", metavar="EXPORT_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_brian2 or args.measure_emulator:
        print(*(measure_brian2_memory(args.measure_brian2) if args.measure_brian2
                else measure_emulator_memory(args.measure_emulator)))
        return 0
    with tempfile.TemporaryDirectory() as directory:
        return benchmark(args, Path(directory))


def benchmark(args, directory: Path) -> int:
    """The timed runs of the module docstring, and with ``--memory`` the memory of two of them."""
    path = directory / "cobahh.toml"
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
    one_thread = fused_with_threads(lowered, "1")
    assert all(np.array_equal(fused.populations[name].spikes, r.spikes) and
               np.array_equal(one_thread.populations[name].spikes, r.spikes) for name, r in run.populations.items())
    emulator_spikes = int(sum(r.spikes.sum() for r in run.populations.values()))
    synapse_time = time_synapses(lowered, run)
    floor_time = time_neuron_floor(lowered)
    steps = neurons * spec.n_steps
    rows = [("Brian2 cython (after compilation)", brian2_time, steps, brian2_spikes),
            (f"network emulator, fused loop ({args.target} defaults; the default: {fused.threads} threads)",
             fused.wall_time_s, steps, emulator_spikes),
            ("network emulator, fused loop on one thread", one_thread.wall_time_s, steps, emulator_spikes),
            (f"network emulator, stepped from Python ({_kernel_backend(lowered)} neuron kernel)", run.wall_time_s,
             steps, emulator_spikes),
            ("  of which synapses (SynapseEmulator, alone on the same spikes)", synapse_time, steps, None),
            ("  of which neurons (the rest)", run.wall_time_s - synapse_time, steps, None),
            ("neuron programs alone, compiled, all steps fused (no synapses, no per-step call)", floor_time, steps,
             None)]
    print(table(rows, brian2_time))
    if args.threads:
        print("\n" + thread_table(lowered))
    if args.memory:
        from neuromorph.network.export import export_network

        export_network(lowered, directory / "export")
        brian2_bytes = memory_in_fresh_process("brian2", str(path))
        emulator_bytes = memory_in_fresh_process("emulator", str(directory / "export"))
        print("\n| in a fresh process | network and code loaded (MB) | peak with the run (MB) |\n|---|---|---|")
        print(f"| Brian2 cython: read, build, then run | {brian2_bytes[0] / 1e6:.0f} | {brian2_bytes[1] / 1e6:.0f} |")
        print(f"| network emulator: load the export and its kernels, then run the fused loop | "
              f"{emulator_bytes[0] / 1e6:.0f} | {emulator_bytes[1] / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
