"""Lower a :class:`~neuromorph.model.neuron_spec.NeuronSpec` to an integer program.

The lowering follows the neuron's :class:`~neuromorph.quantization.step_plan.StepPlan`
(Brian2's order, which the float kernels follow too), one handler per phase
(:data:`INTEGER_PHASES`). One time step of ``dt`` (every line an operation of the
program, see :mod:`neuromorph.quantization.program`):

0. **Synaptic increments** (network populations): ``X += input << shift`` from an
   increment port.
1. **Refractoriness** from the old voltage, as Brian2 does at the start of its state
   update: a flag ``not_refractory = not_refractory or not condition`` or a counter of
   steps since the last spike.
2. **Gates**: ``x' = x + (x_inf(v) - x) * rate(v)`` with ``rate = 1 - exp(-dt/tau)``
   (exponential Euler) or ``dt/tau`` (Euler), both read from tables over the voltage.
3. **Voltage and linear states** ``X``: ``dt f = sum_k dt c_k(v) P_k + drive`` summed in
   the accumulator with ``e`` extra fractional bits below the register's LSB;
   exponential Euler multiplies by ``phi = exprel(A dt)``, Brian2's factor: folded into
   the coefficients when ``A`` is a constant (a fixed decay), else read from a table over
   ``x = -A dt = sum_j g_j(v) Q_j``, as ``dt f + dt f (phi - 1)``. ``X' = X + round(dt f phi / 2**e)``.

   **Error feedback** (rounding ``error_feedback``, states of the kinds in
   ``config.feedback``): the change ``d`` of a state update (the gates' ``(x_inf - x) rate``,
   the voltage's and linear states' ``dt f phi``) is first brought to ``w`` fractional bits
   below the state's LSB (``w`` = ``config.residual_bits``; rounded to nearest if it has
   more), then ``u = d + e``, ``X' = X + round(u / 2**w)`` and ``e' = u - round(u / 2**w) 2**w``,
   where ``e`` is the state's residual register (signed, ``w`` bits, ``|e'| <= 2**(w-1)``,
   half an LSB of the state). Over ``K`` steps the rounded changes sum to the exact ones
   (at ``w`` bits) minus ``e_K - e_0``: the error stays within one LSB instead of growing
   with ``K`` (first-order noise shaping). A held state keeps its residual while
   refractory; a reset ``x = c`` clears it.
4. Brian2's ``(unless refractory)``: the old value while refractory.
5. Every register is fitted to its width by the target's rule (counted).
6. **Threshold** on the new voltage (only when not refractory), then **reset**, then the
   refractory register.

Every multiply runs on the target's multiplier (operands narrowed to its width) and every
sum in its accumulator (see :mod:`neuromorph.quantization.builder`).

**Per-neuron constants** (the spec's :attr:`~neuromorph.model.neuron_spec.NeuronSpec.per_neuron`
parameters, values given to :func:`lower`): where the program would hold a constant, it reads a
*parameter port* (after the drive and increment ports) whose contents differ per neuron, each
in a format chosen from its values' range: a coefficient ``dt phi (a + b v)`` with per-neuron
``a``, ``b`` (and ``phi = exprel(A dt)`` of a per-neuron decay ``A``, folded in neuron by
neuron) is an offset of the state's width plus a multiply by a slope of the multiplier's width;
a per-neuron threshold is its bound in the voltage's format; a per-neuron refractory period its
count of steps. :attr:`LoweredProgram.parameter_rows` holds the contents.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import ConfigError, LoweringError
from ..model.functions import exprel
from ..model.neuron_spec import NeuronSpec, StateEquation, Term, evaluate, per_neuron_values
from .builder import Datapath, LutGrid, ProgramBuilder, Value, bits_for_magnitude, width_of
from .fixed_point import to_fixed
from .formats import RangeProfile, frac_bits_for
from .program import Port, Program, Register
from .step_plan import (Commit, GateUpdate, RefractoryEnd, RefractoryStart, Reset, StateUpdate, SynapticIncrement,
                        Threshold, follow, gate_rate, refractory_step_counts, refractory_steps, step_plan)

#: Fraction of the observed voltage span added on each side of the voltage tables.
LUT_MARGIN = 0.1
#: Lowest ``x = -A dt`` the phi table covers (a net negative conductance is not physical;
#: exprel(-x) grows like e^|x| below it).
PHI_LOWEST = 1.0


@dataclass(frozen=True)
class LoweringContext:
    """Everything the step's pieces share."""

    spec: NeuronSpec
    registers: tuple[Register, ...]
    dt: float
    entry_bits: int
    grid: LutGrid
    v_grid: np.ndarray
    profile: RangeProfile
    input_bits: int
    input_overflow: str
    multiplier_bits: int
    accumulator_bits: int
    headroom: float
    state_bits: int = 0
    parameters: Mapping[str, np.ndarray] = field(default_factory=dict)
    size: int = 1

    def per_neuron(self, expr) -> np.ndarray:
        """Values (size,) of an expression of the per-neuron parameters (SI)."""
        return per_neuron_values(expr, self.parameters, self.size)

    def register(self, name: str) -> Register:
        """The register holding state ``name``."""
        return next(r for r in self.registers if r.name == name)

    def residual(self, name: str) -> Register | None:
        """The error-feedback residual register of state ``name``, if it has one."""
        wanted = residual_name(name)
        return next((r for r in self.registers if r.kind == "residual" and r.name == wanted), None)

    def real_max(self, name: str) -> float:
        """Largest magnitude (SI) a state register holds."""
        register = self.register(name)
        return (1 << (register.bits - 1)) * 2.0**-register.frac


