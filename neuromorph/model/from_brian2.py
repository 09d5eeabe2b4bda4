"""Lower Brian2 equations to the neuron IR (:class:`NeuronSpec`).

Brian2's own parser (:class:`brian2.Equations`) reads the equations; subexpressions are
substituted; every parameter and unit is replaced by its SI value. Then every state
variable other than the voltage is classified:

* a **gate** is dimensionless, obeys ``dx/dt = A(v) - B(v) x`` (alpha/beta or inf/tau
  form) with ``A`` not identically zero, and its ``x_inf = A/B`` lies in [0, 1];
* a **linear state** is any other variable whose derivative is a polynomial in the gates
  and the linear states, each monomial holding at most one linear state to the first
  power, with voltage-dependent coefficients (synaptic conductances and currents,
  adaptation variables, ion pools).

The voltage equation has the same form as a linear state's, plus the inputs (constant
gains). For exponential Euler, the coefficient of the state itself is taken from Brian2's
own :func:`~brian2.stateupdaters.exponential_euler.get_conditionally_linear_system`, so a
voltage-dependent factor such as ``m_inf(v)**3`` lands in the exponential exactly as in
Brian2. Anything else raises :class:`LoweringError` naming the equation.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Sequence

import brian2
import numpy as np
import sympy
from brian2.core.functions import exprel as Brian2Exprel
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION
from brian2.parsing.expressions import parse_expression_dimensions
from brian2.parsing.sympytools import str_to_sympy
from brian2.stateupdaters.exponential_euler import get_conditionally_linear_system
from brian2.utils.stringtools import get_identifiers

from ..errors import InputError, LoweringError, ModelFileError, UnitError
from ..units import to_si
from .neuron_spec import (
    V, Condition, GateSpec, InputSpec, Refractoriness, ResetStatement, StateEquation, Term, NeuronSpec, evaluate,
    parameter_symbol,
)

EQUATIONS_FIELD = "neuron.equations"
#: Voltages (V) on which a candidate gate's x_inf must stay within [0, 1].
GATE_TEST_VOLTAGES = np.linspace(-0.12, 0.06, 181)
_TOLERANCE = 1e-9
#: ``exprel`` kept as an opaque function: Brian2's sympy ``exprel`` rewrites itself into
#: ``(exp(x) - 1)/x`` (singular at 0) as soon as its argument becomes numeric.
INERT_EXPREL = sympy.Function("exprel")


def parse_equations(text: str, source: str | None = None, field: str = EQUATIONS_FIELD,
                    error: type[InputError] = ModelFileError) -> brian2.Equations:
    """Brian2's parse of equation text, the one parse every file kind and the IR use.

    Parameters
    ----------
    text : str
        Brian2 equations.
    source, field : str, optional
        File and field named by the error (``model.toml``, ``neuron.equations``).
    error : type of InputError
        The exception raised when Brian2 cannot parse ``text``.

    Returns
    -------
    brian2.Equations
        Cached by text: the same text gives the same (never modified) object.
    """
    try:
        return _brian2_equations(text)
    except Exception as exc:  # Brian2 raises several types (EquationError, SyntaxError, RecursionError...)
        message = " ".join(str(exc).split())
        raise error(f"Brian2 cannot parse the equations: {message}", source, field) from None


def check_method(equations: brian2.Equations, method: str, source: str | None, field: str,
                 error: type[InputError] = ModelFileError) -> None:
    """Refuse, before any run, an integration ``method`` Brian2 cannot apply to ``equations``.

    Brian2 finds out only when the run starts (``exponential_euler`` on a quadratic leak:
    "Can only solve conditionally linear systems"); its state updater is asked here, on the
    equations alone (every other name a constant, as in a run). Under ``exponential_euler`` the
    split ``A x + B`` Brian2 would use is also checked against the equation: Brian2 2.9 splits
    ``(v**2/mV - v)/tau`` into ``A = -1/tau, B = 0`` and silently integrates another model.

    Raises
    ------
    InputError
        ``error`` naming ``source:field``, Brian2's reason and the methods that apply.
    """
    problem = _method_problem(_ByText(str(equations), equations), method)
    if problem:
        raise error(problem, source, field)


@dataclass(frozen=True)
class _ByText:
    """Equations compared and hashed by their text (names, expressions, units and flags), for
    :func:`_method_problem`'s cache."""

    text: str
    equations: brian2.Equations = dataclass_field(compare=False, hash=False)


