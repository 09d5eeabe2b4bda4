"""Goldman-Hodgkin-Katz voltage and current equations."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._checks import nonzero_valence, positive, same_length
from .constants import FARADAY, thermal_voltage


def ghk_voltage(permeabilities, c_out, c_in, valences, T) -> float:
    """Resting potential of a membrane permeable to several monovalent ions (GHK voltage equation).

    ``V = (RT/F) ln[(sum_cations P c_out + sum_anions P c_in) / (sum_cations P c_in + sum_anions P c_out)]``

    Assumes independent ions crossing a constant-field membrane and zero net current
    (Goldman 1943; Hodgkin & Katz 1949). Only valences +1 and -1 have this closed form.

    Parameters
    ----------
    permeabilities : sequence of float
        Permeabilities (m/s, or relative values: only ratios matter).
    c_out, c_in : sequence of float
        Concentrations outside and inside (mol/m^3).
    valences : sequence of int
        +1 or -1 for each ion.
    T : float
        Temperature (K).

    Returns
    -------
    float
        Potential in volts.
    """
    same_length(permeabilities=permeabilities, c_out=c_out, c_in=c_in, valences=valences)
    z = np.asarray(valences, dtype=float)
    if not np.all(np.abs(z) == 1):
        raise InputError(f"ghk_voltage has a closed form for monovalent ions only (valences +1/-1), got {valences!r}; "
                         "with divalent ions solve ghk_current(...) summed = 0 numerically")
    P = np.asarray(permeabilities, dtype=float)
    if np.any(P < 0) or not np.any(P > 0):
        raise InputError(f"permeabilities must be >= 0 with at least one positive, got {permeabilities!r}")
    c_out, c_in, T = positive("c_out", c_out), positive("c_in", c_in), positive("temperature T", T)
    cations, anions = z > 0, z < 0
    numerator = np.sum(P[cations] * c_out[cations]) + np.sum(P[anions] * c_in[anions])
    denominator = np.sum(P[cations] * c_in[cations]) + np.sum(P[anions] * c_out[anions])
    return float(thermal_voltage(T) * np.log(numerator / denominator))


def _inverse_exprel(x: np.ndarray) -> np.ndarray:
    """``x / (exp(x) - 1)`` computed stably, with its limit 1 at ``x = 0``."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2.0, safe / np.expm1(safe))


def ghk_current(P, z, V, c_in, c_out, T):
    """GHK current density of one ion (A/m^2, outward positive).

    ``I = P z F u (c_in - c_out exp(-u)) / (1 - exp(-u))`` with ``u = z F V / (R T)``,
    i.e. ``P z^2 F^2 V/(RT) (c_in - c_out e^-u)/(1 - e^-u)``. Evaluated as
    ``P z F (c_in - c_out e^-u) * (-u)/(exp(-u) - 1)``, which is finite and smooth through
    ``V = 0`` where it equals ``P z F (c_in - c_out)``. It vanishes at the Nernst potential.

    Parameters
    ----------
    P : float
        Permeability (m/s).
    z : int
        Valence.
    V : array_like
        Membrane potential, inside minus outside (V).
    c_in, c_out : float
        Concentrations (mol/m^3).
    T : float
        Temperature (K).
    """
    if np.any(np.asarray(P, dtype=float) < 0):
        raise InputError(f"permeability must be >= 0, got {P!r}")
    z, T = nonzero_valence(z), positive("temperature T", T)
    c_in, c_out = positive("c_in", c_in), positive("c_out", c_out)
    u = z * np.asarray(V, dtype=float) / thermal_voltage(T)
    result = P * z * FARADAY * (c_in - c_out * np.exp(-u)) * _inverse_exprel(-u)
    return float(result) if np.ndim(result) == 0 else result
