"""The network emulator: a :class:`LoweredNetwork` run in numpy with Lava's synapse semantics.

One step ``t`` does what Lava's processes do in one time step, in the order their messages
force on them (each synapse process sends before it receives):

1. every synapse process sends ``a_out`` (spikes of earlier steps, delayed and summed;
   :class:`~neuromorph.network.lava_semantics.SynapseEmulator`);
2. every population runs one step of its kind (:meth:`~neuromorph.network.kinds.LoweredPopulation.stepper`:
   the integer program, or Lava's LIF arithmetic) on its drive inputs plus the ``a_out`` that
   reach each of its increment ports (several projections into one port add, as Lava's
   ports add their inputs), and emits its spikes;
3. every synapse process receives the spikes its source emitted in step ``t`` (a source
   ``RingBuffer`` sends column ``t`` in step ``t``).

The populations projections reach run these steps either from Python (``_run_stepped``) or,
when the run repays compiling it, in one compiled loop (:mod:`~neuromorph.network.fused`),
with the same integers.

Because Lava's synapse code is Lava's, the Lava graph built from the same
:class:`LoweredNetwork` must give the same integers in every step
(``tests/test_network_compare.py``, ``tests/test_network_lif_population.py``,
``tests/test_network_export.py``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..execution.loop import run_blocks
from .lava_semantics import SynapseEmulator
from .lower import LoweredNetwork
from .states import recorded_neurons


@dataclass(frozen=True)
class PopulationRun:
    """Spikes (T, N) of a population, its registers after each step (T, R, N) when recorded, and
    its registers (R, N) after the last step (``final``; None when the runner does not keep them).
    ``recorded``: the neurons of the last axis of ``states`` (sorted), when not all of them."""

    name: str
    spikes: np.ndarray
    states: np.ndarray | None
    overflows: np.ndarray
    final: np.ndarray | None = None
    recorded: np.ndarray | None = None


def _kept(states: np.ndarray | None, neurons: np.ndarray | None) -> np.ndarray | None:
    """The recorded neurons' columns of ``states`` (T, R, N) (all for None)."""
    return states if states is None or neurons is None else np.ascontiguousarray(states[..., neurons])


@dataclass(frozen=True)
class NetworkRun:
    """What a network run produced, per population, plus the wall time (s) of the run and, by stage,
    of everything around it (``timings``: e.g. Lava's ``build``, ``run``, ``read_back``);
    ``fused_loop``: the emulator stepped its populations in the fused network loop, most steps on ``threads``
    threads."""

    populations: dict
    wall_time_s: float
    label: str = "emulator"
    timings: Mapping[str, float] = field(default_factory=dict)
    fused_loop: bool = False
    threads: int = 1


#: Steps per call of a fused population run (bounds the input block: steps x ports x neurons int64).
FUSED_BLOCK = 1024


def _step_inputs(kernels: dict, currents, t: int) -> dict:
    """Every population's input matrix (ports, N) of step ``t``: constant drives plus sampled inputs."""
    inputs = {name: kernel.inputs() for name, kernel in kernels.items()}
    for current in currents:
        if current.target in inputs:
            inputs[current.target][current.port] += current.values[t]
    return inputs


def _run_fused(kernel, currents, n_steps: int, record: bool, progress=None):
    """A population no projection reaches, all steps at once (its kernel's fused ``run``; the one
    time loop :func:`~neuromorph.execution.loop.run_blocks`), its inputs built block by block.

    Returns (spikes (T, N), states (T, R, N) or None, overflow counts, registers after the last step).
    """
    constant = kernel.inputs()

    def inputs(start: int, stop: int) -> np.ndarray:
        block = np.repeat(constant[None], stop - start, axis=0)
        for current in currents:
            block[:, current.port] += current.values[start:stop]
        return block

    state, states, spikes, overflows = run_blocks(kernel.run, kernel.initial(), n_steps, inputs,
                                                  kernel.n_counters, record, progress, FUSED_BLOCK)
    return spikes, states, overflows, state