@functools.lru_cache(maxsize=64)
def _method_problem(keyed: _ByText, method: str) -> str | None:
    """Why Brian2's ``method`` cannot integrate the equations (see :func:`check_method`), or None.

    Cached by the equations' text: asking Brian2's state updater and checking the split take
    about a second of sympy for an HH model, and every population of a network file that uses
    the model (and every held-out draw of a search) asks again.
    """
    from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException

    equations, updaters = keyed.equations, StateUpdateMethod.stateupdaters
    if method.startswith("gsl"):
        return (f"Brian2's {method} needs the GNU Scientific Library and generated C code, which neuromorph's "
                "reference does not use; methods: exponential_euler, euler, exact, heun, rk2, rk4")
    if not equations.diff_eq_names or method not in updaters:
        return None
    try:
        updaters[method](equations)
    except UnsupportedEquationsException as exc:
        usable = [name for name in ("exponential_euler", "euler", "exact", "heun", "rk2", "rk4")
                  if name != method and _applies(equations, name)]
        reason = " ".join(str(exc).split()).rstrip(".")
        return (f"Brian2's {method} cannot integrate these equations ({_cut(reason, 200)}); "
                f"methods that can: {', '.join(usable) or 'none'}")
    dropped = _dropped_by_split(equations) if method == "exponential_euler" else None
    if dropped:
        return (f"Brian2's exponential_euler splits the equation of '{dropped[0]}' into A*{dropped[0]} + B "
                f"and drops the term {_cut(str(dropped[1]), 120)}, so Brian2 would integrate another model; "
                "methods that can: euler, heun, rk2, rk4")
    return None


def _dropped_by_split(equations: brian2.Equations) -> tuple[str, sympy.Expr] | None:
    """The first ``(variable, missing term)`` where Brian2's conditionally linear split ``A x + B``
    is not its right-hand side (``(v**2/mV - v)/tau`` splits into ``A = -1/tau, B = 0``), else None."""
    try:
        system = get_conditionally_linear_system(equations)
        for name, expression in equations.get_substituted_expressions():
            a, b = system[name]
            rhs, split = str_to_sympy(expression.code), a * sympy.Symbol(name, real=True) + b
            if _differ(rhs, split):
                return name, sympy.simplify(rhs - split)
    except Exception:  # noqa: BLE001 - Brian2 refuses the equations itself (checked above)
        return None
    return None


def _differ(left: sympy.Expr, right: sympy.Expr) -> bool:
    """Whether two expressions differ at one of a few points where every symbol is in 0.5..1.5 (numerically,
    since sympy cannot always prove ``exp(v/mV)**(1/20) == exp(v/(20*mV))`` for symbols of unknown sign)."""
    symbols = sorted((left - right).free_symbols | left.free_symbols | right.free_symbols, key=str)
    points = np.random.default_rng(0).uniform(0.5, 1.5, (3, len(symbols)))
    for point in points:
        values = dict(zip(symbols, point))
        try:
            x, y = complex(left.evalf(subs=values)), complex(right.evalf(subs=values))
        except (TypeError, ValueError):
            return False  # a function sympy cannot evaluate: Brian2's split is trusted
        if abs(x - y) > 1e-9 * max(abs(x), abs(y), 1e-300):
            return True
    return False


def _applies(equations: brian2.Equations, method: str) -> bool:
    """Whether Brian2's ``method`` integrates ``equations`` (its state updater accepts them)."""
    from brian2.stateupdaters.base import StateUpdateMethod

    try:
        StateUpdateMethod.stateupdaters[method](equations)
    except Exception:  # noqa: BLE001 - any failure means the method does not apply
        return False
    return True


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (``...`` marks a cut)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


@functools.lru_cache(maxsize=256)
def _brian2_equations(text: str) -> brian2.Equations:
    return brian2.Equations(text)


def numeric_values(parameters: dict[str, float]) -> dict[str, float]:
    """Brian2's unit names and physical constants, then ``parameters``, as SI floats.

    Parameters
    ----------
    parameters : dict of str to float
        Parameter values in SI units; they win over a unit or constant of the same name.

    Returns
    -------
    dict of str to float
        Every name an expression may use, mapped to its value in SI units
        (``mV`` -> 1e-3, ``faraday_constant`` -> 96485.33...).
    """
    values = {name: float(unit) for name, unit in DEFAULT_UNITS.items()}
    values.update({name: float(constant.value) for name, constant in DEFAULT_CONSTANTS.items()})
    values.update(parameters)
    return values


