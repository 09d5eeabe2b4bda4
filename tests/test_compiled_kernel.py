"""The compiled kernel against the numpy interpreter: equal bit for bit, every value, every step.

The interpreter is the reference; the compiled kernel leaves out the checks the range
analysis proves cannot fire, checks without branches and runs neurons in vectorized loops,
so these tests drive it where that could go wrong: random register contents (inside and outside their
declared widths), inputs far beyond the input port, every rounding mode, targets from 8
to 32 bits with saturating and wrapping arithmetic, step indices far from 0.
"""
import warnings

import numpy as np
import pytest

from .single_neuron import emulate
from neuromorph.execution.loop import run_kernel
from neuromorph.model.model_file import load_model
from neuromorph.quantization import compiled
from neuromorph.quantization.codegen import kernel_source
from neuromorph.quantization.compiled import CompiledProgram, NumbaUnavailable, cache_dir
from neuromorph.quantization.fixed_point import dither_noise, stochastic_noise
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.exact import ExactInterpreter
from neuromorph.quantization.interpreter import Interpreter
from neuromorph.quantization.kernel import FixedPointKernel, FloatKernel
from neuromorph.quantization.program import Op, Program, Register
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.quantization.ranges import DataBounds, plan_checks, shared_checks, stored_range, structure_key
from neuromorph.targets import load_target

from .conftest import EXAMPLES, SQUID_EQUATIONS, squid_toml

TARGET = """
[target]
name = "{name}"
description = "test datapath"

[datapath]
state_bits = {state}
multiplier_bits = {multiplier}
accumulator_bits = {accumulator}
input_bits = {input}
rounding_modes = ["nearest", "truncate", "toward_zero", "stochastic", "dither", "error_feedback"]

[overflow]
voltage = "{overflow}"
gate = "saturate"
linear = "{overflow}"
accumulator = "{overflow}"
input = "saturate"

[lookup_tables]
max_entries = 4096
memory_bits = 4194304

[network]
weight_bits = 8
weight_exponent_min = 0
weight_exponent_max = 0
max_delay_steps = 15

[defaults]
state_bits = {state}
lut_size = 64
interpolate = true
rounding = "nearest"
narrow_rounding = "nearest"
"""

#: (name, state bits, multiplier, accumulator, input, overflow of accumulator and linear states)
TARGETS = {
    "w8": (8, 8, 16, 16, "wrap"),
    "w12": (12, 12, 24, 20, "saturate"),
    "w16": (16, 16, 32, 32, "saturate"),
    "w24": (24, 24, 48, 24, "wrap"),
    "w32": (32, 31, 62, 40, "wrap"),
}

# Squid plus a synaptic conductance and an adaptation current (linear states), reset with +=.
ADAPTING = SQUID_EQUATIONS.replace(
    "dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt",
    "dv/dt = (I_inj - I_Na - I_K - I_L - g_e * (v - E_e) - w) / C_m : volt\n"
    "dg_e/dt = -g_e / tau_e : siemens/meter**2\n"
    "dw/dt = (a_w * (v - E_L) - w) / tau_w : amp/meter**2")
ADAPTING_EXTRA = '''E_e = "0 * mV"
tau_e = "5 * ms"
a_w = "0.5 * mS/cm**2"
tau_w = "100 * ms"
'''


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("targets")
    paths = {}
    for name, (state, multiplier, accumulator, inputs, overflow) in TARGETS.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(TARGET.format(name=name, state=state, multiplier=multiplier, accumulator=accumulator,
                                             input=inputs, overflow=overflow))
    return {name: load_target(path) for name, path in paths.items()}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    squid = folder / "squid.toml"
    squid.write_text(squid_toml())
    adapting = folder / "adapting.toml"
    text = squid_toml(equations=ADAPTING).replace("[initial]", ADAPTING_EXTRA + "\n[initial]")
    adapting.write_text(text.replace('refractory = "v > -20*mV"', 'refractory = "2*ms"\n'
                                     'reset = "v = -70*mV; w += 0.2*uA/cm**2; g_e += 0.1*mS/cm**2"'))
    return {"squid": load_model(squid), "adapting": load_model(adapting),
            "kir_pump": load_model(EXAMPLES / "hh_kir_pump.toml")}  # ghk_current and the Woodhull block


