"""What every kind of lowered population provides: :class:`LoweredPopulation`.

A population kind is one frozen dataclass, a subclass of :class:`LoweredPopulation` holding
only its own fields, registered in :data:`neuromorph.network.kinds.KINDS`. It provides

* the emulator's stepper (:meth:`~LoweredPopulation.stepper`; :class:`Stepper`);
* its Lava process and input ports, the readout it needs and the reader of a Lava run
  (:meth:`~LoweredPopulation.build_lava`, :meth:`~LoweredPopulation.lava_port`,
  :meth:`~LoweredPopulation.lava_readout`, :meth:`~LoweredPopulation.read_lava`); Lava is
  imported inside these methods only, from :mod:`neuromorph.lava`, so that lowering never
  imports Lava;
* its export payload (:meth:`~LoweredPopulation.export_payload`,
  :meth:`~LoweredPopulation.read_payload`);
* its resource bits (:attr:`~LoweredPopulation.state_bits_per_neuron`,
  :attr:`~LoweredPopulation.table_memory_bits`, :meth:`~LoweredPopulation.operation_counts`);
* its report fields (:attr:`~LoweredPopulation.process_description`,
  :attr:`~LoweredPopulation.hardware_deployable`, :meth:`~LoweredPopulation.overflow_report`,
  :meth:`~LoweredPopulation.formats`, :attr:`~LoweredPopulation.voltage_lsb`,
  :meth:`~LoweredPopulation.port_scale`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Mapping, Protocol

import numpy as np

from ...model.neuron_spec import NeuronSpec


class Stepper(Protocol):
    """One population in the network emulator: its registers, inputs and one step.

    A stepper may also have ``run(state, inputs, step0, record)`` (all steps of ``inputs``
    (T, ports, N) at once, returning ``(state, states, spikes, counts)``); the emulator runs a
    population no projection reaches through it.
    """

    n_counters: int

    def initial(self) -> np.ndarray:
        """The registers (R, N) at t = 0 (a copy)."""

    def inputs(self) -> np.ndarray:
        """A fresh input matrix (ports, N) of one step: the constant drives, zeros elsewhere."""

    def step(self, state: np.ndarray, inputs: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step ``t``: (registers after it, spikes (N,) bool, overflow counts of the step)."""