def to_ir_expression(expr, symbols: dict[str, sympy.Symbol], values: dict[str, float], equation: str,
                     source: str | None = None) -> sympy.Expr:
    """An expression (sympy, or Brian2 code) with parameters and units replaced by SI numbers and
    the named variables by ``symbols`` (``exprel`` kept opaque); :class:`LoweringError` for any other name."""
    if isinstance(expr, str):
        expr = str_to_sympy(expr)
    expr = expr.replace(Brian2Exprel, INERT_EXPREL)
    replacements = {}
    for symbol in expr.free_symbols:
        if symbol.name in symbols:
            replacements[symbol] = symbols[symbol.name]
        elif symbol.name in values:
            replacements[symbol] = sympy.Float(values[symbol.name])
        else:
            raise LoweringError(f"equation '{equation}' uses '{symbol.name}', which is neither a state variable, "
                                "an input, a parameter nor a unit", source, EQUATIONS_FIELD)
    return expr.xreplace(replacements)


class _Lowering:
    """Shared context of one model: symbols, values, file name."""

    def __init__(self, eqs: brian2.Equations, voltage: str, inputs: Sequence[str], parameters: dict[str, float],
                 source: str | None, per_neuron: Sequence[str] = ()):
        self.eqs, self.voltage, self.source = eqs, voltage, source
        self.values = numeric_values(parameters)
        self.state_names = [n for n, eq in eqs.items() if eq.type == DIFFERENTIAL_EQUATION]
        self.symbols = {n: sympy.Symbol(n, real=True) for n in self.state_names + list(inputs)}
        self.per_neuron = {parameter_symbol(n) for n in per_neuron}
        self.symbols.update({s.name: s for s in self.per_neuron})
        self.symbols[voltage] = V
        self.inputs = list(inputs)
        self.substituted = dict(eqs.get_substituted_expressions())

    def written(self, name: str) -> str:
        return f"d{name}/dt = {self.eqs[name].expr.code}"

    def error(self, message: str) -> LoweringError:
        return LoweringError(message, self.source, EQUATIONS_FIELD)

    def to_ir(self, expr: sympy.Expr, equation: str) -> sympy.Expr:
        """Replace parameters and units by SI numbers and states by the IR symbols."""
        return to_ir_expression(expr, self.symbols, self.values, equation, self.source)

    def rhs(self, name: str) -> sympy.Expr:
        return self.to_ir(str_to_sympy(self.substituted[name].code), self.written(name))


def _is_zero(expr: sympy.Expr) -> bool:
    return expr == 0 or (expr.is_number and abs(float(expr)) == 0.0)


def _gate(lowering: _Lowering, name: str, rhs: sympy.Expr) -> GateSpec | None:
    """The gate form of ``dx/dt = rhs`` if ``x`` qualifies as a gate (module docstring), else None."""
    symbol = lowering.symbols[name]
    if not lowering.eqs[name].dim.is_dimensionless or not rhs.free_symbols <= {V, symbol}:
        return None
    slope, offset = sympy.diff(rhs, symbol), rhs.subs(symbol, 0)
    if symbol in slope.free_symbols or _is_zero(offset):
        return None
    x_inf, tau = evaluate(offset / -slope, GATE_TEST_VOLTAGES), evaluate(1 / -slope, GATE_TEST_VOLTAGES)
    finite = np.isfinite(x_inf) & np.isfinite(tau)
    if not finite.any() or (x_inf[finite] < -_TOLERANCE).any() or (x_inf[finite] > 1 + _TOLERANCE).any():
        return None
    written = lowering.eqs[name].expr.code
    one_minus_x = 1 - sympy.Symbol(name, real=True)
    form = "alpha_beta" if any(node == one_minus_x for node in sympy.preorder_traversal(str_to_sympy(written))) \
        else "inf_tau"
    return GateSpec(name=name, form=form, x_inf=offset / -slope, tau=1 / -slope, equation=lowering.written(name),
                    unless_refractory="unless refractory" in lowering.eqs[name].flags)


GATE_FORMS = ("a gating variable must be dimensionless and obey dx/dt = a(v)(1-x) - b(v)x or (x_inf(v) - x)/tau(v) "
              "with x_inf in [0, 1]; any other state must be linear in itself")


def _per_neuron_affine(coefficient: sympy.Expr, per_neuron: set) -> tuple[sympy.Expr, sympy.Expr] | None:
    """``(a, b)`` (expressions of per-neuron parameters) if ``coefficient == a + b v``, else None."""
    try:
        poly = sympy.Poly(coefficient, V)
    except sympy.PolynomialError:
        return None
    if poly.degree() > 1 or not all(c.free_symbols <= per_neuron for c in poly.all_coeffs()):
        return None
    return poly.coeff_monomial(1), poly.coeff_monomial(V) if poly.degree() == 1 else sympy.Integer(0)


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


