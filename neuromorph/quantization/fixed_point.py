"""THE fixed-point arithmetic of neuromorph.

Every integer operation of the lowered neuron lives here and is called by both the numpy
emulator and the Lava ``fixed_pt`` ProcessModel (through the kernel in
:mod:`neuromorph.quantization.kernel`), so the two agree bit for bit.

Conventions
-----------
A value ``x`` in a format with ``f`` fractional bits is stored as the integer
``round(x * 2**f)``. Integers are numpy ``int64``; registers of ``bits`` width are
enforced by :func:`saturate` (or wrapped, for targets that wrap).

Rounding a right shift by ``s`` bits (``x * 2**-s`` to an integer):

* ``nearest``: ``(x + 2**(s-1)) >> s``, round half up;
* ``truncate``: ``x >> s``, arithmetic shift = floor (the bias of plain truncation);
* ``toward_zero``: ``sign(x) * (|x| >> s)``, as Lava's fixed-point neuron models round
  their decays (``lava/proc/lif/models.py``);
* ``stochastic``: ``(x + r) >> s`` with ``r`` uniform in ``[0, 2**s)`` from a
  counter-based integer hash of (seed, step, rounding site, neuron): unbiased,
  reproducible and identical on every backend;
* ``dither``: the same ``(x + r) >> s``, but ``r`` follows a low-discrepancy (Weyl)
  sequence in the step, ``r_k = frac(phase + k / golden ratio)``, with a hashed phase per
  (seed, rounding site, neuron). A fraction ``p`` of an LSB that repeats over steps is
  rounded up in a share ``p`` of any run of steps, within a bounded error, where
  stochastic rounding's error grows like a random walk and round-to-nearest loses
  ``p < 1/2`` altogether (slow gates stall within a dead band around ``x_inf``);
* ``error_feedback``: every shift rounds to nearest, and at the state updates chosen by
  the configuration the program itself keeps the remainder in a per-neuron residual
  register and adds it to the next step's value before the shift (first-order noise
  shaping, :mod:`neuromorph.quantization.lowering`): ``u = x + e``, ``y = round(u / 2**s)``,
  ``e' = u - y * 2**s``. The sum of the rounded values then differs from the sum of the
  exact ones by at most one residual (half an LSB), however many steps pass.
"""
from __future__ import annotations

import numpy as np

