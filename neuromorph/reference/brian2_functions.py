"""Membrane-physics functions usable inside Brian2 equations (numpy code generation).

``ghk_current(P, z, v, c_in, c_out, T)`` and
``woodhull_unblocked_fraction(v, B, K_d0, z_blocker, delta, T)``: Brian2 checks the units of
their arguments; the values go to :mod:`neuromorph.biophysics` in SI units. The lowering
tabulates them over the voltage like any other nonlinear function of ``v``.
"""
from __future__ import annotations

import brian2
import numpy as np

from .. import biophysics

CONCENTRATION = brian2.mole / brian2.meter**3


def _si(*values):
    return [np.asarray(value, dtype=float) for value in values]


def _ghk_current(P, z, V, c_in, c_out, T):
    return biophysics.ghk_current(*_si(P, z, V, c_in, c_out, T)) * brian2.amp / brian2.meter**2


def _woodhull_unblocked_fraction(V, blocker, K_d0, z, delta, T):
    v, b, k, valence, d, t = _si(V, blocker, K_d0, z, delta, T)
    return biophysics.woodhull_unblocked_fraction(v, b, k, valence, float(d), t)


#: GHK current density, outward positive (see :func:`neuromorph.biophysics.ghk_current`).
ghk_current = brian2.Function(
    _ghk_current, arg_units=[brian2.meter / brian2.second, 1, brian2.volt, CONCENTRATION, CONCENTRATION, brian2.kelvin],
    return_unit=brian2.amp / brian2.meter**2, stateless=True)

#: Unblocked fraction (see :func:`neuromorph.biophysics.woodhull_unblocked_fraction`).
woodhull_unblocked_fraction = brian2.Function(
    _woodhull_unblocked_fraction, arg_units=[brian2.volt, CONCENTRATION, CONCENTRATION, 1, 1, brian2.kelvin],
    return_unit=1, stateless=True)

BRIAN2_FUNCTIONS = {"ghk_current": ghk_current, "woodhull_unblocked_fraction": woodhull_unblocked_fraction}