def _make_term(monomial, coefficient: sympy.Expr) -> Term:
    return Term(monomial=monomial, coefficient=coefficient, affine=_affine_parts(coefficient))


def _per_neuron_term(lowering: _Lowering, monomial, coefficient: sympy.Expr, equation: str) -> Term:
    """A term whose coefficient depends on per-neuron parameters: it must be affine in the voltage."""
    parts = _per_neuron_affine(coefficient, lowering.per_neuron)
    if parts is None:
        used = sorted(s.name for s in coefficient.free_symbols & lowering.per_neuron)
        raise lowering.error(f"cannot lower '{equation}': the per-neuron parameters {used} enter a coefficient "
                             "that is not of the form a + b*v (a, b of per-neuron parameters); such a coefficient "
                             "would need one table per neuron")
    return Term(monomial=monomial, coefficient=coefficient, affine=None, per_neuron=parts)


def _polynomial_terms(lowering: _Lowering, expr: sympy.Expr, gates: list[str], linear: list[str],
                      equation: str) -> tuple[list[Term], dict[str, float]]:
    """Split ``expr`` into terms ``c(v) * monomial`` and constant-gain inputs."""
    names = gates + linear + lowering.inputs
    generators = [lowering.symbols[n] for n in names]
    supported = ("must be a polynomial in the gating variables and linear states, with at most one linear "
                 "state (to the first power) per term, coefficients depending on the voltage only, and "
                 "inputs entering linearly with a constant factor")
    try:
        poly = sympy.Poly(expr, *generators) if generators else None
    except sympy.PolynomialError:
        raise lowering.error(f"cannot lower '{equation}': the right-hand side {supported}") from None
    pairs = poly.terms() if poly is not None else [((), expr)]
    terms, inputs = [], {}
    for powers, coefficient in pairs:
        coefficient = sympy.sympify(coefficient)
        if coefficient.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            raise lowering.error(f"cannot lower '{equation}': a coefficient is infinite or undefined ({coefficient}) "
                                 "with these parameter values (a parameter of 0 divides?); every coefficient must be "
                                 "finite")
        if not coefficient.free_symbols <= {V} | lowering.per_neuron:
            others = sorted(s.name for s in coefficient.free_symbols - {V})
            raise lowering.error(f"cannot lower '{equation}': a coefficient depends on {others}; the right-hand "
                                 f"side {supported}")
        monomial = tuple((n, int(p)) for n, p in zip(names, powers) if p)
        input_part = [(n, p) for n, p in monomial if n in lowering.inputs]
        if input_part:
            if len(monomial) != 1 or monomial[0][1] != 1 or coefficient.free_symbols:  # a per-neuron factor too
                raise lowering.error(f"cannot lower '{equation}': the input must enter linearly, with a constant "
                                     "factor and not multiplied by states")
            # a constant factor may still hold functions of constants (``sigma * sqrt(tau)``): evaluate it
            inputs[monomial[0][0]] = float(evaluate(coefficient, np.zeros(1))[0])
            continue
        in_linear = [(n, p) for n, p in monomial if n in linear]
        if len(in_linear) > 1 or any(p != 1 for _, p in in_linear):
            why = "; ".join(f"'{lowering.written(n)}' is not a gate" for n, _ in in_linear)
            raise lowering.error(f"cannot lower '{equation}': the term with {dict(monomial)} multiplies linear "
                                 f"states ({why}: {GATE_FORMS}); the right-hand side {supported}")
        terms.append(_per_neuron_term(lowering, monomial, coefficient, equation)
                     if coefficient.free_symbols & lowering.per_neuron else _make_term(monomial, coefficient))
    return terms, inputs


def _rate_terms(lowering: _Lowering, name: str, system: dict | None, gates: list[str],
                linear: list[str]) -> tuple[Term, ...] | None:
    """Brian2's ``A`` of ``dX/dt = A X + B`` (exponential Euler) as IR terms, or None."""
    if system is None:
        return None
    slope = lowering.to_ir(sympy.sympify(system[name][0]), lowering.written(name))
    terms, inputs = _polynomial_terms(lowering, slope, gates, [n for n in linear if n != name],
                                      lowering.written(name))
    if inputs:
        raise lowering.error(f"cannot lower '{lowering.written(name)}': an input multiplies {name}")
    return tuple(t for t in terms if not _is_zero(t.coefficient))


