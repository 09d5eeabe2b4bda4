"""Build an integer :class:`~neuromorph.quantization.program.Program` while tracking formats.

Every value the builder hands out knows its fixed-point format (``frac`` fractional bits:
the integer ``q`` stands for ``q * 2**-frac``) and static bounds of its integer over the
operating range. The builder uses them to keep each operation within the target's
datapath:

* a multiply narrows each operand to the multiplier width first (a rounded right shift,
  itself an operation of the program) and forms the double-width product in the
  accumulator;
* sums run in the accumulator and are checked against it;
* tables get the most fractional bits their entries' width holds.

The caller (:mod:`neuromorph.quantization.quantize`) chooses the formats of sums and
registers; the builder only refuses to add values of different formats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fixed_point import register_limits, to_fixed
from .formats import frac_bits_for, unsigned_frac_bits_for
from .program import CHECKED, Op, Program, Register


def width_of(low: int, high: int) -> int:
    """Bits of the smallest two's-complement register holding every integer in ``[low, high]``."""
    def bits(x: int) -> int:
        return (x.bit_length() + 1) if x >= 0 else ((-x - 1).bit_length() + 1)
    return max(bits(int(low)), bits(int(high)), 1)


@dataclass(frozen=True)
class Value:
    """A slot of the program with its format and static integer bounds."""

    slot: int
    frac: int
    low: int
    high: int

    @property
    def width(self) -> int:
        """Bits needed by the static bounds."""
        return width_of(self.low, self.high)


@dataclass(frozen=True)
class LutGrid:
    """Input grid of a table: entry ``k`` sits at ``origin + k * 2**shift`` (input integers)."""

    origin: int
    shift: int
    size: int
    interpolate: bool

    def points(self, frac_bits: int) -> np.ndarray:
        """Grid inputs in real units for inputs with ``frac_bits`` fractional bits."""
        return (self.origin + (np.arange(self.size, dtype=np.int64) << self.shift)) * 2.0**-frac_bits


@dataclass(frozen=True)
class Table:
    """A lookup table: ``entries`` (int64) with ``frac`` fractional bits, each within ``entry_bits``
    (two's complement, or unsigned ``[0, 2**entry_bits)`` when not ``signed``)."""

    name: str
    entries: np.ndarray
    frac: int
    entry_bits: int
    signed: bool
    grid: LutGrid
    input_name: str

    @property
    def memory_bits(self) -> int:
        """Bits of table memory."""
        return self.entries.size * self.entry_bits


@dataclass(frozen=True)
class Datapath:
    """The widths the builder enforces (from the hardware target)."""

    multiplier_bits: int
    accumulator_bits: int
    accumulator_overflow: str


