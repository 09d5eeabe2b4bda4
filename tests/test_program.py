"""The integer program: exact against plain Python integers, widths enforced as declared."""
import json

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.errors import ConfigError, LoweringError, TargetFileError
from .single_neuron import emulate
from neuromorph.model.from_brian2 import spec_from_equations
from neuromorph.model.model_file import load_model
from neuromorph.quantization.builder import Datapath, ProgramBuilder
from neuromorph.quantization.exact import ExactInterpreter
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.interpreter import Interpreter
from neuromorph.quantization.program import Port, Register
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.targets import load_target

from .conftest import SQUID_EQUATIONS, SQUID_PARAMETERS_SI, squid_toml

ROUNDINGS = ("nearest", "truncate", "toward_zero", "stochastic", "dither", "error_feedback")
WIDTHS = tuple(range(8, 33))
PROFILE = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.2, states={"w": (-0.05, 0.3)})

# Squid HH plus an adaptation current (a linear state) incremented at each spike: every kind of
# state, a tabulated-free affine membrane, a decay folded into its coefficients and a reset "+=".
ADAPTING_EQUATIONS = SQUID_EQUATIONS.replace(
    "dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt",
    "dv/dt = (I_inj - I_Na - I_K - I_L - w) / C_m : volt\ndw/dt = (a_w * (v - E_L) - w) / tau_w : amp/meter**2")


def adapting_spec():
    return spec_from_equations(ADAPTING_EQUATIONS, name="adapting", parameters=dict(SQUID_PARAMETERS_SI, a_w=2.0,
                                                                                     tau_w=0.05),
                               input_name="I_inj", threshold="v > -20*mV", refractory="v > -20*mV",
                               reset="w += 0.02*uA/cm**2")


def target_file(tmp_path, bits: int, overflow: str, name: str = "t") -> str:
    """A target of ``bits``-bit state with the smallest accumulator the rules allow."""
    multiplier = min(bits, 31)
    accumulator = min(2 * multiplier, 62)
    path = tmp_path / f"{name}{bits}.toml"
    path.write_text(f"""
[target]
name = "w{bits}"
description = "test target"
[datapath]
state_bits = {bits}
multiplier_bits = {multiplier}
accumulator_bits = {accumulator}
input_bits = {min(bits + 4, accumulator)}
rounding_modes = {list(ROUNDINGS)}
[overflow]
voltage = "{overflow}"
gate = "{overflow}"
linear = "{overflow}"
accumulator = "{overflow}"
input = "{overflow}"
[lookup_tables]
max_entries = 1024
memory_bits = 10000000
[network]
weight_bits = 8
weight_exponent_min = 0
weight_exponent_max = 0
max_delay_steps = 10
[defaults]
state_bits = {bits}
lut_size = 64
interpolate = true
rounding = "nearest"
narrow_rounding = "nearest"
""")
    return str(path)


def random_registers(program, n: int, rng) -> np.ndarray:
    """Register contents drawn uniformly over each register's whole range (extremes included)."""
    rows = []
    for register in program.registers:
        low, high = register.value_range
        values = rng.integers(low, high, n, endpoint=True)
        values[:2] = (low, high)
        rows.append(values - register.offset)
    return np.array(rows, dtype=np.int64)


def random_inputs(program, n: int, rng) -> np.ndarray:
    """Inputs beyond the input width too, so the port saturates or wraps."""
    rows = [rng.integers(-(1 << (p.bits + 1)), 1 << (p.bits + 1), n) for p in program.ports]
    return np.array(rows, dtype=np.int64).reshape(len(program.ports), n)


