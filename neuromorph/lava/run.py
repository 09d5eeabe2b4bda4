"""Run a kernel as a Lava process on the simulated Loihi 2 backend."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.io.sink import PyReceiveModelFixed, PyReceiveModelFloat, RingBuffer as SinkBuffer
from lava.proc.io.source import AbstractPyRingBuffer, PySendModelFloat, RingBuffer as SourceBuffer

from ..errors import NeuromorphError
from .models import PyLoweredNeuronFixed, PyLoweredNeuronFloat, program_stepper
from .processes import LoweredNeuron


@implements(proc=SourceBuffer, protocol=LoihiProtocol)
@requires(CPU)
class PySendModelInt64(AbstractPyRingBuffer):
    """Lava's ring-buffer source with 64-bit integers (its own fixed-point model sends int32).

    Not tagged, so Lava never picks it by itself; :func:`run_lava` names it explicitly. The
    drive reaches the lowered neuron whole, and the program's input operation saturates it
    to the target's input width and counts what did not fit.
    """

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    data: np.ndarray = LavaPyType(np.ndarray, np.int64)


#: ProcessModels (source, neuron, sink) per tag, passed explicitly so Lava never has to search.
MODELS = {
    "fixed_pt": (PySendModelInt64, PyLoweredNeuronFixed, PyReceiveModelFixed),
    "floating_pt": (PySendModelFloat, PyLoweredNeuronFloat, PyReceiveModelFloat),
}


@dataclass(frozen=True)
class LavaRun:
    """What came out of a Lava run.

    ``states`` (T, n_state, N) is the state after each step (None unless recorded);
    ``spikes`` (T, N) is what left the ``s_out`` port, read from a sink process.
    """

    states: np.ndarray | None
    spikes: np.ndarray
    saturations: np.ndarray
    wall_time_s: float
    n_steps: int


def _check_drive(drive: np.ndarray, tag: str) -> np.ndarray:
    """The drive as the port's type: int64 for fixed_pt (the program fits it to the target's input width)."""
    return drive.astype(np.int64) if tag == "fixed_pt" else drive.astype(float)


def prepare(kernel, n_neurons: int) -> None:
    """Compile the kernel's step in this process before Lava forks its processes, which inherit it.

    One step on the initial state, on the ProcessModel's own code path; without it each
    Lava run would load (or, the first time, compile) the kernel inside its timed run.
    """
    neuron = getattr(kernel, "neuron", None)
    if neuron is not None:
        step = program_stepper(neuron.program, [t.entries for t in neuron.tables], neuron.constants, kernel.backend)
        step(kernel.initial_state(n_neurons), np.zeros((max(len(neuron.program.ports), 1), n_neurons),
                                                       dtype=np.int64), 0)
    elif hasattr(kernel, "prepare"):
        kernel.prepare(n_neurons)


def run_lava(kernel, drive: np.ndarray, *, tag: str = "fixed_pt", record: bool = True) -> LavaRun:
    """Run ``kernel`` for ``len(drive)`` steps in Lava with ``Loihi2SimCfg(select_tag=tag)``.

    The drive (T, N) enters through Lava: a source ``RingBuffer`` sends step ``k``'s row
    to the neuron's ``a_in`` in the same step; spikes leave through ``s_out`` into a sink
    ``RingBuffer``. The processes are always stopped, also after an error.
    """
    if tag not in MODELS:
        raise NeuromorphError(f"unknown Lava tag {tag!r}; allowed: {sorted(MODELS)}")
    n_steps, n_neurons = drive.shape
    prepare(kernel, n_neurons)
    source = SourceBuffer(data=_check_drive(drive, tag).T.copy())
    neuron = LoweredNeuron(kernel=kernel, n_neurons=n_neurons, record_steps=n_steps if record else 0)
    sink = SinkBuffer(shape=(n_neurons,), buffer=n_steps)
    source.s_out.connect(neuron.a_in)
    neuron.s_out.connect(sink.a_in)
    models = dict(zip((source, neuron, sink), MODELS[tag]))
    config = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=models)
    started = time.perf_counter()
    try:
        neuron.run(condition=RunSteps(num_steps=n_steps), run_cfg=config)
        wall = time.perf_counter() - started
        spikes = np.asarray(sink.data.get()).T.astype(bool)
        states = np.asarray(neuron.trace.get()).astype(kernel.dtype) if record else None
        overflows = np.asarray(neuron.overflows.get()).astype(np.int64)
    finally:
        neuron.stop()
    return LavaRun(states=states, spikes=spikes, saturations=overflows, wall_time_s=wall, n_steps=n_steps)
