"""The ``fixed_pt`` ProcessModel of :class:`LoweredNeuron` (the integer program) and the 64-bit source.

The ``fixed_pt`` model runs the program compiled (:class:`~neuromorph.quantization.compiled.CompiledProgram`,
the emulator's kernel, one step per ``run_spk`` on the process's own thread) or, with the
``numpy`` backend, with :class:`~neuromorph.quantization.interpreter.Interpreter` -- the
reference both are checked against -- on the tables and constants held in the process's
own Vars, so it agrees with the emulator bit for bit.
:class:`PySendModelInt64` is Lava's ``RingBuffer`` source sending 64-bit integers (sampled
currents and replayed inputs reach the program's ports whole).
"""
from __future__ import annotations

import time

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.io.source import AbstractPyRingBuffer, RingBuffer as SourceBuffer

from ..quantization.compiled import CompiledProgram, UncompilableProgram
from ..quantization.interpreter import Interpreter
from .processes import LoweredNeuron


def _split_tables(tables: np.ndarray, sizes: np.ndarray, count: int) -> list[np.ndarray]:
    """The program's tables from the concatenated ``tables`` Var."""
    bounds = np.cumsum(np.concatenate([[0], sizes[:count]]))
    return [tables[bounds[i]:bounds[i + 1]] for i in range(count)]


def program_stepper(program, tables, constants, backend: str):
    """``step(registers, inputs, index)`` of the program: compiled on the calling thread, or interpreted.

    A program the compiled kernel cannot run exactly is interpreted.
    """
    if backend == "numba":
        try:
            return CompiledProgram(program, tables, constants, parallel=False).step
        except UncompilableProgram:
            pass
    return Interpreter(program, tables, constants).step


def prepare(kernel, n_neurons: int) -> None:
    """Compile the kernel's step in this process before Lava forks its processes, which inherit it.

    One step on the initial state, on the ProcessModel's own code path; without it each
    Lava run would load (or, the first time, compile) the kernel inside its timed run.
    """
    neuron = kernel.neuron
    step = program_stepper(neuron.program, [t.entries for t in neuron.tables], neuron.constants, kernel.backend)
    step(kernel.initial_state(n_neurons), np.zeros((max(len(neuron.program.ports), 1), n_neurons), dtype=np.int64), 0)


@implements(proc=SourceBuffer, protocol=LoihiProtocol)
@requires(CPU)
class PySendModelInt64(AbstractPyRingBuffer):
    """Lava's ring-buffer source with 64-bit integers (its own fixed-point model sends int32).

    Not tagged, so Lava never picks it by itself; the graph names it explicitly. The values
    reach the lowered neuron whole, and the program's input operation saturates them to the
    target's input width and counts what did not fit.
    """

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    data: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=LoweredNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoweredNeuronFixed(PyLoihiProcessModel):
    """The program on int64 registers (any width up to 32 bits, plus intermediates).

    Each ``run_spk``: receive every port, add the constant drive, step, record, send spikes.
    Records go into the memory-mapped files the process created (``record_files``), one row
    per step, so reading them back is one file read, not one Lava message per value; with
    them the clock at the start and the end of each step (after the kernel is loaded), from
    which the host reads Lava's own stepping time.
    """

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    state: np.ndarray = LavaPyType(np.ndarray, np.int64)
    drive: np.ndarray = LavaPyType(np.ndarray, np.int64)
    overflows: np.ndarray = LavaPyType(np.ndarray, np.int64)
    tables: np.ndarray = LavaPyType(np.ndarray, np.int64)
    table_sizes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    constants: np.ndarray = LavaPyType(np.ndarray, np.int64)
    frac_bits: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.record_steps = proc_params["record_steps"]
        self._step = None
        self._records = None

    def _stepper(self):
        program = self.proc_params["program"]
        tables = _split_tables(np.asarray(self.tables, dtype=np.int64), np.asarray(self.table_sizes),
                               len(program.table_names))
        program_step = program_stepper(program, tables, np.asarray(self.constants, dtype=np.int64),
                                       self.proc_params["backend"])
        return lambda state, inputs, index: program_step(np.asarray(state, dtype=np.int64),
                                                         inputs.astype(np.int64), index)

    def _inputs(self) -> np.ndarray:
        """This step's inputs (ports, N): every port received, plus the constant drive."""
        received = [self.a_in.recv()] + [getattr(self, f"in_{port}").recv()
                                         for port in range(1, self.proc_params["n_ports"])]
        return np.asarray(received) + self.drive

    def run_spk(self) -> None:
        if self._step is None:
            self._step = self._stepper()
        started = time.perf_counter()
        step = self.time_step - 1  # Lava counts time steps from 1
        state, spiked, overflow = self._step(self.state, self._inputs(), step)
        self.state[:] = state
        self.overflows[:] = self.overflows + overflow
        if step < self.record_steps:
            if self._records is None:
                self._records = {key: np.load(path, mmap_mode="r+")
                                 for key, path in self.proc_params["record_files"].items()}
            self._records["spikes"][step] = spiked
            if "states" in self._records:
                self._records["states"][step] = state
            self._records["clock"][step] = started, time.perf_counter()
        self.s_out.send(spiked.astype(np.int32))


_PORT_MODELS: dict[int, type] = {1: PyLoweredNeuronFixed}


def fixed_model(n_ports: int) -> type:
    """The fixed_pt ProcessModel of a LoweredNeuron with ``n_ports`` input ports (``a_in``, ``in_1``, ...).

    Lava needs a model's ports declared on its class, so a model with extra ports is made
    once per port count (Lava starts its processes by fork, so these classes reach them);
    name it in ``exception_proc_model_map``.
    """
    if n_ports not in _PORT_MODELS:
        ports = {f"in_{port}": LavaPyType(PyInPort.VEC_DENSE, np.int64) for port in range(1, n_ports)}
        _PORT_MODELS[n_ports] = type(f"PyLoweredNeuronFixed{n_ports}", (PyLoweredNeuronFixed,), ports)
    return _PORT_MODELS[n_ports]
