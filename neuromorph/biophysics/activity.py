"""Ionic strength and activity coefficients (Debye-Hueckel limiting law, Davies)."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._checks import nonzero_valence, positive, same_length
from .constants import ZERO_CELSIUS

ACTIVITY_MODELS = ("debye_huckel", "davies")


def ionic_strength(concentrations, valences) -> float:
    """``I = 1/2 sum_i c_i z_i^2`` in the units of ``concentrations`` (mol/m^3 = mM)."""
    same_length(concentrations=concentrations, valences=valences)
    c = np.asarray(concentrations, dtype=float)
    if np.any(c < 0):
        raise InputError(f"concentrations must be >= 0, got {concentrations!r}")
    return float(0.5 * np.sum(c * np.asarray(valences, dtype=float) ** 2))


def debye_huckel_a(T) -> np.ndarray:
    """Debye-Hueckel constant ``A`` (log10 units, (mol/L)^-1/2) of water at temperature ``T`` (K).

    ``A = 1.82e6 (eps_r T)^-3/2`` with the relative permittivity of water
    ``eps_r(T) = 87.74 - 0.40008 t + 9.398e-4 t^2 - 1.41e-6 t^3`` (``t`` in degC; Malmberg &
    Maryott 1956). Gives A = 0.509 at 25 C and 0.521 at 37 C.
    """
    t = np.asarray(T, dtype=float) - ZERO_CELSIUS
    eps = 87.74 - 0.40008 * t + 9.398e-4 * t**2 - 1.41e-6 * t**3
    return 1.8248e6 * (eps * np.asarray(T, dtype=float)) ** -1.5


def activity_coefficient(ionic_strength, z, T, model: str = "davies"):
    """Single-ion activity coefficient ``gamma`` in an aqueous solution.

    ``log10 gamma = -A z^2 sqrt(I)`` (Debye-Hueckel limiting law, valid below ~1 mM) or
    ``log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I)`` (Davies 1962, useful to ~0.5 M),
    with ``I`` in mol/L and ``A(T)`` from :func:`debye_huckel_a`.

    Parameters
    ----------
    ionic_strength : float or array_like
        Ionic strength in mol/m^3 (= mM); converted to mol/L inside.
    z : int
        Valence.
    T : float
        Temperature (K).
    model : {"davies", "debye_huckel"}

    Returns
    -------
    float or ndarray
        Dimensionless activity coefficient (1 at infinite dilution).
    """
    if model not in ACTIVITY_MODELS:
        raise InputError(f"model must be one of {list(ACTIVITY_MODELS)}, got {model!r}")
    strength = np.asarray(ionic_strength, dtype=float)
    if np.any(strength < 0):
        raise InputError(f"ionic strength must be >= 0, got {ionic_strength!r}")
    z, T = nonzero_valence(z), positive("temperature T", T)
    root = np.sqrt(strength / 1000.0)
    shape = root if model == "debye_huckel" else root / (1 + root) - 0.3 * root**2
    result = 10.0 ** (-debye_huckel_a(T) * z**2 * shape)
    return float(result) if np.ndim(result) == 0 else result
