"""A :class:`~neuromorph.network.lower.LoweredNetwork` as a graph of real Lava processes, and running it.

Each population is the Lava process its kind builds (:mod:`neuromorph.network.kinds`:
``LoweredPopulation.build_lava``, ``lava_port``): a ``"lowered"`` population a
:class:`~neuromorph.lava.processes.LoweredNeuron` (its program, tables and constants as Vars;
its per-neuron drives as the ``drive`` Var; one input port per synaptic target variable), a
``"lif"`` population Lava's own ``LIF`` (:func:`~neuromorph.lava.build.build_lif`; its
``a_in`` is port 0). Each projection is Lava's own ``Dense``, ``Sparse``, ``DelayDense`` or
``DelaySparse`` (:func:`~neuromorph.lava.build.build_process`, weights the target's format
holds unchanged); each spike source a ``RingBuffer`` replaying its raster, each sampled input
a 64-bit ``RingBuffer`` into its port. Run with ``Loihi2SimCfg(select_tag="fixed_pt")``.

Readout, by kind (``LoweredPopulation.lava_readout``, ``read_lava``): a ``LoweredNeuron``
records its own state, spikes and overflow counts; Lava's ``LIF`` records nothing and is read
by processes that stream every step to the host while the run goes on
(:mod:`neuromorph.lava.readout`; :func:`run_graph` runs non-blocking and receives).
"""
from __future__ import annotations

import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.source import RingBuffer

from ..network.emulator import NetworkRun, PopulationRun
from ..network.lower import LoweredNetwork, LoweredPopulation
from .build import build_process, spike_source
from .models import PySendModelInt64


@dataclass
class LavaGraph:
    """The connected Lava processes of a network (keep working with them in Lava).

    Attributes
    ----------
    populations : dict of str to Lava process
        The process of each population (its kind's ``build_lava``).
    synapses : dict of str to list of Lava synapse processes (one per multapse layer)
    sources : dict of str to RingBuffer
    models : dict
        ``exception_proc_model_map`` for :func:`run_config` (the lowered neurons' models, the readouts').
    monitors : dict of str to readout
        The readout of each population whose kind needs one (``LoweredPopulation.lava_readout``;
        a :class:`~neuromorph.lava.readout.LifProbes` for Lava's LIF), when the graph was built
        with ``record_steps``.
    feeds : dict of str to list of synapse processes
        The synapse processes whose ``a_out`` reaches each population.
    record_dir : str or None
        Where the lowered neurons write what they record (``process.recorded()`` reads it).
    """

    populations: dict
    synapses: dict
    sources: dict
    models: dict
    monitors: dict = field(default_factory=dict)
    feeds: dict = field(default_factory=dict)
    record_dir: str | None = None

    def run_config(self) -> Loihi2SimCfg:
        """Lava's simulated Loihi 2 in fixed point, with the lowered neurons' models named."""
        return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=self.models)

    def any_process(self):
        """A process of the graph (running one runs the whole connected graph)."""
        return next(iter(self.populations.values()))


def _current_source(current, port, models: dict) -> RingBuffer:
    """A ``RingBuffer`` sending step ``t``'s integer drive of a sampled input to ``port`` in step ``t``.

    Its model sends 64-bit integers (:class:`~neuromorph.lava.models.PySendModelInt64`):
    the program's input operation fits them to the target's input width and counts what did not.
    """
    buffer = RingBuffer(data=np.asarray(current.values, dtype=np.int64).T.copy())
    buffer.s_out.connect(port)
    models[buffer] = PySendModelInt64
    return buffer


