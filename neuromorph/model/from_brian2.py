"""Lower Brian2 equations to the neuron IR (:class:`NeuronSpec`).

Brian2's own parser (:class:`brian2.Equations`) reads the equations; subexpressions are
substituted; every parameter and unit is replaced by its SI value. Then

* each gating variable ``x`` must satisfy ``dx/dt = A(v) - B(v) x`` (alpha/beta or
  inf/tau form), giving ``x_inf = A/B`` and ``tau = 1/B``;
* the membrane equation must be a polynomial in the gates whose coefficients depend on
  ``v`` only, plus the input variable entering linearly with a constant gain.

Anything else raises :class:`LoweringError` naming the equation.
"""
from __future__ import annotations

import re

import brian2
import sympy
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_UNITS
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION
from brian2.parsing.sympytools import str_to_sympy

from ..errors import LoweringError, ModelFileError
from ..units import to_si
from .neuron_spec import V, Condition, GateSpec, MembraneTerm, NeuronSpec, Refractoriness

EQUATIONS_FIELD = "neuron.equations"
CURRENT_DENSITY = brian2.get_dimensions(brian2.amp / brian2.meter**2)


def parse_equations(text: str, source: str | None) -> brian2.Equations:
    """Parse Brian2 equation text, turning Brian2's exceptions into a located error."""
    try:
        return brian2.Equations(text)
    except Exception as exc:  # Brian2 raises several types (EquationError, SyntaxError...)
        message = " ".join(str(exc).split())
        raise ModelFileError(f"Brian2 cannot parse the equations: {message}", source, EQUATIONS_FIELD) from None


def _numeric_values(parameters: dict[str, float]) -> dict[str, float]:
    """Parameters, Brian2 units and constants, all as SI floats (parameters win)."""
    values = {name: float(unit) for name, unit in DEFAULT_UNITS.items()}
    values.update({name: float(constant.value) for name, constant in DEFAULT_CONSTANTS.items()})
    values.update(parameters)
    return values


def _to_ir_expression(code: str, symbols: dict[str, sympy.Symbol], values: dict[str, float],
                      equation: str, source: str | None) -> sympy.Expr:
    """sympy expression with parameters and units replaced by SI numbers."""
    expr = str_to_sympy(code)
    replacements = {}
    for symbol in expr.free_symbols:
        if symbol.name in symbols:
            replacements[symbol] = symbols[symbol.name]
        elif symbol.name in values:
            replacements[symbol] = sympy.Float(values[symbol.name])
        else:
            raise LoweringError(f"equation '{equation}' uses '{symbol.name}', which is neither a state "
                                "variable, the input, a parameter nor a unit", source, EQUATIONS_FIELD)
    return expr.xreplace(replacements)


def _only_voltage(expr: sympy.Expr) -> bool:
    return expr.free_symbols <= {V}


def _classify_gate(name: str, rhs: sympy.Expr, written: str, symbol: sympy.Symbol,
                   source: str | None) -> GateSpec:
    """Split ``dx/dt = A(v) - B(v) x`` into ``x_inf = A/B`` and ``tau = 1/B``."""
    equation = f"d{name}/dt = {written}"
    slope = sympy.diff(rhs, symbol)
    offset = rhs.subs(symbol, 0)
    if symbol in slope.free_symbols or not (_only_voltage(slope) and _only_voltage(offset)):
        raise LoweringError(
            f"cannot lower '{equation}': a gating variable must obey dx/dt = a(v)(1-x) - b(v)x or "
            f"(x_inf(v) - x)/tau(v), i.e. be linear in {name} with coefficients depending on "
            f"the voltage only", source, EQUATIONS_FIELD)
    rate = -slope
    written_sympy = str_to_sympy(written)
    one_minus_x = 1 - sympy.Symbol(name, real=True)
    form = "alpha_beta" if any(node == one_minus_x for node in sympy.preorder_traversal(written_sympy)) else "inf_tau"
    return GateSpec(name=name, form=form, x_inf=offset / rate, tau=1 / rate, equation=equation)


