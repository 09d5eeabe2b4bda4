"""Quantise a :class:`NeuronSpec` for a hardware target: an integer program plus its data.

:func:`quantize` chooses the formats from a range profile of the float reference,
lowers the model to an explicit integer program
(:mod:`neuromorph.quantization.lowering`) whose every operation runs at the target's
widths, and checks the program against the target's limits (table memory, widths).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from ..errors import ConfigError
from ..model.neuron_spec import NeuronSpec
from .builder import Table
from .formats import RangeProfile
from .lowering import lower
from .program import Program
from .step_plan import METHODS, gate_rate

if TYPE_CHECKING:
    from ..targets import HardwareTarget

__all__ = ["METHODS", "QuantConfig", "QuantizedNeuron", "default_method", "gate_rate", "quantize"]

#: Drive values beyond this magnitude are clamped before the integer cast (the input port
#: then saturates and counts them): int64 arithmetic on them stays exact.
DRIVE_LIMIT = 2.0**62
#: Kinds of state whose update may keep an error-feedback residual.
FEEDBACK_KINDS = ("voltage", "gate", "linear")
#: Default width of a residual register (bits).
DEFAULT_RESIDUAL_BITS = 4
#: Widest residual register (its contents are added in the accumulator, never multiplied).
MAX_RESIDUAL_BITS = 32


def default_method(reference_method: str) -> str:
    """The lowered integration scheme for a Brian2 reference method: the same when supported."""
    return reference_method if reference_method in METHODS else "exponential_euler"


@dataclass(frozen=True)
class QuantConfig:
    """User-facing quantisation choices (defaults come from the hardware target).

    Attributes
    ----------
    state_bits : int
        Width of the voltage and linear-state registers (bits).
    gate_bits : int
        Width of gate registers and of table entries (bits).
    lut_size : int
        Entries per lookup table (power of two).
    interpolate : bool
        Linear interpolation between table entries.
    rounding : str
        ``nearest``, ``truncate``, ``toward_zero``, ``stochastic``, ``dither`` or
        ``error_feedback`` (nearest, plus a residual register at each state update of the
        kinds in ``feedback``; see :mod:`neuromorph.quantization.lowering`).
    seed : int
        Seed of the stochastic-rounding hash and of the dither phases.
    headroom : float
        Factor by which the observed ranges are widened when choosing register formats
        (below 1 it narrows them on purpose, e.g. to exercise overflow handling).
    method : str
        Integration: ``exponential_euler`` (default) or ``euler`` (forward Euler).
        Matching the reference's Brian2 method removes algorithm error.
    rounding_source : str
        Why this rounding: ``"given"`` or the target default that chose it.
    residual_bits : int
        ``error_feedback`` only: width of each residual register (bits, signed); the residual
        keeps the remainder of the update's shift to ``residual_bits`` fractional bits below
        the state's LSB, so it lies in ``[-1/2, 1/2)`` LSB.
    feedback : tuple of str
        ``error_feedback`` only: the kinds of state whose update keeps a residual
        (``voltage``, ``gate``, ``linear``).
    """

    state_bits: int
    gate_bits: int
    lut_size: int
    interpolate: bool = False
    rounding: str = "nearest"
    seed: int = 0
    headroom: float = 1.25
    method: str = "exponential_euler"
    rounding_source: str = "given"
    residual_bits: int = DEFAULT_RESIDUAL_BITS
    feedback: tuple[str, ...] = FEEDBACK_KINDS

    def __post_init__(self):
        object.__setattr__(self, "feedback", tuple(self.feedback))

    @classmethod
    def for_target(cls, target: HardwareTarget, **overrides) -> "QuantConfig":
        """Target defaults, with ``None``-valued overrides ignored; validated against the target.

        Without a rounding given, a width below the target's default gets the rounding the
        target declares as measured best there (``defaults.narrow_rounding``).
        """
        chosen = {k: v for k, v in overrides.items() if v is not None}
        state_bits = chosen.pop("state_bits", target.default_state_bits)
        if "rounding" not in chosen:
            chosen["rounding"], chosen["rounding_source"] = target.rounding_for(state_bits)
        config = cls(
            state_bits=state_bits,
            gate_bits=chosen.pop("gate_bits", state_bits),
            lut_size=chosen.pop("lut_size", target.default_lut_size),
            interpolate=chosen.pop("interpolate", target.default_interpolate),
            **chosen,
        )
        return config.validated(target)

    def validated(self, target: HardwareTarget) -> "QuantConfig":
        """Return self after checking every field against the target's limits."""
        target.check_state_bits(self.state_bits, field="state_bits")
        target.check_state_bits(self.gate_bits, field="gate_bits")
        target.check_lut_size(self.lut_size, field="lut_size")
        if self.state_bits < 6 or self.gate_bits < 6:
            raise ConfigError("state and gate widths below 6 bits cannot hold a neuron state", field="state_bits")
        if self.rounding not in target.rounding_modes:
            raise ConfigError(f"rounding {self.rounding!r} is not available on {target.name}; "
                              f"allowed: {list(target.rounding_modes)}", field="rounding")
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {list(METHODS)}, got {self.method!r}", field="method")
        if not 1 <= self.residual_bits <= MAX_RESIDUAL_BITS:
            raise ConfigError(f"residual_bits must be from 1 to {MAX_RESIDUAL_BITS}, got {self.residual_bits}",
                              field="residual_bits")
        unknown = [k for k in self.feedback if k not in FEEDBACK_KINDS]
        if unknown or (self.rounding == "error_feedback" and not self.feedback):
            raise ConfigError(f"feedback must name one or more of {list(FEEDBACK_KINDS)}, got {list(self.feedback)}",
                              field="feedback")
        if not (self.headroom > 0 and np.isfinite(self.headroom)):
            raise ConfigError(f"headroom must be a positive finite number, got {self.headroom}", field="headroom")
        return self

    def to_dict(self) -> dict:
        """Plain data for reports."""
        return dict(self.__dict__, feedback=list(self.feedback))


