"""Kind ``"lowered"``: neuromorph's integer program, in the custom (simulation-only) Lava ``LoweredNeuron``.

The emulator runs the program with :class:`~neuromorph.quantization.kernel.FixedPointKernel`
(fused over all steps when no projection reaches the population); Lava runs the same
program in :class:`~neuromorph.lava.processes.LoweredNeuron` (one input port per program
port: ``a_in`` for port 0, ``in_1``, ``in_2``, ... for the others), which records its own
state, spikes and overflow counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np

from ...quantization.quantize import QuantizedNeuron
from .base import LoweredPopulation


#: Register kinds that hold a state variable (the others: refractoriness, residuals).
STATE_KINDS = ("voltage", "gate", "linear")


class ProgramStepper:
    """The integer program of a ``"lowered"`` population in the emulator."""

    def __init__(self, population: "LoweredProgramPopulation", n_steps: int | None = None, parallel: bool = True):
        from ...quantization.kernel import FixedPointKernel  # numba only when the emulator runs

        self.population = population
        self.kernel = FixedPointKernel(population.neuron, parallel=parallel,
                                       work=None if n_steps is None else (n_steps, population.size))
        self.n_counters = self.kernel.n_counters

    def initial(self) -> np.ndarray:
        """The initial registers (a copy)."""
        return self.population.initial.copy()

    def inputs(self) -> np.ndarray:
        """This step's input matrix (ports, N): the constant drives, zeros for the increment ports."""
        population = self.population
        inputs = np.zeros((population.input_rows, population.size), dtype=np.int64)
        inputs[:population.drive.shape[0]] = population.drive
        return inputs

    def step(self, state: np.ndarray, inputs: np.ndarray, t: int):
        """One step of the program (see :meth:`FixedPointKernel.step`)."""
        return self.kernel.step(state, inputs, t)

    def run(self, state: np.ndarray, inputs: np.ndarray, step0: int, record: bool):
        """Steps ``step0 ...`` with ``inputs`` (T, ports, N), fused (see ``FixedPointKernel.run``)."""
        return self.kernel.run(state, inputs, step0, record)


@dataclass(frozen=True, kw_only=True)
class LoweredProgramPopulation(LoweredPopulation):
    """A population as neuromorph's integer program (see the module docstring).

    Attributes
    ----------
    neuron : QuantizedNeuron
        The program and its data.
    drive : ndarray (n_rows, size)
        The constant integer input of each port up to the last drive or parameter port: the
        drive inputs (a per-neuron bias current), zeros for increment ports, and the contents of
        the parameter ports (per-neuron constants of the program: coefficients, thresholds,
        refractory periods; :attr:`QuantizedNeuron.parameter_rows`).
    """

    kind: ClassVar[str] = "lowered"
    process_description: ClassVar[str] = "LoweredNeuron (custom, simulation only)"
    process_label: ClassVar[str] = "LoweredNeuron (custom, simulation only)"
    hardware_deployable: ClassVar[bool] = False
    export_keys: ClassVar[tuple[str, ...]] = ("neuron",)

    neuron: QuantizedNeuron
    drive: np.ndarray

    @property
    def voltage_lsb(self) -> float:
        """LSB of the program's voltage register (V)."""
        return self.neuron.voltage_lsb

    def port_scale(self, port: int) -> float:
        """The program port's scale (integer units per SI unit)."""
        return self.neuron.program.ports[port].scale

    @property
    def input_rows(self) -> int:
        """The program's ports (at least one: ``a_in``)."""
        return max(len(self.neuron.program.ports), 1)

    def accepts(self, variable: str, port: int) -> bool:
        """Whether the program's port ``port`` exists and belongs to ``variable``."""
        ports = self.neuron.program.ports
        return 0 <= port < len(ports) and ports[port].state == variable

    def stepper(self, n_steps: int | None = None, parallel: bool = True) -> ProgramStepper:
        """The program's :class:`ProgramStepper`."""
        return ProgramStepper(self, n_steps, parallel)

    def build_lava(self, record_steps: int, record_dir: str | None = None, record_states: bool = True):
        """A LoweredNeuron and its fixed_pt ProcessModel (the kernel compiled here, before Lava forks)."""
        from ...lava.models import fixed_model, prepare
        from ...lava.processes import LoweredNeuron
        from ...quantization.kernel import FixedPointKernel

        kernel = FixedPointKernel(self.neuron)
        prepare(kernel, self.size)
        process = LoweredNeuron(kernel=kernel, n_neurons=self.size, record_steps=record_steps, record_dir=record_dir,
                                record_states=record_states, name=self.name, initial=self.initial, drive=self.drive)
        return process, fixed_model(self.input_rows)

    def lava_port(self, process, port: int):
        """``a_in`` for port 0, ``in_<port>`` for the others."""
        from ...lava.processes import input_port

        return input_port(process, port)

    def read_lava(self, process, received: Mapping[str, np.ndarray], n_steps: int, record: bool):
        """What the LoweredNeuron recorded (its record files, read once each) and its overflow counts."""
        recorded = process.recorded()
        states = recorded["states"][:n_steps] if record else None
        return recorded["spikes"][:n_steps].astype(bool), states, np.asarray(process.overflows.get()).astype(np.int64)

    def export_payload(self, writer, prefix: str) -> dict:
        """The neuron (program, tables, constants) and the drive."""
        return {"neuron": writer.neuron(self.neuron, prefix), "drive": writer.array(f"{prefix}_drive", self.drive),
                "lif": None}

    @classmethod
    def read_payload(cls, data, reader, field: str) -> dict:
        """The neuron, the initial registers (one row per register) and the drive (at most one row per port)."""
        neuron = reader.neuron(data.neuron, f"{field}.neuron")
        for key, shape in (("initial", "registers x neurons"), ("drive", "drive ports x neurons, possibly 0 rows")):
            if getattr(data, key) is None:
                reader.refuse(f"is null; a lowered population needs its {key} array ({shape})", f"{field}.{key}")
        initial = reader.matrix(data.initial, f"{field}.initial", data.size, rows=len(neuron.program.registers))
        drive = reader.matrix(data.drive, f"{field}.drive", data.size)
        ports = max(len(neuron.program.ports), 1)
        if drive is not None and drive.shape[0] > ports:
            reader.refuse(f"{drive.shape[0]} drive rows for {ports} ports", f"{field}.drive")
        return {"neuron": neuron, "initial": initial, "drive": drive}

    def decode_states(self, registers: np.ndarray) -> dict[str, np.ndarray]:
        """Voltage, gates and linear states: ``(contents + offset) 2^-frac`` of their registers."""
        return {register.name: (registers[..., row, :].astype(float) + register.offset) * 2.0 ** -register.frac
                for row, register in enumerate(self.neuron.program.registers) if register.kind in STATE_KINDS}

    @property
    def state_bits_per_neuron(self) -> int:
        """The program's register bits (residuals of error feedback included), the port bits of its
        per-neuron constant drives and of its parameter ports (per-neuron constants of the program)."""
        return self.neuron.state_bits_per_neuron(self.drive_si)

    @property
    def table_memory_bits(self) -> int:
        """The program's lookup tables."""
        return self.neuron.table_memory_bits

    def operation_counts(self) -> dict[str, int]:
        """The program's operations per neuron-step by kind."""
        return self.neuron.program.operation_counts()

    def overflow_report(self, counts: np.ndarray) -> dict:
        """Overflows per register and per operation of the program."""
        program = self.neuron.program
        return {"registers": program.register_overflows(counts), "operations": program.overflow_report(counts)}

    def formats(self) -> dict:
        """The program's register formats."""
        return self.neuron.formats()