def lowered(model, target, rounding, bits=None, seed=11, headroom=None):
    """The model on ``target``; a headroom below 1 makes registers too narrow for the dynamics (they saturate)."""
    config = QuantConfig.for_target(target, rounding=rounding, seed=seed, state_bits=bits, headroom=headroom)
    profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.3,
                           states={"g_e": (0.0, 5.0), "w": (-0.5, 0.5)})
    return quantize(model.spec, target, config, profile, model.simulation.dt, dict(model.initial))


def random_registers(program, n, rng, outside=False):
    """Register contents uniformly within each register's declared range (or beyond it), a
    quarter of them at either end of it (where an update saturates or wraps)."""
    rows = []
    for r in range(len(program.registers)):
        low, high = stored_range(program, r)
        if outside:
            low, high = low - (high - low), high + (high - low)
        row = rng.integers(low, high + 1, size=n)
        rows.append(np.where(rng.random(n) < 0.25, rng.choice([low, high], size=n), row))
    return np.array(rows, dtype=np.int64)


def random_inputs(program, steps, n, rng):
    """Inputs mostly of the port's size, a fifth far beyond it (they must saturate and be counted)."""
    bits = program.ports[0].bits
    inputs = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(steps, len(program.ports), n))
    huge = rng.random(inputs.shape) < 0.2
    return np.where(huge, rng.integers(-(1 << 45), 1 << 45, size=inputs.shape), inputs)


def interpreted(neuron, registers, inputs, step0):
    """States, spikes and overflow counts of every step (T, n_ops) by the numpy interpreter."""
    interpreter = Interpreter(neuron.program, [t.entries for t in neuron.tables], neuron.constants)
    states, spikes, counts = [], [], []
    for k in range(inputs.shape[0]):
        registers, spiked, count = interpreter.step(registers, inputs[k], step0 + k)
        states.append(registers)
        spikes.append(spiked)
        counts.append(count)
    return np.array(states), np.array(spikes), np.array(counts)


def assert_equal_runs(neuron, registers, inputs, step0, parallel=True, checks=None):
    """The kernel's run (``_row`` per step, chunks of neurons on threads) against the interpreter."""
    kernel = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants, parallel=parallel,
                             checks=checks)
    final, states, spikes, counts = kernel.run(registers, inputs, step0, record=True)
    expected_states, expected_spikes, expected_counts = interpreted(neuron, registers, inputs, step0)
    np.testing.assert_array_equal(states, expected_states)
    np.testing.assert_array_equal(spikes, expected_spikes)
    np.testing.assert_array_equal(counts, expected_counts.sum(axis=0))
    np.testing.assert_array_equal(final, expected_states[-1])
    return counts


CASES = [
    ("squid", "nearest", "w24", None),
    ("squid", "truncate", "w16", 13),
    ("squid", "toward_zero", "w12", None),
    ("squid", "stochastic", "w32", 20),
    ("squid", "dither", "w8", None),
    ("adapting", "nearest", "w16", None),
    ("adapting", "truncate", "w8", None),
    ("adapting", "toward_zero", "w32", 28),
    ("adapting", "stochastic", "w24", 16),
    ("adapting", "dither", "w12", None),
    ("squid", "error_feedback", "w8", None),
    ("squid", "error_feedback", "w32", 24),
    ("adapting", "error_feedback", "w16", None),
    ("adapting", "error_feedback", "w24", 12),
]


