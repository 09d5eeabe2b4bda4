"""An independent exact interpreter of integer programs, in plain Python integers.

No numpy arithmetic: every value is a Python ``int`` (arbitrary precision), so an
intermediate that a 64-bit emulation would overflow is computed exactly and then held to
the width the program declares, by the declared rule. The rounding noise (SplitMix64
hashes and Weyl sequences) is recomputed here with Python integers as well. Slow (one
neuron at a time); the tests use it to show that the numpy interpreter computes exactly
the declared datapath, bit for bit.
"""
from __future__ import annotations

from typing import Sequence

from .program import Op, Program

MASK64 = (1 << 64) - 1
NOISE_BITS = 62
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_STEP_KEY, _STREAM_KEY, _SEED_KEY = 0xD1B54A32D192ED03, 0xABC98388FB8FAC03, 0x8CB92BA72F3D8DD7
_WEYL_STEP = 0x278DDE6E5FD29F05


def splitmix64(x: int) -> int:
    """SplitMix64 finaliser on a 64-bit integer (Steele, Lea & Flood 2014)."""
    z = (x + _GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & MASK64
    return z ^ (z >> 31)


def stochastic_offset(seed: int, step: int, site: int, neuron: int, n: int) -> int:
    """Uniform integer in ``[0, 2**62)`` of (seed, step, rounding site, neuron)."""
    key = ((seed * _SEED_KEY) & MASK64) ^ ((step * _STEP_KEY) & MASK64)
    counter = ((site * n + neuron) * _STREAM_KEY) & MASK64
    return splitmix64(splitmix64(counter ^ key)) >> (64 - NOISE_BITS)


def dither_offset(seed: int, step: int, site: int, neuron: int, n: int) -> int:
    """Weyl-sequence offset in ``[0, 2**62)``: hashed phase plus ``step`` times the golden increment."""
    phase = stochastic_offset(seed, 0, site, neuron, n)
    return (phase + step * _WEYL_STEP) & ((1 << NOISE_BITS) - 1)


OFFSETS = {"stochastic": stochastic_offset, "dither": dither_offset}


def fit(x: int, bits: int, overflow: str, unsigned: bool = False) -> tuple[int, int]:
    """``x`` held to a ``bits``-bit register (signed, or unsigned); (value, 1 if it did not fit else 0)."""
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if low <= x <= high:
        return x, 0
    if overflow == "saturate":
        return min(max(x, low), high), 1
    return (x - low) % (1 << bits) + low, 1


def round_shift(x: int, shift: int, mode: str, offset: int) -> int:
    """``x / 2**shift`` rounded: half up, floor, toward zero, or floor after adding a noise offset."""
    if mode == "nearest":
        return (x + (1 << (shift - 1))) >> shift
    if mode == "truncate":
        return x >> shift
    if mode == "toward_zero":
        return -((-x) >> shift) if x < 0 else x >> shift
    return (x + (offset >> (NOISE_BITS - shift))) >> shift


def _binary(code: str):
    return {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "gt": lambda a, b: int(a > b),
            "ge": lambda a, b: int(a >= b), "and": lambda a, b: a & b, "min": min}[code]


class ExactInterpreter:
    """Python-integer interpreter with the same semantics as the numpy one (lists of ints).

    Each operation becomes a closure ``f(slots, registers, inputs, noise) -> (value, did_not_fit)``
    on Python integers, independent of :mod:`neuromorph.quantization.fixed_point` and of numpy.
    """

    def __init__(self, program: Program, tables: Sequence[Sequence[int]], constants: Sequence[int]):
        self.program = program
        self.tables = [[int(x) for x in t] for t in tables]
        self.constants = [int(c) for c in constants]
        self._ops = [self._compile(op) for op in program.ops]

    def _compile(self, op: Op):
        code, args, imm = op.code, op.args, op.imm
        if code == "const":
            value = self.constants[imm[0]]
            return lambda s, r, i, noise: (value, 0)
        if code == "load":
            return lambda s, r, i, noise: (r[imm[0]] + imm[1], 0)
        if code == "mul":
            def multiply(s, r, i, noise):
                left, bad_a = fit(s[args[0]], op.operand_width, op.overflow)
                right, bad_b = fit(s[args[1]], op.operand_width, op.overflow)
                value, bad = fit(left * right, op.width, op.overflow)
                return value, bad_a + bad_b + bad
            return multiply
        if code == "shr":
            rounding = self.program.rounding
            return lambda s, r, i, noise: (round_shift(s[args[0]], imm[0], rounding, noise(op.site)), 0)
        if code in ("port", "add", "sub", "shl", "fit"):
            raw = self._raw(op)
            unsigned = code == "fit" and imm == (1,)
            return lambda s, r, i, noise: fit(raw(s, i), op.width, op.overflow, unsigned)
        logic = self._logic(op)
        return lambda s, r, i, noise: (logic(s), 0)

    @staticmethod
    def _raw(op: Op):
        args, imm = op.args, op.imm
        if op.code == "port":
            return lambda s, i: i[imm[0]]
        if op.code == "shl":
            return lambda s, i: s[args[0]] << imm[0]
        if op.code == "fit":
            return lambda s, i: s[args[0]]
        combine = _binary(op.code)
        return lambda s, i: combine(s[args[0]], s[args[1]])

    def _logic(self, op: Op):
        code, args, imm = op.code, op.args, op.imm
        if code in ("index", "remainder"):
            origin, shift, size = imm

            def address(s):
                offset = s[args[0]] - origin
                k = offset >> shift
                if code == "index":
                    return min(max(k, 0), size - 1)
                return offset & ((1 << shift) - 1) if 0 <= k < size - 1 else 0
            return address
        if code == "read":
            table, step = self.tables[imm[0]], imm[1]
            last = len(table) - 1
            return lambda s: table[min(s[args[0]] + step, last)]
        if code == "select":
            return lambda s: s[args[1]] if s[args[0]] != 0 else s[args[2]]
        combine = _binary(code)
        return lambda s: combine(s[args[0]], s[args[1]])

    def step_neuron(self, registers: list[int], inputs: list[int], step: int, neuron: int, n: int):
        """One step of one neuron: (new registers, spiked, overflow count per operation)."""
        program = self.program
        offset = OFFSETS.get(program.rounding)

        def noise(site: int) -> int:
            return offset(program.seed, step, site, neuron, n) if offset else 0

        slots: list = [0] * len(program.ops)
        counts = [0] * len(program.ops)
        for index, run in enumerate(self._ops):
            slots[index], counts[index] = run(slots, registers, inputs, noise)
        return [slots[s] for s in program.outputs], slots[program.spike] != 0, counts

    def step(self, registers: list[list[int]], inputs: list[list[int]], step: int):
        """All neurons: registers[r][i], inputs[p][i] -> (new registers, spikes, counts per operation)."""
        n = len(registers[0]) if registers else 0
        columns = [self.step_neuron([row[i] for row in registers], [row[i] for row in inputs], step, i, n)
                   for i in range(n)]
        new = [[column[0][r] for column in columns] for r in range(len(registers))]
        counts = [sum(column[2][k] for column in columns) for k in range(len(self.program.ops))]
        return new, [column[1] for column in columns], counts
