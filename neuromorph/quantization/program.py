"""The lowered neuron as an explicit integer program.

A :class:`Program` is a straight-line sequence of integer operations on per-neuron
values (one slot per operation, written once). Every operation carries the widths it
runs at on the target, so that the arithmetic the emulator runs is the target's:

========== ================================================ ===========================
opcode     result                                           width enforcement
========== ================================================ ===========================
const      ``constants[k]``                                 -
load       ``register[r] + offset`` (offset binary undone)  -
port       ``input[p]``                                     fit to ``width`` (counted)
add, sub   ``a + b``, ``a - b``                             fit to ``width``
mul        ``fit(a, operand) * fit(b, operand)``            operands and result
shr        ``round(a / 2**s)`` in the rounding mode         - (cannot grow)
shl        ``a * 2**s``                                     fit to ``width``
scale      ``s > 0``: as ``shr``; ``s < 0``: ``a * 2**-s``;   fit to ``width``
           ``s == 0``: ``a`` (a change of format whose
           direction depends on the configuration)
fit        ``a`` in a ``width``-bit register (unsigned:      fit to ``width``
           ``[0, 2**width)``, when ``imm == (1,)``)
index      ``clip((a - origin) >> shift, 0, size - 1)``     -
remainder  ``(a - origin) mod 2**shift`` inside the grid    -
read       ``table[t][min(a + step, size - 1)]``            -
gt, ge     ``a > b``, ``a >= b`` (0 or 1)                   -
and        ``a & b`` of two flags                           -
select     ``a if c else b``                                -
min        ``min(a, b)``                                    -
draw       uniform in ``[0, 2**bits)`` of (seed, step,      - (``bits`` < ``width``)
           stream, neuron): ``imm == (seed, stream, bits)``
========== ================================================ ===========================

*fit* applies the op's overflow rule (``saturate`` or ``wrap``, from the target) and
counts every value that did not fit, per operation. The numbers are plain data: tables
and constants are separate arrays (Vars of the Lava process), the program only refers to
them by index, and nothing here is executable. Interpreters:
:mod:`neuromorph.quantization.interpreter` (numpy, the emulator and Lava) and
:mod:`neuromorph.quantization.exact` (plain Python integers, for tests).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

#: Opcodes and what they count as in the per-neuron-step operation totals.
OPCODES = {
    "const": "constant", "load": "register read", "port": "input read", "add": "add", "sub": "add",
    "mul": "multiply", "shr": "shift", "shl": "shift", "scale": "shift", "fit": "saturate/wrap",
    "index": "table address", "remainder": "table address", "read": "table read", "gt": "compare", "ge": "compare",
    "and": "logic", "select": "select", "min": "compare", "draw": "random draw",
}
#: Opcodes that enforce their result width.
CHECKED = frozenset({"port", "add", "sub", "mul", "shl", "fit", "scale"})


def rounds(op: "Op") -> bool:
    """Whether ``op`` rounds (and has a row of the step's noise matrix): a ``shr``, or a ``scale`` to the right."""
    return op.code == "shr" or (op.code == "scale" and op.imm[0] > 0)


def is_identity(op: "Op") -> bool:
    """A ``scale`` by 0: the value unchanged (no operation on the target)."""
    return op.code == "scale" and op.imm[0] == 0


@dataclass(frozen=True)
class Op:
    """One integer operation of a :class:`Program` (see the module docstring).

    Attributes
    ----------
    code : str
        Opcode.
    dst : int
        Slot written.
    args : tuple of int
        Slots read.
    imm : tuple of int
        Immediates: constant index; register and offset; port; shift (``scale``: signed);
        grid origin, shift and size; table and step.
    width : int
        Width of the result (bits, two's complement), enforced for checked opcodes.
    operand_width : int
        ``mul`` only: width its operands are enforced to (the target's multiplier).
    overflow : str
        ``"saturate"`` or ``"wrap"`` for checked opcodes, else ``""``.
    site : int
        ``shr`` and right ``scale`` only: row of the step's noise matrix it rounds with.
    label : str
        What the operation computes, for people.
    may_overflow : bool
        The static bounds of the operating range exceed ``width`` (or ``operand_width``).
    low, high : int
        Static bounds of the result over the operating range (registers and tables at their
        extremes), after the operation's own width is enforced.
    """

    code: str
    dst: int
    args: tuple[int, ...] = ()
    imm: tuple[int, ...] = ()
    width: int = 64
    operand_width: int = 0
    overflow: str = ""
    site: int = -1
    label: str = ""
    may_overflow: bool = False
    low: int = 0
    high: int = 0

    @property
    def value_bits(self) -> int:
        """Two's-complement bits the static bounds of the result need."""
        def bits(x: int) -> int:
            return (x.bit_length() + 1) if x >= 0 else ((-x - 1).bit_length() + 1)
        return max(bits(self.low), bits(self.high), 1)


@dataclass(frozen=True)
class Register:
    """A state register: ``bits`` wide, holding ``q - offset`` for the value ``q * 2**-frac``.

    ``q`` is a signed ``bits``-bit integer, or, when not ``signed``, an unsigned
    ``value_bits``-bit one (gates: ``0 <= q < 2**value_bits``).
    """

    name: str
    kind: str
    bits: int
    frac: int
    offset: int
    overflow: str
    unit: str
    signed: bool = True
    value_bits: int = 0

    @property
    def value_range(self) -> tuple[int, int]:
        """Smallest and largest ``q``."""
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.value_bits) - 1


