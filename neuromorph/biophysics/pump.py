"""Electrogenic Na/K pump: its current and the steady state it produces."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._checks import positive
from .constants import thermal_voltage


def pump_current(I_max, na_in, k_out, K_na=10.0, K_k=1.5):
    """Net outward current density (A/m^2) of the 3 Na : 2 K pump.

    ``I = I_max (Na_i/(Na_i + K_Na))^3 (K_o/(K_o + K_K))^2``: each cycle moves one net
    positive charge out; occupancy of three internal Na sites and two external K sites is
    taken as independent (a common simplification, e.g. Keener & Sneyd 2009, ch. 2;
    half-saturations ``K_Na = 10 mM``, ``K_K = 1.5 mM`` as in Luo & Rudy 1994).
    Voltage dependence of the pump is neglected.

    Parameters
    ----------
    I_max : float
        Maximal pump current density (A/m^2).
    na_in, k_out : array_like
        Internal Na+ and external K+ concentrations (mol/m^3).
    K_na, K_k : float
        Half-saturation concentrations (mol/m^3).
    """
    if I_max < 0:
        raise InputError(f"I_max must be >= 0, got {I_max!r}")
    na_in, k_out = positive("na_in", na_in), positive("k_out", k_out)
    K_na, K_k = positive("K_na", K_na), positive("K_k", K_k)
    result = I_max * (na_in / (na_in + K_na)) ** 3 * (k_out / (k_out + K_k)) ** 2
    return float(result) if np.ndim(result) == 0 else result


def pump_resting_potential(P_K, P_Na, k_out, k_in, na_out, na_in, T, r=1.5) -> float:
    """Steady-state potential with an electrogenic pump of coupling ratio ``r`` (Mullins & Noda 1963).

    ``V = (RT/F) ln[(r P_K K_o + P_Na Na_o) / (r P_K K_i + P_Na Na_i)]``: with passive
    K and Na fluxes (GHK) and a pump moving ``r`` Na out per K in (``r = 3/2`` for 3 Na : 2 K),
    zero net current and constant concentrations. ``r = 1`` (electroneutral pump) gives the
    GHK potential; ``r -> infinity`` gives E_K. The potential lies between them.

    Parameters
    ----------
    P_K, P_Na : float
        Permeabilities (only their ratio matters).
    k_out, k_in, na_out, na_in : float
        Concentrations (mol/m^3).
    T : float
        Temperature (K).
    r : float
        Na/K coupling ratio (> 0).
    """
    P_K, P_Na, r = positive("P_K", P_K), positive("P_Na", P_Na), positive("r", r)
    k_out, k_in = positive("k_out", k_out), positive("k_in", k_in)
    na_out, na_in = positive("na_out", na_out), positive("na_in", na_in)
    T = positive("temperature T", T)
    return float(thermal_voltage(T) * np.log((r * P_K * k_out + P_Na * na_out) / (r * P_K * k_in + P_Na * na_in)))
