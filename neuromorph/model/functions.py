"""The functions a model's equations may call beyond Brian2's math, with every implementation side by side.

Each :class:`ModelFunction` holds, for one name of the model language:

* ``numpy``: the vectorised implementation on SI values without units. The lowering
  tabulates expressions with it (:func:`neuromorph.model.neuron_spec.compile_expression`),
  the numpy float kernel evaluates them with it, and it is the implementation Brian2's
  numpy target runs;
* ``scalar``: the same function on one float in plain-Python ``math``, numba-compatible.
  Its source (and its ``helpers``' source) is copied into the generated float kernel
  (:mod:`neuromorph.quantization.float_codegen`), so the compiled code is this code;
* ``brian2_units``: the units Brian2 checks the arguments and result against when it
  generates code (None for a function Brian2 defines itself, ``exprel``); the Brian2
  ``Function`` is built from them on first use (:func:`brian2_function`).

====================================  ===========================================================
function                              equation (SI)
====================================  ===========================================================
``exprel(x)``                         ``(exp(x) - 1) / x``, 1 at ``x = 0``
``ghk_current(P, z, V, ci, co, T)``   ``P z F (ci - co e^-u) (-u)/(e^-u - 1)``, ``u = z F V/(R T)``:
                                      A/m^2, outward positive
``woodhull_unblocked_fraction(V, B,   ``1 / (1 + B / K_d(V))``, ``K_d = K_d0 exp(-delta z F V/(R T))``
K_d0, z, delta, T)``
====================================  ===========================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Callable

import numpy as np

from .. import biophysics
from ..biophysics.constants import FARADAY, GAS_CONSTANT

#: ``|x|`` below which ``exprel`` uses its series ``1 + x/2`` (both implementations).
EXPREL_SERIES = 1e-9
#: ``|x|`` below which ``x / (exp(x) - 1)`` uses its series ``1 - x/2``.
INVERSE_EXPREL_SERIES = 1e-8


# -- numpy implementations (SI values without units) -----------------------------------------
def exprel(x: np.ndarray) -> np.ndarray:
    """Relative error exponential ``(exp(x) - 1) / x`` (dimensionless) with its limit 1 at ``x = 0``."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < EXPREL_SERIES
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + x / 2.0, np.expm1(safe) / safe)


def _as_arrays(*values) -> list[np.ndarray]:
    return [np.asarray(value, dtype=float) for value in values]


def ghk_current(P, z, V, c_in, c_out, T) -> np.ndarray:
    """GHK current density (A/m^2, outward positive) of SI values: :func:`neuromorph.biophysics.ghk_current`."""
    return np.asarray(biophysics.ghk_current(*_as_arrays(P, z, V, c_in, c_out, T)), dtype=float)


def woodhull_unblocked_fraction(V, blocker_conc, K_d0, z_blocker, delta, T) -> np.ndarray:
    """Unblocked fraction (1) of SI values: :func:`neuromorph.biophysics.woodhull_unblocked_fraction`."""
    v, b, k, valence, d, t = _as_arrays(V, blocker_conc, K_d0, z_blocker, delta, T)
    return np.asarray(biophysics.woodhull_unblocked_fraction(v, b, k, valence, float(d), t), dtype=float)


# -- scalar implementations (plain math: copied into the generated numba kernels) ------------
def scalar_exprel(x):
    """``(exp(x) - 1) / x`` of one float, ``1 + x/2`` for ``|x| <`` :data:`EXPREL_SERIES`."""
    if abs(x) < EXPREL_SERIES:
        return 1.0 + x / 2.0
    return math.expm1(x) / x


def scalar_inverse_exprel(x):
    """``x / (exp(x) - 1)`` of one float, ``1 - x/2`` for ``|x| <`` :data:`INVERSE_EXPREL_SERIES`."""
    if abs(x) < INVERSE_EXPREL_SERIES:
        return 1.0 - x / 2.0
    return x / math.expm1(x)


