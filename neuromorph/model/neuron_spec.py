"""The neuron IR: what the lowering found in a conductance-based model.

All expressions are sympy expressions in the single free symbol ``v`` (the membrane
potential in volts) with every parameter and unit already replaced by its SI value, so
they can be tabulated over a voltage grid or evaluated exactly.

A model has three kinds of state:

* the **voltage** ``v``;
* **gates** ``x`` in ``[0, 1]`` obeying ``dx/dt = (x_inf(v) - x) / tau(v)``;
* **linear states** ``s`` (synaptic conductances and currents, adaptation variables,
  ion accumulation) with any range, linear in themselves.

The voltage and each linear state ``X`` obey ``dX/dt = sum_k c_k(v) P_k + sum_i g_i I_i``
where each ``P_k`` is a monomial in the gates and at most one linear state (to the first
power) and ``I_i`` are external inputs. For Brian2's ``exponential_euler`` the derivative
is split as Brian2 splits it, ``dX/dt = A X + B`` with ``A`` the coefficient of an
explicit ``X`` (``sympy.collect``), possibly depending on ``v`` and the gates, and
``X' = X + dt (A X + B) exprel(A dt)``; ``A = sum_j d_j(v) Q_j`` is kept as its own
list of terms (:attr:`StateEquation.rate_terms`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import sympy

from .functions import MODEL_FUNCTIONS, exprel  # noqa: F401  (exprel: the IR's exprel)

#: The sympy symbol every IR expression is written in: membrane potential in volts. Its
#: name cannot be a Brian2 identifier (those never start with an underscore), so a model
#: whose voltage is ``u`` may still have a state called ``v``.
V = sympy.Symbol("_v", real=True)


def parameter_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of a per-neuron parameter in IR expressions (its value differs per neuron)."""
    return sympy.Symbol(name, real=True)