@pytest.mark.parametrize("model_name, rounding, target_name, bits", CASES)
def test_compiled_equals_interpreter_from_random_states(models, targets, model_name, rounding, target_name, bits):
    neuron = lowered(models[model_name], targets[target_name], rounding, bits, headroom=0.4)
    rng = np.random.default_rng(sum(map(ord, model_name + rounding)))
    n = 37
    registers = random_registers(neuron.program, n, rng)
    counts = assert_equal_runs(neuron, registers, random_inputs(neuron.program, 300, n, rng), step0=12345)
    input_op = next(i for i, op in enumerate(neuron.program.ops) if op.code == "port")
    assert counts[input_op] > 0 and counts.sum() > counts[input_op], "overflows must be exercised"


@pytest.mark.parametrize("rounding", ["nearest", "dither"])
def test_registers_outside_their_widths_give_the_interpreters_results(models, targets, rounding):
    neuron = lowered(models["squid"], targets["w24"], rounding)
    rng = np.random.default_rng(5)
    registers = random_registers(neuron.program, 9, rng, outside=True)
    assert_equal_runs(neuron, registers, random_inputs(neuron.program, 40, 9, rng), step0=3)


def test_one_step_at_a_time_equals_a_fused_run_and_threads_equal_one(models, targets):
    neuron = lowered(models["adapting"], targets["w16"], "dither")
    rng = np.random.default_rng(8)
    registers = random_registers(neuron.program, 300, rng)
    inputs = random_inputs(neuron.program, 600, 300, rng)  # more than one block of steps
    assert_equal_runs(neuron, registers, inputs, step0=0, parallel=True)
    serial = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants, parallel=False)
    state, total = registers, 0
    fused = serial.run(registers, inputs[:20], 0, record=True)
    for k in range(20):
        state, spiked, counts = serial.step(state, inputs[k], k)
        np.testing.assert_array_equal(state, fused[1][k])
        np.testing.assert_array_equal(spiked, fused[2][k])
        total = total + counts
    np.testing.assert_array_equal(total, fused[3])


def test_noise_matches_the_definition(models, targets):
    neuron = lowered(models["squid"], targets["w24"], "stochastic")
    module = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants).module
    for seed, step in [(0, 0), (7, 123456), (2**40 + 3, 2**33 + 1)]:
        key = np.uint64(module.noise_key(seed, step))  # numba returns a Python int; keep it unsigned
        drawn = np.array([[module.hashed_noise(key, site * 5 + i) for i in range(5)] for site in range(3)])
        np.testing.assert_array_equal(drawn, stochastic_noise(seed, step, 3, 5))
    np.testing.assert_array_equal(module.noise_phases(9, 4, 6), dither_noise(9, 0, 4, 6))


def test_emulator_backends_agree_on_a_real_run(models, targets):
    model = models["squid"]
    neuron = lowered(model, load_target("loihi2"), "dither", bits=14)
    stimulus = 0.1 + 0.03 * np.random.default_rng(2).standard_normal((1500, 6))  # 10 +- 3 uA/cm^2
    _, numpy_run = emulate(neuron, stimulus, backend="numpy")
    _, numba_run = emulate(neuron, stimulus, backend="numba")
    assert numpy_run.spikes.sum() > 10
    np.testing.assert_array_equal(numba_run.states, numpy_run.states)
    np.testing.assert_array_equal(numba_run.spikes, numpy_run.spikes)
    np.testing.assert_array_equal(numba_run.overflows, numpy_run.overflows)


def test_most_checks_are_proved_unnecessary_and_the_rest_stay(models):
    neuron = lowered(models["squid"], load_target("loihi2"), "nearest", bits=16)
    plan = plan_checks(neuron.program, DataBounds.of([t.entries for t in neuron.tables], neuron.constants))
    flags = [flag for checks in plan.checks.values() for flag in checks]
    assert sum(flags) < len(flags) / 4
    by_label = {neuron.program.ops[i].label: any(v) for i, v in plan.checks.items()}
    assert by_label["v register"] and by_label["input I_inj"]  # a voltage can saturate, an input can be huge
    assert not by_label["m_inf: T[k+1] - T[k]"]  # two table entries never leave the 48-bit accumulator


