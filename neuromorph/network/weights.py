"""Quantise a projection's weights to a target's weight format, so Lava keeps them unchanged.

Input: the real weights of one projection, already in LSB units of the postsynaptic
register they increment (``a_out`` units: a spike through weight ``w`` should add ``w``).
Format (``hw_targets/*.toml``, ``[network]``): an integer weight ``W`` per synapse and one
shared exponent ``e`` per projection, ``w_q = W * 2**e``, with ``e`` in
``[weight_exponent_min, weight_exponent_max]`` and ``W`` on the grid of the sign mode
(``B = weight_bits``):

* excitatory: ``0 .. 2**B - 1`` (Lava, ``B = 8``: ``0 .. 255``);
* inhibitory: ``-(2**B - 1) .. 0`` (Lava: ``-255 .. 0``);
* mixed: ``2m`` with ``m = -2**(B-1) .. 2**(B-1) - 1`` (Lava: even ``-256 .. 254``; the
  sign costs the lowest bit).

The sign mode follows Lava's rule on the signs of the real weights (all ``>= 0``:
excitatory; all ``<= 0``: inhibitory; else mixed) unless one is forced. These are exactly
the integers Lava's fixed_pt synapses keep through their clip and truncation with
``num_weight_bits = 8`` (:func:`neuromorph.network.lava_semantics.lava_weights`), so
passing ``W``, ``weight_exp = e`` and the sign mode to Lava changes nothing.

The exponent minimises a norm of the error ``w_q - w`` over the synapses (default
``max``: the worst absolute error of one synapse in LSB units; ``rms`` also available).
Clipping is part of that error, so it is penalised by its size, and every clipped
weight is counted. Ties go to the exponent nearest 0, then to the larger one (negative
exponents make Lava floor the summed input, see below).

Not included in the weight error: with ``e < 0`` Lava floors the *summed* input of each
neuron, step and delay (``acc >> -e``), which adds an error in ``(-1, 0]`` LSB per
neuron and step; the network emulator reproduces that exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .lava_semantics import SIGN_MODES, determine_sign_mode


@dataclass(frozen=True)
class WeightGrid:
    """Integer weights of one sign mode: ``low, low + step, ..., high``."""

    sign_mode: str
    low: int
    high: int
    step: int


def weight_grid(sign_mode: str, weight_bits: int, mixed_drops_lsb: bool = True) -> WeightGrid:
    """The integer weights a ``weight_bits`` mantissa holds in ``sign_mode``.

    ``mixed_drops_lsb`` (Loihi/Lava's convention, default): a mixed-sign weight is stored
    as ``2m`` with a signed ``weight_bits``-bit ``m``; without it, as ``m`` itself.
    """
    if sign_mode not in SIGN_MODES:
        raise InputError(f"unknown sign mode {sign_mode!r}; allowed: {sorted(SIGN_MODES)}", field="sign_mode")
    top = (1 << weight_bits) - 1
    if sign_mode == "excitatory":
        return WeightGrid(sign_mode, 0, top, 1)
    if sign_mode == "inhibitory":
        return WeightGrid(sign_mode, -top, 0, 1)
    half = 1 << (weight_bits - 1)
    step = 2 if mixed_drops_lsb else 1
    return WeightGrid(sign_mode, -half * step, (half - 1) * step, step)


def quantize_at_exponent(weights: np.ndarray, exponent: int, grid: WeightGrid) -> tuple[np.ndarray, np.ndarray]:
    """Nearest grid integers ``W`` for ``weights / 2**exponent`` (half to even), clipped to the grid.

    Returns (``W`` int64, mask of the weights that were clipped).
    """
    scaled = np.rint(np.asarray(weights, dtype=np.float64) / (2.0 ** exponent * grid.step))
    low, high = grid.low // grid.step, grid.high // grid.step
    clipped = (scaled < low) | (scaled > high)
    return np.clip(scaled, low, high).astype(np.int64) * grid.step, clipped


def _max_abs(error: np.ndarray) -> float:
    return float(np.max(np.abs(error), initial=0.0))


def _rms(error: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(error)))) if error.size else 0.0


#: Norms of the error vector ``w_q - w`` (LSB units) that the exponent choice minimises.
NORMS = {"max": _max_abs, "rms": _rms}


@dataclass(frozen=True)
class WeightError:
    """Error ``w_q - w`` over the synapses: absolute (LSB units) and relative (``/|w|``, over ``w != 0``)."""

    max_abs: float
    rms_abs: float
    max_rel: float
    rms_rel: float

    @classmethod
    def of(cls, quantised: np.ndarray, weights: np.ndarray) -> "WeightError":
        """Error statistics of ``quantised`` (real values) against ``weights``."""
        error = quantised - weights
        nonzero = weights != 0
        relative = np.abs(error[nonzero]) / np.abs(weights[nonzero])
        return cls(max_abs=_max_abs(error), rms_abs=_rms(error), max_rel=_max_abs(relative), rms_rel=_rms(relative))


@dataclass(frozen=True, eq=False)
class QuantizedWeights:
    """One projection's weights in the target's format.

    Attributes
    ----------
    weights : ndarray of int64, shape of the input
        Integer weights ``W``: pass them to Lava as they are (it keeps them unchanged).
    weight_exp : int
        Shared exponent: the weight in LSB units is ``W * 2**weight_exp`` (Lava's ``weight_exp``).
    sign_mode : str
        ``excitatory``, ``inhibitory`` or ``mixed`` (Lava's ``sign_mode``).
    weight_bits : int
        Mantissa width of the target.
    norm : str
        The norm the exponent minimised (:data:`NORMS`).
    n_weights, n_clipped, n_zeroed : int
        Synapses; weights clipped to the grid (beyond its range or of the wrong sign for
        the sign mode); nonzero weights quantised to 0.
    error : WeightError
        Error of ``W * 2**weight_exp`` against the input weights.
    """

    weights: np.ndarray
    weight_exp: int
    sign_mode: str
    weight_bits: int
    norm: str
    n_weights: int
    n_clipped: int
    n_zeroed: int
    error: WeightError

    @property
    def values(self) -> np.ndarray:
        """Quantised weights in LSB units, ``W * 2**weight_exp`` (float64)."""
        return self.weights * 2.0 ** self.weight_exp


def exponent_errors(weights: np.ndarray, grid: WeightGrid, exponents, norm: str = "max") -> dict[int, float]:
    """The ``norm`` of the quantisation error at each exponent."""
    measure = NORMS[norm]
    return {int(e): measure(quantize_at_exponent(weights, e, grid)[0] * 2.0 ** e - weights) for e in exponents}


def _checked(weights, name: str, norm: str, sign_mode: str | None) -> np.ndarray:
    source = f"projection {name!r}"
    if norm not in NORMS:
        raise InputError(f"unknown norm {norm!r}; allowed: {sorted(NORMS)}", source, "norm")
    if sign_mode is not None and sign_mode not in SIGN_MODES:
        raise InputError(f"unknown sign mode {sign_mode!r}; allowed: {sorted(SIGN_MODES)}", source, "sign_mode")
    weights = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)):
        raise InputError("weights must be finite", source, "weights")
    return weights


def quantize_weights(weights, target, *, norm: str = "max", sign_mode: str | None = None,
                     mixed_drops_lsb: bool = True, name: str = "projection") -> QuantizedWeights:
    """Quantise one projection's weights (LSB units, any shape) to ``target``'s weight format.

    Parameters
    ----------
    weights : array_like of float
        Weight of each synapse in LSB units of the target register (pass the synapses,
        not a dense matrix padded with zeros, if the statistics should be per synapse).
    target : HardwareTarget
        Supplies ``weight_bits``, ``weight_exponent_min`` and ``weight_exponent_max``.
    norm : {"max", "rms"}
        What the exponent minimises (ties: exponent nearest 0, then the larger).
    sign_mode : str, optional
        Force a sign mode; default: Lava's rule on the signs of ``weights``.
    mixed_drops_lsb : bool
        Mixed-sign weights are stored as ``2m`` (Loihi/Lava); False for a plain signed mantissa.
    name : str
        Projection name for error messages.
    """
    weights = _checked(weights, name, norm, sign_mode)
    mode = sign_mode or determine_sign_mode(weights)
    grid = weight_grid(mode, target.weight_bits, mixed_drops_lsb)
    errors = exponent_errors(weights, grid, range(target.weight_exponent_min, target.weight_exponent_max + 1), norm)
    exponent = min(errors, key=lambda e: (errors[e], abs(e), -e))
    integers, clipped = quantize_at_exponent(weights, exponent, grid)
    return QuantizedWeights(weights=integers, weight_exp=exponent, sign_mode=mode, weight_bits=target.weight_bits,
                            norm=norm, n_weights=int(weights.size), n_clipped=int(clipped.sum()),
                            n_zeroed=int(np.count_nonzero((weights != 0) & (integers == 0))),
                            error=WeightError.of(integers * 2.0 ** exponent, weights))


def select_weights(quantized: QuantizedWeights, chosen: np.ndarray, weights) -> QuantizedWeights:
    """The synapses ``chosen`` (a mask or indices) of ``quantized``, as quantised with the whole projection.

    Same exponent and sign mode (the integers are those of the whole); the counts and error
    statistics are over the chosen synapses. ``weights``: the real weights of every synapse
    (LSB units), as given to :func:`quantize_weights` (with its default ``mixed_drops_lsb``).
    """
    real = np.asarray(weights, dtype=np.float64)[chosen]
    integers = np.asarray(quantized.weights)[chosen]
    grid = weight_grid(quantized.sign_mode, quantized.weight_bits)
    _, clipped = quantize_at_exponent(real, quantized.weight_exp, grid)
    return QuantizedWeights(weights=integers, weight_exp=quantized.weight_exp, sign_mode=quantized.sign_mode,
                            weight_bits=quantized.weight_bits, norm=quantized.norm, n_weights=int(real.size),
                            n_clipped=int(clipped.sum()), n_zeroed=int(np.count_nonzero((real != 0) & (integers == 0))),
                            error=WeightError.of(integers * 2.0 ** quantized.weight_exp, real))
