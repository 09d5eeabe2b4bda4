"""How each kind of lowered population steps (emulator) and which Lava process runs it (graph).

A registry, so that a new kind is one entry: ``"lowered"`` runs the integer program
(:class:`~neuromorph.quantization.kernel.FixedPointKernel`, Lava
:class:`~neuromorph.lava_backend.processes.LoweredNeuron`); ``"lif"`` is Lava's own
fixed-point ``LIF`` (:func:`~neuromorph.network.lava_lif.lif_step`, Lava ``LIF``), whose one
input port ``a_in`` adds into its current ``u``.
"""
from __future__ import annotations

import numpy as np

from ..quantization.kernel import FixedPointKernel
from .lava_lif import lif_step
from .lower import LoweredPopulation

#: Overflow counters of a LIF population: input wrapped, u wrapped, v clipped.
LIF_COUNTERS = ("input wrapped", "u wrapped", "v clipped")


class LoweredStepper:
    """The integer program of a ``"lowered"`` population."""

    def __init__(self, population: LoweredPopulation, n_steps: int | None = None, parallel: bool = True):
        self.population = population
        self.kernel = FixedPointKernel(population.neuron, parallel=parallel,
                                       work=None if n_steps is None else (n_steps, population.size))
        self.n_counters = self.kernel.n_counters

    def initial(self) -> np.ndarray:
        return self.population.initial.copy()

    def inputs(self) -> np.ndarray:
        """This step's input matrix (ports, N): the constant drives, zeros for the increment ports."""
        population = self.population
        inputs = np.zeros((max(len(population.neuron.program.ports), 1), population.size), dtype=np.int64)
        inputs[:population.drive.shape[0]] = population.drive
        return inputs

    def step(self, state: np.ndarray, inputs: np.ndarray, t: int):
        return self.kernel.step(state, inputs, t)

    def run(self, state: np.ndarray, inputs: np.ndarray, step0: int, record: bool):
        """Steps ``step0 ...`` with ``inputs`` (T, ports, N), fused (see ``FixedPointKernel.run``)."""
        return self.kernel.run(state, inputs, step0, record)


class LifStepper:
    """Lava's fixed-point LIF (state rows ``u``, ``v``); ``population.lif`` is its ``LifConversion``."""

    n_counters = len(LIF_COUNTERS)

    def __init__(self, population: LoweredPopulation, n_steps: int | None = None, parallel: bool = True):
        self.population = population
        self.lif = population.lif.lava

    def initial(self) -> np.ndarray:
        return np.stack([np.broadcast_to(self.lif.u, (self.lif.n,)), np.broadcast_to(self.lif.v, (self.lif.n,))]
                        ).astype(np.int64)

    def inputs(self) -> np.ndarray:
        return np.zeros((1, self.lif.n), dtype=np.int64)

    def step(self, state: np.ndarray, inputs: np.ndarray, t: int):
        result = lif_step(self.lif, state[0], state[1], inputs[0])
        counts = np.array([result.n_input_wrapped, result.n_u_wrapped, result.n_v_clipped], dtype=np.int64)
        return np.stack([result.u, result.v]), result.spikes, counts


STEPPERS = {"lowered": LoweredStepper, "lif": LifStepper}


def stepper(population: LoweredPopulation, n_steps: int | None = None, parallel: bool = True):
    """The emulator's stepper of a population (by its kind), for a run of ``n_steps`` steps if known.

    ``parallel``: a compiled kernel may use several threads (False inside a worker process
    that shares the cores with others).
    """
    return STEPPERS[population.kind](population, n_steps, parallel)


def lif_overflows(lif, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> np.ndarray:
    """The :data:`LIF_COUNTERS` of a recorded LIF run (Lava's own; its model counts nothing).

    ``u``, ``v`` (T, N) are the states after each step, ``a_in`` (T, N) the summed input of
    each step; every step is recomputed from the previous recorded state (all steps at
    once), so the counts are those of the run that was recorded.
    """
    u_before = np.concatenate([np.broadcast_to(lif.u, (1, lif.n)), u[:-1]]).astype(np.int64)
    v_before = np.concatenate([np.broadcast_to(lif.v, (1, lif.n)), v[:-1]]).astype(np.int64)
    result = lif_step(lif, u_before, v_before, a_in)
    return np.array([result.n_input_wrapped, result.n_u_wrapped, result.n_v_clipped], dtype=np.int64)
