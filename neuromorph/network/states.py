"""A lowered population's registers as state variables in SI, and their error against Brian2.

A register holding ``r`` in the format ``(frac, offset)`` is the value ``(r + offset) * 2**-frac``
in SI units of its state (:class:`~neuromorph.quantization.program.Register`); a population on
Lava's LIF has ``u``, ``v`` decoded by its conversion
(:meth:`~neuromorph.network.lif_mapping.LifConversion.state_si`). The refractory register is
bookkeeping, not a state variable.

A run's registers after step ``k`` are the state at ``t = (k + 1) dt``; the state at ``t = k dt``
(what Brian2's StateMonitor records in step ``k``) is the initial registers for ``k = 0`` and
the registers after step ``k - 1`` otherwise. Each population kind decodes its own registers
(:meth:`~neuromorph.network.kinds.LoweredPopulation.decode_states`).
"""
from __future__ import annotations

import numpy as np


def states_at_steps(population, run, steps: np.ndarray, neurons: np.ndarray) -> dict[str, np.ndarray]:
    """The state variables (SI, ``(len(steps), len(neurons))``) at ``t = k dt`` for each step ``k`` of
    ``steps``, of a run that recorded its registers (see the module docstring)."""
    steps, neurons = np.asarray(steps, dtype=np.int64), np.asarray(neurons, dtype=np.int64)
    columns = _all_or(_columns(run, neurons), run.states.shape[-1])
    registers = run.states[np.maximum(steps - 1, 0)]
    registers = registers if isinstance(columns, slice) else registers[..., columns]
    registers[steps == 0] = population.initial[:, neurons]
    return population.decode_states(registers)


def recorded_neurons(lowered, record) -> dict[str, np.ndarray | None]:
    """Which registers a run keeps: population -> sorted neuron indices (None: every neuron) for the populations it
    records. ``record``: True (every neuron of every population), False (none) or a mapping of population names to
    neuron indices or None (every neuron; the populations not named not recorded), such as this function returns."""
    if isinstance(record, bool):
        return {p.name: None for p in lowered.populations} if record else {}
    sizes = {p.name: p.size for p in lowered.populations}
    chosen = {}
    for name, neurons in record.items():
        if name not in sizes:
            raise ValueError(f"record names population {name!r}, which the network does not have")
        if neurons is None:
            chosen[name] = None
            continue
        neurons = np.unique(np.asarray(neurons, dtype=np.int64))
        if neurons.size and (neurons[0] < 0 or neurons[-1] >= sizes[name]):
            raise ValueError(f"record: population {name!r} has neurons 0 to {sizes[name] - 1}, not {neurons.tolist()}")
        chosen[name] = None if neurons.size == sizes[name] else neurons
    return chosen


def _columns(run, neurons: np.ndarray) -> np.ndarray:
    """Where ``neurons`` are in the last axis of ``run.states`` (the run may have kept some neurons only)."""
    recorded = getattr(run, "recorded", None)
    if recorded is None:
        return neurons
    columns = np.searchsorted(recorded, neurons)
    if neurons.size and (columns.max() >= recorded.size or not np.array_equal(recorded[columns], neurons)):
        raise ValueError(f"the run kept the registers of neurons {recorded.tolist()} of {run.name!r}, "
                         f"not all of {neurons.tolist()}")
    return columns


def _all_or(indices: np.ndarray, size: int) -> np.ndarray | slice:
    """``slice(None)`` when ``indices`` are ``0 .. size - 1`` in order (no copy through fancy indexing), else them."""
    return slice(None) if indices.size == size and np.array_equal(indices, np.arange(size)) else indices


def state_rmse(reference, population, run, dt: float) -> dict[str, float]:
    """Root-mean-square error (SI units of each state) of every state the reference recorded and the
    fixed-point run keeps, over the recorded neurons and samples; empty when the run kept no registers.

    ``reference`` is the population's :class:`~neuromorph.network.reference.PopulationTrace`,
    ``run`` its :class:`~neuromorph.network.emulator.PopulationRun`.
    """
    if run.states is None or not reference.states or reference.t.size == 0:
        return {}
    steps = np.round(np.asarray(reference.t) / dt).astype(np.int64)
    keep = steps <= run.states.shape[0]
    candidate = states_at_steps(population, run, steps[keep], np.asarray(reference.recorded, dtype=np.int64))
    errors = {}
    for name, values in reference.states.items():
        if name in candidate and values.size:
            difference = candidate[name] - np.asarray(values, dtype=float)[keep]
            errors[name] = float(np.sqrt(np.mean(difference ** 2)))
    return errors
