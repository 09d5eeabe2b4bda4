"""The counter-based noise of stochastic and dither rounding, compiled with numba once per machine.

The same generator as :func:`neuromorph.quantization.fixed_point.stochastic_noise` (its
constants are read from there): every generated kernel (:mod:`.codegen`) imports these
functions instead of compiling its own copy, which used to cost each stochastic or dither
kernel about a second of compilation. Imported only by generated kernels, so only where
numba is importable.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import fixed_point

_GOLDEN = np.uint64(int(fixed_point._GOLDEN))
_MIX1 = np.uint64(int(fixed_point._MIX1))
_MIX2 = np.uint64(int(fixed_point._MIX2))
_STEP_KEY = np.uint64(int(fixed_point._STEP_KEY))
_STREAM_KEY = np.uint64(int(fixed_point._STREAM_KEY))
_SEED_KEY = np.uint64(int(fixed_point._SEED_KEY))
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S_NOISE = np.uint64(64 - fixed_point.NOISE_BITS)
#: Weyl increment of dither per step (a Python int: the kernels add it in int64 and mask).
WEYL = int(fixed_point._WEYL_STEP)
#: Mask of the NOISE_BITS low bits.
NOISE_MASK = (1 << fixed_point.NOISE_BITS) - 1


@njit(cache=True, nogil=True)
def _splitmix64(x):
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def noise_key(seed, step):
    """Key of one step of the counter-based noise (``fixed_point.stochastic_noise``)."""
    return (np.uint64(seed) * _SEED_KEY) ^ (np.uint64(step) * _STEP_KEY)


@njit(cache=True, nogil=True)
def hashed_noise(key, counter):
    """Uniform int64 in ``[0, 2**62)`` of a step key and a counter (``site * N + neuron``)."""
    return np.int64(_splitmix64(_splitmix64((np.uint64(counter) * _STREAM_KEY) ^ key)) >> _S_NOISE)


@njit(cache=True)
def noise_phases(seed, n_sites, n):
    """Dither phases: the stochastic noise of step 0, shape ``(n_sites, n)``."""
    phases = np.empty((n_sites, n), dtype=np.int64)
    key = noise_key(seed, 0)
    for site in range(n_sites):
        for i in range(n):
            phases[site, i] = hashed_noise(key, site * n + i)
    return phases