def test_generated_source_holds_numbers_and_templates_only(models, targets):
    neuron = lowered(models["adapting"], targets["w16"], "dither")
    plan = plan_checks(neuron.program, DataBounds.of([t.entries for t in neuron.tables], neuron.constants))
    source, _ = kernel_source(neuron.program, plan)
    labels = {op.label for op in neuron.program.ops} | {r.name for r in neuron.program.registers}
    assert not any(f"{label}" in source for label in labels if len(label) > 3)
    assert "squid" not in source and "I_inj" not in source and "eval" not in source and "exec" not in source
    kernel = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants)
    path = cache_dir() / f"{kernel.module.__name__}.py"
    assert path.read_text() == source
    assert CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants).module is kernel.module


def test_without_numba_the_interpreter_runs_after_one_warning(models, monkeypatch):
    monkeypatch.setenv(compiled.DISABLE_ENV, "1")
    neuron = lowered(models["squid"], load_target("loihi2"), "nearest")
    with pytest.warns(RuntimeWarning, match="numba is not importable") as caught:
        kernel = FixedPointKernel(neuron)
    assert kernel.backend == "numpy" and kernel.compiled is None and len(caught) == 1
    with pytest.raises(NumbaUnavailable):
        FixedPointKernel(neuron, backend="numba")
    drive = np.full((50, 3), 10_000, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FixedPointKernel(neuron, backend="numpy")  # asked for: no second warning
        run = run_kernel(kernel, drive)
    # the fallback's numbers against the exact Python-integer interpreter (another path than numpy's)
    exact = ExactInterpreter(neuron.program, [t.entries for t in neuron.tables], neuron.constants)
    state = kernel.initial_state(3).tolist()
    for k in range(50):
        state, spiked, _ = exact.step(state, [[10_000] * 3], k)
        assert state == run.states[k].tolist() and spiked == run.spikes[k].tolist()


FLOAT_MODELS = [("squid", "exponential_euler"), ("adapting", "exponential_euler"), ("adapting", "euler"),
                ("kir_pump", "euler")]


@pytest.mark.parametrize("model_name, method", FLOAT_MODELS)
def test_compiled_float_kernel_equals_numpy_one_step_from_random_states(models, model_name, method):
    model = models[model_name]
    kernels = {b: FloatKernel(model.spec, model.simulation.dt, dict(model.initial), method, backend=b)
               for b in ("numpy", "numba")}
    rng = np.random.default_rng(4)
    n = 41
    state = kernels["numpy"].initial_state(n)
    state[0] = rng.uniform(-0.09, 0.05, n)
    for row, gate in enumerate(model.spec.gates, start=1):
        state[row] = rng.uniform(0, 1, n)
    state[len(model.spec.state_names):] = rng.integers(0, 100, (1, n))  # refractory flag or step count
    for row in range(1 + len(model.spec.gates), len(model.spec.state_names)):
        state[row] = rng.uniform(-1, 1, n)
    drive = rng.uniform(-0.5, 0.5, n)
    expected, expected_spikes, _ = kernels["numpy"].numpy_step(state, drive, 0)
    new, spikes, counters = kernels["numba"].step(state, drive, 0)
    np.testing.assert_allclose(new, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(spikes, expected_spikes)
    assert spikes.any() and not spikes.all() and counters.tolist() == [0]


def test_compiled_float_kernel_follows_the_numpy_one_over_a_run(models):
    model = models["adapting"]
    stimulus = 0.1 + 0.05 * np.random.default_rng(6).standard_normal((2000, 8))
    runs = {b: run_kernel(FloatKernel(model.spec, model.simulation.dt, dict(model.initial), backend=b), stimulus)
            for b in ("numpy", "numba")}
    assert runs["numpy"].spikes.sum() > 20
    np.testing.assert_array_equal(runs["numba"].spikes, runs["numpy"].spikes)
    np.testing.assert_allclose(runs["numba"].states, runs["numpy"].states, rtol=0, atol=1e-9)


def test_three_interpreters_count_an_overflow_of_constants_once_per_neuron():
    """A value computed from constants alone overflows for every neuron (the numpy interpreter
    holds it as one scalar and used to count it once)."""
    ops = (Op("load", 0, (), (0, 0), 16), Op("const", 1, (), (0,), 42),
           Op("shl", 2, (1,), (10,), 48, overflow="wrap"), Op("mul", 3, (1, 1), (), 48, 24, overflow="saturate"),
           Op("add", 4, (0, 3), (), 48, overflow="wrap"), Op("fit", 5, (4,), (), 16, overflow="saturate"),
           Op("const", 6, (), (1,), 2), Op("gt", 7, (5, 6), (), 2))
    program = Program(ops=ops, registers=(Register("x", "voltage", 16, 0, 0, "saturate", "V"),), ports=(),
                      outputs=(5,), fits=(5,), spike=7, rounding="nearest", seed=0, n_sites=0, table_names=())
    constants, registers = np.array([1 << 40, 0]), np.array([[1, -2, 3, 4, 5]])
    no_inputs = np.zeros((0, 5), dtype=np.int64)
    numpy_result = Interpreter(program, [], constants).step(registers, no_inputs, 0)
    exact_result = ExactInterpreter(program, [], constants).step(registers.tolist(), [], 0)
    compiled_result = CompiledProgram(program, [], constants).step(registers, no_inputs, 0)
    assert exact_result[2] == [0, 0, 5, 10, 0, 5, 0, 0]  # shl: 5 neurons; mul: both operands (the product fits)
    for result in (numpy_result, compiled_result):
        assert result[2].tolist() == exact_result[2]
        assert result[0].tolist() == exact_result[0] and result[1].tolist() == exact_result[1]


@pytest.mark.parametrize("rounding", ["nearest", "stochastic", "dither", "error_feedback"])
def test_compiled_equals_the_exact_python_integer_interpreter(models, targets, rounding):
    neuron = lowered(models["adapting"], targets["w16"], rounding, headroom=0.4)
    rng = np.random.default_rng(12)
    registers = random_registers(neuron.program, 5, rng)
    inputs = random_inputs(neuron.program, 12, 5, rng)
    compiled_run = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants).run(
        registers, inputs, 77, record=True)
    exact = ExactInterpreter(neuron.program, [t.entries for t in neuron.tables], neuron.constants)
    state, total = registers.tolist(), np.zeros(len(neuron.program.ops), dtype=np.int64)
    for k in range(inputs.shape[0]):
        state, spiked, counts = exact.step(state, inputs[k].tolist(), 77 + k)
        assert state == compiled_run[1][k].tolist() and spiked == compiled_run[2][k].tolist()
        total += counts
    np.testing.assert_array_equal(compiled_run[3], total)


def test_float_printer_prints_numbers_exactly_and_refuses_what_it_does_not_know():
    import sympy

    from neuromorph.model.neuron_spec import V
    from neuromorph.quantization.float_codegen import UncompilableModel, expression

    value = 0.1 + 0.2  # not a short decimal
    text = expression(sympy.Float(value) * sympy.exp(-V / 3) + sympy.Function("exprel")(V))
    assert repr(value) in text and "math.exp" in text and "_exprel(v)" in text  # values: the float kernel tests
    for bad in (sympy.sin(V), sympy.Symbol("g_Na") * V, sympy.Function("secret")(V)):
        with pytest.raises(UncompilableModel):
            expression(bad)


def test_a_run_shorter_than_compiling_is_interpreted_unless_the_kernel_is_cached(models, monkeypatch, tmp_path):
    """The default backend compiles when the interpreter would take longer than compiling, or
    when the kernel is cached; a short run of an uncached program is interpreted. Same integers."""
    from neuromorph.quantization.kernel import interpreter_seconds

    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "kernels"))
    neuron = lowered(models["squid"], load_target("loihi2"), "truncate", bits=19, seed=23)  # a program no other test compiles
    n_ops = len(neuron.program.ops)
    short = (200, 3)
    long = (int(2 * compiled.COMPILE_SECONDS / interpreter_seconds(n_ops, 1, 3)), 3)
    assert interpreter_seconds(n_ops, *short) < compiled.COMPILE_SECONDS <= interpreter_seconds(n_ops, *long)
    stimulus = np.random.default_rng(5).normal(0.0, 0.05, size=short)
    assert FixedPointKernel(neuron, work=short).compiled is None  # nothing cached, short: interpreted
    auto, _ = emulate(neuron, stimulus)
    assert FixedPointKernel(neuron, work=long).compiled is not None  # long: worth compiling
    forced, _ = emulate(neuron, stimulus, backend="numba")  # runs, so numba writes its cache
    assert all(np.array_equal(a, b) for a, b in zip(auto.spike_trains, forced.spike_trains))
    assert np.array_equal(auto.v, forced.v)
    del compiled.sys.modules[FixedPointKernel(neuron, backend="numba").compiled.module.__name__]
    assert FixedPointKernel(neuron, work=short).compiled is not None  # cached on disk: compiled although short