def _state_equation(lowering: _Lowering, name: str, kind: str, gates: list[str], linear: list[str],
                    system: dict | None) -> tuple[StateEquation, dict[str, float]]:
    equation = lowering.written(name)
    try:
        terms, inputs = _polynomial_terms(lowering, lowering.rhs(name), gates, linear, equation)
    except LoweringError as exc:
        if kind == "linear" and lowering.eqs[name].dim.is_dimensionless:
            raise lowering.error(f"{exc.message}; {GATE_FORMS}") from None
        raise
    state = StateEquation(name=name, kind=kind, terms=tuple(terms),
                          rate_terms=_rate_terms(lowering, name, system, gates, linear), equation=equation,
                          unless_refractory="unless refractory" in lowering.eqs[name].flags,
                          unit=lowering.eqs[name].dim)
    _check_per_neuron_rate(lowering, state)
    return state, inputs


def _check_per_neuron_rate(lowering: _Lowering, state: StateEquation) -> None:
    """Refuse a rate ``A`` that depends on per-neuron parameters unless it is a per-neuron constant and every
    term is affine in ``v`` (exponential Euler folds ``exprel(A dt)`` into per-neuron coefficients)."""
    rates = state.rate_terms or ()
    if not any(t.per_neuron is not None for t in rates):
        return
    if state.per_neuron_rate is None:
        raise lowering.error(f"cannot lower '{state.equation}': its decay rate depends on per-neuron parameters "
                             "and on the voltage or other states (only a per-neuron constant rate such as -1/tau "
                             "is lowered)")
    tabulated = [dict(t.monomial) for t in state.terms if t.affine is None and t.per_neuron is None]
    if tabulated:
        raise lowering.error(f"cannot lower '{state.equation}': a per-neuron decay rate needs every term affine in "
                             f"the voltage; the terms with {tabulated} are tabulated (one table for all neurons)")


def _conditionally_linear_system(eqs: brian2.Equations) -> dict | None:
    """Brian2's split ``dX/dt = A X + B`` of every equation, or None if Brian2 cannot split them."""
    try:
        return get_conditionally_linear_system(eqs)
    except ValueError:
        return None


def _classify(lowering: _Lowering) -> tuple[list[GateSpec], list[str]]:
    gates, linear = [], []
    for name in lowering.state_names:
        if name == lowering.voltage:
            continue
        rhs = lowering.rhs(name)
        used = sorted(s.name for s in rhs.free_symbols & lowering.per_neuron)
        if used and lowering.eqs[name].dim.is_dimensionless and _gate(lowering, name, rhs.subs(
                {s: 1 for s in lowering.per_neuron})) is not None:
            raise lowering.error(f"cannot lower '{lowering.written(name)}': the per-neuron parameters {used} enter "
                                 "a gating variable's equation (its x_inf and tau are tables over v, one for all "
                                 "neurons)")
        gate = _gate(lowering, name, rhs)
        if gate is not None:
            gates.append(gate)
        else:
            linear.append(name)
    return gates, linear


def _input_specs(lowering: _Lowering, gains: dict[str, dict[str, float]]) -> tuple[InputSpec, ...]:
    specs = []
    for name in lowering.inputs:
        targets = [(state, g[name]) for state, g in gains.items() if name in g]
        if len(targets) != 1:
            where = "does not appear in any equation" if not targets else f"enters {[s for s, _ in targets]}"
            raise lowering.error(f"the input variable '{name}' {where}; it must enter exactly one differential "
                                 "equation, linearly, with a constant factor")
        state, gain = targets[0]
        if not np.isfinite(gain) or gain == 0.0:
            raise lowering.error(f"the input variable '{name}' enters d{state}/dt with the factor {gain}; "
                                 "a finite non-zero factor is needed")
        specs.append(InputSpec(name=name, state=state, gain=gain, dimension=lowering.eqs[name].dim))
    return tuple(specs)


CONDITION_PATTERN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|>)\s*(.+?)\s*$")


def constant_value(text: str, unit, source: str | None, field: str, parameters: dict | None = None) -> float:
    """SI value of a constant written with units (``-20*mV``) or with the model's parameters (``v_th``,
    ``E_L + 10*mV``). Text that names no parameter must be a quantity of ``unit``'s dimension
    (``2*mV`` is no duration); with parameters given as Brian2 quantities, Brian2 checks the
    dimension of the text too (else Brian2 checks it when it builds the group)."""
    try:
        return to_si(text, unit=unit, source=source, field=field)
    except UnitError:
        if not parameters or not get_identifiers(text) & set(parameters):
            raise
    _check_dimensions(text, unit, parameters, source, field)
    try:
        value = to_ir_expression(text, {}, numeric_values({k: float(v) for k, v in parameters.items()}), field,
                                 source)
    except (LoweringError, SyntaxError, TypeError, ValueError):
        raise ModelFileError(f"'{text}' is not a constant: use numbers, units and parameters", source,
                             field) from None
    if not value.is_number or not np.isfinite(float(value)):
        raise ModelFileError(f"'{text}' is not a finite constant", source, field)
    return float(value)


