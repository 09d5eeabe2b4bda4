"""Error-feedback rounding: what the theory of first-order noise shaping says, checked on the program.

``u = d + e``, ``y = round(u / 2**w)``, ``e' = u - y 2**w``: the residual stays within half an LSB
(``|e| <= 2**(w-1)``), and the rounded changes of ``K`` steps sum to the exact ones minus
``e_K - e_0`` (conservation), so a constant change of a fraction of an LSB advances the state at
its exact mean rate, where round-to-nearest never moves it (a dead band). The expected values
below come from that identity, not from the implementation. Bit-for-bit agreement of the four
backends is tested with the other modes (tests/test_program.py, tests/test_compiled_kernel.py,
tests/test_lava_backend.py).
"""
import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.errors import ConfigError
from neuromorph.model.from_brian2 import spec_from_equations
from neuromorph.quantization.exact import ExactInterpreter
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.interpreter import Interpreter
from neuromorph.quantization.kernel import FixedPointKernel
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.targets import load_target

from .conftest import SQUID_EQUATIONS, SQUID_PARAMETERS_SI, squid_toml

PROFILE = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.2, states={})


def integrator(rounding: str, residual_bits: int = 4, state_bits: int = 12):
    """``dv/dt = I / C``: each step adds the drive port's integer to ``v`` (no other term)."""
    spec = spec_from_equations("dv/dt = I_inj / C_m : volt\nI_inj : amp/meter**2", name="integrator", parameters={"C_m": 1e-2},
                               input_name="I_inj", threshold="v > 0.04*volt")
    target = load_target("generic16")
    config = QuantConfig.for_target(target, state_bits=state_bits, rounding=rounding, residual_bits=residual_bits,
                                    method="euler")
    return quantize(spec, target, config, PROFILE, 2.5e-5, {"v": -0.065})


@pytest.mark.parametrize("w", [1, 3, 4, 7])
def test_a_constant_sub_lsb_change_advances_at_its_exact_mean_rate(w):
    """Neuron ``p`` gets ``p / 2**w`` LSB per step: ``2**w (q_K - q_0) + e_K = p K`` at every step."""
    neuron = integrator("error_feedback", residual_bits=w)
    program = neuron.program
    v_row = [r.name for r in program.registers].index("v")
    e_row = [r.name for r in program.registers].index("v_residual")
    extra = program.ports[0].frac - program.registers[v_row].frac  # fractional bits of the change below v's LSB
    assert extra >= w
    p = np.arange(-(1 << w) + 1, 1 << w)  # every change from -(1 - 2**-w) to 1 - 2**-w LSB
    inputs = (p << (extra - w))[None, :]
    run = Interpreter(program, [t.entries for t in neuron.tables], neuron.constants)
    registers = np.repeat(neuron.initial[:, None], p.size, axis=1)
    q0 = registers[v_row].copy()
    half = 1 << (w - 1)
    for k in range(1, 301):
        registers, _, counts = run.step(registers, inputs, k)
        np.testing.assert_array_equal((registers[v_row] - q0) * (1 << w) + registers[e_row], p * k)
        assert np.all(np.abs(registers[e_row]) <= half)
        assert counts.sum() == 0


def test_round_to_nearest_loses_the_same_changes_in_a_dead_band():
    neuron = integrator("nearest")
    program = neuron.program
    extra = program.ports[0].frac - program.registers[0].frac
    p = np.arange(1, 16)  # p / 16 LSB per step
    run = Interpreter(program, [t.entries for t in neuron.tables], neuron.constants)
    registers = np.repeat(neuron.initial[:, None], p.size, axis=1)
    q0 = registers[0].copy()
    for k in range(300):
        registers, _, _ = run.step(registers, (p << (extra - 4))[None, :], k)
    moved = registers[0] - q0
    assert np.all(moved[p < 8] == 0) and np.all(moved[p >= 8] == 300)


def _squid(tmp_path, rounding="error_feedback", **overrides):
    from neuromorph.model.model_file import load_model

    path = tmp_path / "squid.toml"
    path.write_text(squid_toml())
    model = load_model(path)
    target = load_target("generic16")
    config = QuantConfig.for_target(target, state_bits=12, rounding=rounding, **overrides)
    return model, quantize(model.spec, target, config, PROFILE, model.simulation.dt, dict(model.initial))


def test_residuals_stay_within_half_an_lsb_and_never_overflow_in_a_real_run(tmp_path):
    model, neuron = _squid(tmp_path, residual_bits=5)
    names = [r.name for r in neuron.program.registers]
    rows = [names.index(f"{s}_residual") for s in ("v", "m", "h", "n")]
    kernel = FixedPointKernel(neuron, backend="numpy")
    drive = neuron.quantize_drive(np.full((4000, 3), [0.05, 0.1, 0.2]))  # A/m^2: below, near and above rheobase
    _, states, spikes, overflows = kernel.run(kernel.initial_state(3), drive)
    assert spikes.sum() > 10
    residuals = states[:, rows, :]
    assert residuals.min() >= -16 and residuals.max() <= 15
    assert np.count_nonzero(residuals) > residuals.size // 2  # the residuals do carry remainders
    fits = {r.name: slot for r, slot in zip(neuron.program.registers, neuron.program.fits)}
    assert all(overflows[fits[names[row]]] == 0 for row in rows)


