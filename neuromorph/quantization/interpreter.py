"""numpy interpreter of an integer :class:`~neuromorph.quantization.program.Program`.

Vectorised across neurons: every slot is an int64 array of shape (N,). Each operation
is turned once into a small closure; a step runs them in order. All arithmetic goes
through :mod:`neuromorph.quantization.fixed_point`. Widths are enforced exactly as the
program declares them (see the program module), with every value that did not fit counted
per operation. This is the emulator's kernel and the Lava ``fixed_pt`` ProcessModel's.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .fixed_point import (
    counter_uniform, dither_advance, register_limits, shift_round, stochastic_noise, table_index, table_remainder,
)
from .program import Op, Program

Slots = list
Step = Callable[[Slots, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


def fit(x: np.ndarray, bits: int, overflow: str, unsigned: bool = False) -> tuple[np.ndarray, int]:
    """``x`` in a ``bits``-bit register (two's complement, or unsigned ``[0, 2**bits)``) by the
    overflow rule, and how many values did not fit."""
    low, high = (0, (1 << bits) - 1) if unsigned else register_limits(bits)
    outside = (x < low) | (x > high)
    count = int(np.count_nonzero(outside))
    if not count:
        return x, 0
    if overflow == "saturate":
        return np.clip(x, low, high), count
    return ((x - low) & np.int64((1 << bits) - 1)) + low, count


def _per_neuron(count: int, value, n: int) -> int:
    """A count of a value shared by all neurons (a scalar, computed from constants only) counts once per neuron."""
    return count * n if np.ndim(value) == 0 else count


def _checked(index: int, op: Op, compute: Callable) -> Step:
    unsigned = op.code == "fit" and op.imm == (1,)

    def run(slots, registers, inputs, noise, counts):
        value, count = fit(compute(slots, registers, inputs), op.width, op.overflow, unsigned)
        counts[index] += _per_neuron(count, value, registers.shape[1])
        slots[op.dst] = value
    return run


def _plain(op: Op, compute: Callable) -> Step:
    def run(slots, registers, inputs, noise, counts):
        slots[op.dst] = compute(slots, registers, inputs)
    return run


def _mul(index: int, op: Op) -> Step:
    a, b = op.args

    def run(slots, registers, inputs, noise, counts):
        n = registers.shape[1]
        left, count_a = fit(slots[a], op.operand_width, op.overflow)
        right, count_b = fit(slots[b], op.operand_width, op.overflow)
        value, count = fit(left * right, op.width, op.overflow)
        counts[index] += _per_neuron(count_a, left, n) + _per_neuron(count_b, right, n) + _per_neuron(count, value, n)
        slots[op.dst] = value
    return run


def _shr(op: Op, rounding: str) -> Step:
    (a,), (shift,) = op.args, op.imm

    def run(slots, registers, inputs, noise, counts):
        slots[op.dst] = shift_round(slots[a], shift, rounding, None if noise is None else noise[op.site])
    return run


def _scale(index: int, op: Op, rounding: str) -> Step:
    """``shift_round`` by the signed shift (a left shift when negative), held to the width."""
    (a,), (shift,) = op.args, op.imm

    def run(slots, registers, inputs, noise, counts):
        rounded = shift_round(slots[a], shift, rounding, None if noise is None or shift <= 0 else noise[op.site])
        slots[op.dst], count = fit(rounded, op.width, op.overflow)
        counts[index] += _per_neuron(count, slots[op.dst], registers.shape[1])
    return run


def _arithmetic(op: Op, tables: Sequence[np.ndarray], constants: np.ndarray) -> Callable:
    """The computation of every operation but mul and shr, as a function of (slots, registers, inputs)."""
    args, imm = op.args, op.imm
    if op.code == "const":
        value = np.int64(constants[imm[0]])
        return lambda s, r, i: value
    if op.code == "load":
        register, offset = imm
        return lambda s, r, i: r[register] + np.int64(offset)
    if op.code == "port":
        return lambda s, r, i: i[imm[0]]
    a = args[0] if args else None
    simple = {
        "add": lambda s, r, i: s[a] + s[args[1]],
        "sub": lambda s, r, i: s[a] - s[args[1]],
        "shl": lambda s, r, i: s[a] << np.int64(imm[0]),
        "fit": lambda s, r, i: s[a],
        "gt": lambda s, r, i: (s[a] > s[args[1]]).astype(np.int64),
        "ge": lambda s, r, i: (s[a] >= s[args[1]]).astype(np.int64),
        "and": lambda s, r, i: s[a] & s[args[1]],
        "select": lambda s, r, i: np.where(s[a] != 0, s[args[1]], s[args[2]]),
        "min": lambda s, r, i: np.minimum(s[a], s[args[1]]),
    }
    if op.code in simple:
        return simple[op.code]
    if op.code == "index":
        return lambda s, r, i: table_index(s[a], *imm)
    if op.code == "remainder":
        return lambda s, r, i: table_remainder(s[a], *imm)
    if op.code == "read":
        entries, step = tables[imm[0]], imm[1]
        last = entries.size - 1
        return lambda s, r, i: entries[np.minimum(s[a] + step, last)] if step else entries[s[a]]
    raise ValueError(f"unknown opcode {op.code!r}")


class Interpreter:
    """Runs a program on the states of N neurons, one time step per :meth:`step` call.

    Parameters
    ----------
    program : Program
        The operations.
    tables : sequence of ndarray
        Table entries (int64), indexed by the program's ``read`` immediates.
    constants : ndarray
        The constant pool (int64).
    """

    def __init__(self, program: Program, tables: Sequence[np.ndarray], constants: np.ndarray):
        self.program = program
        tables = [np.asarray(t, dtype=np.int64) for t in tables]
        constants = np.asarray(constants, dtype=np.int64)
        self._step_index = 0
        self._steps = [self._compile(i, op, tables, constants) for i, op in enumerate(program.ops)]
        self._phases: dict[int, np.ndarray] = {}

    def _draw(self, op: Op) -> Step:
        """``counter_uniform`` of the step being run (the program's random draws)."""
        seed, stream, bits = op.imm

        def run(slots, registers, inputs, noise, counts):
            slots[op.dst] = counter_uniform(seed, self._step_index, stream, registers.shape[1], bits)
        return run

    def _compile(self, index: int, op: Op, tables, constants) -> Step:
        if op.code == "draw":
            return self._draw(op)
        if op.code == "mul":
            return _mul(index, op)
        if op.code == "shr":
            return _shr(op, self.program.rounding)
        if op.code == "scale":
            return _scale(index, op, self.program.rounding)
        compute = _arithmetic(op, tables, constants)
        return _checked(index, op, compute) if op.code in ("port", "add", "sub", "shl", "scale", "fit") \
            else _plain(op, compute)

    def noise(self, step: int, n: int) -> np.ndarray | None:
        """The step's rounding noise, (rounding sites, N), or None for deterministic rounding."""
        program = self.program
        if program.rounding == "stochastic":
            return stochastic_noise(program.seed, step, program.n_sites, n)
        if program.rounding == "dither":
            if n not in self._phases:
                self._phases[n] = stochastic_noise(program.seed, 0, program.n_sites, n)
            return dither_advance(self._phases[n], step)
        return None

    def step(self, registers: np.ndarray, inputs: np.ndarray, step: int):
        """Advance one step.

        Parameters
        ----------
        registers : ndarray (n_registers, N) int64
            Register contents.
        inputs : ndarray (n_ports, N) int64
            This step's integer inputs.
        step : int
            Step index (seeds the rounding noise).

        Returns
        -------
        new_registers : ndarray (n_registers, N)
        spiked : ndarray (N,) bool
        overflows : ndarray (n_ops,) int64
            Values that did not fit, per operation.
        """
        n = registers.shape[1]
        slots: Slots = [None] * len(self._steps)
        counts = np.zeros(len(self._steps), dtype=np.int64)
        noise = self.noise(step, n)
        self._step_index = step
        for run in self._steps:
            run(slots, registers, inputs, noise, counts)
        program = self.program
        new = np.empty_like(registers)
        for row, slot in enumerate(program.outputs):
            new[row] = slots[slot]
        spiked = np.broadcast_to(slots[program.spike] != 0, (n,)).copy()
        return new, spiked, counts
