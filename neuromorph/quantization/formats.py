"""Range profiles and the fixed-point formats chosen from them.

A format is a register width and a number of fractional bits: the integer ``q`` stands
for ``q * 2**-frac_bits`` (SI units). Fractional bits may exceed the width (values much
smaller than one, such as volts) or be negative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FixedFormat:
    """A ``bits``-wide register holding ``q * 2**-frac_bits`` of ``unit``.

    Signed formats hold ``q`` in two's complement, ``-2**(bits-1) <= q < 2**(bits-1)``.
    Unsigned formats (gates, which live in ``[0, 1]``) use all ``2**bits`` levels,
    ``0 <= q < 2**bits``; the register stores ``q - offset`` with ``offset = 2**(bits-1)``
    (offset binary), so it is still a signed ``bits``-bit register.
    """

    bits: int
    frac_bits: int
    unit: str
    signed: bool = True

    @property
    def lsb(self) -> float:
        """Value of one least significant bit (in ``unit``)."""
        return 2.0 ** -self.frac_bits

    @property
    def offset(self) -> int:
        """Integer subtracted from ``q`` when it is stored in a signed register (0 when signed)."""
        return 0 if self.signed else 1 << (self.bits - 1)

    @property
    def max_value(self) -> float:
        """Largest representable value (in ``unit``)."""
        return ((1 << (self.bits - (1 if self.signed else 0))) - 1) * self.lsb

    def to_dict(self) -> dict:
        """Plain-data description: ``Q(int_bits).(frac_bits)`` notation, LSB and range."""
        return {"bits": self.bits, "frac_bits": self.frac_bits,
                "int_bits": self.bits - (1 if self.signed else 0) - self.frac_bits, "signed": self.signed,
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
        Largest absolute stimulus (SI units of the model's input, e.g. A/m^2).
    states : dict of str to (float, float)
        Extremes of the linear states (synaptic variables, adaptation), SI units.
    inputs : dict of str to float
        Largest magnitude of other named inputs (SI), e.g. per-neuron bias currents of a
        network population; inputs not named here use ``drive_max``.
    """

    v_min: float
    v_max: float
    dv_max: float
    drive_max: float
    states: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)

    def input_max(self, name: str) -> float:
        """Largest magnitude of input ``name`` (SI)."""
        return self.inputs.get(name, self.drive_max)

    @classmethod
    def from_run(cls, v: np.ndarray, stimulus: np.ndarray, states: dict | None = None) -> "RangeProfile":
        """Profile of a voltage trace (T, N) in V, its stimulus (T, N) and other state traces."""
        dv = np.abs(np.diff(v, axis=0)).max() if v.shape[0] > 1 else 0.0
        extremes = {name: (float(x.min()), float(x.max())) for name, x in (states or {}).items() if x.size}
        return cls(v_min=float(v.min()), v_max=float(v.max()), dv_max=float(dv),
                   drive_max=float(np.abs(stimulus).max()) if stimulus.size else 0.0, states=extremes)


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


def unsigned_frac_bits_for(max_value: float, bits: int) -> int:
    """Most fractional bits such that a positive ``max_value`` fits ``bits`` unsigned bits.

    ``2**(bits - f) > max_value``, i.e. ``f = bits - 1 - floor(log2(max_value))``.
    """
    return frac_bits_for(max_value, bits) + 1
