"""The neuron IR: what the lowering found in a conductance-based model.

All expressions are sympy expressions in the single free symbol ``v`` (the membrane
potential in volts) with every parameter and unit already replaced by its SI value, so
they can be tabulated over a voltage grid or evaluated exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from .. import biophysics

#: The sympy symbol every IR expression is written in: membrane potential in volts.
V = sympy.Symbol("v", real=True)


def exprel(x: np.ndarray) -> np.ndarray:
    """Relative error exponential ``(exp(x) - 1) / x`` with its limit 1 at ``x = 0``."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-9
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + x / 2.0, np.expm1(safe) / safe)


#: numpy implementations of the Brian2 functions allowed in lowered expressions.
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "exprel": exprel,
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
    "ghk_current": biophysics.ghk_current,
    "woodhull_unblocked_fraction": biophysics.woodhull_unblocked_fraction,
}


def compile_expression(expr: sympy.Expr) -> Callable[[np.ndarray], np.ndarray]:
    """numpy function of ``v`` (V) computing an IR expression, broadcasting constants."""
    fn = sympy.lambdify([V], expr, modules=[NUMPY_FUNCTIONS, "numpy"])

    def evaluate_on(v):
        v = np.asarray(v, dtype=float)
        return np.broadcast_to(np.asarray(fn(v), dtype=float), v.shape).copy()

    return evaluate_on


def evaluate(expr: sympy.Expr, v: np.ndarray) -> np.ndarray:
    """Evaluate an IR expression of ``v`` (V) on a numpy array (compiles it each call)."""
    return compile_expression(expr)(v)


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
        Steady-state value as a function of ``v`` (dimensionless).
    tau : sympy.Expr
        Time constant as a function of ``v`` (s).
    equation : str
        The equation as written, for error messages and reports.
    """

    name: str
    form: str
    x_inf: sympy.Expr
    tau: sympy.Expr
    equation: str


@dataclass(frozen=True)
class MembraneTerm:
    """One term of ``dv/dt = sum_k c_k(v) * prod_j x_j**p_jk + gain * I_input``.

    Attributes
    ----------
    gate_powers : tuple of (str, int)
        Gates and their powers multiplying the coefficient (empty for leak-like terms).
    coefficient : sympy.Expr
        ``c_k(v)`` in V/s.
    affine : tuple of (float, float) or None
        ``(a, b)`` when ``c_k(v) = a + b v`` exactly (a in V/s, b in 1/s): such terms are
        computed exactly in fixed point; others are tabulated over ``v``.
    """

    gate_powers: tuple[tuple[str, int], ...]
    coefficient: sympy.Expr
    affine: tuple[float, float] | None


@dataclass(frozen=True)
class Condition:
    """A threshold-like condition ``variable <op> value`` with value in SI units."""

    variable: str
    op: str
    value: float
    text: str

    def holds(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the condition on an array of the variable's values (SI)."""
        return x > self.value if self.op == ">" else x >= self.value


@dataclass(frozen=True)
class Refractoriness:
    """Refractoriness as Brian2 defines it: a condition or a duration (s)."""

    condition: Condition | None = None
    duration: float | None = None
    text: str = ""


@dataclass(frozen=True)
class NeuronSpec:
    """Frozen IR of a conductance-based point neuron.

    ``dv/dt = sum_k terms[k] + input_gain * I_input`` with gates from ``gates``.

    Attributes
    ----------
    name : str
        Model name.
    voltage : str
        Name of the membrane-potential variable.
    input : str
        Name of the stimulus variable (a current density, A/m^2).
    input_gain : float
        ``d(dv/dt)/dI_input`` in V/s per A/m^2 (``1/C_m`` for a current density input).
    gates : tuple of GateSpec
        Gating variables in the order of the model file.
    terms : tuple of MembraneTerm
        Membrane-equation terms other than the input.
    currents : tuple of str
        Names of the subexpressions with the dimension of a current density.
    threshold : Condition
        Spike condition on the voltage.
    refractory : Refractoriness or None
        Refractoriness, if any.
    reset : tuple of (str, float)
        Assignments ``variable = value`` (SI) applied after a spike.
    equations : str
        The Brian2 equations as written.
    """

    name: str
    voltage: str
    input: str
    input_gain: float
    gates: tuple[GateSpec, ...]
    terms: tuple[MembraneTerm, ...]
    currents: tuple[str, ...]
    threshold: Condition
    refractory: Refractoriness | None
    reset: tuple[tuple[str, float], ...]
    equations: str

    @property
    def state_names(self) -> tuple[str, ...]:
        """Voltage first, then the gates."""
        return (self.voltage,) + tuple(g.name for g in self.gates)

    def gate_index(self, name: str) -> int:
        """Position of a gate in :attr:`gates`."""
        return [g.name for g in self.gates].index(name)

    def summary(self) -> dict:
        """Plain-data description for reports."""
        return {
            "name": self.name,
            "voltage": self.voltage,
            "input": self.input,
            "gates": {g.name: g.form for g in self.gates},
            "terms": [
                {
                    "gates": {name: power for name, power in t.gate_powers},
                    "lowering": "affine" if t.affine is not None else "table",
                }
                for t in self.terms
            ],
            "currents": list(self.currents),
            "threshold": self.threshold.text,
            "refractory": self.refractory.text if self.refractory else None,
            "reset": {name: value for name, value in self.reset},
        }