def _affine_parts(coefficient: sympy.Expr) -> tuple[float, float] | None:
    """``(a, b)`` if ``coefficient == a + b v`` exactly, else None."""
    try:
        poly = sympy.Poly(coefficient, V)
    except sympy.PolynomialError:
        return None
    if poly.degree() > 1 or not all(c.is_number for c in poly.all_coeffs()):
        return None
    b = float(poly.coeff_monomial(V)) if poly.degree() == 1 else 0.0
    return float(poly.coeff_monomial(1)), b


def _membrane_terms(rhs: sympy.Expr, gate_symbols: dict[str, sympy.Symbol], input_symbol: sympy.Symbol,
                    equation: str, source: str | None) -> tuple[float, tuple[MembraneTerm, ...]]:
    """Decompose ``dv/dt`` into gate monomials with voltage-dependent coefficients."""
    generators = list(gate_symbols.values()) + [input_symbol]
    try:
        poly = sympy.Poly(rhs, *generators)
    except sympy.PolynomialError:
        raise LoweringError(f"cannot lower '{equation}': the membrane equation must be a polynomial in "
                            "the gating variables and the input", source, EQUATIONS_FIELD) from None
    input_gain = 0.0
    terms = []
    names = list(gate_symbols)
    for monomial, coefficient in poly.terms():
        if not _only_voltage(coefficient):
            raise LoweringError(f"cannot lower '{equation}': a coefficient depends on "
                                f"{sorted(s.name for s in coefficient.free_symbols - {V})}", source, EQUATIONS_FIELD)
        *gate_powers, input_power = monomial
        if input_power:
            if input_power != 1 or any(gate_powers) or not coefficient.is_number:
                raise LoweringError(f"cannot lower '{equation}': the input must enter dv/dt linearly, "
                                    "with a constant factor and not multiplied by gates", source, EQUATIONS_FIELD)
            input_gain = float(coefficient)
            continue
        powers = tuple((names[i], int(p)) for i, p in enumerate(gate_powers) if p)
        terms.append(MembraneTerm(gate_powers=powers, coefficient=coefficient, affine=_affine_parts(coefficient)))
    if input_gain == 0.0:
        raise LoweringError(f"the input variable '{input_symbol.name}' does not appear in '{equation}'",
                            source, EQUATIONS_FIELD)
    return input_gain, tuple(terms)


CONDITION_PATTERN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|>)\s*(.+?)\s*$")


def parse_condition(text: str, voltage: str, source: str | None, field: str) -> Condition:
    """Parse ``"v > -20*mV"`` (``>`` or ``>=``, voltage on the left) into a :class:`Condition`."""
    match = CONDITION_PATTERN.match(text)
    if not match or match.group(1) != voltage:
        raise ModelFileError(f"'{text}' is not supported: write '{voltage} > VALUE' or "
                             f"'{voltage} >= VALUE' with VALUE a voltage such as -20*mV", source, field)
    value = to_si(match.group(3), unit=brian2.volt, source=source, field=field)
    return Condition(variable=voltage, op=match.group(2), value=value, text=text.strip())


def parse_refractory(value, voltage: str, source: str | None) -> Refractoriness | None:
    """A refractory condition (``"v > -20*mV"``) or duration (``"2*ms"``); None/False for none."""
    field = "neuron.refractory"
    if value in (None, False, ""):
        return None
    if isinstance(value, str) and CONDITION_PATTERN.match(value):
        return Refractoriness(condition=parse_condition(value, voltage, source, field), text=value.strip())
    duration = to_si(value, unit=brian2.second, source=source, field=field)
    if duration < 0:
        raise ModelFileError(f"refractory duration must be >= 0, got {value!r}", source, field)
    return Refractoriness(duration=duration, text=str(value).strip())