def run_both(neuron, n: int, steps: int, rng):
    """Both interpreters from the same random state and inputs; return (numpy, exact) histories."""
    program = neuron.program
    tables = [t.entries for t in neuron.tables]
    numpy_run, exact_run = Interpreter(program, tables, neuron.constants), ExactInterpreter(program, tables,
                                                                                            neuron.constants)
    registers = random_registers(program, n, rng)
    exact_registers = registers.tolist()
    history = []
    for step in range(steps):
        inputs = random_inputs(program, n, rng)
        registers, spiked, counts = numpy_run.step(registers, inputs, step)
        exact_registers, exact_spiked, exact_counts = exact_run.step(exact_registers, inputs.tolist(), step)
        history.append(((registers.tolist(), spiked.tolist(), counts.tolist()),
                        (exact_registers, exact_spiked, exact_counts)))
    return history


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_exact_reference_equals_numpy_interpreter_at_every_width(tmp_path, rounding):
    """Widths 8..32, saturating and wrapping targets, 4,000 neuron-steps per width: 10^5 per mode."""
    rng = np.random.default_rng(ROUNDINGS.index(rounding))
    model_specs = [adapting_spec(), load_model(_squid_file(tmp_path)).spec]
    compared, overflows = 0, 0
    for bits in WIDTHS:
        target = load_target(target_file(tmp_path, bits, "wrap" if bits % 2 else "saturate"))
        spec = model_specs[bits % 2]
        config = QuantConfig.for_target(target, rounding=rounding, seed=bits, lut_size=64)
        initial = {name: 0.0 for name in spec.state_names} | {"v": -0.065}
        neuron = quantize(spec, target, config, PROFILE, 2.5e-5, initial)
        for numpy_result, exact_result in run_both(neuron, n=400, steps=10, rng=rng):
            assert numpy_result == exact_result, f"{bits} bits"
            overflows += sum(numpy_result[2])
        compared += 400 * 10
    assert compared >= 100_000
    assert overflows > 0  # random extremes do overflow: the counting itself was compared


def per_neuron_spec():
    """The adapting neuron with a per-neuron adaptation (``a_w``, ``tau_w``: per-neuron coefficients and a
    per-neuron decay folded into them), threshold ``vt`` and refractory period ``tref``."""
    return spec_from_equations(ADAPTING_EQUATIONS + "\nvt : volt\ntref : second", name="per_neuron",
                               parameters=dict(SQUID_PARAMETERS_SI), input_name="I_inj", threshold="v > vt",
                               refractory="tref", reset="w += 0.02*uA/cm**2", per_neuron=("a_w", "tau_w", "vt", "tref"))


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_exact_reference_equals_numpy_interpreter_with_per_neuron_constants(tmp_path, rounding):
    """Per-neuron constants are parameter ports: random contents beyond their widths saturate or wrap there,
    and everything downstream agrees bit for bit (4 widths, 400 neurons, 10 steps each)."""
    rng = np.random.default_rng(100 + ROUNDINGS.index(rounding))
    spec, n = per_neuron_spec(), 400
    parameters = {"a_w": rng.uniform(1.0, 3.0, n), "tau_w": rng.uniform(0.02, 0.1, n),
                  "vt": rng.uniform(-0.03, -0.01, n), "tref": rng.uniform(1e-4, 2e-3, n)}
    for bits in (8, 13, 24, 32):
        target = load_target(target_file(tmp_path, bits, "wrap" if bits % 2 else "saturate"))
        config = QuantConfig.for_target(target, rounding=rounding, seed=bits, lut_size=64)
        initial = {name: 0.0 for name in spec.state_names} | {"v": -0.065}
        neuron = quantize(spec, target, config, PROFILE, 2.5e-5, initial, parameters=parameters)
        assert sum(p.kind == "parameter" for p in neuron.program.ports) >= 4
        assert {len(row) for row in neuron.parameter_rows.values()} == {n}
        for numpy_result, exact_result in run_both(neuron, n=n, steps=10, rng=rng):
            assert numpy_result == exact_result, f"{bits} bits"


def _squid_file(tmp_path):
    path = tmp_path / "squid.toml"
    path.write_text(squid_toml())
    return path