class ProgramBuilder:
    """Accumulates operations, constants and tables; see the module docstring."""

    def __init__(self, datapath: Datapath):
        self.datapath = datapath
        self.ops: list[Op] = []
        self.constants: list[int] = []
        self.tables: list[Table] = []
        self.sites = 0
        self._addresses: dict[tuple, tuple[Value, Value | None]] = {}

    # -- emission ---------------------------------------------------------------------------
    def _emit(self, code: str, args=(), imm=(), *, frac: int, low: int, high: int, width: int | None = None,
              operand_width: int = 0, overflow: str = "", label: str = "") -> Value:
        slot = len(self.ops)
        site = -1
        if code == "shr" or (code == "scale" and imm[0] > 0):
            site, self.sites = self.sites, self.sites + 1
        declared = width if width is not None else width_of(low, high)
        may_overflow = False
        if code in CHECKED:
            unsigned = code == "fit" and tuple(imm) == (1,)
            limit_low, limit_high = (0, (1 << declared) - 1) if unsigned else register_limits(declared)
            may_overflow = low < limit_low or high > limit_high
        if code in CHECKED:
            low, high = max(low, limit_low), min(high, limit_high)
        self.ops.append(Op(code=code, dst=slot, args=tuple(a.slot for a in args), imm=tuple(int(i) for i in imm),
                           width=declared, operand_width=operand_width, overflow=overflow, site=site, label=label,
                           may_overflow=may_overflow, low=int(low), high=int(high)))
        return Value(slot=slot, frac=frac, low=int(low), high=int(high))

    def _accumulator(self, code: str, args, imm=(), *, frac: int, low: int, high: int, label: str,
                     operand_width: int = 0) -> Value:
        return self._emit(code, args, imm, frac=frac, low=low, high=high, width=self.datapath.accumulator_bits,
                          overflow=self.datapath.accumulator_overflow, operand_width=operand_width, label=label)

    # -- sources ----------------------------------------------------------------------------
    def constant(self, value: int, frac: int, label: str) -> Value:
        """An integer constant (``value * 2**-frac``)."""
        self.constants.append(int(value))
        return self._emit("const", imm=(len(self.constants) - 1,), frac=frac, low=value, high=value, label=label)

    def real_constant(self, value: float, label: str, frac: int | None = None) -> Value:
        """A real constant, with the most fractional bits a multiplier operand holds unless ``frac`` is given."""
        if frac is None:
            frac = frac_bits_for(abs(value), self.datapath.multiplier_bits)
        return self.constant(int(to_fixed(value, frac)), frac, label)

    def load(self, index: int, register: Register) -> Value:
        """The value of a state register (offset binary undone)."""
        low, high = register.value_range
        return self._emit("load", imm=(index, register.offset), frac=register.frac, low=low, high=high,
                          label=f"{register.name} register")

    def port(self, index: int, frac: int, bits: int, overflow: str, label: str, magnitude: int | None = None) -> Value:
        """An integer input, fitted to ``bits`` (the target's input width).

        ``magnitude``: largest input over the operating range (default: the whole width).
        """
        low, high = register_limits(bits)
        if magnitude is not None:
            low, high = max(low, -magnitude), min(high, magnitude)
        return self._emit("port", imm=(index,), frac=frac, low=low, high=high, width=bits, overflow=overflow,
                          label=label)

    def parameter(self, index: int, frac: int, low: int, high: int, label: str) -> Value:
        """A per-neuron constant read from port ``index`` (contents in ``[low, high]``, its own width)."""
        return self._emit("port", imm=(index,), frac=frac, low=low, high=high, width=width_of(low, high),
                          overflow="saturate", label=label)

    def draw(self, seed: int, stream: int, bits: int, frac: int, label: str) -> Value:
        """A uniform integer in ``[0, 2**bits)`` of (seed, step, stream, neuron) (the ``draw`` opcode)."""
        return self._emit("draw", imm=(seed, stream, bits), frac=frac, low=0, high=(1 << bits) - 1, width=bits + 1,
                          label=label)

    def gaussian(self, seed: int, stream: int, uniforms: int, bits: int, sigma: float, frac: int,
                 label: str) -> Value:
        """``sigma * z`` with ``z`` of mean 0 and variance 1, in ``frac`` (``sigma`` in its LSB).

        ``z`` is the centred sum of ``uniforms`` draws of ``bits`` bits (Irwin-Hall):
        ``C = 2 sum(u_k) - K (2**bits - 1)`` has mean 0 and variance ``K (4**bits - 1) / 3``;
        one multiply by ``sigma / sd(C)`` and a rounded shift give the result. Stream
        ``stream`` uses the draw streams ``stream * uniforms + k``.
        """
        total = None
        for k in range(uniforms):
            u = self.draw(seed, stream * uniforms + k, bits, frac, f"{label}: uniform {k}")
            total = u if total is None else self.add(total, u, f"{label}: sum of uniforms")
        top = uniforms * ((1 << bits) - 1)
        centred = self.sub(self.add(total, total, f"{label}: 2 sum"), self.constant(top, frac, f"{label}: K (2^b - 1)"),
                           f"{label}: centred sum", bounds=(-top, top))
        factor = self.real_constant(sigma / math.sqrt(uniforms * ((1 << 2 * bits) - 1) / 3.0), f"{label}: sigma / sd")
        return self.rescale(self.mul(centred, factor, f"{label}: scaled"), frac, f"{label}: increment")

    def inverse_cdf(self, seed: int, stream: int, bits: int, size: int, entry_bits: int, sigma: float, frac: int,
                    label: str) -> Value:
        """``sigma * z`` in ``frac`` (``sigma`` in its LSB), ``z`` a normal quantile read at one draw.

        The draw's top ``log2(size)`` bits address a table of ``Phi^-1((k + 1/2) / size)``
        (equiprobable levels, symmetric, within ``+-Phi^-1(1 - 1/(2 size))``); one multiply by
        ``sigma / rms`` of the stored entries makes the variance exactly ``sigma**2``.
        """
        from scipy.stats import norm

        u = self.draw(seed, stream, bits, 0, f"{label}: uniform")
        grid = LutGrid(origin=0, shift=bits - int(size).bit_length() + 1, size=size, interpolate=False)
        quantiles = norm.ppf((np.arange(size) + 0.5) / size)
        z = self.signed_table(f"{label} inverse CDF", quantiles, entry_bits, grid, u, f"{label}: quantile")
        stored = self.tables[-1].entries * 2.0 ** -self.tables[-1].frac
        factor = self.real_constant(sigma * 2.0 ** -frac / math.sqrt(np.mean(stored ** 2)), f"{label}: sigma / rms")
        return self.rescale(self.mul(z, factor, f"{label}: scaled"), frac, f"{label}: increment")

    # -- arithmetic -------------------------------------------------------------------------
    def add(self, a: Value, b: Value, label: str, bounds: tuple[int, int] | None = None) -> Value:
        """``a + b`` in the accumulator (same format required)."""
        self._same_format(a, b, label)
        low, high = bounds or (a.low + b.low, a.high + b.high)
        return self._accumulator("add", (a, b), frac=a.frac, low=low, high=high, label=label)

    def sub(self, a: Value, b: Value, label: str, bounds: tuple[int, int] | None = None) -> Value:
        """``a - b`` in the accumulator (same format required); ``bounds`` when known tighter than the operands'."""
        self._same_format(a, b, label)
        low, high = bounds or (a.low - b.high, a.high - b.low)
        return self._accumulator("sub", (a, b), frac=a.frac, low=low, high=high, label=label)

    def mul(self, a: Value, b: Value, label: str) -> Value:
        """``a * b``: operands narrowed to the multiplier width, double-width product in the accumulator."""
        a = self.narrow(a, self.datapath.multiplier_bits, label)
        b = self.narrow(b, self.datapath.multiplier_bits, label)
        corners = [a.low * b.low, a.low * b.high, a.high * b.low, a.high * b.high]
        return self._accumulator("mul", (a, b), frac=a.frac + b.frac, low=min(corners), high=max(corners),
                                 label=label, operand_width=self.datapath.multiplier_bits)

    def shr(self, a: Value, shift: int, label: str) -> Value:
        """``a / 2**shift`` rounded in the program's rounding mode (``shift > 0``)."""
        return self._emit("shr", (a,), (shift,), frac=a.frac - shift, low=a.low >> shift,
                          high=-((-a.high) >> shift), label=label)

    def shl(self, a: Value, shift: int, label: str) -> Value:
        """``a * 2**shift`` in the accumulator (``shift > 0``)."""
        return self._accumulator("shl", (a,), (shift,), frac=a.frac + shift, low=a.low << shift,
                                 high=a.high << shift, label=label)

    def rescale(self, a: Value, frac: int, label: str) -> Value:
        """``a`` in the format with ``frac`` fractional bits: one ``scale`` by ``a.frac - frac``.

        Rounded when bits are dropped, held to the accumulator when bits are added, unchanged
        when the formats agree. The operation is there in every case, so that programs of one
        model at other widths have the same operations (one compiled kernel serves them all).
        """
        shift = a.frac - frac
        if shift > 0:
            low, high = a.low >> shift, -((-a.high) >> shift)
        else:
            low, high = a.low << -shift, a.high << -shift
        return self._accumulator("scale", (a,), (shift,), frac=frac, low=low, high=high, label=label)

    def narrow(self, a: Value, bits: int, label: str) -> Value:
        """``a`` shifted right (rounded) until its static bounds fit ``bits`` bits (a ``scale``, by 0 if they do)."""
        shift = max(0, a.width - bits)
        while shift and width_of(a.low >> shift, -((-a.high) >> shift)) > bits:
            shift += 1
        return self.rescale(a, a.frac - shift, f"{label}: operand to {bits} bits")

    def fit(self, a: Value, bits: int, overflow: str, label: str, unsigned: bool = False) -> Value:
        """``a`` in a ``bits``-wide register (unsigned: ``[0, 2**bits)``), by the ``overflow`` rule (counted)."""
        return self._emit("fit", (a,), (1,) if unsigned else (), frac=a.frac, low=a.low, high=a.high, width=bits,
                          overflow=overflow, label=label)

    # -- logic ------------------------------------------------------------------------------
    def compare(self, code: str, a: Value, b: Value, label: str) -> Value:
        """``a > b`` (``gt``) or ``a >= b`` (``ge``) as a 0/1 flag."""
        self._same_format(a, b, label)
        return self._emit(code, (a, b), frac=0, low=0, high=1, label=label)

    def both(self, a: Value, b: Value, label: str) -> Value:
        """``a and b`` of two flags."""
        return self._emit("and", (a, b), frac=0, low=0, high=1, label=label)

    def select(self, flag: Value, a: Value, b: Value, label: str) -> Value:
        """``a`` where ``flag`` is set, else ``b`` (same format required)."""
        self._same_format(a, b, label)
        return self._emit("select", (flag, a, b), frac=a.frac, low=min(a.low, b.low), high=max(a.high, b.high),
                          label=label)

    def minimum(self, a: Value, b: Value, label: str) -> Value:
        """``min(a, b)`` (same format required)."""
        self._same_format(a, b, label)
        return self._emit("min", (a, b), frac=a.frac, low=min(a.low, b.low), high=min(a.high, b.high), label=label)

    # -- tables -----------------------------------------------------------------------------
    def table(self, name: str, entries: np.ndarray, frac: int, entry_bits: int, grid: LutGrid, x: Value,
              label: str, signed: bool = True) -> Value:
        """Read a table at ``x`` (linear interpolation if the grid says so).

        ``entries`` are integers with ``frac`` fractional bits that must fit ``entry_bits``
        (signed, or unsigned). Interpolation: ``T[k] + round((T[k+1] - T[k]) * r / 2**shift)``,
        with the multiply on the multiplier like any other.
        """
        entries = np.asarray(entries, dtype=np.int64)
        low, high = register_limits(entry_bits) if signed else (0, (1 << entry_bits) - 1)
        if entries.min() < low or entries.max() > high:
            raise ValueError(f"table {name} has entries beyond {entry_bits} bits")
        self.tables.append(Table(name=name, entries=entries, frac=frac, entry_bits=entry_bits, signed=signed,
                                 grid=grid, input_name=label))
        table = len(self.tables) - 1
        index, remainder = self._address(x, grid, name)
        first = self._emit("read", (index,), (table, 0), frac=frac, low=int(entries.min()), high=int(entries.max()),
                           label=f"{name}[k]")
        if remainder is None:
            return first
        step = np.diff(entries)
        second = self._emit("read", (index,), (table, 1), frac=frac, low=int(entries.min()), high=int(entries.max()),
                            label=f"{name}[k+1]")
        difference = self._accumulator("sub", (second, first), frac=frac, low=min(0, int(step.min())),
                                       high=max(0, int(step.max())), label=f"{name}: T[k+1] - T[k]")
        slope = self.rescale(self.mul(difference, remainder, f"{name}: interpolation"), frac,
                             f"{name}: interpolation")
        return self.add(first, slope, f"{name}: interpolated",
                        bounds=(int(entries.min()) - 1, int(entries.max()) + 1))

    def _address(self, x: Value, grid: LutGrid, name: str) -> tuple[Value, Value | None]:
        """Entry index and position between entries of ``x`` on ``grid``, computed once per input and grid."""
        key = (x.slot, grid.origin, grid.shift, grid.size, grid.interpolate)
        if key not in self._addresses:
            imm = (grid.origin, grid.shift, grid.size)
            index = self._emit("index", (x,), imm, frac=0, low=0, high=grid.size - 1, label=f"{name}: index")
            remainder = None
            if grid.interpolate and grid.shift > 0:
                remainder = self._emit("remainder", (x,), imm, frac=grid.shift, low=0, high=(1 << grid.shift) - 1,
                                       label=f"{name}: position between entries")
            self._addresses[key] = (index, remainder)
        return self._addresses[key]

    def signed_table(self, name: str, values: np.ndarray, entry_bits: int, grid: LutGrid, x: Value,
                     label: str) -> Value:
        """A table of real ``values`` with the most fractional bits ``entry_bits`` signed bits hold."""
        frac = fitting_frac(values, frac_bits_for(float(np.abs(values).max()), entry_bits), entry_bits, True)
        return self.table(name, to_fixed(values, frac), frac, entry_bits, grid, x, label)

    def unsigned_table(self, name: str, values: np.ndarray, entry_bits: int, grid: LutGrid, x: Value,
                       label: str, frac: int | None = None) -> Value:
        """A table of non-negative real ``values`` stored as ``entry_bits``-bit unsigned entries.

        The entries are also kept within a multiplier operand (one bit less when the
        multiplier is as wide as the entries), so they multiply without narrowing.
        """
        top = float(np.max(values))
        if frac is None:
            frac = min(fitting_frac(values, unsigned_frac_bits_for(top, entry_bits), entry_bits, False),
                       fitting_frac(values, frac_bits_for(top, self.datapath.multiplier_bits),
                                    self.datapath.multiplier_bits, True))
        return self.table(name, to_fixed(values, frac), frac, entry_bits, grid, x, label, signed=False)

    @staticmethod
    def _same_format(a: Value, b: Value, label: str) -> None:
        if a.frac != b.frac:
            raise RuntimeError(f"{label}: operands in different formats ({a.frac} and {b.frac} fractional bits)")

    def finish(self, registers, ports, outputs, fits, spike: Value, rounding: str, seed: int) -> Program:
        """The finished program."""
        return Program(ops=tuple(self.ops), registers=tuple(registers), ports=tuple(ports),
                       outputs=tuple(o.slot for o in outputs), fits=tuple(fits), spike=spike.slot,
                       rounding=rounding, seed=seed, n_sites=self.sites,
                       table_names=tuple(t.name for t in self.tables))


def fitting_frac(values: np.ndarray, frac: int, bits: int, signed: bool) -> int:
    """``frac``, or fewer fractional bits if rounding pushes an entry past ``bits`` (e.g. 0.99999 -> 1.0)."""
    low, high = register_limits(bits) if signed else (0, (1 << bits) - 1)
    while True:
        entries = to_fixed(values, frac)
        if entries.min() >= low and entries.max() <= high:
            return frac
        frac -= 1


def bits_for_magnitude(value: float) -> int:
    """Magnitude bits of a non-negative real (``ceil(log2(value + 1))``)."""
    return max(0, math.ceil(math.log2(value + 1)))
