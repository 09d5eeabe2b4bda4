"""Membrane-physics functions usable inside Brian2 equations (numpy code generation).

``ghk_current(P, z, v, c_in, c_out, T)`` and
``woodhull_unblocked_fraction(v, B, K_d0, z_blocker, delta, T)``: Brian2 checks the units of
their arguments when it generates code; at run time the values (SI, without units) go to
:mod:`neuromorph.biophysics`. The lowering tabulates them over the voltage like any other
nonlinear function of ``v``.

Brian2 2.9 runs a function without a numpy implementation of its own (its ``exprel``,
``expm1``, ``log1p``) in a wrapper that checks the units of the result at every call, and
builds the text of the error message, the whole result array printed, before checking it:
20 of the 25 s of a 20,000-step squid reference on the numpy target. The units were checked
when the code was generated, so :func:`numpy_functions_without_unit_checks` sets Brian2's own
preference ``codegen.runtime.numpy.discard_units`` while neuromorph runs Brian2: Brian2 then
gives such a function the same code without the wrapper (the same numbers).
"""
from __future__ import annotations

from contextlib import contextmanager

import brian2
import numpy as np

from .. import biophysics

CONCENTRATION = brian2.mole / brian2.meter**3


def _si(*values):
    return [np.asarray(value, dtype=float) for value in values]


def _ghk_current_si(P, z, V, c_in, c_out, T):
    """GHK current density (A/m^2) of SI values without units: Brian2's numpy implementation."""
    return biophysics.ghk_current(*_si(P, z, V, c_in, c_out, T))


def _woodhull_unblocked_fraction_si(V, blocker, K_d0, z, delta, T):
    """Unblocked fraction of SI values without units: Brian2's numpy implementation."""
    v, b, k, valence, d, t = _si(V, blocker, K_d0, z, delta, T)
    return np.asarray(biophysics.woodhull_unblocked_fraction(v, b, k, valence, float(d), t), dtype=float)


def _ghk_current(P, z, V, c_in, c_out, T):
    return _ghk_current_si(P, z, V, c_in, c_out, T) * brian2.amp / brian2.meter**2


#: GHK current density, outward positive (see :func:`neuromorph.biophysics.ghk_current`).
ghk_current = brian2.Function(
    _ghk_current, arg_units=[brian2.meter / brian2.second, 1, brian2.volt, CONCENTRATION, CONCENTRATION, brian2.kelvin],
    return_unit=brian2.amp / brian2.meter**2, stateless=True)
ghk_current.implementations.add_implementation("numpy", code=_ghk_current_si)

#: Unblocked fraction (see :func:`neuromorph.biophysics.woodhull_unblocked_fraction`).
woodhull_unblocked_fraction = brian2.Function(
    _woodhull_unblocked_fraction_si, arg_units=[brian2.volt, CONCENTRATION, CONCENTRATION, 1, 1, brian2.kelvin],
    return_unit=1, stateless=True)
woodhull_unblocked_fraction.implementations.add_implementation("numpy", code=_woodhull_unblocked_fraction_si)

DISCARD_UNITS = "codegen.runtime.numpy.discard_units"


@contextmanager
def numpy_functions_without_unit_checks():
    """Set Brian2's ``codegen.runtime.numpy.discard_units`` for the block, and restore it after.

    Brian2 reads the preference when a numpy code object first uses a function that has no
    numpy implementation, and keeps the implementation it made for the rest of the process:
    a function a numpy run used earlier without the preference keeps its unit checks (slower,
    the same numbers).
    """
    before = brian2.prefs[DISCARD_UNITS]
    brian2.prefs[DISCARD_UNITS] = True
    try:
        yield
    finally:
        brian2.prefs[DISCARD_UNITS] = before


BRIAN2_FUNCTIONS = {"ghk_current": ghk_current, "woodhull_unblocked_fraction": woodhull_unblocked_fraction}