def _one_op_program(code: str, width: int, overflow: str):
    """in0 (op) in1 -> fit to width: a program with a single checked operation."""
    b = ProgramBuilder(Datapath(multiplier_bits=width, accumulator_bits=width, accumulator_overflow=overflow))
    a = b.port(0, 0, 62, overflow, "a")
    c = b.port(1, 0, 62, overflow, "b")
    if code == "mul":  # operands wider than the multiplier reach it: no narrowing, so its checks are exercised
        result = b._accumulator("mul", (a, c), frac=0, low=a.low * c.high, high=a.high * c.high, label="op",
                                operand_width=width)
    else:
        result = {"add": b.add, "sub": b.sub}[code](a, c, "op")
    register = Register("x", "linear", 62, 0, 0, overflow, "1")
    ports = [Port("a", "drive", "x", 62, 0, 1.0), Port("b", "drive", "x", 62, 0, 1.0)]
    return b.finish([register], ports, [result], [-1], b.compare("gt", result, result, "never"), "nearest", 0), b


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
@pytest.mark.parametrize("width", [8, 16, 24, 32])
def test_every_saturation_and_wrap_happens_exactly_at_the_declared_width(width, overflow):
    limit = 1 << (width - 1)
    for code, pairs in [("add", [(limit - 2, 1), (limit - 1, 1), (-limit, 0), (-limit, -1)]),
                        ("sub", [(limit - 1, 0), (limit - 1, -1), (-limit + 1, 1), (-limit, 1)]),
                        ("mul", [(limit - 1, 1), (-limit, 1), (limit, 1), (-limit - 1, 1)])]:
        program, b = _one_op_program(code, width, overflow)
        inputs = np.array(pairs, dtype=np.int64).T
        exact = ExactInterpreter(program, [], b.constants)
        numpy_new, _, numpy_counts = Interpreter(program, [], np.array(b.constants)).step(
            np.zeros((1, len(pairs)), dtype=np.int64), inputs, 0)
        for i, (x, y) in enumerate(pairs):
            value = {"add": x + y, "sub": x - y, "mul": x * y}[code]
            operands_fit = code != "mul" or (-limit <= x < limit and -limit <= y < limit)
            fits = operands_fit and -limit <= value < limit
            expected = value if fits else (min(max(value, -limit), limit - 1) if overflow == "saturate"
                                           else (value + limit) % (2 * limit) - limit)
            if code == "mul" and not operands_fit:
                expected = None  # operands are held first; only the count is asserted below
            new, _, counts = exact.step([[0]], [[x], [y]], 0)
            if expected is not None:
                assert new[0][0] == numpy_new[0, i] == expected, (code, x, y)
            assert (sum(counts) > 0) == (not fits), (code, x, y)
        assert list(numpy_counts) == exact.step([[0] * len(pairs)], inputs.tolist(), 0)[2]


def test_generic16_program_has_no_operand_wider_than_16_and_no_sum_wider_than_32(tmp_path):
    target = load_target("generic16")
    model = load_model(_squid_file(tmp_path))
    for bits in (10, 12, 14, 16):
        neuron = quantize(model.spec, target, QuantConfig.for_target(target, state_bits=bits), PROFILE,
                          model.simulation.dt, dict(model.initial))
        ops = neuron.program.ops
        multiplies = [op for op in ops if op.code == "mul"]
        assert multiplies and all(op.operand_width == 16 and op.width == 32 for op in multiplies)
        for op in multiplies:  # the values fed to the multiplier are within 16 bits over the operating range
            assert all(ops[a].value_bits <= 16 for a in op.args), op.label
        sums = [op for op in ops if op.code in ("add", "sub", "shl")]
        assert all(op.width <= 32 for op in sums)
        assert not [op.label for op in sums if op.may_overflow]  # only registers may saturate, by design
        assert neuron.table_memory_bits <= target.lut_memory_bits


def test_an_overflowing_intermediate_is_reported_by_operation(tmp_path):
    """The drive of a larger stimulus than the profile saw overflows the voltage increment sum."""
    model = load_model(_squid_file(tmp_path))
    target = load_target("generic16")
    profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.01)
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, state_bits=16), profile,
                      model.simulation.dt, dict(model.initial))
    stimulus = np.full((20, 3), 1e4)  # 10^6 uA/cm^2
    trace, run = emulate(neuron, stimulus)
    overflowing = trace.extra["operation_overflows"]
    assert overflowing and all(count > 0 for count in overflowing.values())
    assert any("dt f" in label or "input" in label for label in overflowing)
    assert sum(run.overflows) == sum(overflowing.values())


