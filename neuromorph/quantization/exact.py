"""An independent exact interpreter of integer programs, in plain Python integers.

No numpy arithmetic: every value is a Python ``int`` (arbitrary precision), so an
intermediate that a 64-bit emulation would overflow is computed exactly and then held to
the width the program declares, by the declared rule. The rounding noise (SplitMix64
hashes and Weyl sequences) is recomputed here with Python integers as well. Slow (a
Python loop over the neurons in every operation); the tests use it to show that the numpy
interpreter computes exactly the declared datapath, bit for bit.
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


#: First counter row of the program's random draws (``fixed_point.DRAW_BASE``, restated).
DRAW_BASE = 1 << 24


def draw(seed: int, step: int, stream: int, neuron: int, n: int, bits: int) -> int:
    """A ``draw``: the top ``bits`` of the hash of (seed, step, counter ``(DRAW_BASE + stream) * n + neuron``)."""
    key = ((seed * _SEED_KEY) & MASK64) ^ ((step * _STEP_KEY) & MASK64)
    counter = ((((DRAW_BASE + stream) * n + neuron) & MASK64) * _STREAM_KEY) & MASK64
    return splitmix64(splitmix64(counter ^ key)) >> (64 - bits)


def weyl(phase: int, step: int) -> int:
    """Dither offset of ``step``: the site's hashed ``phase`` plus ``step`` golden increments, modulo ``2**62``."""
    return (phase + step * _WEYL_STEP) & ((1 << NOISE_BITS) - 1)


def fit_column(xs: list[int], bits: int, overflow: str, unsigned: bool = False) -> tuple[list[int], int]:
    """Every ``x`` of ``xs`` held to a ``bits``-bit register: (values, how many did not fit).

    Saturation clamps to ``[low, high]``; wrapping keeps ``x`` modulo ``2**bits`` in that range.
    """
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    bad = sum(1 for x in xs if x < low or x > high)
    if not bad:
        return xs, 0
    if overflow == "saturate":
        return [low if x < low else high if x > high else x for x in xs], bad
    span = 1 << bits
    return [x if low <= x <= high else (x - low) % span + low for x in xs], bad


