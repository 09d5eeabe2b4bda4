"""Range profiles and the fixed-point formats chosen from them.

A format is a register width and a number of fractional bits: the integer ``q`` stands
for ``q * 2**-frac_bits`` (SI units). Fractional bits may exceed the width (values much
smaller than one, such as volts) or be negative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FixedFormat:
    """Signed ``bits``-wide register holding ``q * 2**-frac_bits`` of ``unit``."""

    bits: int
    frac_bits: int
    unit: str

    @property
    def lsb(self) -> float:
        """Value of one least significant bit (in ``unit``)."""
        return 2.0 ** -self.frac_bits

    @property
    def max_value(self) -> float:
        """Largest representable value (in ``unit``)."""
        return ((1 << (self.bits - 1)) - 1) * self.lsb

    def to_dict(self) -> dict:
        """Plain-data description: ``Q(int_bits).(frac_bits)`` notation, LSB and range."""
        return {"bits": self.bits, "frac_bits": self.frac_bits, "int_bits": self.bits - 1 - self.frac_bits,
                "lsb": self.lsb, "max": self.max_value, "unit": self.unit}


@dataclass(frozen=True)
class RangeProfile:
    """Observed ranges of a float run, the basis for choosing formats.

    Attributes
    ----------
    v_min, v_max : float
        Extremes of the membrane potential (V).
    dv_max : float
        Largest voltage change in one time step (V).
    drive_max : float
        Largest absolute input current density (A/m^2).
    """

    v_min: float
    v_max: float
    dv_max: float
    drive_max: float

    @classmethod
    def from_run(cls, v: np.ndarray, stimulus: np.ndarray) -> "RangeProfile":
        """Profile of a voltage trace (T, N) in V and its stimulus (T, N) in A/m^2."""
        dv = np.abs(np.diff(v, axis=0)).max() if v.shape[0] > 1 else 0.0
        return cls(v_min=float(v.min()), v_max=float(v.max()), dv_max=float(dv),
                   drive_max=float(np.abs(stimulus).max()))


def frac_bits_for(max_abs: float, bits: int) -> int:
    """Most fractional bits such that ``max_abs`` fits a signed ``bits``-bit register.

    ``2**(bits - 1 - f) > max_abs``, i.e. ``f = bits - 1 - floor(log2(max_abs)) - 1``.
    """
    if max_abs <= 0:
        return bits - 1
    return bits - 2 - math.floor(math.log2(max_abs))


def bits_needed(max_abs: float) -> int:
    """Magnitude bits of the integer ``max_abs`` (0 for values below one)."""
    return max(0, math.ceil(math.log2(max_abs + 1)))