def test_only_the_chosen_kinds_keep_residuals_and_they_count_as_state(tmp_path):
    _, everything = _squid(tmp_path)
    _, gates_only = _squid(tmp_path, feedback=("gate",), residual_bits=3)
    _, nearest = _squid(tmp_path, rounding="nearest")
    kinds = {r.name: r.kind for r in gates_only.program.registers}
    assert [n for n, k in kinds.items() if k == "residual"] == ["m_residual", "h_residual", "n_residual"]
    assert nearest.register_bits == 12 + 3 * 12 + 2
    assert everything.register_bits == nearest.register_bits + 4 * 4
    assert gates_only.register_bits == nearest.register_bits + 3 * 3
    assert everything.state_bits_per_neuron(["I_inj"]) == everything.register_bits + 32  # a per-neuron drive


def test_the_exact_interpreter_runs_held_and_reset_residuals_like_numpy():
    """A refractory model with a ``v = c`` reset: the residual is held while refractory and cleared at a spike."""
    equations = SQUID_EQUATIONS.replace("/ C_m : volt", "/ C_m : volt (unless refractory)")
    assert equations != SQUID_EQUATIONS
    spec = spec_from_equations(equations, name="squid_reset", parameters=SQUID_PARAMETERS_SI, input_name="I_inj",
                               threshold="v > -20*mV", refractory="1*ms", reset="v = -70*mV")
    target = load_target("generic16")
    config = QuantConfig.for_target(target, state_bits=10, rounding="error_feedback", residual_bits=6)
    neuron = quantize(spec, target, config, PROFILE, 2.5e-5, {"v": -0.065, "m": 0.05, "h": 0.6, "n": 0.32})
    labels = [op.label for op in neuron.program.ops]
    assert "v_residual reset" in labels and "v_residual unless refractory" in labels
    tables = [t.entries for t in neuron.tables]
    numpy_run, exact_run = Interpreter(neuron.program, tables, neuron.constants), \
        ExactInterpreter(neuron.program, tables, neuron.constants)
    registers = np.repeat(neuron.initial[:, None], 4, axis=1)
    exact, spiked_any = registers.tolist(), 0
    drive = neuron.quantize_drive(np.array([0.1, 0.2, 0.3, 0.5]))[None, :]
    e_row = [r.name for r in neuron.program.registers].index("v_residual")
    for k in range(1500):
        registers, spiked, counts = numpy_run.step(registers, drive, k)
        exact, exact_spiked, exact_counts = exact_run.step(exact, drive.tolist(), k)
        assert registers.tolist() == exact and spiked.tolist() == exact_spiked and counts.tolist() == exact_counts
        assert np.all(registers[e_row][spiked] == 0)
        spiked_any += spiked.sum()
    assert spiked_any > 5


def test_invalid_residual_widths_and_kinds_are_refused():
    target = load_target("generic16")
    with pytest.raises(ConfigError, match="residual_bits"):
        QuantConfig.for_target(target, rounding="error_feedback", residual_bits=0)
    with pytest.raises(ConfigError, match="feedback"):
        QuantConfig.for_target(target, rounding="error_feedback", feedback=("soma",))
    with pytest.raises(ConfigError, match="feedback"):
        QuantConfig.for_target(target, rounding="error_feedback", feedback=())


def test_the_listing_names_the_error_feedback_sites(tmp_path, capsys):
    path = tmp_path / "squid.toml"
    path.write_text(squid_toml())
    assert main(["lower", str(path), "--target", "generic16", "--state-bits", "12", "--rounding", "error_feedback",
                 "--feedback", "voltage,gate", "--residual-bits", "3"]) == 0
    out = capsys.readouterr().out
    assert "error feedback at the updates of v, m, h, n" in out
    assert "v_residual        residual   s3." in out
    assert out.count("(error feedback)") == 4


def test_residual_registers_are_exported_and_run_bit_for_bit_after_loading(tmp_path):
    """The export carries the residual registers, the operations using them, their initial contents
    and the config, and the resource report counts the residuals as state."""
    from neuromorph.execution.stimulus import sample_stimulus
    from neuromorph.model.model_file import load_model
    from neuromorph.network.export import export_network, load_export
    from neuromorph.network.lower import lower_network
    from neuromorph.network.model_network import network_of_model
    from neuromorph.network.resources import resource_report

    path = tmp_path / "squid.toml"
    path.write_text(squid_toml(duration="10 * ms", neurons=4))
    model = load_model(path)
    spec = network_of_model(model, sample_stimulus(model.stimulus, model.simulation))
    target = load_target("generic16")
    config = QuantConfig.for_target(target, state_bits=12, rounding="error_feedback", residual_bits=3,
                                    feedback=("voltage", "gate"))
    name = spec.populations[0].name
    lowered = lower_network(spec, None, target, config, lif="never", profiles={name: PROFILE})
    export_network(lowered, tmp_path / "export")
    loaded = load_export(tmp_path / "export")
    program = loaded.population(name).neuron.program
    assert [r.name for r in program.registers if r.kind == "residual"] == \
        ["v_residual", "m_residual", "h_residual", "n_residual"]
    assert loaded.population(name).neuron.config == config
    assert program == lowered.population(name).neuron.program  # every op, register, output and fit
    np.testing.assert_array_equal(loaded.population(name).initial, lowered.population(name).initial)
    report = resource_report(lowered, target)
    assert report.populations[0].state_bits_per_neuron == 4 * 12 + 2 + 4 * 3