def _check_dimensions(text: str, unit, parameters: dict, source: str | None, field: str) -> None:
    """Refuse ``text`` unless its dimension, with the parameters that are Brian2 quantities, is ``unit``'s."""
    quantities = {name: value for name, value in parameters.items() if isinstance(value, brian2.Quantity)}
    if not quantities:
        return
    namespace = {**DEFAULT_UNITS, **DEFAULT_CONSTANTS, **DEFAULT_FUNCTIONS, **quantities}
    try:
        dimensions = parse_expression_dimensions(text, namespace)
    except Exception as exc:  # Brian2 raises DimensionMismatchError, SyntaxError, KeyError...
        raise ModelFileError(f"'{text}' is not a constant: {' '.join(str(exc).split())}", source, field) from None
    expected = brian2.get_dimensions(unit)
    if dimensions != expected:
        raise ModelFileError(f"'{text}' is in {brian2.get_unit(dimensions)!r}; expected a quantity in "
                             f"{brian2.get_unit(expected)!r}", source, field)


def per_neuron_expression(text: str, per_neuron: Sequence[str], parameters: dict | None, source: str | None,
                          field: str) -> sympy.Expr | None:
    """``text`` (a threshold value, a refractory period) as an expression of the per-neuron parameters it
    names (SI), or None when it names none."""
    used = get_identifiers(text) & set(per_neuron)
    if not used:
        return None
    constants = numeric_values({k: float(v) for k, v in (parameters or {}).items()})
    try:
        return to_ir_expression(text, {n: parameter_symbol(n) for n in used}, constants, field, source)
    except (LoweringError, SyntaxError, TypeError, ValueError) as exc:
        raise ModelFileError(f"'{text}' uses the per-neuron parameters {sorted(used)}: {exc}", source,
                             field) from None


def parse_condition(text: str, voltage: str, source: str | None, field: str,
                    parameters: dict | None = None, per_neuron: Sequence[str] = ()) -> Condition:
    """Parse ``"v > -20*mV"`` (``>`` or ``>=``, voltage on the left) into a :class:`Condition`; the value may
    name per-neuron parameters (``v > vt``: :attr:`Condition.bound`)."""
    match = CONDITION_PATTERN.match(text)
    if not match or match.group(1) != voltage:
        raise ModelFileError(f"'{text}' is not supported: write '{voltage} > VALUE' or "
                             f"'{voltage} >= VALUE' with VALUE a voltage such as -20*mV", source, field)
    bound = per_neuron_expression(match.group(3), per_neuron, parameters, source, field)
    if bound is not None:
        return Condition(variable=voltage, op=match.group(2), value=float("nan"), text=text.strip(), bound=bound)
    value = constant_value(match.group(3), brian2.volt, source, field, parameters)
    return Condition(variable=voltage, op=match.group(2), value=value, text=text.strip())


def parse_refractory(value, voltage: str, source: str | None, parameters: dict | None = None,
                     field: str = "neuron.refractory", per_neuron: Sequence[str] = ()) -> Refractoriness | None:
    """A refractory condition (``"v > -20*mV"``) or duration (``"2*ms"``, or per-neuron parameters:
    ``"tref"``); None/False for none."""
    if value in (None, False, ""):
        return None
    if isinstance(value, str) and CONDITION_PATTERN.match(value):
        return Refractoriness(condition=parse_condition(value, voltage, source, field, parameters, per_neuron),
                              text=value.strip())
    bound = per_neuron_expression(value, per_neuron, parameters, source, field) if isinstance(value, str) else None
    if bound is not None:
        return Refractoriness(text=value.strip(), per_neuron=bound)
    duration = constant_value(value, brian2.second, source, field, parameters) if isinstance(value, str) \
        else to_si(value, unit=brian2.second, source=source, field=field)
    if duration < 0:
        raise ModelFileError(f"refractory duration must be >= 0, got {value!r}", source, field)
    return Refractoriness(duration=duration, text=str(value).strip())


RESET_PATTERN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=|=)\s*(.+?)\s*$")