def voltage_grid(profile: RangeProfile, v_frac: int, size: int, interpolate: bool) -> LutGrid:
    """Power-of-two-spaced grid covering the profiled voltage range plus a margin."""
    span = (profile.v_max - profile.v_min) * (1 + 2 * LUT_MARGIN)
    span_lsb = max(span * 2.0**v_frac, 1.0)
    shift = max(0, int(np.ceil(np.log2(span_lsb / (size - 1)))))
    centre = round(0.5 * (profile.v_max + profile.v_min) * 2.0**v_frac)
    return LutGrid(origin=centre - (((size - 1) << shift) >> 1), shift=shift, size=size, interpolate=interpolate)


def _tabulate(expr, v_grid: np.ndarray, what: str) -> np.ndarray:
    """Values of an IR expression on the grid; refuse non-finite entries naming the voltage."""
    values = evaluate(expr, v_grid)
    bad = ~np.isfinite(values)
    if bad.any():
        raise LoweringError(f"{what} is not finite at v = {v_grid[np.argmax(bad)] * 1e3:.3f} mV "
                            f"(value {values[np.argmax(bad)]}); tables need finite values over "
                            f"{v_grid[0] * 1e3:.1f}..{v_grid[-1] * 1e3:.1f} mV", field="neuron.equations")
    return values


# -- gates --------------------------------------------------------------------------------
def residual_name(state: str) -> str:
    """Name of the error-feedback residual register of ``state``."""
    return f"{state}_residual"


def _rounded_change(step: IntegerStep, name: str, change: Value, frac: int, label: str) -> Value:
    """``change`` rounded to ``frac`` fractional bits: a rounded shift, or error feedback through the
    state's residual register when it has one (see the module docstring, 3)."""
    b = step.b
    residual = step.ctx.residual(name)
    if residual is None:
        return b.rescale(change, frac, label)
    w = residual.bits
    fine = b.rescale(change, frac + w, f"{name}: change to the residual's format")
    total = b.add(fine, step.values[residual.name], f"{name}: change + residual")
    rounded = b.shr(total, w, f"{label} (error feedback)")
    back = b.shl(rounded, w, f"{name}: rounded change in the residual's format")
    half = 1 << (w - 1)
    step.new[residual.name] = b.sub(total, back, f"{name}: new residual", bounds=(-half, half - 1))
    return rounded


def _gate_update(step: IntegerStep, phase: GateUpdate) -> None:
    """``x' = x + (x_inf(v) - x) * rate(v)``, ``x_inf`` and ``rate`` read from tables over the old voltage."""
    b, ctx, gate = step.b, step.ctx, phase.gate
    x, v = step.values[gate.name], step.values[ctx.spec.voltage]
    tau = _tabulate(gate.tau, ctx.v_grid, f"tau of gate '{gate.name}'")
    if np.any(tau <= 0):
        raise LoweringError(f"tau of gate '{gate.name}' is not positive over the voltage range "
                            f"{ctx.v_grid[0] * 1e3:.1f}..{ctx.v_grid[-1] * 1e3:.1f} mV", field="neuron.equations")
    top = (1 << x.frac) - 1
    x_inf = np.clip(to_fixed(_tabulate(gate.x_inf, ctx.v_grid, f"x_inf of gate '{gate.name}'"), x.frac), 0, top)
    steady = b.table(f"{gate.name}_inf", x_inf, x.frac, ctx.entry_bits, ctx.grid, v, f"{gate.name}_inf(v)",
                     signed=False)
    rate = b.unsigned_table(f"{gate.name}_rate", gate_rate(tau, ctx.dt, phase.method), ctx.entry_bits, ctx.grid, v,
                            f"{gate.name}_rate(v)")
    difference = b.sub(steady, x, f"{gate.name}: x_inf - x")
    change = _rounded_change(step, gate.name, b.mul(difference, rate, f"{gate.name}: (x_inf - x) * rate"), x.frac,
                             f"{gate.name}: change")
    step.new[gate.name] = b.add(x, change, f"{gate.name}: new value")


# -- voltage and linear states ------------------------------------------------------------
def _monomial(b: ProgramBuilder, monomial, values: dict, label: str) -> Value | None:
    """Product of the monomial's states (gates first, a linear state last), computed once per step."""
    factors = [name for name, power in monomial for _ in range(power)]
    if not factors:
        return None
    if monomial not in values:
        product = values[factors[0]]
        for name in factors[1:]:
            product = b.mul(product, values[name], f"{label} {dict(monomial)}")
        values[monomial] = product
    return values[monomial]


