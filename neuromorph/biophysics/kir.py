"""Voltage-dependent pore block (Woodhull 1973), as in inward rectifier (Kir) channels."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._checks import positive
from .constants import GAS_CONSTANT, thermal_voltage


def woodhull_unblocked_fraction(V, blocker_conc, K_d0, z_blocker, delta, T):
    """Fraction of channels not blocked by a charged pore blocker.

    ``f = 1 / (1 + [B] / K_d(V))`` with ``K_d(V) = K_d0 exp(-delta z F V / (R T))``: a
    blocker of valence ``z`` binds at a site a fraction ``delta`` of the way through the
    membrane field from the side it enters. For an *internal* cationic blocker (Mg2+ or
    polyamines in Kir channels: ``z > 0``, ``delta`` measured from the inside), depolarisation
    pushes it into the pore, so ``K_d`` falls and block grows: the channel passes inward
    current but little outward current (inward rectification). ``delta = 0`` makes the
    block voltage independent. Reference: Woodhull, J. Gen. Physiol. 61:687 (1973);
    Lopatin, Makhina & Nichols, Nature 372:366 (1994).

    Parameters
    ----------
    V : array_like
        Membrane potential (V).
    blocker_conc : float
        Blocker concentration (mol/m^3).
    K_d0 : float
        Dissociation constant at 0 mV (mol/m^3).
    z_blocker : float
        Blocker valence.
    delta : float
        Electrical distance of the binding site, 0..1.
    T : float
        Temperature (K).
    """
    K_d0, T = positive("K_d0", K_d0), positive("temperature T", T)
    if np.any(np.asarray(blocker_conc) < 0):
        raise InputError(f"blocker concentration must be >= 0, got {blocker_conc!r}")
    if not 0 <= delta <= 1:
        raise InputError(f"delta (electrical distance) must lie in [0, 1], got {delta!r}")
    K_d = K_d0 * np.exp(-delta * z_blocker * np.asarray(V, dtype=float) / thermal_voltage(T))
    result = 1.0 / (1.0 + blocker_conc / K_d)
    return float(result) if np.ndim(result) == 0 else result


def selectivity_ratio(delta_G_dehydration, T):
    """Permeability ratio ``P_X / P_Y = exp(-dG / (R T))`` from a free-energy difference (J/mol).

    A deliberate simplification of Eisenman's theory of selectivity: the ion whose
    dehydration plus binding in the filter costs ``dG`` more crosses ``exp(-dG/RT)`` times
    as often, all else (barrier shape, occupancy) equal. E.g. ``dG = 10 kJ/mol`` at 37 C
    gives a ratio of 0.021.
    """
    T = positive("temperature T", T)
    result = np.exp(-np.asarray(delta_G_dehydration, dtype=float) / (GAS_CONSTANT * T))
    return float(result) if np.ndim(result) == 0 else result



