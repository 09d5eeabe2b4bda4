"""Float reference of a network: the :class:`NetworkSpec` rebuilt in Brian2 and run in float64.

Objects are created in an explicit :class:`brian2.Network` (no magic network, no global
preferences: the code-generation target is chosen per object). Brian2's random numbers
(Poisson sources, ``rand()``/``xi`` in equations, the perturbation) come from its global
generator, which is seeded with the spec's seed for the run and restored afterwards.

Step semantics (Brian2's schedule; ``tests/test_network_reference.py`` shows them). In step
``n`` (clock time ``t_n = n dt``) Brian2 runs, in order: ``start`` (monitors record the state
at ``t_n``), ``groups`` (integrate to ``t_{n+1}``), ``thresholds`` (a neuron crossing is a
spike *reported at* ``t_n``; a SpikeGeneratorGroup spike at ``t`` is emitted in step
``floor(t / dt + 1e-3)``, a Poisson train spikes with probability ``rate * dt``),
``synapses``, ``resets``. A spike reported at ``t_n`` through a synapse with delay ``d`` is
applied (``target_variable (operation) weight``) in the ``synapses`` slot of step
``n + D`` with ``D = floor(d / dt + 0.5)`` (Brian2's C++ spike queue; its Python queue rounds
half-way delays to even instead), so the state integrated in step ``n + D + 1`` starts from
the changed value and a monitor first shows the change at ``t_{n+D+1}``. With ``d = 0`` the
change lands in the spike's own step, after its threshold.
"""
from __future__ import annotations

import gc
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import brian2
import numpy as np
from brian2.devices.device import get_device

from ..errors import InputError
from ..execution.trace import Trace
from ..reference.brian2_functions import BRIAN2_FUNCTIONS, numpy_functions_without_unit_checks
from ..progress import BarFactory, brian2_reporter, no_bars
from ..reference.codegen import CODE_OBJECTS, choose_codegen
from .ir import CurrentSource, NetworkSpec, PoissonSource, Population, Projection, SpikeTimesSource

WEIGHT = "weight"  # synaptic parameter holding each synapse's increment
KICK = "neuromorph_kick_amplitude"
#: Prefix of the names neuromorph gives the Brian2 objects it adds (clocks, monitors, kicks). Every
#: object is named explicitly: Brian2 puts names into the generated code, and automatic names
#: (``clock_3``, ``spikemonitor_7``) change with every network built in a process, so each run
#: would compile its code again instead of reusing the cache.
NAME_PREFIX = "neuromorph_"


@dataclass(frozen=True)
class Recording:
    """What to sample besides spikes.

    Attributes
    ----------
    neurons : int or None
        Record the first ``neurons`` neurons of each population (None: all).
    every : int
        Sample every ``every`` steps (sample ``k`` is the state at ``t = k * every * dt``).
    variables : tuple of str or None
        State variables to sample; None: the voltage and every variable a projection changes.
    """

    neurons: int | None = None
    every: int = 1
    variables: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PopulationTrace:
    """Spikes of every neuron and sampled states of the recorded ones (SI units).

    ``states[name][k, m]`` is ``name`` of neuron ``recorded[m]`` at ``t[k]``, before the
    update of that step.
    """

    name: str
    voltage: str
    spike_trains: tuple
    t: np.ndarray
    states: Mapping[str, np.ndarray]
    recorded: np.ndarray

    def rate_hz(self, duration: float) -> float:
        """Mean firing rate over the population (Hz)."""
        return float(np.mean([s.size for s in self.spike_trains]) / duration)


@dataclass(frozen=True)
class NetworkTrace:
    """Result of a network run: per population spikes and states, and the source spikes that occurred.

    ``sources[name]`` is a :class:`SpikeTimesSource` with the spikes each source actually
    emitted (for Poisson sources, the realisation of this run), so another backend can
    replay exactly the same input (:func:`replay_sources`).
    """

    label: str
    dt: float
    duration: float
    populations: Mapping[str, PopulationTrace]
    sources: Mapping[str, SpikeTimesSource]
    extra: dict = field(default_factory=dict)

    def trace(self, population: str) -> Trace:
        """One population as a single-population :class:`Trace` (for ``neuromorph.fidelity``).

        ``v`` is the sampled voltage (``(0, N)`` when not recorded), ``states`` the other
        sampled variables; the label is the run's.
        """
        pop = self.populations[population]
        v = pop.states.get(pop.voltage, np.empty((0, len(pop.spike_trains))))
        states = {name: values for name, values in pop.states.items() if name != pop.voltage}
        return Trace(label=self.label, dt=self.dt, duration=self.duration, spike_trains=pop.spike_trains,
                     t=pop.t if pop.t.size else np.arange(v.shape[0]) * self.dt, v=v, extra=dict(self.extra),
                     states=states)


