"""ProcessModels of :class:`LoweredNeuron`: ``fixed_pt`` (integer kernel) and ``floating_pt``.

Both call ``kernel.step`` -- the very function the numpy emulator calls -- so the
``fixed_pt`` model agrees with the emulator bit for bit.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from .processes import LoweredNeuron


class AbstractLoweredNeuronModel(PyLoihiProcessModel):
    """Shared ``run_spk``: receive the drive, step the kernel, record, send spikes."""

    a_in = None
    s_out = None
    state = None
    trace = None
    overflows = None

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.kernel = proc_params["kernel"]
        self.record_steps = proc_params["record_steps"]

    def run_spk(self) -> None:
        drive = self.a_in.recv()
        step = self.time_step - 1  # Lava counts time steps from 1
        state, spiked, overflow = self.kernel.step(self.state.astype(self.kernel.dtype), drive.astype(self.kernel.dtype),
                                                   step)
        self.state[:] = state
        self.overflows[:] = self.overflows + overflow
        if step < self.record_steps:
            self.trace[step] = state
        self.s_out.send(spiked.astype(self.s_out_dtype))


@implements(proc=LoweredNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoweredNeuronFixed(AbstractLoweredNeuronModel):
    """Integer model. State is held as int64: 24-bit registers plus refractory counters and
    the intermediate widths of the kernel fit, and int32 would hide nothing but add casts."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    state: np.ndarray = LavaPyType(np.ndarray, np.int64)
    trace: np.ndarray = LavaPyType(np.ndarray, np.int64)
    overflows: np.ndarray = LavaPyType(np.ndarray, np.int64)
    s_out_dtype = np.int32


@implements(proc=LoweredNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoweredNeuronFloat(AbstractLoweredNeuronModel):
    """float64 model running the same algorithm with exact functions."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    state: np.ndarray = LavaPyType(np.ndarray, float)
    trace: np.ndarray = LavaPyType(np.ndarray, float)
    overflows: np.ndarray = LavaPyType(np.ndarray, np.int64)
    s_out_dtype = float