@dataclass(frozen=True)
class Port:
    """An integer input of the program, with ``frac`` fractional bits.

    ``kind``: ``"drive"`` (an input of the model, ``scale`` integer units per SI unit, in its
    state's units per step), ``"increment"`` (synaptic increments of ``state``) or
    ``"parameter"`` (a per-neuron constant of the program, such as a coefficient, a threshold or a
    refractory period, used by the operations of ``state``; ``scale`` 0: its contents come with the
    program, :attr:`~neuromorph.quantization.quantize.QuantizedNeuron.parameter_rows`).
    """

    name: str
    kind: str
    state: str
    bits: int
    frac: int
    scale: float


@dataclass(frozen=True)
class Program:
    """A neuron's step as integer operations (see the module docstring).

    Attributes
    ----------
    ops : tuple of Op
        The operations in execution order.
    registers : tuple of Register
        The state; register ``r`` is row ``r`` of the state matrix.
    ports : tuple of Port
        Integer inputs; port ``p`` is row ``p`` of the input matrix.
    outputs : tuple of int
        Slot holding the new contents of each register (already fitted to it).
    fits : tuple of int
        Slot of the operation that fits each register's update (-1 if none), whose
        overflow count is that register's.
    spike : int
        Slot of the spike flag.
    rounding : str
        Rounding mode of every ``shr``.
    seed : int
        Seed of the stochastic and dither noise.
    n_sites : int
        Number of rounding sites (rows of the noise matrix).
    table_names : tuple of str
        Names of the tables the ``read`` immediates index.
    """

    ops: tuple[Op, ...]
    registers: tuple[Register, ...]
    ports: tuple[Port, ...]
    outputs: tuple[int, ...]
    fits: tuple[int, ...]
    spike: int
    rounding: str
    seed: int
    n_sites: int
    table_names: tuple[str, ...]

    @property
    def n_slots(self) -> int:
        """Number of value slots."""
        return len(self.ops)

    def operation_counts(self) -> dict[str, int]:
        """Operations per neuron-step by kind (multiplies, adds, table reads, shifts, ...)."""
        counts = Counter(OPCODES[op.code] for op in self.ops if not is_identity(op))
        return dict(sorted(counts.items()))

    def checked_sites(self) -> list[int]:
        """Indices of the operations that enforce a width (their overflows are counted)."""
        return [i for i, op in enumerate(self.ops) if op.code in CHECKED]

    def overflow_report(self, counts: np.ndarray) -> dict[str, int]:
        """Overflow counts by operation label (only operations that overflowed)."""
        report: dict[str, int] = {}
        for op, count in zip(self.ops, np.asarray(counts).tolist()):
            if count:
                key = f"#{op.dst} {op.code} {op.label}"
                report[key] = report.get(key, 0) + int(count)
        return report

    def register_overflows(self, counts: np.ndarray) -> dict[str, int]:
        """Overflow count of each register's final fit (by register name)."""
        counts = np.asarray(counts)
        return {r.name: int(counts[slot]) if slot >= 0 else 0 for r, slot in zip(self.registers, self.fits)}
