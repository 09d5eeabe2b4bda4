"""Which width checks of an integer program can ever fire: interval analysis with exact integers.

The interpreter checks every value of a checked operation against its width. Most of
those checks cannot fail: a table entry minus its neighbour never leaves a 48-bit
accumulator, a 16-bit register times a 24-bit constant never leaves the multiplier's
product width. This module proves it, with exact integer intervals, under three
preconditions that the compiled kernel verifies:

* every register holds a value of its declared range at the start of every step (checked
  before a run, and after every step for the registers whose new value the analysis
  cannot bound: :attr:`CheckPlan.unproven`; a run that breaks it is redone by the
  interpreter);
* the tables' entries and their steps ``T[k+1] - T[k]`` lie within the *width classes*
  of :class:`DataBounds` (``[0, 2**b)`` or ``[-2**b, 2**b)`` for the fewest bits ``b``),
  so one kernel serves every table content of the same widths; the constants are taken
  as they are (a register's offset must be known exactly to bound its contents). The
  plan is always made from the data the kernel runs with, so data outside these bounds
  only means another plan, never a wrong result;
* inputs are arbitrary int64 (the input operation's check stays).

A check left out is one that cannot fire for any such state, input and noise, so the
kernel without it computes exactly what the interpreter computes, overflow counts
included (they are zero there). An intermediate whose exact interval leaves int64 (where
the interpreter's numpy arithmetic wraps) makes every later bound that depends on it the
full int64 range.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .fixed_point import register_limits
from .program import Op, Program

INT64 = (-(1 << 63), (1 << 63) - 1)
Interval = tuple[int, int]


def _clamp64(low: int, high: int) -> Interval:
    """``[low, high]`` if int64 holds it exactly, else the full int64 range (the arithmetic may wrap)."""
    return (low, high) if INT64[0] <= low and high <= INT64[1] else INT64


def _inside(interval: Interval, bounds: Interval) -> bool:
    return bounds[0] <= interval[0] and interval[1] <= bounds[1]


def width_range(width: int, unsigned: bool = False) -> Interval:
    """Values of a ``width``-bit register (two's complement, or unsigned)."""
    if unsigned:
        return 0, (1 << width) - 1
    return register_limits(min(width, 64))


def stored_range(program: Program, index: int) -> Interval:
    """Contents of register ``index`` (its value range minus the offset-binary offset)."""
    register = program.registers[index]
    low, high = register.value_range
    return low - register.offset, high - register.offset


def width_class(low: int, high: int) -> Interval:
    """The smallest ``[0, 2**b)``-or-``[-2**b, 2**b)``-style interval holding ``[low, high]``."""
    bottom = 0 if low >= 0 else -(1 << (-low - 1).bit_length())
    top = (1 << high.bit_length()) - 1 if high >= 0 else -1
    return bottom, top


@dataclass(frozen=True)
class DataBounds:
    """Width classes of a program's data: what the analysis assumes, and the kernel verifies.

    Attributes
    ----------
    entries : dict
        Table index -> width class of its entries.
    steps : dict
        Table index -> width class of ``T[k+1] - T[k]`` and 0 (the step read at the last entry).
    constants : dict
        Constant index -> its value, as an interval.
    """

    entries: dict[int, Interval]
    steps: dict[int, Interval]
    constants: dict[int, Interval]

    @classmethod
    def of(cls, tables, constants) -> "DataBounds":
        """The width classes of ``tables`` (sequence of int64 arrays) and ``constants``."""
        entries, steps = {}, {}
        for t, table in enumerate(tables):
            table = np.asarray(table, dtype=np.int64)
            if table.size:
                entries[t] = width_class(int(table.min()), int(table.max()))
                diffs = np.concatenate([np.diff(table), [0]])
                steps[t] = width_class(int(diffs.min()), int(diffs.max()))
        return cls(entries=entries, steps=steps, constants={j: (int(c), int(c))
                                                           for j, c in enumerate(np.asarray(constants).tolist())})


@dataclass(frozen=True)
class CheckPlan:
    """Which fits of which operations can fire.

    ``checks[i]`` holds, for operation ``i``, one flag per fit it performs (``mul``:
    left operand, right operand, product; other checked operations: the result).
    ``unproven`` lists the registers whose new contents the analysis cannot keep within
    their declared range (the kernel checks those after every step).
    """

    checks: dict[int, tuple[bool, ...]]
    registers: tuple[Interval, ...]
    data: DataBounds
    unproven: tuple[int, ...] = ()

    def needs(self, index: int) -> tuple[bool, ...]:
        """The flags of operation ``index`` (empty for unchecked operations)."""
        return self.checks.get(index, ())


def _fit(interval: Interval, width: int, unsigned: bool = False) -> tuple[Interval, bool]:
    """(interval after the fit, whether the fit can fire)."""
    bounds = width_range(width, unsigned)
    if width >= 64 and not unsigned:
        return interval, False
    if _inside(interval, bounds):
        return interval, False
    return bounds, True


def _shr(interval: Interval, shift: int, rounding: str) -> Interval:
    """Bounds of a rounded right shift (every mode is monotone; noise adds at most ``2**shift - 1``)."""
    low, high = interval
    if shift <= 0:
        return _clamp64(low << -shift, high << -shift)
    if rounding == "toward_zero":
        if low <= INT64[0]:
            return INT64
        def toward(x: int) -> int:
            return -((-x) >> shift) if x < 0 else x >> shift
        return toward(low), toward(high)
    add = {"nearest": 1 << (shift - 1), "truncate": 0}.get(rounding, (1 << shift) - 1)
    if high + add > INT64[1]:
        return INT64
    return low >> shift, (high + add) >> shift


def _product(a: Interval, b: Interval) -> Interval:
    corners = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return _clamp64(min(corners), max(corners))


class _Analysis:
    """One pass over the program with given register ranges and data bounds."""

    def __init__(self, program: Program, registers: tuple[Interval, ...], data: DataBounds):
        self.program, self.registers, self.data = program, registers, data
        self.values: list[Interval] = []
        self.checks: dict[int, tuple[bool, ...]] = {}

    def run(self) -> "_Analysis":
        for index, op in enumerate(self.program.ops):
            self.values.append(RULES[op.code](self, index, op))
        return self

    def arg(self, op: Op, k: int) -> Interval:
        return self.values[op.args[k]]

    def checked(self, index: int, op: Op, raw: Interval) -> Interval:
        value, fires = _fit(raw, op.width, op.code == "fit" and op.imm == (1,))
        self.checks[index] = (fires,)
        return value


def _mul(an: _Analysis, index: int, op: Op) -> Interval:
    left, fires_a = _fit(an.arg(op, 0), op.operand_width)
    right, fires_b = _fit(an.arg(op, 1), op.operand_width)
    value, fires = _fit(_product(left, right), op.width)
    an.checks[index] = (fires_a, fires_b, fires)
    return value


def _const(an: _Analysis, index: int, op: Op) -> Interval:
    return an.data.constants.get(op.imm[0], INT64)


def _read(an: _Analysis, index: int, op: Op) -> Interval:
    return an.data.entries.get(op.imm[0], INT64)


def _add(an: _Analysis, index: int, op: Op) -> Interval:
    a, b = an.arg(op, 0), an.arg(op, 1)
    return an.checked(index, op, _clamp64(a[0] + b[0], a[1] + b[1]))


def _sub(an: _Analysis, index: int, op: Op) -> Interval:
    step = _table_step(an.program, op)
    if step is not None:
        return an.checked(index, op, an.data.steps.get(step, INT64))
    a, b = an.arg(op, 0), an.arg(op, 1)
    return an.checked(index, op, _clamp64(a[0] - b[1], a[1] - b[0]))


def _table_step(program: Program, op: Op) -> int | None:
    """The table ``t`` when ``op`` is ``T[min(k + 1, last)] - T[k]`` (both reads at the same index), else None."""
    later, earlier = (program.ops[a] for a in op.args)
    if later.code == earlier.code == "read" and later.args == earlier.args and later.imm[0] == earlier.imm[0] \
            and (later.imm[1], earlier.imm[1]) == (1, 0):
        return later.imm[0]
    return None


def _shl(an: _Analysis, index: int, op: Op) -> Interval:
    a = an.arg(op, 0)
    return an.checked(index, op, _clamp64(a[0] << op.imm[0], a[1] << op.imm[0]))


def _scale(an: _Analysis, index: int, op: Op) -> Interval:
    """A rounded right shift, or a left shift, then the width's check."""
    return an.checked(index, op, _shr(an.arg(op, 0), op.imm[0], an.program.rounding))


def _load(an: _Analysis, index: int, op: Op) -> Interval:
    register, offset = op.imm
    low, high = an.registers[register]
    return _clamp64(low + offset, high + offset)


def _and(an: _Analysis, index: int, op: Op) -> Interval:
    a, b = an.arg(op, 0), an.arg(op, 1)
    if a[0] >= 0 and b[0] >= 0:
        return 0, min(a[1], b[1])
    return INT64


def _select(an: _Analysis, index: int, op: Op) -> Interval:
    a, b = an.arg(op, 1), an.arg(op, 2)
    return min(a[0], b[0]), max(a[1], b[1])


def _minimum(an: _Analysis, index: int, op: Op) -> Interval:
    a, b = an.arg(op, 0), an.arg(op, 1)
    return min(a[0], b[0]), min(a[1], b[1])


RULES: dict[str, Callable[[_Analysis, int, Op], Interval]] = {
    "const": _const,
    "load": _load,
    "port": lambda an, i, op: an.checked(i, op, INT64),
    "add": _add,
    "sub": _sub,
    "mul": _mul,
    "shr": lambda an, i, op: _shr(an.arg(op, 0), op.imm[0], an.program.rounding),
    "shl": _shl,
    "scale": _scale,
    "fit": lambda an, i, op: an.checked(i, op, an.arg(op, 0)),
    "index": lambda an, i, op: (0, op.imm[2] - 1),
    "remainder": lambda an, i, op: (0, (1 << op.imm[1]) - 1),
    "read": _read,
    "gt": lambda an, i, op: (0, 1),
    "ge": lambda an, i, op: (0, 1),
    "and": _and,
    "select": _select,
    "min": _minimum,
    "draw": lambda an, i, op: (0, (1 << op.imm[2]) - 1),
}

def plan_checks(program: Program, data: DataBounds) -> CheckPlan:
    """The checks that can fire when every step starts from registers within their declared ranges."""
    registers = tuple(stored_range(program, r) for r in range(len(program.registers)))
    analysis = _Analysis(program, registers, data).run()
    unproven = tuple(r for r, slot in enumerate(program.outputs) if not _inside(analysis.values[slot], registers[r]))
    return CheckPlan(checks=analysis.checks, registers=registers, data=data, unproven=unproven)


def structure_key(program: Program) -> tuple:
    """What a kernel with runtime constants depends on besides its checks: opcodes, operands,
    overflow rules, the rounding mode and the shape of the state (not shifts, widths, grids,
    offsets or data)."""
    def shape(op: Op) -> tuple:
        kept = op.imm if op.code == "draw" else (op.imm == (1,),) if op.code == "fit" else ()
        return op.code, op.args, op.overflow, kept, op.width >= 64, op.operand_width >= 64

    return (program.rounding, len(program.registers), len(program.ports), program.spike, program.outputs,
            tuple(shape(op) for op in program.ops))


@dataclass(frozen=True)
class SharedChecks:
    """The checks of several programs of one structure (the union of their plans).

    A kernel with runtime constants compiled with these checks serves each of the programs:
    a check one program needs and another does not never fires in the other, so every
    program computes exactly what its own plan would (:func:`shared_checks`).

    Attributes
    ----------
    checks, unproven
        The union of the programs' check flags per operation, and of their unproven operations.
    programs : int
        How many program runs share them: the runs one compiled kernel serves (a kernel that
        is not worth compiling for one short run may be for all of them).
    """

    checks: tuple[tuple[int, tuple[bool, ...]], ...]
    unproven: tuple[int, ...]
    programs: int = 1

    def plan(self, program: Program, data: DataBounds) -> CheckPlan:
        """The plan of ``program`` (its register ranges and data) with the shared checks."""
        registers = tuple(stored_range(program, r) for r in range(len(program.registers)))
        return CheckPlan(checks=dict(self.checks), registers=registers, data=data, unproven=self.unproven)


def shared_checks(programs, runs_each: int = 1) -> dict[tuple, SharedChecks]:
    """Per :func:`structure_key`, the union of the plans of ``programs`` ((program, tables, constants) triples),
    each program run ``runs_each`` times (a network benchmark runs every configuration once per held-out draw)."""
    union: dict[tuple, tuple[dict, set]] = {}
    members: Counter = Counter()
    for program, tables, constants in programs:
        plan = plan_checks(program, DataBounds.of(tables, constants))
        key = structure_key(program)
        checks, unproven = union.setdefault(key, ({}, set()))
        for index, flags in plan.checks.items():
            before = checks.get(index, (False,) * len(flags))
            checks[index] = tuple(a or b for a, b in zip(before, flags))
        unproven.update(plan.unproven)
        members[key] += runs_each
    return {key: SharedChecks(checks=tuple(sorted(checks.items())), unproven=tuple(sorted(unproven)),
                              programs=members[key])
            for key, (checks, unproven) in union.items()}
