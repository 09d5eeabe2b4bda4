"""A :class:`LoweredNetwork` as a graph of real Lava processes, and running it.

Each population is a :class:`~neuromorph.lava_backend.processes.LoweredNeuron` (its program,
tables and constants as Vars; its per-neuron drives as the ``drive`` Var; one input port per
synaptic target variable); each projection is Lava's own ``Dense``, ``Sparse``,
``DelayDense`` or ``DelaySparse`` (:func:`~neuromorph.network.lava_build.build_process`,
weights the target's format holds unchanged); each spike source a ``RingBuffer`` replaying
its raster. Run with ``Loihi2SimCfg(select_tag="fixed_pt")``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg

from ..lava_backend.models import fixed_model
from ..lava_backend.processes import LoweredNeuron, input_port
from ..quantization.kernel import FixedPointKernel
from .emulator import NetworkRun, PopulationRun
from .lava_build import build_process, spike_source
from .lower import LoweredNetwork


@dataclass
class LavaGraph:
    """The connected Lava processes of a network (keep working with them in Lava).

    Attributes
    ----------
    populations : dict of str to LoweredNeuron
    synapses : dict of str to list of Lava synapse processes (one per multapse layer)
    sources : dict of str to RingBuffer
    models : dict
        ``exception_proc_model_map`` for :func:`run_config` (the lowered neurons' models).
    """

    populations: dict
    synapses: dict
    sources: dict
    models: dict

    def run_config(self) -> Loihi2SimCfg:
        """Lava's simulated Loihi 2 in fixed point, with the lowered neurons' models named."""
        return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=self.models)

    def any_process(self):
        """A process of the graph (running one runs the whole connected graph)."""
        return next(iter(self.populations.values()))


def build_graph(lowered: LoweredNetwork, record_steps: int = 0) -> LavaGraph:
    """Create and connect the Lava processes of ``lowered`` (see the module docstring)."""
    populations, models = {}, {}
    for population in lowered.populations:
        process = LoweredNeuron(kernel=FixedPointKernel(population.neuron), n_neurons=population.size,
                                record_steps=record_steps, name=population.name, initial=population.initial,
                                drive=population.drive)
        populations[population.name] = process
        models[process] = fixed_model(max(len(population.neuron.program.ports), 1))
    sources = {s.name: spike_source(s.spikes) for s in lowered.sources}
    outputs = {**{name: p.s_out for name, p in populations.items()}, **{name: s.s_out for name, s in sources.items()}}
    synapses = {}
    for projection in lowered.projections:
        processes = [build_process(layer) for layer in projection.layers]
        for process in processes:
            outputs[projection.source].connect(process.s_in)
            process.a_out.connect(input_port(populations[projection.target], projection.port))
        synapses[projection.name] = processes
    return LavaGraph(populations=populations, synapses=synapses, sources=sources, models=models)


def run_graph(lowered: LoweredNetwork, n_steps: int | None = None, record: bool = True) -> NetworkRun:
    """Build the graph, run it for ``n_steps`` (default all) steps, read back spikes, states and overflows.

    The processes are always stopped, also after an error.
    """
    n_steps = lowered.n_steps if n_steps is None else n_steps
    graph = build_graph(lowered, record_steps=n_steps if record else n_steps)
    process = graph.any_process()
    started = time.perf_counter()
    try:
        process.run(condition=RunSteps(num_steps=n_steps), run_cfg=graph.run_config())
        wall = time.perf_counter() - started
        runs = {}
        for name, neuron in graph.populations.items():
            spikes = np.asarray(neuron.spike_trace.get())[:n_steps].astype(bool)
            states = np.asarray(neuron.trace.get()).astype(np.int64) if record else None
            runs[name] = PopulationRun(name=name, spikes=spikes, states=states,
                                       overflows=np.asarray(neuron.overflows.get()).astype(np.int64))
    finally:
        process.stop()
    return NetworkRun(populations=runs, wall_time_s=wall, label="lava fixed_pt")
