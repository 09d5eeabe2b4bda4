"""Boltzmann voltage gating with gating charge and temperature; Q10 temperature scaling."""
from __future__ import annotations

import numpy as np

from ._checks import positive
from .constants import thermal_voltage


def boltzmann_open_probability(V, V_half, z_gating, T):
    """Equilibrium open probability of a two-state channel.

    ``P_open = 1 / (1 + exp(-z F (V - V_half) / (R T)))`` with ``z`` the effective gating
    charge (elementary charges moved across the field) and ``T`` in kelvin. The slope at
    ``V_half`` is ``z F / (4 R T)`` per volt; a larger charge or a lower temperature makes
    the curve steeper. Reference: Hille (2001), ch. 2 and 18.

    Parameters
    ----------
    V, V_half : array_like
        Membrane potential and half-activation voltage (V).
    z_gating : float
        Gating charge (elementary charges; negative for inactivation).
    T : float
        Temperature (K).
    """
    T = positive("temperature T", T)
    result = 1.0 / (1.0 + np.exp(-z_gating * (np.asarray(V, dtype=float) - V_half) / thermal_voltage(T)))
    return float(result) if np.ndim(result) == 0 else result


def q10_factor(T, T_ref, q10):
    """Rate scaling ``q10 ** ((T - T_ref) / 10 K)`` (temperatures in K or both in degC).

    E.g. the squid axon kinetics measured at 6.3 C run 3**((18.5 - 6.3)/10) = 3.82 times
    faster at 18.5 C with Q10 = 3 (Hodgkin & Huxley 1952).
    """
    positive("q10", q10)
    result = q10 ** ((np.asarray(T, dtype=float) - T_ref) / 10.0)
    return float(result) if np.ndim(result) == 0 else result
