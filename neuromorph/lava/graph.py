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
(:mod:`neuromorph.lava.readout`; the run is non-blocking and a host thread receives).
"""
from __future__ import annotations

import tempfile
import threading
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
from .processes import LoweredNeuron


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


def _receive(receivers: dict, received: dict, n_steps: int, errors: list) -> None:
    """Receive every step's vector of every readout into ``received`` (on a thread of the host)."""
    try:
        for t in range(n_steps):
            for name, keys in receivers.items():
                for key, receiver in keys.items():
                    received[name][key][t] = receiver.receive()
    except BaseException as exc:  # handed to the thread that waits for the run
        errors.append(exc)


def run_receiving(graph: LavaGraph, n_steps: int) -> dict:
    """Run the graph for ``n_steps`` steps; receive every step's vector of every readout meanwhile.

    Returns ``{population: {"u", "v", "spikes", "a_in": ndarray (n_steps, N) float}}`` (empty without
    readouts). The caller stops the processes.
    """
    started = _StartedSteps.start(graph, n_steps)
    started.wait()
    return started.received


@dataclass
class _StartedSteps:
    """Lava stepping the graph without blocking the host; readouts received on a thread meanwhile."""

    graph: LavaGraph
    received: dict
    receiver: threading.Thread | None
    errors: list

    @classmethod
    def start(cls, graph: LavaGraph, n_steps: int) -> "_StartedSteps":
        receivers = {name: probes.receivers() for name, probes in graph.monitors.items()}
        received = {name: {key: np.zeros((n_steps,) + graph.populations[name].s_out.shape) for key in keys}
                    for name, keys in receivers.items()}
        with warnings.catch_warnings():  # Lava's DelaySparse model builds its per-delay matrices by csr assignment
            warnings.filterwarnings("ignore", message="Changing the sparsity structure", module="scipy")
            graph.any_process().run(condition=RunSteps(num_steps=n_steps, blocking=False), run_cfg=graph.run_config())
        errors, receiver = [], None
        if receivers:
            receiver = threading.Thread(target=_receive, args=(receivers, received, n_steps, errors), daemon=True,
                                        name="neuromorph-lava-readout")
            receiver.start()
        return cls(graph=graph, received=received, receiver=receiver, errors=errors)

    def wait(self) -> None:
        """Until every step ran and every readout vector arrived (a readout's error raised here)."""
        if self.receiver is not None:
            self.receiver.join()
            if self.errors:
                raise self.errors[0]
        self.graph.any_process().wait()


def _stepping_clock(graph: LavaGraph) -> tuple[float, float] | None:
    """When Lava's first step started and its last step ended (``time.perf_counter``), from the clocks
    the lowered neurons record (:meth:`~neuromorph.lava.processes.LoweredNeuron.recorded`); None without."""
    clocks = [np.load(process.proc_params["record_files"]["clock"]) for process in graph.populations.values()
              if isinstance(process, LoweredNeuron) and "clock" in process.proc_params["record_files"]]
    if not clocks or not all(clock.size and clock[-1, 1] > 0 for clock in clocks):
        return None
    return min(clock[0, 0] for clock in clocks), max(clock[-1, 1] for clock in clocks)


class LavaGraphRun:
    """A run of a lowered network's Lava graph under way (:func:`start_graph`); :meth:`finish` ends it.

    The host is free between the two: :func:`neuromorph.network.comparison.compare` runs the
    emulator, the float floor and the statistics while Lava steps. :meth:`finish` waits for the
    last step, reads back what the processes recorded and stops them; :meth:`stop` abandons
    the run (as does an error inside ``with run:``). The processes are stopped and the record
    files removed either way.
    """

    def __init__(self, lowered: LoweredNetwork, n_steps: int, record: bool):
        self.lowered, self.n_steps, self.record = lowered, n_steps, record
        self._directory = tempfile.TemporaryDirectory(prefix="neuromorph-lava-")
        self.timings, self.graph, self._steps = {}, None, None
        try:
            started = time.perf_counter()
            self.graph = build_graph(lowered, record_steps=n_steps, record_dir=self._directory.name,
                                     record_states=record)
            self.timings["build"] = time.perf_counter() - started
            self._started = time.perf_counter()
            self._steps = _StartedSteps.start(self.graph, n_steps)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> "LavaGraphRun":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        """Leaving a ``with`` block by an error abandons the run (:meth:`stop`); else nothing (call :meth:`finish`)."""
        if exc_type is not None:
            self.stop()

    def finish(self) -> NetworkRun:
        """Wait for the run, read back spikes, states and overflows, stop the processes.

        ``wall_time_s``: from starting the run (Lava's compiler and start-up included) to the end of
        its last step, as the lowered neurons' clocks tell (else until the host saw it end).
        ``timings``: ``build`` (processes and compiled kernels), ``start_up`` (to the first step),
        ``stepping`` (first to last step), ``run`` (= ``wall_time_s``), ``waited`` (how long the host
        waited in :meth:`finish`) and ``read_back`` (the record files, one read each).
        """
        try:
            waiting = time.perf_counter()
            self._steps.wait()
            ended = time.perf_counter()
            self.timings["waited"] = ended - waiting
            clock = _stepping_clock(self.graph)
            if clock is not None:
                self.timings.update(start_up=clock[0] - self._started, stepping=clock[1] - clock[0])
                ended = clock[1]
            self.timings["run"] = ended - self._started
            started = time.perf_counter()
            runs = {population.name: read_population(self.graph, population, self.n_steps, self.record,
                                                     self._steps.received) for population in self.lowered.populations}
            self.timings["read_back"] = time.perf_counter() - started
        finally:
            self.stop()
        return NetworkRun(populations=runs, wall_time_s=self.timings["run"], label="lava fixed_pt",
                          timings=dict(self.timings))

    def stop(self) -> None:
        """Stop the processes (when they run) and remove the record files."""
        try:
            if self.graph is not None:
                self.graph.any_process().stop()  # stops nothing when the run never started
        finally:
            self._directory.cleanup()


def start_graph(lowered: LoweredNetwork, n_steps: int | None = None, record: bool = True) -> LavaGraphRun:
    """Build the graph and start running it for ``n_steps`` (default all) steps without waiting.

    States are recorded only when ``record``. Call :meth:`LavaGraphRun.finish` for the results.
    """
    return LavaGraphRun(lowered, lowered.n_steps if n_steps is None else n_steps, record)


def run_graph(lowered: LoweredNetwork, n_steps: int | None = None, record: bool = True) -> NetworkRun:
    """Build the graph, run it for ``n_steps`` (default all) steps, read back spikes, states and overflows
    (:func:`start_graph`, then :meth:`LavaGraphRun.finish` at once)."""
    return start_graph(lowered, n_steps, record).finish()