@dataclass(frozen=True)
class QuantizedNeuron:
    """A lowered neuron: the integer program, its tables and constants, and where it came from.

    ``parameter_rows``: the contents (one per neuron) of each parameter port (per-neuron
    constants of the program, see :func:`~neuromorph.quantization.lowering.lower`), by port;
    a network population holds them in its drive (empty when loaded from an export).
    ``shared_checks``: when set, the compiled kernel takes its immediates at run time and has
    these checks (:class:`~neuromorph.quantization.ranges.SharedChecks`), so that one kernel
    serves every configuration of a sweep with this program structure.
    """

    name: str
    target: str
    config: QuantConfig
    dt: float
    program: Program
    tables: tuple[Table, ...]
    constants: np.ndarray
    initial: np.ndarray
    datapath: dict
    parameter_rows: Mapping[int, np.ndarray] = field(default_factory=dict, compare=False)
    shared_checks: object = field(default=None, compare=False)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Register names, in the order of the state matrix."""
        return tuple(r.name for r in self.program.registers)

    @property
    def voltage_lsb(self) -> float:
        """Value of one LSB of the voltage register (V)."""
        return 2.0 ** -self.program.registers[0].frac

    @property
    def register_bits(self) -> int:
        """Bits of the registers of one neuron: voltage, gates, linear states, refractory
        bookkeeping and error-feedback residuals."""
        return sum(r.bits for r in self.program.registers)

    def state_bits_per_neuron(self, parameters: Iterable[str] = ()) -> int:
        """Total state of one neuron (bits): :attr:`register_bits`, plus the width of the input port
        of each per-neuron parameter among ``parameters`` (a constant drive input with a value per
        neuron, such as a bias), plus the width of every parameter port (a per-neuron constant of the
        program: a coefficient, a threshold, a refractory period)."""
        parameters = set(parameters)
        return self.register_bits + sum(p.bits for p in self.program.ports
                                        if p.kind == "parameter" or (p.kind == "drive" and p.name in parameters))

    @property
    def table_memory_bits(self) -> int:
        """Bits of table memory."""
        return sum(t.memory_bits for t in self.tables)

    def quantize_drive(self, current: np.ndarray, port: int = 0) -> np.ndarray:
        """Input (SI, e.g. A/m^2) -> integer drive of ``port`` per step (round to nearest).

        Values beyond 62 bits are clamped first; the program's input operation then
        saturates to the target's input width and counts them.
        """
        scaled = np.round(np.asarray(current, dtype=float) * self.program.ports[port].scale)
        return np.clip(np.nan_to_num(scaled, nan=0.0), -DRIVE_LIMIT, DRIVE_LIMIT).astype(np.int64)

    def formats(self) -> dict:
        """Registers, ports, tables, operation counts and datapath, as plain data for reports."""
        program = self.program
        return {
            "registers": {r.name: {"bits": r.bits, "frac_bits": r.frac, "lsb": 2.0**-r.frac, "unit": r.unit,
                                   "offset": r.offset, "overflow": r.overflow, "kind": r.kind}
                          for r in program.registers},
            "ports": {p.name: {"state": p.state, "bits": p.bits, "frac_bits": p.frac,
                               "lsb_si": 1.0 / p.scale if p.scale else None} for p in program.ports},
            "tables": {t.name: {"entries": int(t.entries.size), "entry_bits": t.entry_bits, "frac_bits": t.frac,
                                "signed": t.signed, "interpolate": t.grid.interpolate} for t in self.tables},
            "table_memory_bits": self.table_memory_bits,
            "register_bits_per_neuron": self.register_bits,
            "operations_per_neuron_step": program.operation_counts(),
            "rounding_sites": program.n_sites,
            "datapath": dict(self.datapath),
            "integration": self.config.method,
            "rounding": self.config.rounding,
        }


def _check_table_budget(tables: tuple[Table, ...], target: HardwareTarget, config: QuantConfig) -> None:
    memory = sum(t.memory_bits for t in tables)
    if memory > target.lut_memory_bits:
        raise ConfigError(f"the lowered neuron needs {memory} bits of table memory ({len(tables)} tables of "
                          f"{config.lut_size} entries x {config.gate_bits} bits); {target.name} has "
                          f"{target.lut_memory_bits} (lookup_tables.memory_bits): use a smaller --lut-size or "
                          "fewer --gate-bits", field="lut_size")


def quantize(spec: NeuronSpec, target: HardwareTarget, config: QuantConfig, profile: RangeProfile, dt: float,
             initial: dict[str, float], increments: dict[str, float] | None = None,
             parameters: Mapping[str, np.ndarray] | None = None) -> QuantizedNeuron:
    """Choose formats from ``profile`` and produce the integer neuron for ``target``.

    Parameters
    ----------
    spec : NeuronSpec
        The IR.
    target : HardwareTarget
        Register widths and limits.
    config : QuantConfig
        Widths, table size, interpolation, rounding (validated against ``target``).
    profile : RangeProfile
        Ranges from a float run (the reference).
    dt : float
        Time step (s).
    initial : dict
        Initial state in SI units.
    increments : dict of str to float, optional
        States that synapses increment (``g_e += w``), each with its largest weight (SI):
        one input port each, after the drive ports.
    parameters : dict of str to ndarray, optional
        Per-neuron values (SI) of the spec's per-neuron parameters: parameter ports after the
        increment ports (:attr:`QuantizedNeuron.parameter_rows`).

    Raises
    ------
    LoweringError
        A tabulated function is not finite on the table's voltage range.
    ConfigError
        The tables exceed the target's table memory, or exponential Euler was asked for
        equations Brian2 cannot split.
    """
    config = config.validated(target)
    lowered = lower(spec, target, config, profile, dt, initial, increments, parameters)
    _check_table_budget(lowered.tables, target, config)
    datapath = {"multiplier_bits": target.multiplier_bits, "accumulator_bits": target.accumulator_bits,
                "input_bits": target.input_bits, "accumulator_overflow": target.overflow_accumulator}
    return QuantizedNeuron(name=spec.name, target=target.name, config=config, dt=dt, program=lowered.program,
                           tables=lowered.tables, constants=lowered.constants, initial=lowered.initial,
                           datapath=datapath, parameter_rows=lowered.parameter_rows)

