"""The objects of a Brian2 network as the device runs them: a :class:`NetworkSpec` and the monitors to fill.

Everything the device cannot do is refused here, before any simulation, as one
:class:`~neuromorph.errors.InputError` naming the Brian2 object, the construct and what is
supported: what :func:`~neuromorph.network.brian2_import.from_brian2` refuses (summed variables,
``on_post``, ``PoissonInput``, ...), equations the lowering cannot take, delays
the target cannot hold, and monitors the device cannot fill. Noise (``xi``) is replayed
(:func:`~neuromorph.network.noise.replay_noise`): its increments are drawn from the run's seed
and its first step, so a second ``run()`` draws new ones, as Brian2 does.

Time: a run of ``duration`` from the network's time runs Brian2's steps ``timestep(t)`` to
``timestep(t + duration)`` (:func:`timestep`); it becomes a spec starting at 0 at the first
step's time ``t0`` (a ``SpikeGeneratorGroup``'s spikes shifted by ``-t0``, a refractory group's ``lastspike`` too);
monitors get ``t0 + n dt``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import brian2
import numpy as np
from brian2.equations.equations import PARAMETER
from brian2.groups.subgroup import Subgroup
from brian2.monitors import EventMonitor, PopulationRateMonitor, SpikeMonitor, StateMonitor

from .errors import InputError
from .network.brian2_import import from_brian2
from .network.ir import NetworkSpec, SIQuantity, SpikeTimesSource
from .network.lower import check_network_fits, population_spec
from .network.noise import DEFAULT_NOISE, replay_noise

#: Brian2's tolerance when a time is a whole number of steps (``Clock.epsilon_dt``).
EPSILON_DT = 1e-4
MONITORS = (SpikeMonitor, StateMonitor, PopulationRateMonitor)
SUPPORTED_MONITORS = ("supported monitors: SpikeMonitor (spike times and counts), StateMonitor of state "
                      "variables and parameters (when='start', dt a multiple of the network's), "
                      "PopulationRateMonitor")


@dataclass(frozen=True)
class Watched:
    """A monitor and the slice ``[start, stop)`` of the spec's group ``root`` it watches."""

    monitor: object
    root: str
    start: int
    stop: int


@dataclass(frozen=True)
class Conversion:
    """A run of a Brian2 network as the device sees it.

    Attributes
    ----------
    spec : NetworkSpec
        The network from ``t0`` for the run's duration (time 0 of the spec is ``t0``).
    groups : Mapping[str, object]
        The Brian2 group behind each population and source of the spec.
    monitors : tuple of Watched
        The monitors to fill.
    t0 : float
        The time of the run's first step (s): the network's time on its clock's grid.
    """

    spec: NetworkSpec
    groups: Mapping[str, object]
    monitors: tuple
    t0: float

    @property
    def records_states(self) -> bool:
        """Whether a StateMonitor needs the registers of every step."""
        return any(isinstance(w.monitor, StateMonitor) for w in self.monitors)

    def state_neurons(self) -> dict[str, np.ndarray]:
        """The neurons each population's StateMonitors record (sorted, indices in the population), by population."""
        neurons: dict[str, list] = {}
        for watched in self.monitors:
            if isinstance(watched.monitor, StateMonitor):
                indices = watched.start + np.asarray(watched.monitor.record, dtype=np.int64)
                neurons.setdefault(watched.root, []).append(indices)
        return {root: np.unique(np.concatenate(parts)) for root, parts in neurons.items()}


def _where(obj) -> str:
    return f"{type(obj).__name__} '{obj.name}'"


def timestep(t: float, dt: float) -> int:
    """Brian2's step of time ``t`` (``Clock._calc_timestep``): rounded when within 1e-4 dt, else up."""
    rounded = int(np.round(t / dt))
    return rounded if abs(rounded * dt - t) / dt <= EPSILON_DT else int(np.ceil(t / dt))


def top_level(objects) -> list:
    """The objects no other object contains (groups, synapses, monitors; not their code runners)."""
    objects = list(objects)
    contained = {id(part) for obj in objects for part in obj.contained_objects}
    return sorted((obj for obj in objects if id(obj) not in contained and obj.active), key=lambda o: o.name)


def root_of(group) -> tuple[object, int]:
    """The full group a (possibly nested) subgroup belongs to, and the subgroup's first index."""
    offset = 0
    while isinstance(group, Subgroup):
        offset += group.start
        group = group.source
    return group, offset


def _replayed(spec: NetworkSpec, groups: Mapping, first: int, mode: str) -> NetworkSpec:
    """``spec`` with its noise replayed (drawn from the run's seed and first step) or drawn by the target
    (``mode``); a refusal names the group."""
    try:
        return replay_noise(spec, mode, key=(first,))
    except InputError as exc:
        name = (exc.field or "").split(".")[1] if (exc.field or "").startswith("populations.") else None
        raise InputError(exc.message, _where(groups[name]) if name in groups else exc.source) from None


def _watched(monitor, groups: Mapping[str, object]) -> Watched:
    source = monitor.source
    root, start = root_of(source)
    if root.name not in groups:
        raise InputError(f"records '{root.name}', which is not part of the network run", _where(monitor))
    return Watched(monitor=monitor, root=root.name, start=start, stop=start + len(source))


def _check_spike_monitor(monitor, states: Mapping[str, tuple]) -> None:
    if monitor.event != "spike":
        raise InputError(f"records the event '{monitor.event}'; {SUPPORTED_MONITORS}", _where(monitor))
    extra = sorted(set(monitor.record_variables) - {"i", "t"})
    if extra:
        raise InputError(f"records the variables {extra} at each spike; {SUPPORTED_MONITORS}", _where(monitor))


