"""The network emulator: a :class:`LoweredNetwork` run in numpy with Lava's synapse semantics.

One step ``t`` does what Lava's processes do in one time step, in the order their messages
force on them (each synapse process sends before it receives):

1. every synapse process sends ``a_out`` (spikes of earlier steps, delayed and summed;
   :class:`~neuromorph.network.lava_semantics.SynapseEmulator`);
2. every population runs its integer program on its drive inputs plus the ``a_out`` that
   reach each of its increment ports (several projections into one port add, as Lava's
   ports add their inputs), and emits its spikes;
3. every synapse process receives the spikes its source emitted in step ``t`` (a source
   ``RingBuffer`` sends column ``t`` in step ``t``).

Because Lava's synapse code is Lava's, the Lava graph built from the same
:class:`LoweredNetwork` must give the same integers in every step
(``tests/test_network_lava.py``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .lava_semantics import SynapseEmulator
from .lower import LoweredNetwork
from .populations import stepper


@dataclass(frozen=True)
class PopulationRun:
    """Spikes (T, N) of a population, and its registers after each step (T, R, N) when recorded."""

    name: str
    spikes: np.ndarray
    states: np.ndarray | None
    overflows: np.ndarray


@dataclass(frozen=True)
class NetworkRun:
    """What a network run produced, per population, plus the wall time (s)."""

    populations: dict
    wall_time_s: float
    label: str = "emulator"


def run_network(lowered: LoweredNetwork, record: bool = True, n_steps: int | None = None,
                progress=None) -> NetworkRun:
    """Run ``lowered`` for ``n_steps`` steps (default: all of the spec).

    ``record`` keeps every register of every neuron after every step (for the exact
    comparison with Lava); without it only spikes and overflow counts are kept.
    """
    n_steps = lowered.n_steps if n_steps is None else n_steps
    kernels = {p.name: stepper(p, n_steps) for p in lowered.populations}
    states = {p.name: kernels[p.name].initial() for p in lowered.populations}
    synapses = [(projection, [SynapseEmulator(layer) for layer in projection.layers])
                for projection in lowered.projections]
    sources = {s.name: s.spikes for s in lowered.sources}
    spikes = {p.name: np.zeros((n_steps, p.size), dtype=bool) for p in lowered.populations}
    history = {p.name: np.empty((n_steps,) + states[p.name].shape, dtype=np.int64) if record else None
               for p in lowered.populations}
    overflows = {p.name: np.zeros(kernels[p.name].n_counters, dtype=np.int64) for p in lowered.populations}
    started = time.perf_counter()
    for t in range(n_steps):
        inputs = {p.name: kernels[p.name].inputs() for p in lowered.populations}
        for projection, layers in synapses:
            for layer in layers:
                inputs[projection.target][projection.port] += layer.send()
        for population in lowered.populations:
            name = population.name
            states[name], spikes[name][t], counts = kernels[name].step(states[name], inputs[name], t)
            overflows[name] += counts
            if record:
                history[name][t] = states[name]
        for projection, layers in synapses:
            fired = spikes[projection.source][t] if projection.source in spikes else sources[projection.source][t]
            for layer in layers:
                layer.receive(fired)
        if progress is not None:
            progress(t + 1)
    wall = time.perf_counter() - started
    runs = {name: PopulationRun(name=name, spikes=spikes[name], states=history[name], overflows=overflows[name])
            for name in spikes}
    return NetworkRun(populations=runs, wall_time_s=wall)
