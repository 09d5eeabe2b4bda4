"""Lava Process of a lowered neuron population: ports and variables only.

The behaviour lives in the ProcessModels of :mod:`.models`. The integer program's data
are Vars of the process, so a Lava user can read them like any other Lava state: the
lookup tables (``tables``, all entries one after the other, ``table_sizes`` entries each),
the constant pool (``constants``) and the registers' fractional bits (``frac_bits``). The
program's structure (which operation reads which table) is a ProcessModel parameter.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


def _var_data(values, fallback: int = 0) -> np.ndarray:
    """A non-empty int64 array for a Var (Lava Vars cannot be empty)."""
    values = np.asarray(values, dtype=np.int64).ravel()
    return values if values.size else np.array([fallback], dtype=np.int64)


def _record_files(directory, steps: int, shapes: dict) -> dict[str, str]:
    """``.npy`` files of ``steps`` rows per recorded array (``shapes``: key -> (row shape, dtype)),
    created (zero-filled) in ``directory`` before Lava forks; the ProcessModel maps and fills them."""
    if steps == 0:
        return {}
    if directory is None:
        raise ValueError("a LoweredNeuron that records needs a record_dir")
    files = {}
    for key, (shape, dtype) in shapes.items():
        handle, path = tempfile.mkstemp(suffix=f"_{key}.npy", dir=directory)
        os.close(handle)
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(steps,) + shape).flush()
        files[key] = path
    return files


def _padded(drive: np.ndarray, n_ports: int) -> np.ndarray:
    """``drive`` (k, N) padded with zero rows to (n_ports, N)."""
    drive = np.asarray(drive, dtype=np.int64)
    rows = np.zeros((n_ports, drive.shape[-1]), dtype=np.int64)
    rows[:drive.shape[0]] = drive
    return rows


def input_port(process: "LoweredNeuron", port: int):
    """The InPort of program port ``port`` (``a_in`` for port 0)."""
    return process.a_in if port == 0 else getattr(process, f"in_{port}")


class LoweredNeuron(AbstractProcess):
    """A population of ``n_neurons`` lowered neurons.

    Parameters
    ----------
    kernel : FixedPointKernel
        The per-step update: its program, data and backend (compiled or numpy).
    n_neurons : int
        Population size.
    record_steps : int
        Steps of spikes (and states) recorded (0: none, e.g. for benchmarks).
    record_dir : str, optional
        Where the records go (required when ``record_steps`` > 0): the ProcessModel writes
        each step into memory-mapped ``.npy`` files, read once after the run
        (:meth:`recorded`), instead of Vars that Lava reads back one value per message.
    record_states : bool
        Record the registers as well as the spikes.

    initial : ndarray (n_state, N), optional
        Register contents at t = 0 (default: the kernel's, the same for every neuron).
    drive : ndarray (n_ports, N), optional
        A constant input added to every port in every step (per-neuron drives of a network).

    Ports and variables
    -------------------
    a_in : InPort (N,)
        Input of port 0 in the current step (integer drive).
    in_1, in_2, ... : InPort (N,)
        The other ports of the program (synaptic increments of a network population).
    s_out : OutPort (N,)
        Spikes (1 where a neuron fired in this step).
    state : Var (n_state, N)
        The registers (voltage, gates, linear states, refractory bookkeeping).
    overflows : Var (n_counters,)
        Values that did not fit, per operation of the program, so far.
    tables, table_sizes, constants, frac_bits : Var
        The program's data.
    """

    def __init__(self, *, kernel, n_neurons: int, record_steps: int = 0, record_dir: str | None = None,
                 record_states: bool = True, name: str | None = None, initial: np.ndarray | None = None,
                 drive: np.ndarray | None = None):
        neuron = kernel.neuron
        n_ports = max(len(neuron.program.ports), 1)
        initial = kernel.initial_state(n_neurons) if initial is None else np.asarray(initial)
        shapes = {"spikes": ((n_neurons,), np.int8), "clock": ((2,), np.float64),
                  **({"states": (initial.shape, np.int64)} if record_states else {})}
        super().__init__(n_neurons=n_neurons, record_steps=record_steps, name=name, n_ports=n_ports,
                         program=neuron.program, backend=kernel.backend,
                         record_files=_record_files(record_dir, record_steps, shapes))
        shape = (n_neurons,)
        self.a_in = InPort(shape=shape)
        for port in range(1, n_ports):
            setattr(self, f"in_{port}", InPort(shape=shape))
        self.s_out = OutPort(shape=shape)
        self.state = Var(shape=initial.shape, init=initial)
        self.drive = Var(shape=(n_ports, n_neurons), init=np.zeros((n_ports, n_neurons), dtype=np.int64)
                         if drive is None else _padded(drive, n_ports))
        self.overflows = Var(shape=(kernel.n_counters,), init=0)
        tables = [t.entries for t in neuron.tables]
        self.tables = Var(shape=_var_data(np.concatenate(tables) if tables else []).shape,
                          init=_var_data(np.concatenate(tables) if tables else []))
        self.table_sizes = Var(shape=_var_data([t.size for t in tables]).shape, init=_var_data([t.size for t in tables]))
        self.constants = Var(shape=_var_data(neuron.constants).shape, init=_var_data(neuron.constants))
        frac = [r.frac for r in neuron.program.registers]
        self.frac_bits = Var(shape=_var_data(frac).shape, init=_var_data(frac))

    def recorded(self) -> dict[str, np.ndarray]:
        """What the run recorded, read in one pass per file: ``{"spikes": (record_steps, N) int8,
        "states": (record_steps, n_state, N) int64, "clock": (record_steps, 2) float64}`` (``states``
        only with ``record_states``; ``clock``: ``time.perf_counter()`` at the start and the end of
        each step's ``run_spk``, a system-wide monotonic clock on Linux, so comparable with the host's)."""
        return {key: np.load(path) for key, path in self.proc_params["record_files"].items()}