ROUNDING_MODES = ("nearest", "truncate", "toward_zero", "stochastic", "dither", "error_feedback")
#: Rounding modes whose plain shifts round to nearest (the residuals are operations of the program).
NEAREST_SHIFTS = frozenset({"nearest", "error_feedback"})
OVERFLOW_MODES = ("saturate", "wrap")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STEP_KEY = np.uint64(0xD1B54A32D192ED03)
_STREAM_KEY = np.uint64(0xABC98388FB8FAC03)
_SEED_KEY = np.uint64(0x8CB92BA72F3D8DD7)
#: ``2**62`` divided by the golden ratio (odd): the Weyl increment of :func:`dither_noise`.
_WEYL_STEP = np.uint64(0x278DDE6E5FD29F05)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.

    ``z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
    z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31`` (all mod 2**64).
    """
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


#: Width of the uniform integers behind stochastic rounding.
NOISE_BITS = 62


def stochastic_noise(seed: int, step: int, n_sites: int, n: int) -> np.ndarray:
    """Uniform integers in ``[0, 2**62)``, one per (rounding site, neuron) of one time step.

    Counter-based: entry ``[s, i]`` is a hash of (seed, step, s * n + i) only, so any
    backend that knows these numbers draws the same bits, whatever its evaluation order.
    """
    with np.errstate(over="ignore"):
        key = (np.uint64(seed) * _SEED_KEY) ^ (np.uint64(step) * _STEP_KEY)
        counters = np.arange(n_sites * n, dtype=np.uint64) * _STREAM_KEY
        mixed = splitmix64(splitmix64(counters ^ key))
    return (mixed >> np.uint64(64 - NOISE_BITS)).astype(np.int64).reshape(n_sites, n)


def dither_noise(seed: int, step: int, n_sites: int, n: int) -> np.ndarray:
    """Low-discrepancy offsets in ``[0, 2**62)``: ``(phase + step * 2**62 / golden ratio) mod 2**62``.

    ``phase[s, i]`` is :func:`stochastic_noise` of step 0, so sites and neurons are
    decorrelated while each one's sequence over steps is a Weyl sequence (its first ``K``
    values fill ``[0, 1)`` within a discrepancy of order ``log(K) / K``).
    """
    return dither_advance(stochastic_noise(seed, 0, n_sites, n), step)


def dither_advance(phases: np.ndarray, step: int) -> np.ndarray:
    """Dither offsets of ``step`` from the phases (:func:`stochastic_noise` of step 0), which callers may cache."""
    with np.errstate(over="ignore"):
        advanced = phases.astype(np.uint64) + np.uint64(step) * _WEYL_STEP
    return (advanced & np.uint64((1 << NOISE_BITS) - 1)).astype(np.int64)


#: First counter row of the random draws of the program (``draw``), far past every rounding site's row.
DRAW_BASE = 1 << 24


def counter_uniform(seed: int, step: int, stream: int, n: int, bits: int) -> np.ndarray:
    """A ``draw``: uniform integers in ``[0, 2**bits)``, one per neuron, of (seed, step, stream).

    The top ``bits`` of :func:`stochastic_noise`'s hash with the counter row
    ``DRAW_BASE + stream``: entry ``i`` depends on (seed, step, stream, i) only.
    """
    with np.errstate(over="ignore"):
        key = (np.uint64(seed) * _SEED_KEY) ^ (np.uint64(step) * _STEP_KEY)
        counters = (np.uint64(DRAW_BASE + stream) * np.uint64(n) + np.arange(n, dtype=np.uint64)) * _STREAM_KEY
        mixed = splitmix64(splitmix64(counters ^ key))
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


#: Noise generators of the rounding modes that need one.
NOISE_SOURCES = {"stochastic": stochastic_noise, "dither": dither_noise}


def shift_round(x: np.ndarray, shift: int, mode: str, noise: np.ndarray | None = None) -> np.ndarray:
    """``x * 2**-shift`` rounded to an integer with the given rounding ``mode``.

    ``shift <= 0`` is an exact left shift. ``error_feedback`` rounds each shift to nearest
    (its residuals are separate operations of the program). ``stochastic`` and ``dither`` need ``noise``
    (same shape as ``x``, from :data:`NOISE_SOURCES`); its top ``shift`` bits are the
    offset added before the floor shift, in ``[0, 2**shift)``.
    """
    x = np.asarray(x, dtype=np.int64)
    if shift <= 0:
        return x << np.int64(-shift)
    s = np.int64(shift)
    if mode in NEAREST_SHIFTS:
        return (x + (np.int64(1) << (s - 1))) >> s
    if mode == "truncate":
        return x >> s
    if mode == "toward_zero":
        return np.sign(x) * (np.abs(x) >> s)
    if mode in NOISE_SOURCES:
        if shift > NOISE_BITS:
            raise ValueError(f"stochastic rounding supports shifts up to {NOISE_BITS} bits, got {shift}")
        return (x + (noise >> np.int64(NOISE_BITS - shift))) >> s
    raise ValueError(f"unknown rounding mode {mode!r}; allowed: {ROUNDING_MODES}")


def register_limits(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a signed two's-complement register of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(x: np.ndarray, bits: int, overflow: str = "saturate") -> tuple[np.ndarray, np.ndarray]:
    """Fit ``x`` into a signed ``bits``-bit register; return (value, overflow count per row).

    ``saturate`` clips to the register limits; ``wrap`` keeps the low ``bits`` bits
    (two's complement), as an unguarded adder would. Either way the number of values
    that did not fit is returned (counted along the last axis), so overflow is never silent.
    """
    low, high = register_limits(bits)
    x = np.asarray(x, dtype=np.int64)
    outside = (x < low) | (x > high)
    count = outside.sum(axis=-1).astype(np.int64)
    if not outside.any():
        return x, count
    if overflow == "saturate":
        return np.clip(x, low, high), count
    if overflow == "wrap":
        span = np.int64(1) << np.int64(bits)
        return ((x - low) % span) + low, count
    raise ValueError(f"unknown overflow mode {overflow!r}; allowed: {OVERFLOW_MODES}")


#: Largest magnitude :func:`to_fixed` produces: int64 arithmetic on it stays exact.
TO_FIXED_LIMIT = 2.0**62


def to_fixed(values, frac_bits: int) -> np.ndarray:
    """Quantise real numbers to integers with ``frac_bits`` fractional bits (round to nearest).

    Used for parameters and tables (done once, offline), never inside the time loop.
    Raises ValueError for values that are not finite or do not fit 62 bits.
    """
    scaled = np.round(np.asarray(values, dtype=float) * 2.0**frac_bits)
    if not np.all(np.isfinite(scaled)) or np.any(np.abs(scaled) > TO_FIXED_LIMIT):
        raise ValueError("values are not finite or too large for 64-bit integers")
    return scaled.astype(np.int64)


def from_fixed(values: np.ndarray, frac_bits: int) -> np.ndarray:
    """Real value of integers with ``frac_bits`` fractional bits."""
    return np.asarray(values, dtype=float) * 2.0**-frac_bits


def table_index(x: np.ndarray, origin: int, shift: int, size: int) -> np.ndarray:
    """Entry of a table on the grid ``origin + k * 2**shift`` at or below ``x``: ``k`` clipped to ``[0, size-1]``."""
    offset = np.asarray(x, dtype=np.int64) - np.int64(origin)
    return np.clip(offset >> np.int64(shift), 0, size - 1)


def table_remainder(x: np.ndarray, origin: int, shift: int, size: int) -> np.ndarray:
    """Position of ``x`` between entries ``k`` and ``k + 1``, in ``[0, 2**shift)``; 0 outside the grid.

    With ``T[k] + (T[k+1] - T[k]) * r / 2**shift`` this is linear interpolation; inputs
    below or above the grid take the end values.
    """
    offset = np.asarray(x, dtype=np.int64) - np.int64(origin)
    index = offset >> np.int64(shift)
    inside = (index >= 0) & (index < size - 1)
    return np.where(inside, offset & np.int64((1 << shift) - 1), 0)