def replay_sources(spec: NetworkSpec, trace: NetworkTrace) -> NetworkSpec:
    """``spec`` with every Poisson source replaced by the spikes it emitted in ``trace``."""
    sources = [trace.sources[s.name] if isinstance(s, PoissonSource) else s for s in spec.sources]
    return replace(spec, sources=tuple(sources))


def _root_message(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return " ".join(str(exc).split())


def _population_group(population: Population, clock, codeobj) -> brian2.NeuronGroup:
    """A NeuronGroup for ``population``, parameters in its own namespace, initial values set."""
    model = population.model
    namespace = {**BRIAN2_FUNCTIONS, **{name: q.to_brian2() for name, q in model.parameters.items()}}
    refractory = model.refractory * brian2.second if isinstance(model.refractory, float) else model.refractory
    group = brian2.NeuronGroup(
        population.size, model.equations, threshold=model.threshold, reset=model.reset,
        refractory=refractory if refractory is not None else False, method=model.method, namespace=namespace,
        clock=clock, codeobj_class=codeobj, name=population.name)
    for name, value in model.initial.items():
        group.variables[name].set_value(np.broadcast_to(np.asarray(value.value, dtype=float), (population.size,)))
    return group


def _poisson_group(source: PoissonSource, clock, codeobj) -> brian2.PoissonGroup:
    return brian2.PoissonGroup(source.size, rates=source.rates_hz * brian2.Hz, clock=clock, codeobj_class=codeobj,
                               name=source.name)


def _spike_generator(source: SpikeTimesSource, clock, codeobj) -> brian2.SpikeGeneratorGroup:
    return brian2.SpikeGeneratorGroup(source.size, source.indices, source.times_s * brian2.second, clock=clock,
                                      codeobj_class=codeobj, name=source.name, sorted=True)


#: Brian2 builder of each source type.
SOURCE_BUILDERS = {PoissonSource: _poisson_group, SpikeTimesSource: _spike_generator}


def _add_current(current: CurrentSource, groups: Mapping, dt: float, codeobj) -> None:
    """Write ``current.values`` into its variable at the start of every step (a 2-D ``TimedArray``)."""
    group = groups[current.target]
    unit = brian2.Quantity(1.0, dim=group.variables[current.variable].dim)
    name = f"{NAME_PREFIX}input_{current.name}"
    group.namespace[name] = brian2.TimedArray(current.values * unit, dt=dt * brian2.second, name=name)
    group.run_regularly(f"{current.variable} = {name}(t, i)", when="start", codeobj_class=codeobj,
                        name=f"{NAME_PREFIX}write_{current.name}")


def _synapses(projection: Projection, groups: Mapping, clock, codeobj) -> brian2.Synapses:
    """Synapses applying ``target_variable_post (operation) weight`` with per-synapse weights and delays."""
    synapses = brian2.Synapses(
        groups[projection.source], groups[projection.target], model=f"{WEIGHT} : {projection.weight_unit}",
        on_pre=f"{projection.target_variable}_post {projection.operation} {WEIGHT}", clock=clock, codeobj_class=codeobj,
        name=projection.name)
    synapses.connect(i=projection.i, j=projection.j)
    synapses.variables[WEIGHT].set_value(projection.weights)
    synapses.pre.variables["delay"].set_value(projection.delays_s)
    return synapses


def _recorded_variables(spec: NetworkSpec, population: Population, recording: Recording) -> list[str]:
    if recording.variables is not None:
        states = population.model.state_dimensions()
        return [v for v in recording.variables if v in states]
    targets = [p.target_variable for p in spec.projections if p.target == population.name]
    return list(dict.fromkeys([population.model.voltage, *targets]))


def _monitors(spec: NetworkSpec, groups: Mapping, record: Recording | None, codeobj) -> tuple[dict, dict]:
    """SpikeMonitors on every group; StateMonitors on populations when ``record`` is given."""
    spikes = {name: brian2.SpikeMonitor(group, codeobj_class=codeobj, name=f"{NAME_PREFIX}spikes_{name}")
              for name, group in groups.items()
              if "spike" in group.events}  # a population without threshold never spikes
    states = {}
    for population in spec.populations if record is not None else ():
        variables = _recorded_variables(spec, population, record)
        neurons = population.size if record.neurons is None else min(record.neurons, population.size)
        if variables and neurons > 0:
            states[population.name] = brian2.StateMonitor(
                groups[population.name], variables, record=np.arange(neurons),
                clock=brian2.Clock(dt=record.every * spec.dt * brian2.second, name=f"{NAME_PREFIX}record_clock"),
                codeobj_class=codeobj, name=f"{NAME_PREFIX}states_{population.name}")
    return spikes, states


def _add_perturbation(spec: NetworkSpec, groups: Mapping, perturbation, codeobj) -> None:
    """Kick ``variable`` of every neuron by an independent uniform value in [-amplitude, amplitude] every step."""
    variable, amplitude, _ = perturbation
    if any(isinstance(s, PoissonSource) for s in spec.sources):
        raise InputError("a perturbed run shares Brian2's random generator with the Poisson sources and would "
                         "change them; replay the sources first: run_network_brian2(replay_sources(spec, trace), "
                         "perturbation=...)", "reference", "perturbation")
    kicked = [p for p in spec.populations if variable in p.model.state_dimensions()]
    if not kicked:
        raise InputError(f"no population has a state variable '{variable}'", "reference", "perturbation")
    for population in kicked:
        unit = brian2.Quantity(1.0, dim=population.model.state_dimensions()[variable])
        groups[population.name].namespace[KICK] = float(amplitude) * unit
        groups[population.name].run_regularly(f"{variable} += {KICK} * (2 * rand() - 1)", when="start",
                                               codeobj_class=codeobj, name=f"{NAME_PREFIX}kick_{population.name}")


def build_brian2_network(spec: NetworkSpec, codegen: str, record: Recording | None = Recording(),
                         perturbation=None):
    """The Brian2 objects of ``spec`` in an explicit Network; returns ``(network, groups, spikes, states)``."""
    codeobj = CODE_OBJECTS[codegen]
    clock = brian2.Clock(dt=spec.dt * brian2.second, name=f"{NAME_PREFIX}clock")
    groups = {p.name: _population_group(p, clock, codeobj) for p in spec.populations}
    groups.update({s.name: SOURCE_BUILDERS[type(s)](s, clock, codeobj) for s in spec.spike_sources})
    for current in spec.current_sources:
        _add_current(current, groups, spec.dt, codeobj)
    synapses = [_synapses(p, groups, clock, codeobj) for p in spec.projections]
    if perturbation is not None:
        _add_perturbation(spec, groups, perturbation, codeobj)
    spikes, states = _monitors(spec, groups, record, codeobj)
    network = brian2.Network(*groups.values(), *synapses, *spikes.values(), *states.values())
    return network, groups, spikes, states


def spike_trains(indices: np.ndarray, times: np.ndarray, size: int) -> tuple:
    """Spike times (s) per neuron from parallel index and time arrays (times kept in their order)."""
    indices = np.asarray(indices, dtype=np.int64)
    order = np.argsort(indices, kind="stable")
    counts = np.bincount(indices, minlength=size)
    return tuple(np.split(np.asarray(times, dtype=float)[order], np.cumsum(counts)[:-1]))


def _population_trace(population: Population, spikes, states) -> PopulationTrace:
    indices, times = (spikes.i[:], spikes.t_[:]) if spikes is not None else (np.empty(0, int), np.empty(0))
    trains = spike_trains(indices, times, population.size)
    if states is None:
        return PopulationTrace(name=population.name, voltage=population.model.voltage, spike_trains=trains,
                               t=np.empty(0), states=MappingProxyType({}), recorded=np.empty(0, dtype=np.int64))
    sampled = {name: np.asarray(states.variables[name].get_value(), dtype=float).copy()
               for name in states.record_variables}
    return PopulationTrace(name=population.name, voltage=population.model.voltage, spike_trains=trains,
                           t=np.asarray(states.t_[:], dtype=float).copy(), states=MappingProxyType(sampled),
                           recorded=np.asarray(states.record, dtype=np.int64).copy())


#: A recorded state beyond this magnitude (SI) counts as diverged: squared, it overflows float64.
DIVERGED = 1e100


def check_finite(trace: PopulationTrace) -> None:
    """Refuse a reference whose recorded states are not finite or beyond :data:`DIVERGED` (NaN or overflow).

    Raises
    ------
    InputError
        Naming ``populations.NAME.equations``: the state, neuron and time it first stopped being finite.
    """
    for name, values in trace.states.items():
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(values) <= DIVERGED)
        if bad.any():
            step, column = np.argwhere(bad.reshape(bad.shape[0], -1))[0]
            neuron = trace.recorded[column] if column < trace.recorded.size else column
            when = f" at t = {trace.t[step] * 1e3:g} ms" if step < trace.t.size else ""
            raise InputError(f"the Brian2 reference diverged: {name} of neuron {neuron} "
                             f"is not finite or beyond 1e100 (NaN or overflow){when}; the model has no finite solution with these "
                             "parameters, initial values and method at this dt (a smaller dt or another method may "
                             "help)", field=f"populations.{trace.name}.equations")


