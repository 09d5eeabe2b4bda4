"""Nernst equilibrium potential."""
from __future__ import annotations

import numpy as np

from ._checks import nonzero_valence, positive
from .activity import activity_coefficient
from .constants import thermal_voltage


def nernst(c_out, c_in, z, T, *, activities: bool = False, ionic_strength_out=None, ionic_strength_in=None):
    """Nernst (reversal) potential of an ion, inside relative to outside.

    ``E = (R T / z F) ln(a_out / a_in)`` with activities ``a = gamma c``; for
    ``activities=False`` the activity coefficients are taken as 1 (``a = c``).

    Parameters
    ----------
    c_out, c_in : array_like
        Concentrations outside and inside (mol/m^3 = mM).
    z : int or array_like
        Valence (e.g. +1 for K+, -1 for Cl-, +2 for Ca2+).
    T : float or array_like
        Temperature (K).
    activities : bool
        Correct concentrations by Davies activity coefficients (see
        :func:`activity_coefficient`) computed from the ionic strengths of the two sides.
    ionic_strength_out, ionic_strength_in : float, optional
        Ionic strengths (mol/m^3); required when ``activities`` is True.

    Returns
    -------
    ndarray or float
        Potential in volts. Assumes thermodynamic equilibrium of that one ion across an
        ideal selective membrane. Reference: Hille, *Ion Channels of Excitable Membranes*
        (3rd ed. 2001), ch. 14.
    """
    c_out, c_in = positive("c_out", c_out), positive("c_in", c_in)
    z, T = nonzero_valence(z), positive("temperature T", T)
    ratio = c_out / c_in
    if activities:
        if ionic_strength_out is None or ionic_strength_in is None:
            raise ValueError("activities=True needs ionic_strength_out and ionic_strength_in (mol/m^3)")
        ratio = ratio * (activity_coefficient(ionic_strength_out, z, T) / activity_coefficient(ionic_strength_in, z, T))
    result = thermal_voltage(T) / z * np.log(ratio)
    return float(result) if np.ndim(result) == 0 else result