def parse_reset(text: str | None, state_units: dict[str, object], source: str | None) -> tuple[tuple[str, float], ...]:
    """Parse ``"v = -65*mV; n = 0.3"`` into ``((name, SI value), ...)``."""
    field = "neuron.reset"
    if not text:
        return ()
    assignments = []
    for statement in filter(None, (s.strip() for s in re.split(r"[;\n]", text))):
        name, sep, value = statement.partition("=")
        name = name.strip()
        if not sep or name not in state_units:
            raise ModelFileError(f"reset statement '{statement}' must assign a constant to one of "
                                 f"{sorted(state_units)}", source, field)
        assignments.append((name, to_si(value.strip(), unit=state_units[name], source=source, field=field)))
    return tuple(assignments)


def spec_from_equations(text: str, *, name: str, parameters: dict[str, float], voltage: str = "v",
                        input_name: str, threshold: str, refractory=None, reset: str | None = None,
                        source: str | None = None) -> NeuronSpec:
    """Build a :class:`NeuronSpec` from Brian2 equation text and SI parameter values.

    Parameters
    ----------
    text : str
        Brian2 equations.
    name : str
        Model name.
    parameters : dict of str to float
        Parameter values in SI units.
    voltage, input_name : str
        Names of the membrane potential and of the stimulus variable (a current density).
    threshold : str
        Spike condition, e.g. ``"v > -20*mV"``.
    refractory : str or None
        Refractory condition or duration.
    reset : str or None
        Reset statements applied after a spike.
    source : str or None
        File name for error messages.
    """
    eqs = parse_equations(text, source)
    kinds = {n: eq.type for n, eq in eqs.items()}
    if kinds.get(voltage) != DIFFERENTIAL_EQUATION:
        raise ModelFileError(f"the voltage variable '{voltage}' must have a differential equation", source, "neuron.voltage")
    if kinds.get(input_name) != PARAMETER:
        raise ModelFileError(f"the input '{input_name}' must be declared as a parameter in the equations, "
                             f"e.g. '{input_name} : amp/meter**2'", source, "neuron.input")
    if eqs[input_name].dim != CURRENT_DENSITY:
        raise ModelFileError(f"the input '{input_name}' must be a current density (amp/meter**2), "
                             f"not {eqs[input_name].dim}", source, "neuron.input")
    missing = [n for n, k in kinds.items() if k == PARAMETER and n != input_name and n not in parameters]
    if missing:
        raise ModelFileError(f"parameters {missing} are declared in the equations but have no value in [parameters]",
                             source, EQUATIONS_FIELD)
    gate_names = [n for n, k in kinds.items() if k == DIFFERENTIAL_EQUATION and n != voltage]
    symbols = {n: sympy.Symbol(n, real=True) for n in gate_names}
    symbols[voltage] = V
    input_symbol = sympy.Symbol(input_name, real=True)
    symbols[input_name] = input_symbol
    values = _numeric_values(parameters)
    substituted = dict(eqs.get_substituted_expressions())

    def lowered(var: str) -> sympy.Expr:
        return _to_ir_expression(substituted[var].code, symbols, values, f"d{var}/dt = {eqs[var].expr.code}", source)

    gates = tuple(_classify_gate(g, lowered(g), eqs[g].expr.code, symbols[g], source) for g in gate_names)
    membrane = f"d{voltage}/dt = {eqs[voltage].expr.code}"
    gate_symbols = {g: symbols[g] for g in gate_names}
    input_gain, terms = _membrane_terms(lowered(voltage), gate_symbols, input_symbol, membrane, source)
    state_units = {voltage: brian2.volt, **{g: 1 for g in gate_names}}
    currents = tuple(n for n, k in kinds.items() if k == SUBEXPRESSION and eqs[n].dim == CURRENT_DENSITY)
    return NeuronSpec(
        name=name, voltage=voltage, input=input_name, input_gain=input_gain, gates=gates, terms=terms,
        currents=currents,
        threshold=parse_condition(threshold, voltage, source, "neuron.threshold"),
        refractory=parse_refractory(refractory, voltage, source),
        reset=parse_reset(reset, state_units, source),
        equations=text,
    )