def _check_state_monitor(monitor, watched: Watched, states: Mapping[str, tuple], dt: float) -> None:
    if monitor.when != "start":
        raise InputError(f"records in the '{monitor.when}' slot; the device fills StateMonitors that record at "
                         "the start of a step (Brian2's default, when='start')", _where(monitor))
    steps = monitor.clock.dt_ / dt
    if abs(steps - round(steps)) > EPSILON_DT or round(steps) < 1:
        raise InputError(f"records every {monitor.clock.dt_ * 1e3:g} ms, not a multiple of the network's dt "
                         f"({dt * 1e3:g} ms)", _where(monitor))
    registers, parameters = states.get(watched.root, ((), ()))
    for name in monitor.record_variables:
        if name not in registers and name not in parameters:
            raise InputError(f"records '{name}', which is neither a state variable the lowered neuron keeps "
                             f"({sorted(registers)}) nor a parameter ({sorted(parameters)}); "
                             f"{SUPPORTED_MONITORS}", _where(monitor))


def _check_rate_monitor(monitor, dt: float) -> None:
    if abs(monitor.clock.dt_ - dt) > EPSILON_DT * dt:
        raise InputError(f"runs with dt {monitor.clock.dt_ * 1e3:g} ms, the network with {dt * 1e3:g} ms",
                         _where(monitor))


def _monitors(objects, groups: Mapping, states: Mapping[str, tuple], dt: float) -> tuple:
    found = []
    for monitor in objects:
        if isinstance(monitor, EventMonitor) and not isinstance(monitor, SpikeMonitor):
            raise InputError(f"custom events are not supported; {SUPPORTED_MONITORS}", _where(monitor))
        if not isinstance(monitor, MONITORS):
            continue
        watched = _watched(monitor, groups)
        if isinstance(monitor, SpikeMonitor):
            _check_spike_monitor(monitor, states)
        elif isinstance(monitor, StateMonitor):
            _check_state_monitor(monitor, watched, states, dt)
        else:
            _check_rate_monitor(monitor, dt)
        found.append(watched)
    return tuple(found)


def _lowerable(spec: NetworkSpec, groups: Mapping, target) -> dict[str, tuple]:
    """What the lowering refuses, checked now: per population its states kept in registers and its parameters."""
    states = {}
    for population in spec.populations:
        try:
            neuron, _ = population_spec(population)
        except InputError as exc:
            raise InputError(exc.message, _where(groups[population.name])) from None
        declared = [n for n, eq in groups[population.name].user_equations.items()
                    if eq.type == PARAMETER and n not in neuron.state_names]
        states[population.name] = (tuple(neuron.state_names), tuple(declared))
    check_network_fits(spec, target)
    return states


def _shifted(source, t0: float, duration: float):
    """A spike-times source of the whole run moved to start at ``t0`` (spikes before ``t0`` dropped)."""
    if not isinstance(source, SpikeTimesSource) or t0 == 0.0:
        return source
    times = source.times_s - t0
    keep = (times >= -EPSILON_DT * 1e-3) & (times < duration)
    return SpikeTimesSource(name=source.name, size=source.size, indices=source.indices[keep],
                            times_s=np.maximum(times[keep], 0.0))


def carry_refractoriness(spec: NetworkSpec, groups: Mapping[str, object], t0: float) -> NetworkSpec:
    """``spec`` with each refractory group's ``lastspike`` (shifted by ``-t0``) and ``not_refractory`` as
    initial values, so a neuron refractory at the end of one run still is at the start of the next."""
    populations = []
    for population in spec.populations:
        group, model = groups[population.name], population.model
        if model.refractory is not None and model.threshold is not None and "lastspike" in group.variables:
            carried = {"lastspike": SIQuantity(np.asarray(group.variables["lastspike"].get_value(), float) - t0,
                                               "second"),
                       "not_refractory": SIQuantity(
                           np.asarray(group.variables["not_refractory"].get_value(), float), "1")}
            model = replace(model, initial={**model.initial, **carried})
            population = replace(population, model=model)
        populations.append(population)
    return replace(spec, populations=tuple(populations))


def convert(net, duration: float, seed: int, namespace: Mapping, target, noise: str | None = None) -> Conversion:
    """The run of ``net`` for ``duration`` (s) from its current time, checked (see the module docstring);
    ``noise``: how ``xi`` is generated (``replay``, the default, or ``target``)."""
    objects = top_level(net.objects)
    start = float(net.t_)
    spec = from_brian2(*objects, duration=(start + duration) * brian2.second, seed=seed, namespace=namespace,
                       noise=None)
    first, end = timestep(start, spec.dt), timestep(start + duration, spec.dt)  # Brian2's steps of the run
    t0, duration = first * spec.dt, (end - first) * spec.dt
    spec = replace(spec, duration=duration, sources=tuple(_shifted(s, t0, duration) for s in spec.sources))
    roots = {root_of(obj)[0] for obj in objects if not isinstance(obj, (*MONITORS, EventMonitor))}
    groups = {group.name: group for group in roots if group.name in spec.groups}
    spec = _replayed(spec, groups, first, noise or DEFAULT_NOISE)
    spec = carry_refractoriness(spec, groups, t0)
    states = _lowerable(spec, groups, target)
    return Conversion(spec=spec, groups=groups, monitors=_monitors(objects, groups, states, spec.dt), t0=t0)
