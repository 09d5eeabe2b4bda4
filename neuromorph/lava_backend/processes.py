"""Lava Process of a lowered neuron population: ports and variables only.

The behaviour lives in the ProcessModels of :mod:`.models`, which call the same kernel
as the numpy emulator.
"""
from __future__ import annotations

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class LoweredNeuron(AbstractProcess):
    """A population of ``n_neurons`` lowered neurons.

    Parameters
    ----------
    kernel : FixedPointKernel or FloatKernel
        The per-step update (handed to the ProcessModel through ``proc_params``).
    n_neurons : int
        Population size.
    record_steps : int
        Steps of state history kept in ``trace`` (0: none, e.g. for benchmarks).

    Ports and variables
    -------------------
    a_in : InPort (N,)
        Input drive of the current step (integer voltage increments or A/m^2).
    s_out : OutPort (N,)
        Spikes (1 where a neuron fired in this step).
    state : Var (n_state, N)
        Voltage, gates and refractory bookkeeping.
    trace : Var (record_steps, n_state, N)
        State after each step.
    overflows : Var (n_state,)
        Register overflows per state row so far.
    """

    def __init__(self, *, kernel, n_neurons: int, record_steps: int = 0, name: str | None = None):
        super().__init__(kernel=kernel, n_neurons=n_neurons, record_steps=record_steps, name=name)
        shape = (n_neurons,)
        initial = kernel.initial_state(n_neurons)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.state = Var(shape=initial.shape, init=initial)
        self.trace = Var(shape=(max(record_steps, 1),) + initial.shape, init=0)
        self.overflows = Var(shape=(kernel.n_state,), init=0)