def test_strict_exits_3_when_the_input_overflows_its_port(tmp_path, capsys):
    target_text = (load_target("generic16").source and open(load_target("generic16").source).read())
    path = tmp_path / "narrow_input.toml"
    path.write_text(target_text.replace('name = "generic16"', 'name = "narrow_input"')
                    .replace("input_bits = 32", "input_bits = 4"))
    model = _squid_file(tmp_path)
    args = ["compare", str(model), "--target", str(path), "--backend", "emulator", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert any("input I_inj" in label for label in report["operation_overflows"])
    capsys.readouterr()
    assert main(args + ["--strict"]) == 3
    assert "input I_inj" in capsys.readouterr().err


def test_table_memory_budget_is_enforced(tmp_path):
    text = open(load_target("loihi2").source).read().replace("memory_bits = 1048576", "memory_bits = 100000")
    path = tmp_path / "small_tables.toml"
    path.write_text(text)
    target = load_target(str(path))
    model = load_model(_squid_file(tmp_path))
    with pytest.raises(ConfigError, match="table memory") as info:
        quantize(model.spec, target, QuantConfig.for_target(target), PROFILE, model.simulation.dt, dict(model.initial))
    assert info.value.field == "lut_size"
    quantize(model.spec, target, QuantConfig.for_target(target, lut_size=128), PROFILE, model.simulation.dt,
             dict(model.initial))  # fits: 7 tables x 128 x 24 bits


def test_non_finite_table_entries_are_refused_naming_the_function_and_voltage():
    equations = SQUID_EQUATIONS.replace("I_L = g_L * (v - E_L)", "I_L = g_L * sqrt(v/mV + 70) * (v - E_L)")
    spec = spec_from_equations(equations, name="bad", parameters=SQUID_PARAMETERS_SI, input_name="I_inj",
                               threshold="v > -20*mV")
    target = load_target("loihi2")
    initial = {"v": -0.065, "m": 0.05, "h": 0.6, "n": 0.3}
    with pytest.raises(LoweringError, match=r"coefficient of \{\} is not finite at v = -\d+\.\d+ mV"):
        quantize(spec, target, QuantConfig.for_target(target), PROFILE, 2.5e-5, initial)


@pytest.mark.parametrize("key, value", [("multiplier_bits", 33), ("accumulator_bits", 63), ("accumulator_bits", 40)])
def test_datapaths_int64_cannot_emulate_exactly_are_refused(tmp_path, key, value):
    text = open(load_target("loihi2").source).read()
    text = text.replace(f"{key} = {24 if key == 'multiplier_bits' else 48}", f"{key} = {value}")
    path = tmp_path / "wide.toml"
    path.write_text(text)
    with pytest.raises(TargetFileError, match=f"datapath.{key}"):
        load_target(str(path))


def test_narrower_widths_default_to_the_measured_best_rounding():
    target = load_target("loihi2")
    wide, narrow = QuantConfig.for_target(target), QuantConfig.for_target(target, state_bits=16)
    assert (wide.rounding, narrow.rounding) == (target.default_rounding, target.default_narrow_rounding)
    assert "measured best" in narrow.rounding_source
    assert QuantConfig.for_target(target, state_bits=16, rounding="nearest").rounding_source == "given"


def test_lower_prints_the_program_with_widths_counts_and_table_memory(tmp_path, capsys):
    assert main(["lower", str(_squid_file(tmp_path)), "--target", "generic16", "--state-bits", "12"]) == 0
    out = capsys.readouterr().out
    assert "16x16->32" in out and "operations per neuron-step:" in out and "table memory:" in out
    for line in ("registers", "tables", "program"):
        assert line in out
