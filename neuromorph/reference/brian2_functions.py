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


@brian2.check_units(P=brian2.meter / brian2.second, z=1, V=brian2.volt, c_in=CONCENTRATION, c_out=CONCENTRATION,
                    T=brian2.kelvin, result=brian2.amp / brian2.meter**2)
def ghk_current(P, z, V, c_in, c_out, T):
    """GHK current density, outward positive (see :func:`neuromorph.biophysics.ghk_current`)."""
    return biophysics.ghk_current(*_si(P, z, V, c_in, c_out, T)) * brian2.amp / brian2.meter**2


@brian2.check_units(V=brian2.volt, blocker=CONCENTRATION, K_d0=CONCENTRATION, z=1, delta=1, T=brian2.kelvin, result=1)
def woodhull_unblocked_fraction(V, blocker, K_d0, z, delta, T):
    """Unblocked fraction (see :func:`neuromorph.biophysics.woodhull_unblocked_fraction`)."""
    v, b, k, valence, d, t = _si(V, blocker, K_d0, z, delta, T)
    return biophysics.woodhull_unblocked_fraction(v, b, k, valence, float(d), t)


BRIAN2_FUNCTIONS = {"ghk_current": ghk_current, "woodhull_unblocked_fraction": woodhull_unblocked_fraction}
