"""Lower a :class:`NeuronSpec` to integers: formats, lookup tables, scaled coefficients.

The lowered update for one time step ``dt`` (all integer, see :mod:`.fixed_point`):

* gates: ``x' = x + (x_inf(v) - x) * rate(v)`` with ``rate = 1 - exp(-dt/tau)``
  (exponential Euler) or ``dt/tau`` (forward Euler), both functions read from tables
  over quantised ``v``; each gate's rate table has its own number of fractional bits (its
  largest entry just fits), which keeps slow gates' rates precise;
* voltage: ``v' = v + dt * f * phi``, with ``f = sum_k c_k(v) prod_j x_j**p_jk + gain * I``,
  each ``dt * c_k`` either affine (``a + b v``, exact integer arithmetic) or tabulated.
  ``phi = 1`` is forward Euler; exponential Euler (the default, what Brian2's
  ``exponential_euler`` does for a conditionally linear ``v``) uses
  ``phi = (1 - exp(-x)) / x`` with ``x = -dt * df/dv = dt G/C`` (total conductance over
  capacitance of the affine terms), read from one more table indexed by ``x``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, LoweringError
from ..model.neuron_spec import NeuronSpec, evaluate, exprel
from .fixed_point import to_fixed
from .formats import FixedFormat, RangeProfile, bits_needed, frac_bits_for, unsigned_frac_bits_for

if TYPE_CHECKING:
    from ..targets import HardwareTarget

METHODS = ("exponential_euler", "euler")



def default_method(reference_method: str) -> str:
    """The lowered integration scheme for a Brian2 reference method: the same when supported."""
    return reference_method if reference_method in METHODS else "exponential_euler"


#: Fraction of the observed voltage span added on each side of the lookup-table range.
LUT_MARGIN = 0.1


@dataclass(frozen=True)
class QuantConfig:
    """User-facing quantisation choices (defaults come from the hardware target).

    Attributes
    ----------
    state_bits : int
        Width of the voltage register (bits).
    gate_bits : int
        Width of gate registers and of table entries (bits).
    lut_size : int
        Entries per lookup table (power of two).
    interpolate : bool
        Linear interpolation between table entries.
    rounding : str
        ``nearest``, ``truncate``, ``stochastic`` or ``dither``.
    seed : int
        Seed of the stochastic-rounding hash and of the dither phases.
    headroom : float
        Factor by which the observed voltage range is widened when choosing formats
        (below 1 it narrows the range on purpose, e.g. to exercise overflow handling).
    method : str
        Integration of gates and voltage: ``exponential_euler`` (default) or ``euler``
        (forward Euler). Matching the reference's Brian2 method removes algorithm error.
    """

    state_bits: int
    gate_bits: int
    lut_size: int
    interpolate: bool = False
    rounding: str = "nearest"
    seed: int = 0
    headroom: float = 1.25
    method: str = "exponential_euler"

    @classmethod
    def for_target(cls, target: HardwareTarget, **overrides) -> "QuantConfig":
        """Target defaults, with ``None``-valued overrides ignored; validated against the target."""
        chosen = {k: v for k, v in overrides.items() if v is not None}
        state_bits = chosen.pop("state_bits", target.default_state_bits)
        config = cls(
            state_bits=state_bits,
            gate_bits=chosen.pop("gate_bits", state_bits),
            lut_size=chosen.pop("lut_size", target.default_lut_size),
            interpolate=chosen.pop("interpolate", target.default_interpolate),
            rounding=chosen.pop("rounding", target.default_rounding),
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
            raise ConfigError(f"method must be one of {list(METHODS)}, got {self.method!r}",
                              field="method")
        if not self.headroom > 0:
            raise ConfigError(f"headroom must be positive, got {self.headroom}", field="headroom")
        return self


@dataclass(frozen=True)
class LutGrid:
    """Voltage grid of the lookup tables: entry ``k`` sits at ``origin + k * 2**shift`` (v LSBs)."""

    origin: int
    shift: int
    size: int
    interpolate: bool

    def points(self, frac_bits: int) -> np.ndarray:
        """Grid inputs in SI units (V for voltage tables) for inputs with ``frac_bits`` fractional bits."""
        return (self.origin + (np.arange(self.size, dtype=np.int64) << self.shift)) * 2.0**-frac_bits


@dataclass(frozen=True)
class QuantizedTerm:
    """``dt * c_k(v) * prod x_j`` in integers.

    ``gates`` lists gate indices with repetition (``m**3 h`` -> ``(0, 0, 0, 1)``).
    Affine terms: ``a`` (v LSBs with ``acc_frac`` extra bits) and the slope ``b`` with its
    own ``b_frac`` fractional bits (the most a multiplier operand holds for this slope, so a
    small leak conductance is as precise as a large sodium one); tabulated terms: ``table``
    (L,) in v LSBs with ``acc_frac`` extra bits.
    """

    gates: tuple[int, ...]
    a: int = 0
    b: int = 0
    b_frac: int = 0
    table: np.ndarray | None = None


@dataclass(frozen=True)
class QuantizedNeuron:
    """Everything the integer kernel needs; produced by :func:`quantize`."""

    name: str
    target: str
    state_names: tuple[str, ...]
    config: QuantConfig
    overflow: str
    dt: float
    voltage: FixedFormat
    gate: FixedFormat
    rates: tuple[FixedFormat, ...]
    product_frac: int
    acc_frac: int
    coef_frac: int
    drive_scale: float
    grid: LutGrid
    phi_grid: LutGrid | None
    phi_table: np.ndarray | None
    gate_names: tuple[str, ...]
    x_inf_tables: np.ndarray
    rate_tables: np.ndarray
    terms: tuple[QuantizedTerm, ...]
    threshold: int
    threshold_strict: bool
    refractory_condition: tuple[int, bool] | None
    refractory_steps: int | None
    reset: tuple[tuple[int, int], ...]
    initial: np.ndarray

    @property
    def table_memory_bits(self) -> int:
        """Bits of table memory: every table entry at the gate width."""
        return (self.n_voltage_tables * self.grid.size
                + (0 if self.phi_grid is None else self.phi_grid.size)) * self.gate.bits

    @property
    def n_voltage_tables(self) -> int:
        """Tables indexed by the voltage: x_inf and rate per gate, plus tabulated terms."""
        return 2 * len(self.gate_names) + sum(t.table is not None for t in self.terms)

    def quantize_drive(self, current: np.ndarray) -> np.ndarray:
        """Input current density (A/m^2) -> integer voltage increments per step (round to nearest)."""
        return np.round(np.asarray(current, dtype=float) * self.drive_scale).astype(np.int64)

    def formats(self) -> dict:
        """Formats, scale factors and table sizes for reports."""
        return {
            "voltage": self.voltage.to_dict(),
            "gates": self.gate.to_dict(),
            "gate_rate_tables": {n: f.to_dict() for n, f in zip(self.gate_names, self.rates)},
            "gate_product_frac_bits": self.product_frac,
            "increment_extra_frac_bits": self.acc_frac,
            "slope_frac_bits": self.coef_frac,
            "drive_lsb_A_per_m2": 1.0 / self.drive_scale,
            "lut": {"size": self.grid.size, "interpolate": self.grid.interpolate,
                    "v_start_V": float(self.grid.points(self.voltage.frac_bits)[0]),
                    "v_step_V": float(2.0 ** (self.grid.shift - self.voltage.frac_bits)),
                    "tables": self.n_voltage_tables + (self.phi_grid is not None),
                    "memory_bits": self.table_memory_bits},
            "integration": self.config.method,
            "rounding": self.config.rounding,
            "overflow": self.overflow,
        }


def _grid(profile: RangeProfile, v_frac: int, size: int, interpolate: bool) -> LutGrid:
    """Power-of-two-spaced grid covering the profiled voltage range plus a margin."""
    span = (profile.v_max - profile.v_min) * (1 + 2 * LUT_MARGIN)
    span_lsb = max(span * 2.0**v_frac, 1.0)
    shift = max(0, int(np.ceil(np.log2(span_lsb / (size - 1)))))
    centre = round(0.5 * (profile.v_max + profile.v_min) * 2.0**v_frac)
    return LutGrid(origin=centre - (((size - 1) << shift) >> 1), shift=shift, size=size, interpolate=interpolate)


def _phi_table(spec: NeuronSpec, dt: float, coef_frac: int, gate: FixedFormat, config: QuantConfig):
    """Grid over ``x = dt G/C`` in [0, x_max] and the table of ``phi(x) = (1 - exp(-x))/x``."""
    if config.method != "exponential_euler":
        return None, None
    x_max = sum(max(0.0, -t.affine[1]) * dt for t in spec.terms if t.affine is not None)
    size = config.lut_size
    shift = max(0, int(np.ceil(np.log2(max(x_max * 2.0**coef_frac, 1.0) / (size - 1)))))
    grid = LutGrid(origin=0, shift=shift, size=size, interpolate=config.interpolate)
    x = grid.points(coef_frac)
    return grid, to_fixed(np.minimum(exprel(-x), gate.max_value), gate.frac_bits)[None, :]


def gate_rate(tau: np.ndarray, dt: float, method: str) -> np.ndarray:
    """Fraction of the way to ``x_inf`` covered in one step: ``1 - exp(-dt/tau)`` or ``dt/tau`` (Euler)."""
    return dt / tau if method == "euler" else -np.expm1(-dt / tau)


def _gate_tables(spec: NeuronSpec, v: np.ndarray, dt: float, gate: FixedFormat, method: str):
    """x_inf tables in the gate format and rate tables (see :func:`gate_rate`) in per-gate formats."""
    x_inf, rates, formats = [], [], []
    for g in spec.gates:
        tau = evaluate(g.tau, v)
        if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
            raise LoweringError(f"tau of gate '{g.name}' is not positive and finite over the voltage range "
                                f"{v[0] * 1e3:.1f}..{v[-1] * 1e3:.1f} mV", field="neuron.equations")
        rate = gate_rate(tau, dt, method)
        formats.append(FixedFormat(gate.bits, unsigned_frac_bits_for(rate.max(), gate.bits), "1", signed=False))
        x_inf.append(to_fixed(np.clip(evaluate(g.x_inf, v), 0.0, gate.max_value), gate.frac_bits))
        rates.append(to_fixed(rate, formats[-1].frac_bits))
    shape = (len(spec.gates), v.size)
    return (np.array(x_inf, dtype=np.int64).reshape(shape), np.array(rates, dtype=np.int64).reshape(shape),
            tuple(formats))


#: Bits of the kernels' integer intermediates (numpy int64 less the sign bit).
INTERMEDIATE_BITS = 63

#: Extra fractional bits kept in gate products beyond a gate's own.
PRODUCT_EXTRA_BITS = 8


def _product_frac(gate: FixedFormat, target: HardwareTarget) -> int:
    """Fractional bits of gate products (``m**3 h``): up to 8 more than a gate's, within the accumulator.

    Products are accumulator intermediates, never stored in a state register, so they keep
    more bits than a gate; ``m**3`` at small ``m`` (spike initiation) would otherwise lose
    most of its relative precision (``m = 0.05`` gives ``m**3`` = 4 LSBs at 15 bits). A
    product is at most 1, so it fits the accumulator with ``accumulator_bits - 2``
    fractional bits.
    """
    return max(gate.frac_bits, min(gate.frac_bits + PRODUCT_EXTRA_BITS, target.accumulator_bits - 2))


def _increment_frac(spec: NeuronSpec, profile: RangeProfile, v_grid: np.ndarray, dt: float, voltage: FixedFormat,
                    product_frac: int, target: HardwareTarget) -> int:
    """Extra fractional bits of voltage increments below the voltage LSB.

    Bounded so that (a) the largest input increment fits a message of the state width,
    (b) the largest term, rounded back after its multiplication by a gate product, fits
    the target accumulator, and (c) that product before rounding fits the kernels' 64-bit
    intermediates (a double-width multiply, as a multiply-high or a MAC with shift gives).
    """
    lsb = voltage.lsb
    drive_lsb = profile.drive_max * abs(spec.input_gain) * dt / lsb
    term_bits = bits_needed(max([np.abs(evaluate(t.coefficient, v_grid)).max() * dt / lsb for t in spec.terms] + [1.0]))
    by_port = voltage.bits - 1 - bits_needed(drive_lsb)
    by_accumulator = target.accumulator_bits - 2 - term_bits
    by_intermediate = INTERMEDIATE_BITS - 2 - term_bits - product_frac
    return max(0, min(by_port, by_accumulator, by_intermediate))


def _quantized_terms(spec: NeuronSpec, v_grid: np.ndarray, dt: float, v_frac: int, acc_frac: int,
                     target: HardwareTarget):
    terms = []
    for term in spec.terms:
        gates = tuple(i for name, p in term.gate_powers for i in [spec.gate_index(name)] * p)
        if term.affine is not None:
            a, b = term.affine
            b_frac = frac_bits_for(abs(b) * dt, target.multiplier_bits)
            terms.append(QuantizedTerm(gates=gates, a=int(to_fixed(a * dt, v_frac + acc_frac)),
                                       b=int(to_fixed(b * dt, b_frac)), b_frac=b_frac))
        else:
            table = to_fixed(evaluate(term.coefficient, v_grid) * dt, v_frac + acc_frac)
            terms.append(QuantizedTerm(gates=gates, table=table))
    return tuple(terms)


def _slope_frac(spec: NeuronSpec, dt: float, target: HardwareTarget) -> int:
    """Fractional bits of the summed conductance ``x = dt G/C`` (the phi-table index)."""
    slopes = [abs(t.affine[1]) * dt for t in spec.terms if t.affine is not None] + [1e-12]
    return frac_bits_for(max(slopes), target.multiplier_bits)


def quantize(spec: NeuronSpec, target: HardwareTarget, config: QuantConfig, profile: RangeProfile, dt: float,
             initial: dict[str, float]) -> QuantizedNeuron:
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
    """
    config = config.validated(target)
    v_abs = max(abs(profile.v_min), abs(profile.v_max), abs(spec.threshold.value)) * config.headroom
    voltage = FixedFormat(config.state_bits, frac_bits_for(v_abs, config.state_bits), "V")
    gate = FixedFormat(config.gate_bits, config.gate_bits, "1", signed=False)
    grid = _grid(profile, voltage.frac_bits, config.lut_size, config.interpolate)
    v_grid = grid.points(voltage.frac_bits)
    x_inf_tables, rate_tables, rates = _gate_tables(spec, v_grid, dt, gate, config.method)
    product_frac = _product_frac(gate, target)
    acc_frac = _increment_frac(spec, profile, v_grid, dt, voltage, product_frac, target)
    coef_frac = _slope_frac(spec, dt, target)
    phi_grid, phi_table = _phi_table(spec, dt, coef_frac, gate, config)
    v_scale = 2.0 ** voltage.frac_bits
    refractory = spec.refractory
    return QuantizedNeuron(
        name=spec.name, target=target.name, state_names=spec.state_names + ("refractory",), config=config, overflow=target.overflow, dt=dt,
        voltage=voltage, gate=gate, rates=rates, product_frac=product_frac, acc_frac=acc_frac, coef_frac=coef_frac,
        drive_scale=spec.input_gain * dt * 2.0 ** (voltage.frac_bits + acc_frac),
        grid=grid, phi_grid=phi_grid, phi_table=phi_table, gate_names=tuple(g.name for g in spec.gates),
        x_inf_tables=x_inf_tables, rate_tables=rate_tables,
        terms=_quantized_terms(spec, v_grid, dt, voltage.frac_bits, acc_frac, target),
        threshold=_threshold_int(spec.threshold.value * v_scale, spec.threshold.op),
        threshold_strict=spec.threshold.op == ">",
        refractory_condition=(_threshold_int(refractory.condition.value * v_scale, refractory.condition.op),
                              refractory.condition.op == ">") if refractory and refractory.condition else None,
        refractory_steps=int(refractory.duration / dt + 1e-3) if refractory and refractory.duration is not None else None,
        reset=tuple((spec.state_names.index(name), _register(value, voltage if name == spec.voltage else gate))
                    for name, value in spec.reset),
        initial=np.array([_register(initial[spec.voltage], voltage)]
                         + [_register(initial[g.name], gate) for g in spec.gates], dtype=np.int64),
    )


def _register(value: float, fmt: FixedFormat) -> int:
    """Register contents for ``value``: ``round(value * 2**frac_bits)`` (clipped to the format) minus its offset."""
    low = 0.0 if not fmt.signed else -fmt.max_value - fmt.lsb
    return int(to_fixed(min(max(value, low), fmt.max_value), fmt.frac_bits)) - fmt.offset


def _threshold_int(scaled: float, op: str) -> int:
    """Integer bound equivalent to ``v_real > value`` (floor) or ``v_real >= value`` (ceil)."""
    return int(np.floor(scaled)) if op == ">" else int(np.ceil(scaled))
