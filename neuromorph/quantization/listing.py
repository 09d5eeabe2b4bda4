"""Human-readable listing of a lowered neuron (``neuromorph lower``)."""
from __future__ import annotations

from .program import CHECKED, Op
from .quantize import QuantizedNeuron

_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "gt": ">", "ge": ">=", "and": "&"}


def _q_format(bits: int, frac: int, offset: int) -> str:
    signed = "u" if offset else "s"
    return f"{signed}{bits}.{frac}"


def _expression(op: Op) -> str:
    args = [f"t{a}" for a in op.args]
    imm = op.imm
    if op.code in _SYMBOLS:
        return f" {_SYMBOLS[op.code]} ".join(args)
    return {
        "const": lambda: f"c[{imm[0]}]",
        "load": lambda: f"r{imm[0]}" + (f" + {imm[1]}" if imm[1] else ""),
        "port": lambda: f"in{imm[0]}",
        "shr": lambda: f"{args[0]} >> {imm[0]} (rounded)",
        "shl": lambda: f"{args[0]} << {imm[0]}",
        "scale": lambda: (f"{args[0]} >> {imm[0]} (rounded)" if imm[0] > 0 else
                          f"{args[0]} << {-imm[0]}" if imm[0] < 0 else args[0]),
        "fit": lambda: args[0],
        "index": lambda: f"clip(({args[0]} - {imm[0]}) >> {imm[1]}, 0, {imm[2] - 1})",
        "remainder": lambda: f"({args[0]} - {imm[0]}) mod 2^{imm[1]}",
        "read": lambda: f"T{imm[0]}[{args[0]}" + (f" + {imm[1]}]" if imm[1] else "]"),
        "select": lambda: f"{args[0]} ? {args[1]} : {args[2]}",
        "min": lambda: f"min({args[0]}, {args[1]})",
        "draw": lambda: f"uniform{imm[2]}(seed {imm[0]}, stream {imm[1]})",
    }[op.code]()


def _widths(op: Op) -> str:
    if op.code == "mul":
        return f"{op.operand_width}x{op.operand_width}->{op.width} {op.overflow}"
    if op.code in CHECKED:
        return f"{op.width} bits {op.overflow}"
    return f"{op.width} bits"


def format_program(neuron: QuantizedNeuron) -> str:
    """The program with its formats, widths, operation counts and table memory."""
    program, config, datapath = neuron.program, neuron.config, neuron.datapath
    lines = [
        f"{neuron.name} on {neuron.target}: {config.state_bits}-bit state, {config.gate_bits}-bit gates and table "
        f"entries, LUT {config.lut_size}{' interpolated' if config.interpolate else ''}, {config.method}, "
        f"{config.rounding} rounding ({config.rounding_source})",
        f"datapath: {datapath['multiplier_bits']}x{datapath['multiplier_bits']}-bit multiplier, "
        f"{datapath['accumulator_bits']}-bit accumulator ({datapath['accumulator_overflow']}), "
        f"{datapath['input_bits']}-bit input",
        "", "registers (value = (contents + offset) * 2^-frac)",
    ]
    for index, r in enumerate(program.registers):
        lines.append(f"  r{index:<3}{r.name:<18}{r.kind:<11}{_q_format(r.bits, r.frac, r.offset):<9}"
                     f"LSB {2.0 ** -r.frac:.4g} {r.unit:<6} offset {r.offset:<8} {r.overflow}")
    residuals = [r for r in program.registers if r.kind == "residual"]
    if residuals:
        states = ", ".join(r.name.removesuffix("_residual") for r in residuals)
        lines += ["", f"error feedback at the updates of {states}: each keeps the remainder of its shift in a "
                      f"residual register ({', '.join(f'{r.name} {r.bits} bits' for r in residuals)}) and adds it "
                      "to the next step's change before the shift (operations labelled 'error feedback'); "
                      "every other shift rounds to nearest"]
    lines += ["", "ports"]
    for index, p in enumerate(program.ports):
        if p.kind == "parameter":
            lines.append(f"  in{index:<2}{p.name:<18}per-neuron constant of {p.state}, {p.bits} bits, "
                         f"frac {p.frac}")
            continue
        lines.append(f"  in{index:<2}{p.name:<18}{p.kind} into {p.state}, {p.bits} bits, "
                     f"1 LSB = {1.0 / p.scale:.4g} SI units of the input")
    lines += ["", f"tables ({len(neuron.tables)}, {neuron.table_memory_bits} bits)"]
    for index, t in enumerate(neuron.tables):
        lines.append(f"  T{index:<3}{t.name:<22}{t.entries.size} x {t.entry_bits} bits "
                     f"{'signed' if t.signed else 'unsigned'}, frac {t.frac}, grid origin {t.grid.origin} "
                     f"step 2^{t.grid.shift}{', interpolated' if t.grid.interpolate else ''}")
    lines += ["", f"program ({len(program.ops)} operations; c = constants, r = registers, T = tables)"]
    for op in program.ops:
        flag = "  MAY OVERFLOW" if op.may_overflow else ""
        lines.append(f"  t{op.dst:<4}{op.code:<10}{_expression(op):<38}{_widths(op):<24}{op.label}{flag}")
    outputs = ", ".join(f"{r.name} <- t{slot}" for r, slot in zip(program.registers, program.outputs))
    lines += [f"  outputs: {outputs}; spike <- t{program.spike}", "",
              "operations per neuron-step: " + ", ".join(f"{v} {k}" for k, v in
                                                         program.operation_counts().items()),
              f"rounding sites per neuron-step: {program.n_sites}",
              f"table memory: {neuron.table_memory_bits} bits"]
    return "\n".join(lines)