def run_network(lowered: LoweredNetwork, record=True, n_steps: int | None = None,
                progress=None, parallel: bool = True, fused_loop: bool | None = None) -> NetworkRun:
    """Run ``lowered`` for ``n_steps`` steps (default: all of the spec).

    ``record`` True keeps every register of every neuron after every step (for the exact
    comparison with Lava); False only spikes and overflow counts; a mapping of population names
    to neuron indices the registers of those neurons only (:func:`recorded_neurons`; what a
    StateMonitor of a few neurons needs, without the memory of all of them).
    Populations that no projection reaches (a model file's one population, an input layer)
    run first, each as one fused loop over all steps; the others step together, with the
    spikes of the fused ones read from their record. ``progress``, if given, is called with
    ``k`` after step ``k`` (of the stepped populations; of the fused ones when none step).
    ``parallel``: compiled kernels may use several threads (False inside a worker process).
    ``fused_loop``: step the populations projections reach in one compiled loop
    (:mod:`~neuromorph.network.fused`) when every one of them has a compiled integer program:
    None when the loop is cached or the run repays compiling it, True whenever it can run,
    False never. Otherwise (or when the loop stops) they are stepped from Python, with the same
    results.
    """
    n_steps = lowered.n_steps if n_steps is None else n_steps
    record = recorded_neurons(lowered, record)
    kernels = {p.name: p.stepper(n_steps, parallel) for p in lowered.populations}
    fed = {projection.target for projection in lowered.projections}
    fused = [p.name for p in lowered.populations if p.name not in fed and hasattr(kernels[p.name], "run")]
    started = time.perf_counter()
    spikes, history, overflows, final = {}, {}, {}, {}
    for name in fused:
        currents = [c for c in lowered.currents if c.target == name]
        spikes[name], states, overflows[name], final[name] = _run_fused(
            kernels[name], currents, n_steps, name in record, progress if len(fused) == len(kernels) else None)
        history[name] = _kept(states, record.get(name))
    stepped = {name: kernel for name, kernel in kernels.items() if name not in spikes}
    threads = 0
    if stepped:
        results = (spikes, history, overflows)
        if fused_loop is not False:
            threads = _run_fused_network(lowered, stepped, n_steps, record, progress, results, final,
                                         always=bool(fused_loop))
        if not threads:
            final.update(_run_stepped(lowered, stepped, n_steps, record, progress, results))
    wall = time.perf_counter() - started
    runs = {p.name: PopulationRun(name=p.name, spikes=spikes[p.name], states=history[p.name],
                                  overflows=overflows[p.name], final=final[p.name], recorded=record.get(p.name))
            for p in lowered.populations}
    return NetworkRun(populations=runs, wall_time_s=wall, fused_loop=bool(threads), threads=max(threads, 1))


def _run_fused_network(lowered: LoweredNetwork, kernels: dict, n_steps: int, record: dict, progress, results,
                       final: dict, always: bool) -> int:
    """The stepped populations in one compiled loop (:mod:`.fused`): the thread count that ran most of its
    steps, 0 when it does not run them or stopped."""
    from .fused import fuse

    spikes, history, overflows = results
    rasters = {s.name: s.spikes for s in lowered.sources} | {name: spikes[name] for name in spikes}
    loop = fuse(lowered, kernels, rasters, n_steps, always)
    outcome = None if loop is None else loop.run(n_steps, record, progress)
    if outcome is None:
        return 0
    for name, (fired, states, counts, registers) in zip(loop.names, outcome):
        spikes[name], history[name], overflows[name], final[name] = fired, states, counts, registers
    return max(loop.steps_on, key=loop.steps_on.get, default=1)


def _run_stepped(lowered: LoweredNetwork, kernels: dict, n_steps: int, record: dict, progress, results) -> dict:
    """Step ``kernels``' populations together with the synapses (see the module docstring); fill ``results``
    and return the registers of each population after the last step."""
    spikes, history, overflows = results
    states = {name: kernel.initial() for name, kernel in kernels.items()}
    synapses = [(projection, [SynapseEmulator(layer) for layer in projection.layers])
                for projection in lowered.projections]
    sources = {s.name: s.spikes for s in lowered.sources}
    columns = {name: slice(None) if record[name] is None else record[name] for name in states if name in record}
    for name, state in states.items():
        spikes[name] = np.zeros((n_steps, state.shape[-1]), dtype=bool)
        history[name] = np.empty((n_steps,) + state[..., columns[name]].shape, dtype=np.int64) \
            if name in columns else None
        overflows[name] = np.zeros(kernels[name].n_counters, dtype=np.int64)
    for t in range(n_steps):
        inputs = _step_inputs(kernels, lowered.currents, t)
        for projection, layers in synapses:
            for layer in layers:
                inputs[projection.target][projection.port] += layer.send()
        for name, kernel in kernels.items():
            states[name], spikes[name][t], counts = kernel.step(states[name], inputs[name], t)
            overflows[name] += counts
            if name in columns:
                history[name][t] = states[name][..., columns[name]]
        for projection, layers in synapses:
            fired = spikes[projection.source][t] if projection.source in spikes else sources[projection.source][t]
            for layer in layers:
                layer.receive(fired)
        if progress is not None:
            progress(t)
    return states
