"""Input validation shared by the biophysics functions."""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def positive(name: str, value) -> np.ndarray:
    """``value`` as a float array, all entries > 0 and finite, else a ValueError naming it."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise InputError(f"{name} must be positive and finite, got {value!r}")
    return array


def nonzero_valence(z) -> np.ndarray:
    """Valences must be non-zero integers."""
    array = np.asarray(z, dtype=float)
    if np.any(array == 0) or np.any(array != np.round(array)):
        raise InputError(f"valence must be a non-zero integer, got {z!r}")
    return array


def same_length(**arrays) -> int:
    """All 1-D sequences of one length; returns it."""
    lengths = {name: np.atleast_1d(np.asarray(a)).shape for name, a in arrays.items()}
    if len(set(lengths.values())) != 1 or any(len(shape) != 1 for shape in lengths.values()):
        raise InputError(f"expected 1-D sequences of equal length, got shapes {lengths}")
    return next(iter(lengths.values()))[0]