@contextmanager
def older_objects_frozen():
    """Inside: the objects that exist on entry are left out of garbage collections (``gc.freeze``, undone on exit).

    Brian2's ``Network.run`` starts with a full ``gc.collect()``, so that objects left out of the magic
    network are found and warned about. Our networks are explicit, so that walk finds nothing for them, but it
    walks every object of the process: about 300,000 once numba, Lava and scipy are imported, 0.12-0.19 s per
    run, more than the 200 steps of the device's profile cost. A frozen object that becomes unreachable
    meanwhile waits for the next collection after the exit. Nothing happens when something else froze objects.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run(network: brian2.Network, n_steps: int, dt: float, seed: int | None, bars: BarFactory, label: str) -> float:
    """Run ``network`` for ``n_steps`` steps of ``dt`` with Brian2's generator seeded; restore the generator after."""
    device = get_device()
    saved = device.get_random_state()
    try:
        if seed is not None:
            device.seed(seed)
        started = time.perf_counter()
        # a diverging model is reported once, by check_finite, not as a page of overflow warnings
        with bars(n_steps, label, "step") as bar, numpy_functions_without_unit_checks(), \
                warnings.catch_warnings(), np.errstate(all="ignore"), older_objects_frozen():
            warnings.simplefilter("ignore", RuntimeWarning)
            network.run(n_steps * dt * brian2.second, namespace={}, report=brian2_reporter(bar, n_steps),
                        report_period=0.5 * brian2.second)
        return time.perf_counter() - started
    except Exception as exc:
        raise InputError(f"Brian2 run failed: {_root_message(exc)}", "reference") from None
    finally:
        device.set_random_state(saved)