def parse_reset(text: str | None, state_units: dict[str, object], source: str | None,
                parameters: dict | None = None, field: str = "neuron.reset",
                per_neuron: Sequence[str] = ()) -> tuple[ResetStatement, ...]:
    """Parse ``"v = -65*mV; w += 0.1*nA"`` into :class:`ResetStatement` values (SI); a value naming a
    per-neuron parameter is refused."""
    if not text:
        return ()
    statements = []
    for statement in filter(None, (s.strip() for s in re.split(r"[;\n]", text))):
        match = RESET_PATTERN.match(statement)
        if not match or match.group(1) not in state_units:
            raise ModelFileError(f"reset statement '{statement}' must assign (=) or increment (+=, -=) one of "
                                 f"{sorted(state_units)} by a constant", source, field)
        name, op, value = match.groups()
        used = sorted(get_identifiers(value) & set(per_neuron))
        if used:
            raise ModelFileError(f"reset statement '{statement}' uses the per-neuron parameters {used}; a reset "
                                 "value must be the same for all neurons", source, field)
        number = constant_value(value, state_units[name], source, field, parameters)
        statements.append(ResetStatement(name=name, op="=" if op == "=" else "+=",
                                         value=-number if op == "-=" else number))
    return tuple(statements)


def _check_declarations(eqs: brian2.Equations, voltage: str, inputs: Sequence[str], parameters: dict,
                        source: str | None, per_neuron: Sequence[str] = ()) -> tuple[str, ...]:
    kinds = {n: eq.type for n, eq in eqs.items()}
    if kinds.get(voltage) != DIFFERENTIAL_EQUATION:
        raise ModelFileError(f"the voltage variable '{voltage}' must have a differential equation", source,
                             "neuron.voltage")
    for name in inputs:
        if kinds.get(name) != PARAMETER:
            raise ModelFileError(f"the input '{name}' must be declared as a parameter in the equations, "
                                 f"e.g. '{name} : amp/meter**2'", source, "neuron.input")
    declared = [n for n, k in kinds.items() if k == PARAMETER and n not in inputs]
    missing = [n for n in declared if n not in parameters and n not in per_neuron]
    if missing:
        raise ModelFileError(f"parameters {missing} are declared in the equations but have no value in [parameters]",
                             source, EQUATIONS_FIELD)
    return tuple(declared)


def spec_from_equations(text: str, *, name: str, parameters: dict[str, float], voltage: str = "v",
                        input_name: str | Sequence[str], threshold: str | None, refractory=None, reset: str | None = None,
                        source: str | None = None, per_neuron: Sequence[str] = ()) -> NeuronSpec:
    """Build a :class:`NeuronSpec` from Brian2 equation text and SI parameter values.

    Parameters
    ----------
    text : str
        Brian2 equations.
    name : str
        Model name.
    parameters : dict of str to float
        Parameter values in SI units (also those declared in the equations, which then
        hold that value on every side).
    voltage : str
        Name of the membrane potential.
    input_name : str or sequence of str
        The input parameter(s); the first receives the model file's stimulus.
    threshold : str or None
        Spike condition, e.g. ``"v > -20*mV"``; None: the neuron never spikes (as a Brian2
        group without a threshold): a reset is then refused (Brian2 refuses it too) and a
        refractoriness dropped (without spikes Brian2 never makes a neuron refractory).
    refractory : str or None
        Refractory condition or duration.
    reset : str or None
        Reset statements applied after a spike.
    source : str or None
        File name for error messages.
    per_neuron : sequence of str
        Declared parameters with a value per neuron that are no input: symbols of the IR
        (:attr:`NeuronSpec.per_neuron`); they may appear in coefficients affine in ``v``, in
        the threshold's value and in the refractory period.

    Notes
    -----
    The result is cached by the arguments' values (:func:`_cached_spec`): the sympy analysis takes
    about 40 ms for an HH model, and a network run asks for each population's neuron several times
    (the device's conversion, its profile, the lowering, the recorded variables), and again in the
    next run of the same script.
    """
    arguments = (text, name, tuple(sorted(parameters.items())), voltage,
                 (input_name,) if isinstance(input_name, str) else tuple(input_name), threshold, refractory, reset,
                 source, tuple(per_neuron))
    try:
        hash(arguments)
    except TypeError:  # e.g. a refractory period given as a Brian2 quantity
        return _spec_from_equations(*arguments[:2], parameters, *arguments[3:])
    return _cached_spec(*arguments)


