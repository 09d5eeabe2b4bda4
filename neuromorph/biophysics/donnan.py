"""Donnan equilibrium of a cell with impermeant anions in a bath of permeant salt."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ._checks import positive
from .constants import thermal_voltage


@dataclass(frozen=True)
class DonnanEquilibrium:
    """Inside concentrations (mol/m^3) and the Donnan potential (V, inside minus outside)."""

    cation_in: float
    anion_in: float
    potential: float


def donnan_equilibrium(c_salt_out, c_impermeant_in, z_impermeant, T) -> DonnanEquilibrium:
    """Donnan equilibrium for a permeant 1:1 salt (e.g. KCl) and impermeant anions inside.

    Conditions: electroneutrality inside, ``c_K,in = c_Cl,in + |z_A| A``, and outside
    (``c_K,out = c_Cl,out = c``); both permeant ions at equilibrium, which gives the Donnan
    product rule ``c_K,in c_Cl,in = c^2``. Hence
    ``c_Cl,in = (-|z_A| A + sqrt(z_A^2 A^2 + 4 c^2)) / 2`` and the potential is the Nernst
    potential of either ion, ``V = (RT/F) ln(c / c_K,in)``. Water movement (the osmotic
    imbalance the Donnan state implies) is ignored. Reference: Hille (2001), ch. 14; Keener &
    Sneyd, *Mathematical Physiology* (2009), sec. 2.6.

    Parameters
    ----------
    c_salt_out : float
        Bath salt concentration (mol/m^3).
    c_impermeant_in : float
        Concentration of impermeant anions inside (mol/m^3), may be 0.
    z_impermeant : int
        Their (negative) charge number.
    T : float
        Temperature (K).
    """
    c = float(positive("c_salt_out", c_salt_out))
    A = float(c_impermeant_in)
    if A < 0:
        raise InputError(f"c_impermeant_in must be >= 0, got {c_impermeant_in!r}")
    if z_impermeant >= 0 or z_impermeant != int(z_impermeant):
        raise InputError(f"z_impermeant must be a negative integer (impermeant anions), got {z_impermeant!r}")
    T = float(positive("temperature T", T))
    fixed = abs(z_impermeant) * A
    anion = 0.5 * (-fixed + np.sqrt(fixed**2 + 4 * c**2))
    cation = anion + fixed
    return DonnanEquilibrium(cation_in=float(cation), anion_in=float(anion),
                             potential=float(thermal_voltage(T) * np.log(c / cation)))
