"""A :class:`LoweredNetwork` as a graph of real Lava processes, and running it.

Each population is a Lava process chosen by its kind (:data:`PROCESS_BUILDERS`): a
``"lowered"`` population a :class:`~neuromorph.lava_backend.processes.LoweredNeuron` (its
program, tables and constants as Vars; its per-neuron drives as the ``drive`` Var; one input
port per synaptic target variable), a ``"lif"`` population Lava's own ``LIF``
(:func:`~neuromorph.network.lava_build.build_lif`; its ``a_in`` is port 0). Each projection is
Lava's own ``Dense``, ``Sparse``, ``DelayDense`` or ``DelaySparse``
(:func:`~neuromorph.network.lava_build.build_process`, weights the target's format holds
unchanged); each spike source a ``RingBuffer`` replaying its raster. Run with
``Loihi2SimCfg(select_tag="fixed_pt")``.

Readout: a ``LoweredNeuron`` records its own state, spikes and overflow counts. Lava's ``LIF``
records nothing; Lava's ``VarWire`` processes tap its ``u`` and ``v`` after every step, an
``Extractor`` receives ``s_out``, and a second ``Extractor`` connected to the ``a_out`` of every
synapse process into it receives their sum, as ``a_in`` does. They stream one vector per
step to the host while the run goes on (``run_graph`` runs non-blocking and receives). The
overflow counts of the run (input wrapped, ``u`` wrapped, ``v`` clipped; Lava counts none)
are computed from these received values (:func:`~neuromorph.network.populations.lif_overflows`).

Why not ``Monitor`` or a ``RingBuffer`` sink: both work (``tests/test_network_lif.py`` uses
them), but Lava 0.10 reads a Var back one element per message (``PyLoihiProcessModel._get_var``,
``lava/magma/core/model/py/model.py:124``: ``# FIXME: send a whole vector``), about 35 us per
value here: the ``u``, ``v``, spikes and input of ``lif_net`` over 1 s (4 x 10^6 values) took
160 s to read after a 126 s run. A ``Monitor`` also holds one probe only (its model declares
``ref_port_0`` alone; a second ``probe`` fails to compile).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel, PyLoihiVarWireModel, VarWire
from lava.proc.io.source import RingBuffer

from ..lava_backend.models import fixed_model
from ..lava_backend.processes import LoweredNeuron, input_port
from ..lava_backend.run import PySendModelInt64, prepare
from ..quantization.kernel import FixedPointKernel
from .emulator import NetworkRun, PopulationRun
from .lava_build import build_lif, build_process, spike_source
from .lower import LoweredNetwork, LoweredPopulation
from .populations import lif_overflows


@dataclass
class LavaGraph:
    """The connected Lava processes of a network (keep working with them in Lava).

    Attributes
    ----------
    populations : dict of str to LoweredNeuron or LIF
    synapses : dict of str to list of Lava synapse processes (one per multapse layer)
    sources : dict of str to RingBuffer
    models : dict
        ``exception_proc_model_map`` for :func:`run_config` (the lowered neurons' models).
    monitors : dict of str to LifProbes
        The readout of each LIF population (when the graph was built with ``record_steps``).
    feeds : dict of str to list of synapse processes
        The synapse processes whose ``a_out`` reaches each population.
    """

    populations: dict
    synapses: dict
    sources: dict
    models: dict
    monitors: dict = field(default_factory=dict)
    feeds: dict = field(default_factory=dict)

    def run_config(self) -> Loihi2SimCfg:
        """Lava's simulated Loihi 2 in fixed point, with the lowered neurons' models named."""
        return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=self.models)

    def any_process(self):
        """A process of the graph (running one runs the whole connected graph)."""
        return next(iter(self.populations.values()))


def _lowered_process(population: LoweredPopulation, record_steps: int):
    """A LoweredNeuron and its fixed_pt ProcessModel (the kernel compiled here, before Lava forks)."""
    kernel = FixedPointKernel(population.neuron)
    prepare(kernel, population.size)
    process = LoweredNeuron(kernel=kernel, n_neurons=population.size,
                            record_steps=record_steps, name=population.name, initial=population.initial,
                            drive=population.drive)
    return process, fixed_model(max(len(population.neuron.program.ports), 1))


def _lif_process(population: LoweredPopulation, record_steps: int):
    """Lava's own LIF (Lava finds its fixed_pt model itself)."""
    return build_lif(population.lif.lava), None


def _lif_port(process, port: int):
    if port != 0:
        raise ValueError(f"Lava's LIF has one input port (a_in = port 0), not port {port}")
    return process.a_in


#: kind -> (process builder, input port of a process by port number)
PROCESS_BUILDERS = {"lowered": (_lowered_process, input_port), "lif": (_lif_process, _lif_port)}


#: Vectors a readout channel holds before the run waits for the host to receive.
READOUT_BUFFER = 64


@dataclass
class LifProbes:
    """The readout of a LIF population: ``u``, ``v`` (VarWire), ``s_out`` and the summed input (Extractor).

    ``a_in`` is None when no synapse reaches the population (an unconnected Extractor would
    not be part of the graph Lava compiles); its input is then 0.
    """

    u: VarWire
    v: VarWire
    spikes: Extractor
    a_in: Extractor | None

    def receivers(self) -> dict:
        receivers = {"u": self.u, "v": self.v, "spikes": self.spikes, "a_in": self.a_in}
        return {key: receiver for key, receiver in receivers.items() if receiver is not None}


def _probe_lif(process, feeds: list, models: dict) -> LifProbes:
    """Attach the readout of a LIF process; name the readout processes' models in ``models``."""
    wires = {}
    for name in ("u", "v"):
        wires[name] = VarWire(buffer_size=READOUT_BUFFER)
        wires[name].connect_var(getattr(process, name))
        models[wires[name]] = PyLoihiVarWireModel
    spikes = Extractor(shape=process.s_out.shape, buffer_size=READOUT_BUFFER)
    process.s_out.connect(spikes.in_port)
    a_in = Extractor(shape=process.s_out.shape, buffer_size=READOUT_BUFFER) if feeds else None
    for synapse in feeds:
        synapse.a_out.connect(a_in.in_port)
    models.update({extractor: PyLoihiExtractorModel for extractor in (spikes, a_in) if extractor is not None})
    return LifProbes(u=wires["u"], v=wires["v"], spikes=spikes, a_in=a_in)


def _current_source(current, port, models: dict) -> RingBuffer:
    """A ``RingBuffer`` sending step ``t``'s integer drive of a sampled input to ``port`` in step ``t``.

    Its model sends 64-bit integers (:class:`~neuromorph.lava_backend.run.PySendModelInt64`):
    the program's input operation fits them to the target's input width and counts what did not.
    """
    buffer = RingBuffer(data=np.asarray(current.values, dtype=np.int64).T.copy())
    buffer.s_out.connect(port)
    models[buffer] = PySendModelInt64
    return buffer


def build_graph(lowered: LoweredNetwork, record_steps: int = 0) -> LavaGraph:
    """Create and connect the Lava processes of ``lowered`` (see the module docstring)."""
    populations, models, kinds = {}, {}, {}
    for population in lowered.populations:
        process, model = PROCESS_BUILDERS[population.kind][0](population, record_steps)
        populations[population.name], kinds[population.name] = process, population.kind
        if model is not None:
            models[process] = model
    sources = {s.name: spike_source(s.spikes) for s in lowered.sources}
    outputs = {**{name: p.s_out for name, p in populations.items()}, **{name: s.s_out for name, s in sources.items()}}
    for current in lowered.currents:
        sources[current.name] = _current_source(current, PROCESS_BUILDERS[kinds[current.target]][1](
            populations[current.target], current.port), models)
    synapses, feeds = {}, {name: [] for name in populations}
    for projection in lowered.projections:
        processes = [build_process(layer) for layer in projection.layers]
        port = PROCESS_BUILDERS[kinds[projection.target]][1](populations[projection.target], projection.port)
        for process in processes:
            outputs[projection.source].connect(process.s_in)
            process.a_out.connect(port)
        synapses[projection.name] = processes
        feeds[projection.target] += processes
    monitors = {name: _probe_lif(populations[name], feeds[name], models)
                for name, kind in kinds.items() if kind == "lif" and record_steps > 0}
    return LavaGraph(populations=populations, synapses=synapses, sources=sources, models=models,
                     monitors=monitors, feeds=feeds)


def _read_lowered(graph: LavaGraph, population: LoweredPopulation, n_steps: int, record: bool,
                  received: dict) -> PopulationRun:
    neuron = graph.populations[population.name]
    spikes = np.asarray(neuron.spike_trace.get())[:n_steps].astype(bool)
    states = np.asarray(neuron.trace.get()).astype(np.int64) if record else None
    return PopulationRun(name=population.name, spikes=spikes, states=states,
                         overflows=np.asarray(neuron.overflows.get()).astype(np.int64))


def _read_lif(graph: LavaGraph, population: LoweredPopulation, n_steps: int, record: bool,
              received: dict) -> PopulationRun:
    data = {key: values.astype(np.int64) for key, values in received[population.name].items()}
    u, v = data["u"], data["v"]
    return PopulationRun(name=population.name, spikes=data["spikes"] != 0,
                         states=np.stack([u, v], axis=1) if record else None,
                         overflows=lif_overflows(population.lif.lava, u, v, data.get("a_in", np.zeros_like(u))))


#: kind -> reader of a population's spikes, states and overflow counts after a run.
READERS = {"lowered": _read_lowered, "lif": _read_lif}


def _run_receiving(graph: LavaGraph, n_steps: int) -> dict:
    """Run the graph for ``n_steps`` steps; receive every step's vector of every LIF readout meanwhile.

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

    ``wall_time_s`` is the run (Lava's compilation and start-up included) with the LIF
    readouts received during it, without the read-back of the lowered neurons' traces.
    The processes are always stopped, also after an error.
    """
    n_steps = lowered.n_steps if n_steps is None else n_steps
    graph = build_graph(lowered, record_steps=n_steps)
    process = graph.any_process()
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():  # Lava's DelaySparse model builds its per-delay matrices by csr assignment
            warnings.filterwarnings("ignore", message="Changing the sparsity structure", module="scipy")
            received = _run_receiving(graph, n_steps)
        wall = time.perf_counter() - started
        runs = {population.name: READERS[population.kind](graph, population, n_steps, record, received)
                for population in lowered.populations}
    finally:
        process.stop()
    return NetworkRun(populations=runs, wall_time_s=wall, label="lava fixed_pt")
