"""ProcessModels of :class:`LoweredNeuron`: ``fixed_pt`` (integer program) and ``floating_pt``.

The ``fixed_pt`` model runs the program compiled (:class:`~neuromorph.quantization.compiled.CompiledProgram`,
the emulator's kernel, one step per ``run_spk`` on the process's own thread) or, with the
``numpy`` backend, with :class:`~neuromorph.quantization.interpreter.Interpreter` -- the
reference both are checked against -- on the tables and constants held in the process's
own Vars, so it agrees with the emulator bit for bit.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

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


class AbstractLoweredNeuronModel(PyLoihiProcessModel):
    """Shared ``run_spk``: receive the drive, step, record, send spikes."""

    a_in = None
    s_out = None
    state = None
    drive = None
    trace = None
    spike_trace = None
    overflows = None
    tables = None
    table_sizes = None
    constants = None
    frac_bits = None
    s_out_dtype = np.int32

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.record_steps = proc_params["record_steps"]
        self._step = None

    def _stepper(self):
        raise NotImplementedError

    def _inputs(self) -> np.ndarray:
        """This step's inputs (ports, N): every port received, plus the constant drive."""
        received = [self.a_in.recv()] + [getattr(self, f"in_{port}").recv()
                                         for port in range(1, self.proc_params["n_ports"])]
        return np.asarray(received) + self.drive

    def run_spk(self) -> None:
        if self._step is None:
            self._step = self._stepper()
        step = self.time_step - 1  # Lava counts time steps from 1
        state, spiked, overflow = self._step(self.state, self._inputs(), step)
        self.state[:] = state
        self.overflows[:] = self.overflows + overflow
        if step < self.record_steps:
            self.trace[step] = state
            self.spike_trace[step] = spiked
        self.s_out.send(spiked.astype(self.s_out_dtype))


@implements(proc=LoweredNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoweredNeuronFixed(AbstractLoweredNeuronModel):
    """Integer model: the program on int64 registers (any width up to 32 bits, plus intermediates)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    state: np.ndarray = LavaPyType(np.ndarray, np.int64)
    drive: np.ndarray = LavaPyType(np.ndarray, np.int64)
    trace: np.ndarray = LavaPyType(np.ndarray, np.int64)
    spike_trace: np.ndarray = LavaPyType(np.ndarray, np.int64)
    overflows: np.ndarray = LavaPyType(np.ndarray, np.int64)
    tables: np.ndarray = LavaPyType(np.ndarray, np.int64)
    table_sizes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    constants: np.ndarray = LavaPyType(np.ndarray, np.int64)
    frac_bits: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _stepper(self):
        program = self.proc_params["program"]
        tables = _split_tables(np.asarray(self.tables, dtype=np.int64), np.asarray(self.table_sizes),
                               len(program.table_names))
        program_step = program_stepper(program, tables, np.asarray(self.constants, dtype=np.int64),
                                       self.proc_params["backend"])
        return lambda state, inputs, index: program_step(np.asarray(state, dtype=np.int64),
                                                         inputs.astype(np.int64), index)


@implements(proc=LoweredNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoweredNeuronFloat(AbstractLoweredNeuronModel):
    """float64 model running the same algorithm with exact functions."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    state: np.ndarray = LavaPyType(np.ndarray, float)
    drive: np.ndarray = LavaPyType(np.ndarray, np.int64)
    trace: np.ndarray = LavaPyType(np.ndarray, float)
    spike_trace: np.ndarray = LavaPyType(np.ndarray, np.int64)
    overflows: np.ndarray = LavaPyType(np.ndarray, np.int64)
    tables: np.ndarray = LavaPyType(np.ndarray, np.int64)
    table_sizes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    constants: np.ndarray = LavaPyType(np.ndarray, np.int64)
    frac_bits: np.ndarray = LavaPyType(np.ndarray, np.int64)
    s_out_dtype = float

    def _stepper(self):
        kernel = self.proc_params["float_kernel"]
        return lambda state, inputs, index: kernel.step(np.asarray(state, dtype=float), inputs[0], index)


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