@dataclass(frozen=True, kw_only=True)
class LoweredPopulation(ABC):
    """A population lowered for a target (the fields every kind has; see the module docstring).

    Attributes
    ----------
    name, size : str, int
        As in the spec.
    spec : NeuronSpec or None
        The neuron IR (inputs: the per-neuron constant drives, in port order); None when
        loaded from an export, which does not hold it.
    initial : ndarray (n_registers, size)
        Register contents at t = 0.
    increment_ports : Mapping[str, int]
        Port of each variable that projections increment.
    initial_si : Mapping[str, ndarray]
        Initial state (SI, per neuron) for the float emulator.
    drive_si : Mapping[str, ndarray]
        The drive inputs' values (SI, per neuron).
    """

    #: The kind's name (``network.json``'s ``kind``, the report's ``kind``).
    kind: ClassVar[str]
    #: The Lava process that runs the population, as the network report names it.
    process_description: ClassVar[str]
    #: The Lava process, as the resource table names it.
    process_label: ClassVar[str]
    #: Whether that process runs on Loihi 2 hardware.
    hardware_deployable: ClassVar[bool]
    #: The keys of ``network.json``'s population entry that only this kind fills (the others are null).
    export_keys: ClassVar[tuple[str, ...]]
    #: Whether the lowering added the population to carry spikes (relays): counted by the resource
    #: report, run by every backend, never reported as one of the network's populations.
    infrastructure: ClassVar[bool] = False

    name: str
    size: int
    spec: NeuronSpec | None
    initial: np.ndarray | None
    increment_ports: Mapping[str, int]
    initial_si: Mapping[str, np.ndarray]
    drive_si: Mapping[str, np.ndarray]

    # -- arithmetic ----------------------------------------------------------------------

    @property
    @abstractmethod
    def voltage_lsb(self) -> float:
        """LSB of the voltage register (V)."""

    #: Row of the voltage in the population's state matrix.
    voltage_register: ClassVar[int] = 0

    @abstractmethod
    def decode_states(self, registers: np.ndarray) -> dict[str, np.ndarray]:
        """The state variables (SI values) held by ``registers`` (``(..., R, N)`` integers), by name."""

    @abstractmethod
    def port_scale(self, port: int) -> float:
        """Units of the port's integer input per SI unit of its variable (the weights' scale)."""

    @property
    @abstractmethod
    def input_rows(self) -> int:
        """Rows of the population's input matrix (its input ports)."""

    @abstractmethod
    def accepts(self, variable: str, port: int) -> bool:
        """Whether ``port`` is an input of the population that increments ``variable``."""

    @abstractmethod
    def stepper(self, n_steps: int | None = None, parallel: bool = True) -> Stepper:
        """The emulator's stepper, for a run of ``n_steps`` steps if known.

        ``parallel``: a compiled kernel may use several threads (False inside a worker
        process that shares the cores with others).
        """

    # -- Lava ----------------------------------------------------------------------------

    @abstractmethod
    def build_lava(self, record_steps: int, record_dir: str | None = None, record_states: bool = True
                   ) -> tuple[object, type | None]:
        """The population's Lava process, and its ProcessModel when Lava must be told (else None).

        A process that records itself keeps ``record_steps`` steps of spikes (and, with
        ``record_states``, of registers) in files under ``record_dir``.
        """

    @abstractmethod
    def lava_port(self, process, port: int):
        """The Lava InPort of input ``port`` of ``process`` (built by :meth:`build_lava`)."""

    def lava_readout(self, process, feeds: list, models: dict, record_steps: int):
        """Readout processes attached after the graph is connected (None: the process records itself).

        ``feeds`` are the synapse processes whose ``a_out`` reaches the population; the
        readout's models go into ``models``. A readout has ``receivers()``: ``{key: process}``
        whose ``receive()`` gives one vector per step during the run.
        """
        return None

    @abstractmethod
    def read_lava(self, process, received: Mapping[str, np.ndarray], n_steps: int, record: bool
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Spikes (T, N), registers (T, R, N) (None unless ``record``) and overflow counts of a Lava run.

        ``received``: what the readout's receivers streamed, ``{key: (T, N)}`` (empty without a readout).
        """

    # -- export --------------------------------------------------------------------------

    @abstractmethod
    def export_payload(self, writer, prefix: str) -> dict:
        """The kind's keys of the population's ``network.json`` entry: ``drive`` and every key of :data:`EXPORT_KEYS`.

        ``writer`` has ``array(name, values)``, ``neuron(neuron, prefix)`` and
        ``data(dataclass, name)`` (see :mod:`neuromorph.network.export`).
        """

    @classmethod
    @abstractmethod
    def read_payload(cls, data, reader, field: str) -> dict:
        """The kind's fields, and ``initial``, from a validated ``network.json`` entry ``data``.

        ``reader`` has ``array``, ``matrix``, ``neuron``, ``dataclass`` and ``refuse`` (see
        :class:`neuromorph.network.export_load.PayloadReader`); the fields every kind has are
        read by the caller.
        """

    # -- resources and report ------------------------------------------------------------

    @property
    @abstractmethod
    def state_bits_per_neuron(self) -> int:
        """Bits of state one neuron holds."""

    @property
    def table_memory_bits(self) -> int:
        """Lookup-table memory of the population's program (one copy per core)."""
        return 0

    def operation_counts(self) -> dict[str, int]:
        """Operations per neuron-step by kind (none counted by default)."""
        return {}

    def overflow_report(self, counts: np.ndarray) -> dict:
        """The report's ``overflows`` of a run's overflow ``counts`` (empty by default)."""
        return {}

    def formats(self) -> dict | None:
        """The report's ``formats`` (None: the kind has no register formats of its own)."""
        return None


#: The keys of a population's ``network.json`` entry that exactly one kind fills (null for the others).
EXPORT_KEYS = ("neuron", "lif")