@functools.lru_cache(maxsize=128)
def _cached_spec(text: str, name: str, parameters: tuple[tuple[str, float], ...], voltage: str,
                 inputs: tuple[str, ...], threshold, refractory, reset, source, per_neuron: tuple[str, ...]) -> NeuronSpec:
    """:func:`_spec_from_equations` of hashable arguments (``parameters`` as sorted items); a pure function of
    them, whose frozen result is shared."""
    return _spec_from_equations(text, name, dict(parameters), voltage, inputs, threshold, refractory, reset, source,
                                per_neuron)


def _spec_from_equations(text: str, name: str, parameters: dict[str, float], voltage: str, inputs: Sequence[str],
                         threshold, refractory, reset, source, per_neuron: Sequence[str]) -> NeuronSpec:
    """:func:`spec_from_equations`, uncached."""
    inputs = list(inputs)
    if threshold is None and reset:
        raise ModelFileError(f"the reset '{reset}' needs a threshold (a neuron without one never spikes)", source,
                             "neuron.reset")
    eqs = parse_equations(text, source)
    declared = _check_declarations(eqs, voltage, inputs, parameters, source, per_neuron)
    lowering = _Lowering(eqs, voltage, inputs, parameters, source, per_neuron)
    gates, linear = _classify(lowering)
    gate_names = [g.name for g in gates]
    system = _conditionally_linear_system(eqs)
    equations, gains = {}, {}
    for state, kind in [(n, "linear") for n in linear] + [(voltage, "voltage")]:  # a state's own error first
        equations[state], gains[state] = _state_equation(lowering, state, kind, gate_names, linear, system)
    state_units = {voltage: brian2.volt, **{g: 1 for g in gate_names},
                   **{n: brian2.get_unit(eqs[n].dim) for n in linear}}
    current_dims = {brian2.get_dimensions(brian2.amp), brian2.get_dimensions(brian2.amp / brian2.meter**2)}
    return NeuronSpec(
        name=name, voltage=voltage, gates=tuple(gates), equations_of=tuple(equations[n] for n in [voltage] + linear),
        inputs=_input_specs(lowering, gains),
        currents=tuple(n for n, eq in eqs.items() if eq.type == SUBEXPRESSION and eq.dim in current_dims),
        threshold=parse_condition(threshold, voltage, source, "neuron.threshold", parameters, per_neuron)
        if threshold is not None else None,
        refractory=parse_refractory(refractory, voltage, source, parameters, per_neuron=per_neuron)
        if threshold is not None else None,
        reset=parse_reset(reset, state_units, source, parameters, per_neuron=per_neuron),
        equations=text, declared_parameters=declared, per_neuron=tuple(per_neuron),
    )


def per_neuron_roles(text: str, candidates: Sequence[str], parameters: dict[str, float], codes: Sequence[str],
                     voltage: str = "v", inputs: Sequence[str] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which ``candidates`` (declared parameters with per-neuron values) are drive inputs, and which are unused.

    A drive input is named in no condition, reset or refractory code of ``codes`` and enters exactly
    one differential equation, linearly, with a constant factor (the other candidates being per-neuron
    too), where the decay is the same for all neurons. An unused candidate appears nowhere (a label).
    The others become per-neuron parameters. ``inputs``: the other inputs (sampled currents).

    Returns
    -------
    tuple of str, tuple of str
        The drive inputs and the unused candidates.
    """
    eqs = parse_equations(text)
    lowering = _Lowering(eqs, voltage, inputs, parameters, None, candidates)
    in_code = set().union(*(get_identifiers(code or "") for code in codes))
    derivatives = {}
    for name in lowering.state_names:
        try:
            derivatives[name] = lowering.rhs(name)
        except LoweringError:
            return (), ()  # the equations themselves are refused later, with the lowering's own message
    found, unused = [], []
    for candidate in candidates:
        symbol = parameter_symbol(candidate)
        factors = [sympy.diff(rhs, symbol) for rhs in derivatives.values() if symbol in rhs.free_symbols]
        if candidate not in in_code and not factors:
            unused.append(candidate)
        elif candidate not in in_code and len(factors) == 1 and factors[0].is_number:
            found.append(candidate)
    return tuple(c for c in found if _no_per_neuron_rate(lowering, derivatives, c)), tuple(unused)


def _no_per_neuron_rate(lowering: _Lowering, derivatives: dict, candidate: str) -> bool:
    """Whether the equation ``candidate`` enters has a decay free of per-neuron parameters (else its
    exponential-Euler factor differs per neuron, and the input is folded into per-neuron coefficients)."""
    symbol = parameter_symbol(candidate)
    for name, rhs in derivatives.items():
        if symbol in rhs.free_symbols:
            own = lowering.symbols[name]
            return not (sympy.diff(rhs, own).free_symbols & lowering.per_neuron)
    return True