def round_shift(x: int, shift: int, mode: str, offset: int) -> int:
    """``x / 2**shift`` rounded: half up, floor, toward zero, or floor after adding a noise offset."""
    if mode in ("nearest", "error_feedback"):  # error feedback: nearest, its residuals are program operations
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

    Each operation becomes a closure ``f(slots, registers, inputs, noise) -> (column, did_not_fit)``
    on a column of Python integers (one per neuron), independent of
    :mod:`neuromorph.quantization.fixed_point` and of numpy; ``did_not_fit`` counts the
    neurons whose value (or operand) the operation held to its width.
    """

    def __init__(self, program: Program, tables: Sequence[Sequence[int]], constants: Sequence[int]):
        self.program = program
        self.tables = [[int(x) for x in t] for t in tables]
        self.constants = [int(c) for c in constants]
        self._ops = [self._compile(op) for op in program.ops]
        self._phases: dict = {}

    def _compile(self, op: Op):
        code, args, imm = op.code, op.args, op.imm
        if code == "const":
            value = self.constants[imm[0]]
            return lambda s, r, i, noise: ([value] * len(noise.neurons), 0)
        if code == "load":
            return lambda s, r, i, noise: ([x + imm[1] for x in r[imm[0]]], 0)
        if code == "draw":
            seed, stream, bits = imm
            return lambda s, r, i, noise: ([draw(seed, noise.step, stream, k, len(noise.neurons), bits)
                                            for k in noise.neurons], 0)
        if code == "mul":
            def multiply(s, r, i, noise):
                left, bad_a = fit_column(s[args[0]], op.operand_width, op.overflow)
                right, bad_b = fit_column(s[args[1]], op.operand_width, op.overflow)
                value, bad = fit_column([a * b for a, b in zip(left, right)], op.width, op.overflow)
                return value, bad_a + bad_b + bad
            return multiply
        if code == "shr":
            rounding, shift = self.program.rounding, imm[0]
            return lambda s, r, i, noise: ([round_shift(x, shift, rounding, offset)
                                            for x, offset in zip(s[args[0]], noise(op.site))], 0)
        if code == "scale":
            return self._scale(op)
        if code in ("port", "add", "sub", "shl", "fit"):
            raw = self._raw(op)
            unsigned = code == "fit" and imm == (1,)
            return lambda s, r, i, noise: fit_column(raw(s, i), op.width, op.overflow, unsigned)
        logic = self._logic(op)
        return lambda s, r, i, noise: (logic(s), 0)

    def _scale(self, op: Op):
        """Rounded right shift (``s > 0``) or left shift by ``-s``, held to the width."""
        rounding, shift, a = self.program.rounding, op.imm[0], op.args[0]

        def scale(s, r, i, noise):
            if shift <= 0:
                column = [x << -shift for x in s[a]]
            else:
                column = [round_shift(x, shift, rounding, offset) for x, offset in zip(s[a], noise(op.site))]
            return fit_column(column, op.width, op.overflow)
        return scale

    @staticmethod
    def _raw(op: Op):
        args, imm = op.args, op.imm
        if op.code == "port":
            return lambda s, i: list(i[imm[0]])
        if op.code == "shl":
            return lambda s, i: [x << imm[0] for x in s[args[0]]]
        if op.code == "fit":
            return lambda s, i: s[args[0]]
        combine = _binary(op.code)
        return lambda s, i: [combine(a, b) for a, b in zip(s[args[0]], s[args[1]])]

    def _logic(self, op: Op):
        code, args, imm = op.code, op.args, op.imm
        if code in ("index", "remainder"):
            origin, shift, size = imm

            def address(x: int) -> int:
                offset = x - origin
                k = offset >> shift
                if code == "index":
                    return min(max(k, 0), size - 1)
                return offset & ((1 << shift) - 1) if 0 <= k < size - 1 else 0
            return lambda s: [address(x) for x in s[args[0]]]
        if code == "read":
            table, step = self.tables[imm[0]], imm[1]
            last = len(table) - 1
            return lambda s: [table[min(k + step, last)] for k in s[args[0]]]
        if code == "select":
            return lambda s: [a if c != 0 else b for c, a, b in zip(s[args[0]], s[args[1]], s[args[2]])]
        combine = _binary(code)
        return lambda s: [combine(a, b) for a, b in zip(s[args[0]], s[args[1]])]

    def step(self, registers: list[list[int]], inputs: list[list[int]], step: int):
        """All neurons: registers[r][i], inputs[p][i] -> (new registers, spikes, counts per operation)."""
        program = self.program
        n = len(registers[0]) if registers else 0
        noise = _Noise(program.rounding, program.seed, step, n, self._phases)
        registers = [[int(x) for x in row] for row in registers]
        inputs = [[int(x) for x in row] for row in inputs]
        slots: list = [None] * len(program.ops)
        counts = [0] * len(program.ops)
        for index, run in enumerate(self._ops):
            slots[index], counts[index] = run(slots, registers, inputs, noise)
        return [list(slots[s]) for s in program.outputs], [x != 0 for x in slots[program.spike]], counts


class _Noise:
    """The rounding offsets of one step: ``noise(site)`` is the column of offsets of every neuron.

    Stochastic offsets hash (seed, step, site, neuron). A dither offset is a Weyl sequence whose
    phase hashes (seed, 0, site, neuron), so phases are hashed once and kept in ``phases``.
    """

    def __init__(self, rounding: str, seed: int, step: int, n: int, phases: dict):
        self.rounding, self.seed, self.step, self.neurons, self.phases = rounding, seed, step, range(n), phases

    def __call__(self, site: int) -> list[int]:
        n = len(self.neurons)
        if self.rounding == "stochastic":
            return [stochastic_offset(self.seed, self.step, site, neuron, n) for neuron in self.neurons]
        if self.rounding != "dither":
            return [0] * n
        key = (self.seed, site, n)
        if key not in self.phases:
            self.phases[key] = [stochastic_offset(self.seed, 0, site, neuron, n) for neuron in self.neurons]
        return [weyl(phase, self.step) for phase in self.phases[key]]
