"""Models that are not in examples/: instantaneous gates, durations, resets, --strict."""

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.execution.emulator import emulate_float

from .single_neuron import emulate
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.fidelity import compare
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import run_model_brian2
from neuromorph.targets import load_target

# Wang & Buzsaki (1996) interneuron: the Na activation m is instantaneous (m = m_inf(v), no
# differential equation), h and n are alpha/beta gates with a temperature factor phi = 5.
WANG_BUZSAKI = '''
[neuron]
name = "wang_buzsaki"
input = "I_app"
threshold = "v > -20*mV"
refractory = "2*ms"
equations = """
dv/dt = (I_app - g_Na * m_inf**3 * h * (v - E_Na) - g_K * n**4 * (v - E_K) - g_L * (v - E_L)) / C_m : volt
m_inf = alpha_m / (alpha_m + beta_m) : 1
alpha_m = 0.1 * 10 / exprel(-(v + 35*mV) / (10*mV)) / ms : Hz
beta_m = 4 * exp(-(v + 60*mV) / (18*mV)) / ms : Hz
dh/dt = phi * (alpha_h * (1 - h) - beta_h * h) : 1
alpha_h = 0.07 * exp(-(v + 58*mV) / (20*mV)) / ms : Hz
beta_h = 1 / (1 + exp(-(v + 28*mV) / (10*mV))) / ms : Hz
dn/dt = phi * (alpha_n * (1 - n) - beta_n * n) : 1
alpha_n = 0.01 * 10 / exprel(-(v + 34*mV) / (10*mV)) / ms : Hz
beta_n = 0.125 * exp(-(v + 44*mV) / (80*mV)) / ms : Hz
I_app : amp/meter**2
"""

[parameters]
C_m = "1 * uF/cm**2"
g_Na = "35 * mS/cm**2"
g_K = "9 * mS/cm**2"
g_L = "0.1 * mS/cm**2"
E_Na = "55 * mV"
E_K = "-90 * mV"
E_L = "-65 * mV"
phi = 5

[initial]
v = "-64 * mV"

[stimulus]
kind = "ou"
mean = "1 * uA/cm**2"
sigma = "1 * uA/cm**2"
tau = "5 * ms"
seed = 4

[simulation]
dt = "0.01 * ms"
duration = "150 * ms"
neurons = 6
method = "euler"
'''


@pytest.fixture(scope="module")
def wang_buzsaki(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "wang_buzsaki.toml"
    path.write_text(WANG_BUZSAKI)
    model = load_model(path)
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    return model, stimulus, run_model_brian2(model, stimulus)


def test_instantaneous_gate_becomes_a_tabulated_term(wang_buzsaki):
    model, _, _ = wang_buzsaki
    assert [g.name for g in model.spec.gates] == ["h", "n"]
    assert all(g.form == "alpha_beta" for g in model.spec.gates)
    lowerings = {t.monomial: t.affine is None for t in model.spec.voltage_equation.terms}
    assert lowerings[(("h", 1),)] is True  # m_inf(v)**3 (v - E_Na): tabulated over v
    assert lowerings[(("n", 4),)] is False  # ohmic: exact affine arithmetic


@pytest.mark.slow
def test_float_emulator_reproduces_brian2(wang_buzsaki):
    model, stimulus, reference = wang_buzsaki
    assert sum(len(s) for s in reference.spike_trains) > 20
    trace = emulate_float(model, stimulus, method="euler")
    # Same algorithm, different order of floating-point operations: near threshold the
    # spike-initiation instability amplifies round-off (1e-16) to a step of spike timing.
    np.testing.assert_allclose(trace.v[:600], reference.v[:600], atol=1e-12)
    fidelity = compare(reference, trace)
    assert fidelity.gamma >= 0.999 and fidelity.spike_time_error_ms["median"] == 0.0
    assert fidelity.spike_time_error_ms["max"] <= 0.2  # a slowly rising spike can move a few steps


@pytest.mark.slow
def test_fixed_point_keeps_spike_timing(wang_buzsaki):
    model, stimulus, reference = wang_buzsaki
    target = load_target("loihi2")
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, method="euler"),
                      RangeProfile.from_run(reference.v, stimulus), model.simulation.dt, dict(model.initial))
    trace, _ = emulate(neuron, stimulus)
    assert compare(reference, trace).gamma >= 0.98


def test_reset_and_duration_refractoriness_follow_brian2(tmp_path):
    text = WANG_BUZSAKI.replace('refractory = "2*ms"', 'refractory = "3*ms"\nreset = "v = -70*mV"')
    path = tmp_path / "reset.toml"
    path.write_text(text.replace('duration = "150 * ms"', 'duration = "100 * ms"'))
    model = load_model(path)
    stimulus = sample_stimulus(model.stimulus, model.simulation) + 0.02
    reference = run_model_brian2(model, stimulus)
    emulated = emulate_float(model, stimulus, method="euler")
    assert sum(len(s) for s in reference.spike_trains) > 5
    # Round-off differences (1e-16) grow by up to 100x per step on the upstroke of this model,
    # so spike times drift apart after a few spikes; the semantics must still agree.
    for trace in (reference, emulated):
        assert np.isclose(trace.v, -0.070, atol=1e-12).any()  # the reset value appears
        assert min(np.diff(s).min() for s in trace.spike_trains if len(s) > 1) >= 3e-3 - 1e-9  # refractory
    first_spikes = [(r[0], c[0]) for r, c in zip(reference.spike_trains, emulated.spike_trains)]
    np.testing.assert_allclose(*zip(*first_spikes), atol=1e-12)
    counts = [(len(r), len(c)) for r, c in zip(reference.spike_trains, emulated.spike_trains)]
    assert all(abs(a - b) <= 1 for a, b in counts)


def test_overflow_is_counted_per_variable_and_strict_exits_3(tmp_path, capsys):
    path = tmp_path / "short.toml"
    path.write_text(WANG_BUZSAKI.replace('duration = "150 * ms"', 'duration = "20 * ms"'))
    # headroom 0.25 shrinks the voltage register below the resting potential: v must saturate
    args = ["compare", str(path), "--backend", "emulator", "--headroom", "0.25", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    import json
    saturations = json.loads((tmp_path / "o" / "report.json").read_text())["saturations"]
    assert saturations["v"] > 0 and saturations["h"] == saturations["n"] == 0
    capsys.readouterr()
    assert main(args + ["--strict"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("neuromorph: error: overflow during the run") and "'v'" in err[-1]


def test_without_overflow_strict_succeeds(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(WANG_BUZSAKI.replace('duration = "150 * ms"', 'duration = "20 * ms"'))
    assert main(["compare", str(path), "--backend", "emulator", "--strict", "--method", "euler",
                 "--out", str(tmp_path / "o")]) == 0