def test_the_first_call_of_a_kernel_holds_its_lock_file_and_later_calls_do_not(tmp_path):
    """Two processes needing one uncached kernel compile it once: the first call (numba's compile) runs under
    an exclusive lock on ``<module>.lock``, so it waits while another process holds it; later calls do not."""
    import subprocess
    import sys
    import time
    import types

    from neuromorph.quantization.compiled import compiled_once

    module = types.SimpleNamespace(__file__=str(tmp_path / "kernel.py"))

    def hold_lock():
        holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
                                   "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.5)",
                                   str(tmp_path / "kernel.lock")], stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "held"
        return holder

    calls = []
    call = compiled_once(lambda *args: calls.append(args) or len(calls), module)
    holder, started = hold_lock(), time.perf_counter()
    assert call(1, 2) == 1 and calls == [(1, 2)]
    assert time.perf_counter() - started > 0.5  # waited for the other process
    holder.wait(timeout=30)
    holder, started = hold_lock(), time.perf_counter()
    assert call(3) == 2 and calls[1] == (3,)
    assert time.perf_counter() - started < 0.5  # compiled: no lock
    holder.wait(timeout=30)


@pytest.mark.parametrize("rounding", ["stochastic", "error_feedback"])
def test_one_kernel_with_runtime_constants_serves_every_width_and_equals_the_interpreter(models, targets, rounding,
                                                                                        rng):
    """Programs of one model at 9-16 bits and two table sizes share one compiled kernel (their shifts,
    widths, offsets and grids passed at run time, the union of their checks compiled in), and each
    run of it equals the numpy interpreter bit for bit, from states inside and outside the widths.
    (Stochastic rounding reads a noise site per rounding; error feedback rounds to nearest and adds
    residual registers; dither is checked through the sweep in ``tests/test_tuning.py``.)"""
    target = targets["w16"]
    neurons = []
    for bits in (9, 11, 13, 16):
        for size in (64, 256):
            config = QuantConfig.for_target(target, rounding=rounding, seed=5, state_bits=bits, lut_size=size)
            profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.3,
                                   states={"g_e": (0.0, 5.0), "w": (-0.5, 0.5)})
            neurons.append(quantize(models["adapting"].spec, target, config, profile, models["adapting"].simulation.dt,
                                    dict(models["adapting"].initial)))
    shared = shared_checks([(n.program, [t.entries for t in n.tables], n.constants) for n in neurons])
    assert len(shared) == 1  # the direction of a rescale, a gate's offset: operations at every width
    assert next(iter(shared.values())).programs == 8  # the runs the kernel serves, for the decision to compile it
    modules = set()
    for neuron in neurons:
        checks = shared[structure_key(neuron.program)]
        for outside in (False, True):
            registers = random_registers(neuron.program, 40, rng, outside=outside)
            assert_equal_runs(neuron, registers, random_inputs(neuron.program, 30, 40, rng), 7_000, checks=checks)
        kernel = CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants, checks=checks)
        modules.add(kernel.module.__name__)
    assert len(modules) == 1