def scalar_ghk_current(P, z, V, c_in, c_out, T):
    """GHK current density (A/m^2) of floats: ``P z F (c_in - c_out e^-u) (-u)/(e^-u - 1)``, ``u = z F V/(R T)``."""
    u = z * V / (GAS_CONSTANT * T / FARADAY)
    return P * z * FARADAY * (c_in - c_out * math.exp(-u)) * scalar_inverse_exprel(-u)


def scalar_woodhull_unblocked_fraction(V, blocker_conc, K_d0, z_blocker, delta, T):
    """Unblocked fraction of floats: ``1 / (1 + B / (K_d0 exp(-delta z F V/(R T))))``."""
    K_d = K_d0 * math.exp(-delta * z_blocker * V / (GAS_CONSTANT * T / FARADAY))
    return 1.0 / (1.0 + blocker_conc / K_d)


#: Module constants the scalar implementations read (defined in the generated module too).
SCALAR_CONSTANTS = {"FARADAY": FARADAY, "GAS_CONSTANT": GAS_CONSTANT, "EXPREL_SERIES": EXPREL_SERIES,
                    "INVERSE_EXPREL_SERIES": INVERSE_EXPREL_SERIES}


# -- Brian2 units (built on first use: importing brian2 is slow) -------------------------------
def _ghk_current_units():
    import brian2
    concentration = brian2.mole / brian2.meter**3
    return ([brian2.meter / brian2.second, 1, brian2.volt, concentration, concentration, brian2.kelvin],
            brian2.amp / brian2.meter**2)


def _woodhull_units():
    import brian2
    concentration = brian2.mole / brian2.meter**3
    return [brian2.volt, concentration, concentration, 1, 1, brian2.kelvin], 1


@dataclass(frozen=True)
class ModelFunction:
    """One function of the model language (see the module docstring).

    Attributes
    ----------
    name : str
        Its name in the equations.
    numpy : callable
        Vectorised implementation on SI values.
    scalar : callable
        numba-compatible implementation on floats (plain ``math``).
    helpers : tuple of callable
        Scalar functions ``scalar`` calls (copied into generated code before it).
    brian2_units : callable or None
        ``() -> (argument units, result unit)`` for a function neuromorph adds to Brian2's
        namespace; None for one Brian2 defines (``exprel``).
    """

    name: str
    numpy: Callable
    scalar: Callable
    helpers: tuple[Callable, ...] = ()
    brian2_units: Callable | None = None

    @property
    def added_to_brian2(self) -> bool:
        """Whether neuromorph adds it to Brian2's namespace (Brian2 does not define it)."""
        return self.brian2_units is not None


MODEL_FUNCTIONS: dict[str, ModelFunction] = {f.name: f for f in (
    ModelFunction("exprel", exprel, scalar_exprel),
    ModelFunction("ghk_current", ghk_current, scalar_ghk_current, (scalar_inverse_exprel,), _ghk_current_units),
    ModelFunction("woodhull_unblocked_fraction", woodhull_unblocked_fraction, scalar_woodhull_unblocked_fraction,
                  (), _woodhull_units),
)}

#: Names neuromorph adds to the Brian2 namespace of every model.
ADDED_TO_BRIAN2 = tuple(name for name, f in MODEL_FUNCTIONS.items() if f.added_to_brian2)


@cache
def brian2_function(name: str):
    """The Brian2 ``Function`` of ``name``: one object per process (Brian2 and the importer compare identity).

    Brian2's own for ``exprel``; for the others a stateless function whose units Brian2
    checks at code generation and whose numpy implementation is :attr:`ModelFunction.numpy`
    (values without units, so Brian2 runs it without a unit-checking wrapper).
    """
    from brian2 import Function
    from brian2.core.functions import DEFAULT_FUNCTIONS

    entry = MODEL_FUNCTIONS[name]
    if entry.brian2_units is None:
        return DEFAULT_FUNCTIONS[name]
    arg_units, return_unit = entry.brian2_units()

    def with_units(*args):
        return entry.numpy(*(np.asarray(a) for a in args)) * return_unit

    function = Function(with_units, arg_units=arg_units, return_unit=return_unit, stateless=True)
    function.implementations.add_implementation("numpy", code=entry.numpy)
    return function