def _interval_product(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    corners = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(corners), max(corners)


def _state_interval(ctx: LoweringContext, name: str) -> tuple[float, float]:
    """Operating range of a state in a monomial: gates [0, 1]; linear states their profiled range times
    the headroom (including 0), or their register's range when unprofiled."""
    if name in {g.name for g in ctx.spec.gates}:
        return 0.0, 1.0
    if name in ctx.profile.states:
        low, high = ctx.profile.states[name]
        return min(0.0, low * ctx.headroom), max(0.0, high * ctx.headroom)
    return -ctx.real_max(name), ctx.real_max(name)


def _monomial_interval(ctx: LoweringContext, monomial) -> tuple[float, float]:
    interval = (1.0, 1.0)
    for name, power in monomial:
        for _ in range(power):
            interval = _interval_product(interval, _state_interval(ctx, name))
    return interval


def _per_neuron_parts(ctx: LoweringContext, term: Term, scale) -> tuple[np.ndarray, np.ndarray]:
    """``scale * (a, b)`` per neuron (size,) of a term ``c(v) = a + b v`` (affine or per-neuron)."""
    parts = term.per_neuron if term.per_neuron is not None else term.affine
    a, b = (ctx.per_neuron(x) if term.per_neuron is not None else np.full(ctx.size, float(x)) for x in parts)
    return scale * a, scale * b


def _is_per_neuron(term: Term, scale) -> bool:
    """Whether ``scale * c(v)`` differs per neuron (per-neuron parameters, or a per-neuron ``scale``)."""
    return term.per_neuron is not None or (np.ndim(scale) > 0 and term.affine is not None)


def _coefficient_values(ctx: LoweringContext, term: Term, scale) -> np.ndarray:
    """``scale * c(v)``: over the voltage register's range (affine, also per neuron) or on the table grid."""
    if _is_per_neuron(term, scale):
        a, slope = _per_neuron_parts(ctx, term, scale)
        v_max = ctx.real_max(ctx.spec.voltage)
        return np.concatenate([a - slope * v_max, a + slope * v_max])
    if term.affine is not None:
        a, slope = term.affine
        v_max = ctx.real_max(ctx.spec.voltage)
        return scale * (a + slope * np.array([-v_max, v_max]))
    return scale * _tabulate(term.coefficient, ctx.v_grid, f"the coefficient of {dict(term.monomial)}")


def _term_range(ctx: LoweringContext, term: Term, scale: float) -> tuple[float, float]:
    """Real range of ``scale * c(v) * P`` over the operating range (:func:`_state_interval`)."""
    values = _coefficient_values(ctx, term, scale)
    return _interval_product((float(values.min()), float(values.max())), _monomial_interval(ctx, term.monomial))


def _affine(b: ProgramBuilder, ctx: LoweringContext, term: Term, scale: float, v: Value, frac: int,
            label: str) -> Value:
    """``scale * (a + b v)`` with ``frac`` fractional bits: an exact constant plus a multiply."""
    a, slope = term.affine
    offset = b.constant(int(to_fixed(scale * a, frac)), frac, f"{label}: dt*a")
    if slope == 0.0:
        return offset
    product = b.mul(b.real_constant(scale * slope, f"{label}: dt*b"), v, f"{label}: dt*b*v")
    return b.add(offset, b.rescale(product, frac, f"{label}: dt*b*v"), f"{label}: coefficient")


def _parameter(step: "IntegerStep", contents: np.ndarray, frac: int, label: str, state: str) -> Value:
    """A per-neuron constant: integer ``contents`` (size,) with ``frac`` fractional bits, read from a
    parameter port (after the drive and increment ports) as wide as its range needs."""
    contents = np.asarray(contents, dtype=np.int64)
    index = len(step.ctx.spec.inputs) + len(step.increments) + len(step.parameter_rows)
    low, high = int(contents.min()), int(contents.max())
    step.ports[index] = Port(name=label, kind="parameter", state=state, bits=width_of(low, high), frac=frac,
                             scale=0.0)
    step.parameter_rows[index] = contents
    return step.b.parameter(index, frac, low, high, label)


def _real_parameter(step: "IntegerStep", values: np.ndarray, bits: int, frac: int | None, label: str,
                    state: str) -> Value:
    """Per-neuron reals (SI) as a parameter of at most ``bits`` bits (its format chosen from the values'
    range), with at most ``frac`` fractional bits and brought to ``frac`` (None: its own format)."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise LoweringError(f"the per-neuron constant '{label}' is {values[np.argmax(bad)]} for neuron "
                            f"{int(np.argmax(bad))}: check the per-neuron parameters of the {state} equation",
                            field="neuron.equations")
    own = frac_bits_for(max(float(np.abs(values).max()), 1e-300), bits)
    own = own if frac is None else min(frac, own)
    value = _parameter(step, to_fixed(values, own), own, label, state)
    return value if frac is None else step.b.rescale(value, frac, label)


def _per_neuron_coefficient(step: "IntegerStep", term: Term, scale, v: Value, frac: int, label: str,
                            state: str) -> Value:
    """``scale * (a + b v)`` with per-neuron ``a``, ``b`` and ``frac`` fractional bits: an offset register
    (the state's width) plus a multiply by a slope register (the multiplier's width)."""
    ctx, b = step.ctx, step.b
    a, slope = _per_neuron_parts(ctx, term, scale)
    offset = _real_parameter(step, a, ctx.state_bits, frac, f"{label}: dt*a", state)
    if not slope.any():
        return offset
    factor = _real_parameter(step, slope, ctx.multiplier_bits, None, f"{label}: dt*b", state)
    product = b.mul(factor, v, f"{label}: dt*b*v")
    return b.add(offset, b.rescale(product, frac, f"{label}: dt*b*v"), f"{label}: coefficient")


def _term(step: "IntegerStep", term: Term, scale, values: dict[str, Value], frac: int, label: str,
          state: str) -> Value:
    """``scale * c(v) * P`` with ``frac`` fractional bits (``scale``: a number, or per neuron (size,))."""
    b, ctx = step.b, step.ctx
    v = values[ctx.spec.voltage]
    product = _monomial(b, term.monomial, values, "states")
    coefficients = _coefficient_values(ctx, term, scale)
    bound = max(float(np.abs(coefficients).max()), 1e-300)
    if _is_per_neuron(term, scale):
        coefficient = _per_neuron_coefficient(step, term, scale, v,
                                              min(frac, frac_bits_for(bound, ctx.accumulator_bits)), label, state)
    elif term.affine is None:
        coefficient = b.signed_table(label, coefficients, ctx.entry_bits, ctx.grid, v, f"{label}(v)")
    else:
        coefficient = _affine(b, ctx, term, scale, v, min(frac, frac_bits_for(bound, ctx.accumulator_bits)), label)
    if product is None:
        return b.rescale(coefficient, frac, label)
    return b.rescale(b.mul(coefficient, product, f"{label}: coefficient * states"), frac, label)


def _phi_factor(ctx: LoweringContext, phase: StateUpdate) -> tuple[float | np.ndarray, bool]:
    """(factor folded into the coefficients, per neuron (size,) for a per-neuron decay; whether a phi
    table is needed)."""
    if not phase.exponential:
        return 1.0, False
    if phase.equation.per_neuron_rate is not None:
        return exprel(ctx.per_neuron(phase.equation.per_neuron_rate) * ctx.dt), False
    rate = phase.equation.constant_rate
    if rate is not None:
        return float(exprel(np.array(rate * ctx.dt))), False
    return 1.0, True


def _extra_bits(ctx: LoweringContext, equation: StateEquation, scale, register: Register,
                drive_max: float, doubled: bool) -> int:
    """Extra fractional bits of ``dt f`` below the register's LSB, within the accumulator and input port."""
    bound = sum(max(abs(x) for x in _term_range(ctx, t, scale)) for t in equation.terms)
    bound = (bound + drive_max) * (2 if doubled else 1) * 2.0**register.frac
    by_accumulator = ctx.accumulator_bits - 1 - bits_for_magnitude(bound)
    by_port = ctx.input_bits - 1 - bits_for_magnitude(drive_max * 2.0**register.frac) if drive_max else by_accumulator
    return max(0, min(by_accumulator, by_port))


def _conductance(step: "IntegerStep", equation: StateEquation,
                 values: dict[str, Value]) -> tuple[Value, float, float]:
    """``x = -A dt = sum_j -dt d_j(v) Q_j`` and its real range (for the phi table's grid)."""
    b, ctx = step.b, step.ctx
    ranges = [_term_range(ctx, term, -ctx.dt) for term in equation.rate_terms]
    low, high = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
    frac = frac_bits_for(max(abs(low), abs(high), 1e-300), ctx.multiplier_bits)
    total = None
    for j, term in enumerate(equation.rate_terms):
        piece = _term(step, term, -ctx.dt, values, frac, f"{equation.name} conductance {j}", equation.name)
        total = piece if total is None else b.add(total, piece, f"{equation.name}: x = -A dt")
    return total, low, high


def _phi_correction(step: "IntegerStep", equation: StateEquation, values: dict[str, Value],
                    total: Value) -> Value:
    """``dt f (phi(x) - 1)`` with ``phi(x) = exprel(-x)``, read from a table over ``x``."""
    b, ctx = step.b, step.ctx
    x, low, high = _conductance(step, equation, values)
    low = max(low, -PHI_LOWEST)  # x < 0 only from rounding around zero conductance: beyond, the end entry
    size = ctx.grid.size
    origin = int(np.floor(low * 2.0**x.frac))
    span = max(high * 2.0**x.frac - origin, 1.0)
    shift = max(0, int(np.ceil(np.log2(span / (size - 1)))))
    grid = LutGrid(origin=origin, shift=shift, size=size, interpolate=ctx.grid.interpolate)
    points = grid.points(x.frac)
    phi_minus_one = exprel(-points) - 1.0
    name = f"{equation.name}_phi"
    correction = b.signed_table(name, phi_minus_one, ctx.entry_bits, grid, x, f"{name}(x)")
    return b.rescale(b.mul(total, correction, f"{equation.name}: dt f (phi - 1)"), total.frac,
                     f"{equation.name}: exponential Euler correction")


def _drive(step: IntegerStep, phase: StateUpdate, index: int, spec_input, scale: float, frac: int) -> Value:
    """Input ``index`` (a drive port) as ``dt * gain * I`` with ``frac`` fractional bits."""
    ctx = step.ctx
    port = Port(name=spec_input.name, kind="drive", state=phase.equation.name, bits=ctx.input_bits, frac=frac,
                scale=spec_input.gain * scale * 2.0**frac)
    step.ports[index] = port
    if spec_input.drawn is not None:
        return _drawn(step, spec_input, port.scale / np.sqrt(ctx.dt), frac)
    magnitude = int(np.ceil(abs(port.scale) * ctx.profile.input_max(spec_input.name)))
    return step.b.port(index, frac, ctx.input_bits, ctx.input_overflow, f"input {spec_input.name}", magnitude)


def _drawn(step: IntegerStep, spec_input, sigma: float, frac: int) -> Value:
    """A noise input the program draws itself: ``sigma * z`` (``z ~ N(0, 1)`` from the target's
    generator, ``sigma = dt * gain * 2**frac / sqrt(dt)`` LSB, i.e. ``gain * sqrt(dt) * z``), in ``frac``."""
    generator = step.target.noise
    if generator is None:
        raise ConfigError(f"{step.target.name} declares no random source ([noise] in its target file); "
                          "noise = 'target' needs one: add it, or use noise = 'replay'", field="noise")
    seed, stream = spec_input.drawn
    label = f"noise {spec_input.name}"
    if generator.gaussian == "inverse_cdf":
        return step.b.inverse_cdf(seed, stream, generator.uniform_bits, generator.table_entries, step.ctx.entry_bits,
                                  sigma, frac, label)
    return step.b.gaussian(seed, stream, generator.uniforms, generator.uniform_bits, sigma, frac, label)


def _state_update(step: IntegerStep, phase: StateUpdate) -> None:
    """The new value of the voltage or a linear state (see the module docstring, 3)."""
    b, ctx, equation, values = step.b, step.ctx, phase.equation, step.values
    register = ctx.register(equation.name)
    factor, needs_table = _phi_factor(ctx, phase)
    scale = ctx.dt * factor
    if np.ndim(scale) and phase.drives:
        raise LoweringError(f"the input '{phase.drives[0][1].name}' enters '{equation.equation}', whose decay "
                            "differs per neuron: give it constant per-neuron values, or one decay for all neurons",
                            field="neuron.equations")
    drive_max = sum(abs(i.gain) * scale * ctx.profile.input_max(i.name) for _, i in phase.drives)
    frac = register.frac + _extra_bits(ctx, equation, scale, register, drive_max, needs_table)
    total = None
    for k, term in enumerate(equation.terms):
        piece = _term(step, term, scale, values, frac, f"{equation.name} term {k}", equation.name)
        total = piece if total is None else b.add(total, piece, f"{equation.name}: dt f")
    for index, spec_input in phase.drives:
        drive = _drive(step, phase, index, spec_input, scale, frac)
        total = drive if total is None else b.add(total, drive, f"{equation.name}: dt f")
    own = values[equation.name]
    if total is None:
        step.new[equation.name] = own
        return
    if needs_table:
        total = b.add(total, _phi_correction(step, equation, values, total), f"{equation.name}: dt f phi")
    change = _rounded_change(step, equation.name, total, register.frac, f"{equation.name}: change")
    step.new[equation.name] = b.add(own, change, f"{equation.name}: new value")


# -- registers ----------------------------------------------------------------------------
def gate_frac(gate_bits: int, multiplier_bits: int) -> int:
    """Fractional bits of a gate: all ``2**gate_bits`` levels, but a value must fit a multiplier operand."""
    return min(gate_bits, multiplier_bits - 1)


def _threshold_magnitudes(spec: NeuronSpec, parameters: Mapping[str, np.ndarray], n: int) -> list[float]:
    """Largest ``|threshold|`` (V) over the neurons (none without a threshold)."""
    if spec.threshold is None:
        return []
    if spec.threshold.bound is not None:
        return [float(np.abs(per_neuron_values(spec.threshold.bound, parameters, n)).max())]
    return [abs(spec.threshold.value)]


def register_layout(spec: NeuronSpec, target, config, profile: RangeProfile, dt: float,
                    parameters: Mapping[str, np.ndarray] | None = None, n: int = 1) -> tuple[Register, ...]:
    """Registers: voltage, gates, linear states, refractory bookkeeping (when refractory).

    ``parameters``: per-neuron values (SI) of the spec's per-neuron parameters, ``n`` neurons.
    """
    headroom, parameters = config.headroom, parameters or {}
    resets = [abs(r.value) for r in spec.reset if r.name == spec.voltage]
    threshold = _threshold_magnitudes(spec, parameters, n)
    v_abs = max([abs(profile.v_min), abs(profile.v_max)] + resets + threshold) * headroom
    registers = [Register(spec.voltage, "voltage", config.state_bits, frac_bits_for(v_abs, config.state_bits), 0,
                          target.overflow_voltage, "V")]
    g_frac = gate_frac(config.gate_bits, target.multiplier_bits)
    g_offset = 1 << (config.gate_bits - 1) if g_frac == config.gate_bits else 0
    registers += [Register(g.name, "gate", config.gate_bits, g_frac, g_offset, target.overflow_gate, "1",
                           signed=False, value_bits=g_frac) for g in spec.gates]
    for state in spec.linear_states:
        low, high = profile.states.get(state.name, (0.0, 0.0))
        extent = max(abs(low), abs(high), *(abs(r.value) for r in spec.reset if r.name == state.name)) * headroom
        frac = frac_bits_for(extent if extent > 0 else 1.0, config.state_bits)
        registers.append(Register(state.name, "linear", config.state_bits, frac, 0, target.overflow_linear,
                                  str(state.unit)))
    if config.rounding == "error_feedback":
        registers += residual_registers(registers, config, {r.name for r in registers})
    refractory = _refractory_register(spec, dt, parameters, n)
    return tuple(registers + ([refractory] if refractory else []))


def residual_registers(registers: list[Register], config, taken: set[str]) -> list[Register]:
    """One residual register per state of a kind in ``config.feedback``: signed, ``config.residual_bits``
    wide, ``residual_bits`` fractional bits below its state's LSB (in the state's unit)."""
    residuals = []
    for register in registers:
        if register.kind not in config.feedback:
            continue
        name = residual_name(register.name)
        if name in taken:
            raise LoweringError(f"error feedback needs a register named {name!r}, which is a state of the model",
                                field="neuron.equations")
        residuals.append(Register(name, "residual", config.residual_bits, register.frac + config.residual_bits, 0,
                                  "saturate", register.unit))
    return residuals


def _refractory_register(spec: NeuronSpec, dt: float, parameters: Mapping[str, np.ndarray], n: int
                         ) -> Register | None:
    ref = spec.refractory
    if ref is None:
        return None
    if ref.condition is not None:
        return Register("not_refractory", "refractory", 2, 0, 0, "saturate", "flag")
    steps = int(refractory_step_counts(spec, dt, parameters, n).max())
    return Register("steps_since_spike", "refractory", max(2, steps.bit_length() + 1), 0, 0, "saturate", "steps")


def register_values(values: np.ndarray, register: Register) -> np.ndarray:
    """The integers ``q`` (int64) of ``values`` (SI) in the register's format, rounded and clipped to its range."""
    low, high = register.value_range
    scaled = np.clip(np.asarray(values, dtype=float) * 2.0**register.frac, -2.0**62, 2.0**62)
    return np.clip(to_fixed(scaled, 0), low, high)


def register_value(value: float, register: Register) -> int:
    """The integer ``q`` of ``value`` in the register's format, rounded and clipped to its range."""
    return int(register_values(np.array([value], dtype=float), register)[0])


def initial_registers(spec: NeuronSpec, registers: tuple[Register, ...], initial: dict[str, float],
                      dt: float) -> np.ndarray:
    """Register contents at t = 0: the initial state, not refractory (a per-neuron period's counter at
    the longest period, which every neuron's period reaches)."""
    contents = []
    for register in registers:
        if register.kind == "refractory":
            longest = refractory_steps(spec, dt)
            contents.append(1 if register.unit == "flag" else
                            longest if longest is not None else (1 << (register.bits - 1)) - 1)
        elif register.kind == "residual":
            contents.append(0)
        else:
            contents.append(register_value(initial[register.name], register) - register.offset)
    return np.array(contents, dtype=np.int64)


def refractory_row(spec: NeuronSpec, register: Register, initial: dict, dt: float, n: int,
                   parameters: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The refractory register (n,) at the start: not refractory, unless ``initial`` holds Brian2's
    ``not_refractory`` (the flag of a refractory condition) or ``lastspike`` (s, from the start, so
    negative: a duration's counter is the steps since that spike minus one, capped, so that its
    first step counts Brian2's ``timestep(t - lastspike, dt)``)."""
    if register.unit == "flag":
        flag = initial.get("not_refractory", 1.0)
        return np.broadcast_to(np.asarray(flag, dtype=float) != 0, (n,)).astype(np.int64)
    steps = refractory_step_counts(spec, dt, parameters or {}, n)
    if "lastspike" not in initial:
        return steps
    since = np.minimum(-np.broadcast_to(np.asarray(initial["lastspike"], dtype=float), (n,)) / dt, steps + 1.0)
    return np.clip(np.round(since).astype(np.int64) - 1, 0, steps)


def initial_register_rows(spec: NeuronSpec, registers: tuple[Register, ...], initial: dict, dt: float,
                          n: int, parameters: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Register contents (n_registers, n) for per-neuron initial values (scalars or arrays of n, SI;
    the refractory register from :func:`refractory_row`; ``parameters``: per-neuron parameters, SI)."""
    rows = np.empty((len(registers), n), dtype=np.int64)
    for row, register in enumerate(registers):
        if register.kind == "refractory":
            rows[row] = refractory_row(spec, register, initial, dt, n, parameters)
            continue
        if register.kind == "residual":
            rows[row] = 0
            continue
        values = np.broadcast_to(np.asarray(initial[register.name], dtype=float), (n,))
        rows[row] = register_values(values, register) - register.offset
    return rows


# -- refractoriness, threshold, reset -----------------------------------------------------
def _threshold_int(value: float, frac: int, strict: bool) -> int:
    """Integer bound equivalent to ``v_real > value`` (floor) or ``v_real >= value`` (ceil)."""
    scaled = value * 2.0**frac
    return int(np.floor(scaled)) if strict else int(np.ceil(scaled))


def _condition(step: "IntegerStep", condition, v: Value, bound_label: str, label: str) -> Value:
    """``v > value`` or ``v >= value`` as a flag (the bound a constant in ``v``'s format, or a per-neuron
    parameter in that format when the condition's value is per neuron)."""
    b, strict = step.b, condition.op == ">"
    if condition.bound is not None:
        values = step.ctx.per_neuron(condition.bound) * 2.0**v.frac
        contents = np.floor(values) if strict else np.ceil(values)
        bound = _parameter(step, contents.astype(np.int64), v.frac, bound_label, step.ctx.spec.voltage)
    else:
        bound = b.constant(_threshold_int(condition.value, v.frac, strict), v.frac, bound_label)
    return b.compare("gt" if strict else "ge", v, bound, label)


def _refractory_start(step: IntegerStep, phase: RefractoryStart) -> None:
    """``not_refractory`` and the updated refractory register value at the start of the step."""
    b, values = step.b, step.values
    one = b.constant(1, 0, "one")
    if phase.condition is not None:
        holds = _condition(step, phase.condition, values[step.ctx.spec.voltage], "refractory bound",
                           f"refractory condition {phase.condition.text}")
        flag = b.select(holds, values["not_refractory"], one, "not_refractory or not condition")
        step.not_refractory = step.refractory_value = flag
        return
    steps = _refractory_steps_value(step)
    counter = b.minimum(b.add(values["steps_since_spike"], one, "steps since spike + 1"), steps,
                        "steps since spike (capped)")
    step.not_refractory, step.refractory_value = b.compare("ge", counter, steps, "not_refractory"), counter


def _refractory_steps_value(step: "IntegerStep") -> Value:
    """The refractory period in steps: a constant, or a per-neuron parameter (``refractory='tref'``); one
    value per step, shared by the increments and the refractory counter."""
    if "refractory steps" not in step.values:
        ctx = step.ctx
        if ctx.spec.refractory.per_neuron is not None:
            counts = refractory_step_counts(ctx.spec, ctx.dt, ctx.parameters, ctx.size)
            step.values["refractory steps"] = _parameter(step, counts, 0, "refractory steps", "steps_since_spike")
        else:
            step.values["refractory steps"] = step.b.constant(refractory_steps(ctx.spec, ctx.dt), 0,
                                                              "refractory steps")
    return step.values["refractory steps"]


def _fit_register(b: ProgramBuilder, register: Register, value: Value) -> Value:
    """``value`` held to the register's range by its overflow rule (counted)."""
    if register.signed:
        return b.fit(value, register.bits, register.overflow, f"{register.name} register")
    return b.fit(value, register.value_bits, register.overflow, f"{register.name} register", unsigned=True)


def _stored(b: ProgramBuilder, register: Register, value: Value) -> Value:
    """Register contents for a value: offset binary subtracts the offset.

    A register of a kind that may be stored offset-binary (gates) subtracts its offset even
    when the offset is 0 at this width, so that the program has the same operations at every
    width (one compiled kernel serves them all).
    """
    if not register.offset and register.signed and register.kind != "gate":
        return value
    return b.sub(value, b.constant(register.offset, value.frac, f"{register.name} offset"),
                 f"{register.name}: offset binary")


def _commit(step: IntegerStep, phase: Commit) -> None:
    """Each state's new value (the old one while refractory when held), fitted to its register; then the
    residual registers (held with their state)."""
    b = step.b
    for name in phase.states:
        register, value = step.ctx.register(name), step.new[name]
        if name in phase.held:
            value = b.select(step.not_refractory, value, step.values[name], f"{name} unless refractory")
        step.stored[name] = _fit_register(b, register, value)
        step.fits.append(step.stored[name].slot)
    for name in phase.states:
        residual = step.ctx.residual(name)
        if residual is None:
            continue
        value = step.new.get(residual.name, step.values[residual.name])
        if name in phase.held and value is not step.values[residual.name]:
            value = b.select(step.not_refractory, value, step.values[residual.name],
                             f"{residual.name} unless refractory")
        step.stored[residual.name] = _fit_register(b, residual, value)
        step.fits.append(step.stored[residual.name].slot)


def _threshold(step: IntegerStep, phase: Threshold) -> None:
    """``spike = v' > threshold`` (or ``>=``), and not refractory; a constant 0 without a threshold."""
    b = step.b
    if phase.condition is None:
        step.spiked = b.constant(0, 0, "no threshold: never spikes")
        return
    spiked = _condition(step, phase.condition, step.stored[step.ctx.spec.voltage], "threshold",
                        f"threshold {phase.condition.text}")
    if phase.refractory:
        spiked = b.both(spiked, step.not_refractory, "spike (threshold and not refractory)")
    step.spiked = spiked


def _reset(step: IntegerStep, phase: Reset) -> None:
    """``x = value`` or ``x += value`` where a neuron spiked (an increment only counts overflow there)."""
    b, stored, spiked = step.b, step.stored, step.spiked
    for statement in phase.statements:
        register, current = step.ctx.register(statement.name), stored[statement.name]
        if statement.op == "=":
            target = b.constant(register_value(statement.value, register), current.frac, f"reset {statement.name}")
            stored[statement.name] = b.select(spiked, target, current, f"reset {statement.text}")
            residual = step.ctx.residual(statement.name)
            if residual is not None:
                zero = b.constant(0, stored[residual.name].frac, "zero")
                stored[residual.name] = b.select(spiked, zero, stored[residual.name], f"{residual.name} reset")
            continue
        change = b.constant(int(to_fixed(statement.value, register.frac)), current.frac, f"reset {statement.name}")
        zero = b.constant(0, current.frac, "zero")
        increment = b.select(spiked, change, zero, f"reset {statement.text}")
        stored[statement.name] = _fit_register(b, register, b.add(current, increment, f"reset {statement.text}"))


def _refractory_end(step: IntegerStep, phase: RefractoryEnd) -> None:
    """The refractory register: 0 where the neuron spiked, else its value from the start of the step."""
    register = step.ctx.registers[-1]
    zero = step.b.constant(0, 0, "zero")
    step.stored[register.name] = step.b.select(step.spiked, zero, step.refractory_value, f"{register.name} after spike")
    step.fits.append(-1)


# -- synaptic increments ------------------------------------------------------------------
def increment_shift(weight_max: float, register: Register, target) -> int:
    """Left shift of an increment port: the largest weight (SI) fits the target's weight format after it.

    A weight ``w`` arrives as ``round(w * 2**(frac - shift))`` units and is added as
    ``units << shift``; the format holds up to ``(2**weight_bits - 1) * 2**weight_exponent_max``.
    """
    largest = ((1 << target.weight_bits) - 1) * 2.0**target.weight_exponent_max
    in_lsb = abs(weight_max) * 2.0**register.frac
    return max(0, int(np.ceil(np.log2(in_lsb / largest)))) if in_lsb > largest else 0


def _was_not_refractory(step: IntegerStep) -> Value:
    """``not_refractory`` as it stood at the end of the previous step (when Brian2 applied the increment)."""
    refractory = step.ctx.registers[-1]
    if refractory.unit == "flag":
        return step.values[refractory.name]
    steps = _refractory_steps_value(step)
    return step.b.compare("ge", step.values[refractory.name], steps, "was not refractory")


def _increment(step: IntegerStep, phase: SynapticIncrement) -> None:
    """``X += input << shift`` from the increment port (Brian2 applied it at the end of the previous step);
    a held state takes it only when it was not refractory."""
    b, ctx, name = step.b, step.ctx, phase.state
    register, target = ctx.register(name), step.target
    shift = increment_shift(step.increments[name], register, target)
    step.ports[phase.port] = Port(name=f"{name} increment", kind="increment", state=name, bits=target.input_bits,
                                  frac=register.frac - shift, scale=2.0 ** (register.frac - shift))
    arrived = b.port(phase.port, register.frac - shift, target.input_bits, target.overflow_input,
                     f"synapses into {name}")
    increment = b.shl(arrived, shift, f"{name}: increment") if shift else arrived
    if phase.held:
        increment = b.select(_was_not_refractory(step), increment, b.constant(0, increment.frac, "zero"),
                             f"{name} increment unless refractory")
    step.values[name] = _fit_register(b, register, b.add(step.values[name], increment, f"{name} += increment"))


# -- the whole step -----------------------------------------------------------------------
@dataclass
class IntegerStep:
    """The step being lowered: the builder and the values each phase leaves for the next.

    Mutable on purpose (a work area of :func:`lower`, like the builder itself): ``values``
    holds the registers' values at the start of the step (after the synaptic increments)
    and the products of states computed so far, ``new`` the updated states, ``stored``
    the committed ones, ``fits`` each register's fit operation.
    """

    b: ProgramBuilder
    ctx: LoweringContext
    target: object
    increments: dict[str, float]
    values: dict = field(default_factory=dict)
    ports: dict[int, Port] = field(default_factory=dict)
    parameter_rows: dict[int, np.ndarray] = field(default_factory=dict)
    new: dict[str, Value] = field(default_factory=dict)
    stored: dict[str, Value] = field(default_factory=dict)
    fits: list[int] = field(default_factory=list)
    not_refractory: Value | None = None
    refractory_value: Value | None = None
    spiked: Value | None = None


#: How the integer lowering runs each phase of the step plan.
INTEGER_PHASES = {SynapticIncrement: _increment, RefractoryStart: _refractory_start, GateUpdate: _gate_update,
                  StateUpdate: _state_update, Commit: _commit, Threshold: _threshold, Reset: _reset,
                  RefractoryEnd: _refractory_end}


@dataclass(frozen=True)
class LoweredProgram:
    """A program with its data: tables, constants and initial register contents."""

    program: Program
    tables: tuple
    constants: np.ndarray
    initial: np.ndarray
    parameter_rows: dict = field(default_factory=dict)


def _context(spec: NeuronSpec, target, config, profile: RangeProfile, dt: float,
             parameters: Mapping[str, np.ndarray], n: int) -> LoweringContext:
    registers = register_layout(spec, target, config, profile, dt, parameters, n)
    grid = voltage_grid(profile, registers[0].frac, config.lut_size, config.interpolate)
    return LoweringContext(spec=spec, registers=registers, dt=dt, entry_bits=config.gate_bits,
                           grid=grid, v_grid=grid.points(registers[0].frac), profile=profile,
                           input_bits=target.input_bits, input_overflow=target.overflow_input,
                           multiplier_bits=target.multiplier_bits, accumulator_bits=target.accumulator_bits,
                           headroom=config.headroom, state_bits=config.state_bits, parameters=parameters, size=n)


def lower(spec: NeuronSpec, target, config, profile: RangeProfile, dt: float, initial: dict[str, float],
          increments: dict[str, float] | None = None, parameters: Mapping[str, np.ndarray] | None = None
          ) -> LoweredProgram:
    """Lower ``spec`` to an integer program on ``target``, following its :func:`~.step_plan.step_plan`.

    ``increments`` maps each state that synapses increment to the largest weight (SI) that
    reaches it; each gets an input port (after the drive ports). ``parameters``: the values
    (SI, one per neuron) of the spec's per-neuron parameters; each per-neuron constant of the
    program (a coefficient, a threshold, a refractory period) is a parameter port after the
    increment ports, whose contents are the result's ``parameter_rows``.
    """
    increments, parameters = dict(increments or {}), dict(parameters or {})
    missing = [name for name in spec.per_neuron if name not in parameters]
    if missing:
        raise LoweringError(f"no per-neuron values for the parameters {missing}", field="neuron.equations")
    n = max([np.size(values) for values in parameters.values()] + [1])
    plan = step_plan(spec, dt, config.method, tuple(increments))
    ctx = _context(spec, target, config, profile, dt, parameters, n)
    b = ProgramBuilder(Datapath(target.multiplier_bits, target.accumulator_bits, target.overflow_accumulator))
    step = IntegerStep(b=b, ctx=ctx, target=target, increments=increments,
                       values={r.name: b.load(i, r) for i, r in enumerate(ctx.registers)})
    follow(plan, INTEGER_PHASES, step, "integer lowering")
    outputs = [_stored(b, r, step.stored[r.name]) for r in ctx.registers]
    program = b.finish(ctx.registers, [step.ports[i] for i in sorted(step.ports)], outputs, step.fits, step.spiked,
                       config.rounding, config.seed)
    return LoweredProgram(program=program, tables=tuple(b.tables), constants=np.array(b.constants, dtype=np.int64),
                          initial=initial_registers(spec, ctx.registers, initial, dt),
                          parameter_rows=step.parameter_rows)
