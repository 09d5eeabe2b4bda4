"""Put a fixed-point run back into the Brian2 objects: monitors, state variables, clocks.

Registers are decoded to SI by :mod:`neuromorph.network.states`.

Times follow Brian2's schedule: a spike detected in step ``n`` of a run starting at ``t0`` is
reported at ``t0 + n dt``; a StateMonitor records in step ``n`` the state at the start of that
step (the initial registers for ``n = 0``, the registers after step ``n - 1`` otherwise); a
PopulationRateMonitor records ``spikes in step n / N / dt`` at ``t0 + n dt``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from brian2.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor

from .device_convert import Conversion, Watched, timestep
from .network.states import states_at_steps
from .quantization.step_plan import refractory_step_counts


def final_registers(run) -> np.ndarray:
    """The registers (R, N) of a population after its run's last step."""
    return run.final if run.final is not None else run.states[-1]


def _spike_raster(name: str, lowered, candidate) -> np.ndarray:
    """(T, N) spikes of a population (the candidate's) or source (the replayed raster)."""
    if name in candidate.populations:
        return candidate.populations[name].spikes
    return next(s.spikes for s in lowered.sources if s.name == name)


def _append(monitor, name: str, values: np.ndarray, old: int) -> None:
    monitor.variables[name].get_value()[old:old + len(values)] = values


def fill_spike_monitor(watched: Watched, raster: np.ndarray, t0: float, dt: float) -> None:
    """Append the spikes of ``raster[:, start:stop]`` (indices relative to the monitored group) and counts."""
    monitor = watched.monitor
    steps, indices = np.nonzero(raster[:, watched.start:watched.stop])
    counts = monitor.variables["count"].get_value()
    counts += np.bincount(indices, minlength=counts.size).astype(counts.dtype)
    if not monitor.record:
        return
    old = int(monitor.variables["N"].get_value()[0])
    monitor.resize(old + indices.size)
    _append(monitor, "i", indices, old)
    _append(monitor, "t", t0 + steps * dt, old)
    monitor.variables["N"].set_value(old + indices.size)


def sample_steps(monitor, t0: float, duration: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Steps of the run (from 0) at which ``monitor``'s clock ticks, and their times (s)."""
    every = monitor.clock.dt_
    ticks = np.arange(timestep(t0, every), timestep(t0 + duration, every))
    times = ticks * every
    return np.round((times - t0) / dt).astype(np.int64), times


def fill_state_monitor(watched: Watched, conversion: Conversion, population, run) -> None:
    """Append the recorded variables of the recorded neurons at the monitor's times (see the module docstring)."""
    monitor, spec = watched.monitor, conversion.spec
    steps, times = sample_steps(monitor, conversion.t0, spec.duration, spec.dt)
    neurons = watched.start + np.asarray(monitor.record, dtype=np.int64)
    sampled = states_at_steps(population, run, steps, neurons)
    group = conversion.groups[watched.root]
    old = int(monitor.variables["N"].get_value()[0])
    monitor.resize(old + steps.size)
    _append(monitor, "t", times, old)
    for name in monitor.record_variables:
        values = sampled.get(name)
        if values is None:  # a parameter: constant over the run
            values = np.broadcast_to(np.asarray(group.variables[name].get_value())[neurons], (steps.size, neurons.size))
        _append(monitor, name, values, old)
    monitor.variables["N"].set_value(old + steps.size)


def fill_rate_monitor(watched: Watched, raster: np.ndarray, t0: float, dt: float) -> None:
    """Append the population rate of every step (Hz) of the monitored neurons."""
    monitor = watched.monitor
    window = raster[:, watched.start:watched.stop]
    rates = window.sum(axis=1) / window.shape[1] / dt
    old = int(monitor.variables["N"].get_value()[0])
    monitor.resize(old + rates.size)
    _append(monitor, "t", t0 + np.arange(rates.size) * dt, old)
    _append(monitor, "rate", rates, old)
    monitor.variables["N"].set_value(old + rates.size)


def fill_monitors(conversion: Conversion, lowered, candidate) -> None:
    """Every monitor of ``conversion`` from the fixed-point run ``candidate`` of ``lowered``."""
    spec = conversion.spec
    for watched in conversion.monitors:
        monitor = watched.monitor
        if isinstance(monitor, StateMonitor):
            fill_state_monitor(watched, conversion, lowered.population(watched.root),
                               candidate.populations[watched.root])
        elif isinstance(monitor, SpikeMonitor):
            fill_spike_monitor(watched, _spike_raster(watched.root, lowered, candidate), conversion.t0, spec.dt)
        elif isinstance(monitor, PopulationRateMonitor):
            fill_rate_monitor(watched, _spike_raster(watched.root, lowered, candidate), conversion.t0, spec.dt)


def last_spike_steps(raster: np.ndarray, rows: int = 64) -> np.ndarray:
    """The step of each neuron's last spike in ``raster`` (T, N), -1 for a neuron that never spiked.

    Reads the raster backwards in windows (``rows`` steps, doubling), each over the neurons not yet
    found, so that a run whose neurons all spiked near its end reads only its last rows.
    """
    steps, size = raster.shape
    last = np.full(size, -1, dtype=np.int64)
    missing = np.arange(size)
    stop = steps
    while missing.size and stop > 0:
        start = max(0, stop - rows)
        window = raster[start:stop, missing]
        found = window.any(axis=0)
        from_end = np.argmax(window[::-1], axis=0)
        last[missing[found]] = stop - 1 - from_end[found]
        missing, stop, rows = missing[~found], start, 2 * rows
    return last


def set_refractoriness(group, population, run, t0: float, dt: float) -> None:
    """Brian2's ``lastspike`` (the last spike of the run, where there was one) and ``not_refractory``
    (from the refractory register after the last step) of a refractory lowered population."""
    neuron = getattr(population, "neuron", None)  # a population on Lava's LIF has no program
    registers = neuron.program.registers if neuron is not None else ()
    if not registers or registers[-1].kind != "refractory" or "lastspike" not in group.variables:
        return
    final = final_registers(run)[-1]
    last = last_spike_steps(run.spikes)
    spiked = last >= 0
    lastspike = np.asarray(group.variables["lastspike"].get_value(), dtype=float).copy()
    lastspike[spiked] = t0 + last[spiked] * dt
    group.variables["lastspike"].set_value(lastspike)
    if registers[-1].unit == "flag":
        group.variables["not_refractory"].set_value(final != 0)
    else:
        parameters = {name: population.drive_si[name] for name in population.spec.per_neuron}
        steps = refractory_step_counts(population.spec, dt, parameters, population.size)
        group.variables["not_refractory"].set_value(final >= steps)


def set_final_states(groups: Mapping[str, object], lowered, candidate, t0: float = 0.0) -> None:
    """Each population's state variables at the fixed-point state after the run (decoded to SI), and
    its refractoriness (:func:`set_refractoriness`)."""
    for population in lowered.network_populations:
        group, run = groups[population.name], candidate.populations[population.name]
        for name, values in population.decode_states(final_registers(run)).items():
            group.variables[name].set_value(values)
        set_refractoriness(group, population, run, t0, lowered.dt)


def advance_clocks(net, objects, t_end: float) -> None:
    """Every clock of ``objects`` and the network's time at ``t_end`` (s), as Brian2 leaves them after a run."""
    for clock in {obj.clock for obj in objects}:
        step = timestep(t_end, clock.dt_)
        clock.variables["timestep"].set_value(step)
        clock.variables["t"].set_value(step * clock.dt_)
    net.t_ = t_end