def build_graph(lowered: LoweredNetwork, record_steps: int = 0, record_dir: str | None = None,
                record_states: bool = True) -> LavaGraph:
    """Create and connect the Lava processes of ``lowered`` (see the module docstring).

    With ``record_steps`` > 0 the populations record that many steps of spikes (and, with
    ``record_states``, of states); the lowered neurons write them under ``record_dir`` (when
    None, a new temporary directory, ``LavaGraph.record_dir``, which the caller removes).
    """
    if record_steps and record_dir is None:
        record_dir = tempfile.mkdtemp(prefix="neuromorph-lava-")
    by_name = {population.name: population for population in lowered.populations}
    populations, models = {}, {}
    for population in lowered.populations:
        process, model = population.build_lava(record_steps, record_dir, record_states)
        populations[population.name] = process
        if model is not None:
            models[process] = model
    sources = {s.name: spike_source(s.spikes) for s in lowered.sources}
    outputs = {**{name: p.s_out for name, p in populations.items()}, **{name: s.s_out for name, s in sources.items()}}
    for current in lowered.currents:
        port = by_name[current.target].lava_port(populations[current.target], current.port)
        sources[current.name] = _current_source(current, port, models)
    synapses, feeds = {}, {name: [] for name in populations}
    for projection in lowered.projections:
        processes = [build_process(layer) for layer in projection.layers]
        port = by_name[projection.target].lava_port(populations[projection.target], projection.port)
        for process in processes:
            outputs[projection.source].connect(process.s_in)
            process.a_out.connect(port)
        synapses[projection.name] = processes
        feeds[projection.target] += processes
    readouts = {name: population.lava_readout(populations[name], feeds[name], models, record_steps)
                for name, population in by_name.items()}
    return LavaGraph(populations=populations, synapses=synapses, sources=sources, models=models,
                     monitors={name: readout for name, readout in readouts.items() if readout is not None},
                     feeds=feeds, record_dir=record_dir)


def read_population(graph: LavaGraph, population: LoweredPopulation, n_steps: int, record: bool,
                    received: dict) -> PopulationRun:
    """Spikes, states (when ``record``) and overflow counts of ``population`` after a run of ``graph``.

    ``received``: what :func:`run_receiving` streamed, by population.
    """
    spikes, states, overflows = population.read_lava(graph.populations[population.name],
                                                     received.get(population.name, {}), n_steps, record)
    return PopulationRun(name=population.name, spikes=spikes, states=states, overflows=overflows)


def run_receiving(graph: LavaGraph, n_steps: int) -> dict:
    """Run the graph for ``n_steps`` steps; receive every step's vector of every readout meanwhile.

    Returns ``{population: {"u", "v", "spikes", "a_in": ndarray (n_steps, N) float}}``. Without
    readouts the run is a plain blocking run.
    """
    process = graph.any_process()
    receivers = {name: probes.receivers() for name, probes in graph.monitors.items()}
    if not receivers:
        process.run(condition=RunSteps(num_steps=n_steps), run_cfg=graph.run_config())
        return {}
    received = {name: {key: np.zeros((n_steps,) + graph.populations[name].s_out.shape) for key in keys}
                for name, keys in receivers.items()}
    process.run(condition=RunSteps(num_steps=n_steps, blocking=False), run_cfg=graph.run_config())
    for t in range(n_steps):
        for name, keys in receivers.items():
            for key, receiver in keys.items():
                received[name][key][t] = receiver.receive()
    process.wait()
    return received


def run_graph(lowered: LoweredNetwork, n_steps: int | None = None, record: bool = True) -> NetworkRun:
    """Build the graph, run it for ``n_steps`` (default all) steps, read back spikes, states and overflows.

    ``wall_time_s`` is the run (Lava's start-up included) with the LIF readouts received
    during it; ``timings`` lists ``build`` (processes and compiled kernels), ``run`` and
    ``read_back`` (the record files, one read each) separately. States are recorded only
    when ``record``. The processes are always stopped, also after an error.
    """
    n_steps = lowered.n_steps if n_steps is None else n_steps
    timings = {}
    with tempfile.TemporaryDirectory(prefix="neuromorph-lava-") as record_dir:
        started = time.perf_counter()
        graph = build_graph(lowered, record_steps=n_steps, record_dir=record_dir, record_states=record)
        timings["build"] = time.perf_counter() - started
        process = graph.any_process()
        try:
            started = time.perf_counter()
            with warnings.catch_warnings():  # Lava's DelaySparse model builds its per-delay matrices by csr assignment
                warnings.filterwarnings("ignore", message="Changing the sparsity structure", module="scipy")
                received = run_receiving(graph, n_steps)
            timings["run"] = time.perf_counter() - started
            started = time.perf_counter()
            runs = {population.name: read_population(graph, population, n_steps, record, received)
                    for population in lowered.populations}
            timings["read_back"] = time.perf_counter() - started
        finally:
            process.stop()
    return NetworkRun(populations=runs, wall_time_s=timings["run"], label="lava fixed_pt", timings=timings)