def run_network_brian2(spec: NetworkSpec, *, codegen: str | None = None, record: Recording | None = Recording(),
                       perturbation: tuple[str, float, int] | None = None, bars: BarFactory = no_bars,
                       n_steps: int | None = None) -> NetworkTrace:
    """Simulate ``spec`` in Brian2 (float64) for ``spec.n_steps`` steps (the first ``n_steps`` when given).

    Parameters
    ----------
    spec : NetworkSpec
        The network.
    codegen : {"cython", "numpy"}, optional
        Brian2 code-generation target; default: :func:`~neuromorph.reference.codegen.choose_codegen`
        (Cython for a run of at least 20,000 steps when it can run, else numpy).
    record : Recording or None
        States to sample (default: voltage and projection targets of every neuron, every
        step); None records spikes only.
    perturbation : (variable, amplitude, seed), optional
        Add ``amplitude * u`` with ``u`` uniform in [-1, 1], independent per neuron and step,
        to ``variable`` (SI units of that variable) at the start of every step of every
        population that has it: the float model's own divergence floor. Brian2's
        generator is then seeded with this seed; Poisson sources must be replayed first
        (:func:`replay_sources`) so that the input stays the same, and noise in the
        equations themselves is drawn differently.
    bars : BarFactory
        Progress bar of the run (none by default).
    n_steps : int, optional
        Run only the first ``n_steps`` steps (at most ``spec.n_steps``): the trace's duration is theirs.

    Returns
    -------
    NetworkTrace
        Spikes of every neuron and source (s), sampled states (SI), wall time of the run.
    """
    n_steps = spec.n_steps if n_steps is None else n_steps
    if not 0 < n_steps <= spec.n_steps:
        raise InputError(f"n_steps must be from 1 to the spec's {spec.n_steps}, got {n_steps}", "reference", "n_steps")
    codegen = codegen or choose_codegen(n_steps, [p.model.equations for p in spec.populations])
    if codegen not in CODE_OBJECTS:
        raise InputError(f"codegen must be one of {sorted(CODE_OBJECTS)}, got {codegen!r}", "reference", "codegen")
    if record is not None and (record.every < 1 or (record.neurons is not None and record.neurons < 0)):
        raise InputError(f"record.every must be >= 1 and record.neurons >= 0, got {record}", "reference", "record")
    try:
        network, groups, spikes, states = build_brian2_network(spec, codegen, record, perturbation)
    except InputError:
        raise
    except Exception as exc:  # Brian2 raises many types for a model it cannot build
        raise InputError(f"Brian2 rejects the network: {_root_message(exc)}", "reference") from None
    wall = _run(network, n_steps, spec.dt, spec.seed if perturbation is None else int(perturbation[2]), bars,
                f"Brian2 ({codegen})")
    populations = {p.name: _population_trace(p, spikes.get(p.name), states.get(p.name)) for p in spec.populations}
    sources = {s.name: SpikeTimesSource(name=s.name, size=s.size, indices=spikes[s.name].i[:],
                                        times_s=spikes[s.name].t_[:]) for s in spec.spike_sources}
    for population in populations.values():
        check_finite(population)
    label = f"brian2 ({codegen})" + (f" perturbed {perturbation[0]} +-{perturbation[1]:g}" if perturbation else "")
    return NetworkTrace(label=label, dt=spec.dt, duration=n_steps * spec.dt,
                        populations=MappingProxyType(populations), sources=MappingProxyType(sources),
                        extra={"wall_time_s": wall, "codegen": codegen})