def per_neuron_values(expr: sympy.Expr, parameters: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Values (n,) of an expression of per-neuron parameters (SI), one per neuron.

    Parameters
    ----------
    expr : sympy.Expr
        An IR expression whose free symbols are per-neuron parameters (:func:`parameter_symbol`).
    parameters : mapping of str to ndarray (n,)
        Each parameter's per-neuron values (SI).
    n : int
        Neurons.
    """
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    fn = sympy.lambdify(symbols, expr, modules=[NUMPY_FUNCTIONS, "numpy"])
    with np.errstate(all="ignore"):
        values = fn(*(np.broadcast_to(np.asarray(parameters[s.name], dtype=float), (n,)) for s in symbols))
    return np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()


#: numpy implementations of the functions allowed in lowered expressions: Brian2's math, then the
#: model functions of :mod:`neuromorph.model.functions` (``exprel``, ``ghk_current``, ...).
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log10": np.log10,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "cosh": np.cosh,
    "sinh": np.sinh,
    "abs": np.abs,
    "clip": np.clip,
} | {name: f.numpy for name, f in MODEL_FUNCTIONS.items()}


def compile_expression(expr: sympy.Expr) -> Callable[[np.ndarray], np.ndarray]:
    """numpy function of ``v`` (V) computing an IR expression, broadcasting constants."""
    fn = sympy.lambdify([V], expr, modules=[NUMPY_FUNCTIONS, "numpy"])

    def evaluate_on(v):
        v = np.asarray(v, dtype=float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(fn(v), dtype=float), v.shape).copy()

    return evaluate_on


def evaluate(expr: sympy.Expr, v: np.ndarray) -> np.ndarray:
    """Evaluate an IR expression of ``v`` (V) on a numpy array (compiles it each call)."""
    return compile_expression(expr)(v)


Monomial = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GateSpec:
    """A gating variable advanced by ``dx/dt = (x_inf(v) - x) / tau(v)``.

    Attributes
    ----------
    name : str
        Variable name in the model.
    form : str
        ``"alpha_beta"`` (written as ``a(v)(1 - x) - b(v) x``, possibly times a constant
        temperature factor) or ``"inf_tau"`` (written as ``(x_inf - x)/tau``).
    x_inf : sympy.Expr
        Steady-state value as a function of ``v`` (dimensionless, within [0, 1]).
    tau : sympy.Expr
        Time constant as a function of ``v`` (s).
    equation : str
        The equation as written, for error messages and reports.
    unless_refractory : bool
        Brian2's ``(unless refractory)`` flag: held while the neuron is refractory.
    """

    name: str
    form: str
    x_inf: sympy.Expr
    tau: sympy.Expr
    equation: str
    unless_refractory: bool = False


@dataclass(frozen=True)
class Term:
    """One term ``c(v) * P`` of a derivative, ``P`` a monomial of gates and linear states.

    Attributes
    ----------
    monomial : tuple of (str, int)
        State names and powers (empty for a term without states).
    coefficient : sympy.Expr
        ``c(v)`` in units of the state per second per unit of the monomial.
    affine : tuple of (float, float) or None
        ``(a, b)`` when ``c(v) = a + b v`` exactly (exact integer arithmetic in fixed point);
        None when ``c`` is tabulated over the voltage or depends on per-neuron parameters.
    per_neuron : tuple of (sympy.Expr, sympy.Expr) or None
        ``(a, b)`` of ``c(v) = a + b v`` when ``a`` or ``b`` depend on per-neuron parameters
        (expressions of :func:`parameter_symbol` symbols, SI): per-neuron registers in fixed point.
    """

    monomial: Monomial
    coefficient: sympy.Expr
    affine: tuple[float, float] | None
    per_neuron: tuple[sympy.Expr, sympy.Expr] | None = None

    @property
    def constant(self) -> float | None:
        """The value of ``c`` when it does not depend on ``v``, else None."""
        if self.affine is not None and self.affine[1] == 0.0:
            return self.affine[0]
        return None

    @property
    def per_neuron_constant(self) -> sympy.Expr | None:
        """The per-neuron value of ``c`` when it does not depend on ``v``, else None."""
        if self.per_neuron is not None and self.per_neuron[1] == 0:
            return self.per_neuron[0]
        return None


@dataclass(frozen=True)
class InputSpec:
    """An external input ``I`` entering ``dX/dt`` as ``gain * I``.

    Attributes
    ----------
    name : str
        The parameter that receives the input (``I_inj``).
    state : str
        The state whose derivative it enters.
    gain : float
        ``d(dX/dt)/dI`` in SI units (``1/C_m`` for a current into the voltage).
    dimension : brian2 Dimension
        The input's physical dimension (current, current density, ...).
    drawn : (int, int) or None
        A noise input the program draws itself from the target's generator: (seed, stream);
        None: the input comes from outside (a port).
    """

    name: str
    state: str
    gain: float
    dimension: object
    drawn: tuple[int, int] | None = None


@dataclass(frozen=True)
class StateEquation:
    """``dX/dt = sum terms + sum gain * input`` for the voltage or a linear state.

    Attributes
    ----------
    name : str
        The state ``X``.
    kind : str
        ``"voltage"`` or ``"linear"``.
    terms : tuple of Term
        The derivative, without the inputs.
    rate_terms : tuple of Term or None
        Brian2's ``A`` (coefficient of an explicit ``X``) as terms ``d_j(v) Q_j`` (1/s);
        None when Brian2 cannot split the equation (then only Euler is possible).
    equation : str
        The equation as written.
    unless_refractory : bool
        Brian2's ``(unless refractory)`` flag.
    unit : brian2 Dimension
        The state's physical dimension.
    """

    name: str
    kind: str
    terms: tuple[Term, ...]
    rate_terms: tuple[Term, ...] | None
    equation: str
    unless_refractory: bool = False
    unit: object = None

    @property
    def constant_rate(self) -> float | None:
        """``A`` when it is a constant (a fixed decay), else None."""
        if self.rate_terms is None:
            return None
        if not self.rate_terms:
            return 0.0
        if len(self.rate_terms) == 1 and not self.rate_terms[0].monomial:
            return self.rate_terms[0].constant
        return None

    @property
    def per_neuron_rate(self) -> sympy.Expr | None:
        """``A`` when it is a per-neuron constant (a decay ``-1/tau`` with ``tau`` per neuron), else None."""
        if self.rate_terms is None or len(self.rate_terms) != 1 or self.rate_terms[0].monomial:
            return None
        return self.rate_terms[0].per_neuron_constant


@dataclass(frozen=True)
class Condition:
    """A threshold-like condition ``variable <op> value`` with value in SI units.

    ``bound``: the value as an expression of per-neuron parameters (``v > vt`` with ``vt``
    per neuron); ``value`` is then NaN.
    """

    variable: str
    op: str
    value: float
    text: str
    bound: sympy.Expr | None = None

    def holds(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the condition on an array of the variable's values (SI)."""
        return x > self.value if self.op == ">" else x >= self.value


@dataclass(frozen=True)
class Refractoriness:
    """Refractoriness as Brian2 defines it: a condition or a duration (s).

    ``per_neuron``: the duration as an expression of per-neuron parameters (``refractory='tref'``
    with ``tref : second`` per neuron); ``duration`` is then None.
    """

    condition: Condition | None = None
    duration: float | None = None
    text: str = ""
    per_neuron: sympy.Expr | None = None


@dataclass(frozen=True)
class ResetStatement:
    """``name = value`` or ``name += value`` (SI) applied after a spike."""

    name: str
    op: str
    value: float

    @property
    def text(self) -> str:
        """Brian2 code of the statement in SI units (the unit is appended by the caller)."""
        return f"{self.name} {self.op} {self.value!r}"


@dataclass(frozen=True)
class NeuronSpec:
    """Frozen IR of a conductance-based point neuron.

    Attributes
    ----------
    name : str
        Model name.
    voltage : str
        Name of the membrane-potential variable.
    gates : tuple of GateSpec
        Gating variables in the order of the model file.
    equations_of : tuple of StateEquation
        The voltage equation first, then the linear states in the order of the model file.
    inputs : tuple of InputSpec
        External inputs (the stimulus first).
    currents : tuple of str
        Names of the subexpressions with the dimension of a current (density).
    threshold : Condition or None
        Spike condition on the voltage; None: the neuron never spikes (a Brian2 group without
        a threshold), so it has no reset and no refractoriness.
    refractory : Refractoriness or None
        Refractoriness, if any.
    reset : tuple of ResetStatement
        Statements applied after a spike.
    equations : str
        The Brian2 equations as written.
    declared_parameters : tuple of str
        Parameters declared in the equations (``g_L : siemens/meter**2``) whose value comes
        from the model file; Brian2 gets them as group variables (``group.g_L = value``).
    per_neuron : tuple of str
        Declared parameters with a value per neuron that are no drive input (a time constant,
        a threshold, a refractory period): symbols (:func:`parameter_symbol`) in the IR's
        coefficients, threshold and refractoriness; per-neuron registers in fixed point.
    """

    name: str
    voltage: str
    gates: tuple[GateSpec, ...]
    equations_of: tuple[StateEquation, ...]
    inputs: tuple[InputSpec, ...]
    currents: tuple[str, ...]
    threshold: Condition | None
    refractory: Refractoriness | None
    reset: tuple[ResetStatement, ...]
    equations: str
    declared_parameters: tuple[str, ...] = ()
    per_neuron: tuple[str, ...] = ()

    @property
    def linear_states(self) -> tuple[StateEquation, ...]:
        """The linear (non-gate, non-voltage) states."""
        return self.equations_of[1:]

    @property
    def voltage_equation(self) -> StateEquation:
        """The membrane equation."""
        return self.equations_of[0]

    @property
    def state_names(self) -> tuple[str, ...]:
        """Voltage first, then the gates, then the linear states."""
        return (self.voltage,) + tuple(g.name for g in self.gates) + tuple(s.name for s in self.linear_states)

    @property
    def input(self) -> str:
        """Name of the stimulus input (the first input)."""
        return self.inputs[0].name

    @property
    def stimulus(self) -> InputSpec:
        """The input that receives the model file's stimulus."""
        return self.inputs[0]

    def summary(self) -> dict:
        """Plain-data description for reports."""
        def terms(equation: StateEquation) -> list[dict]:
            return [{"monomial": dict(t.monomial), "lowering": "affine" if t.affine is not None else "table"}
                    for t in equation.terms]

        return {
            "name": self.name,
            "voltage": self.voltage,
            "inputs": {i.name: i.state for i in self.inputs},
            "gates": {g.name: g.form for g in self.gates},
            "linear_states": [s.name for s in self.linear_states],
            "terms": {e.name: terms(e) for e in self.equations_of},
            "currents": list(self.currents),
            "threshold": self.threshold.text if self.threshold else None,
            "refractory": self.refractory.text if self.refractory else None,
            "reset": [r.text for r in self.reset],
        }
