"""The float emulator integrates exactly as Brian2 does (an independent implementation of the same scheme).

Brian2's exponential Euler folds every factor of an explicit ``v`` into the exponential,
voltage-dependent ones included (``m_inf(v)**3`` of an instantaneous gate); the float emulator
must reproduce it to round-off, so that the error split's algorithm part is zero.
"""
import numpy as np
import pytest

from neuromorph.execution.emulator import emulate_float

from .single_neuron import emulate
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.fidelity import compare
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import run_model_brian2
from neuromorph.targets import load_target

from .conftest import squid_toml
from .models import MORRIS_LECAR, WANG_BUZSAKI

# Brian2 writes (v + B/A) exp(A dt) - B/A, the emulator v + dt (A v + B) exprel(A dt): the same
# number up to round-off, which the spike upstroke amplifies (up to 100x per step), so voltages are
# compared over the first 600 steps and spike trains over the whole run.
FIRST_STEPS, VOLTAGE_TOLERANCE = 600, 1e-9


def run_both(tmp_path, text: str, stimulus_offset: float = 0.0):
    path = tmp_path / "model.toml"
    path.write_text(text)
    model = load_model(path)
    stimulus = sample_stimulus(model.stimulus, model.simulation) + stimulus_offset
    reference = run_model_brian2(model, stimulus)
    return model, stimulus, reference, emulate_float(model, stimulus, method=model.simulation.method)


def assert_same_dynamics(reference, emulated, min_spikes: int):
    assert sum(len(s) for s in reference.spike_trains) >= min_spikes
    np.testing.assert_allclose(emulated.v[:FIRST_STEPS], reference.v[:FIRST_STEPS], rtol=0, atol=VOLTAGE_TOLERANCE)
    assert compare(reference, emulated).gamma >= 0.999


@pytest.mark.slow
@pytest.mark.parametrize("name, text, min_spikes", [
    ("wang_buzsaki", WANG_BUZSAKI, 20), ("morris_lecar", MORRIS_LECAR, 15), ("squid", squid_toml(duration="200 * ms"), 20),
])
def test_float_emulator_equals_brian2_exponential_euler(tmp_path, name, text, min_spikes):
    _, _, reference, emulated = run_both(tmp_path, text.replace("{method}", "exponential_euler")
                                         if "{method}" in text else text)
    assert_same_dynamics(reference, emulated, min_spikes)


def test_instantaneous_activation_lands_in_the_exponential(tmp_path):
    path = tmp_path / "ml.toml"
    path.write_text(MORRIS_LECAR.replace("{method}", "exponential_euler"))
    spec = load_model(path).spec
    rates = {t.monomial: t for t in spec.voltage_equation.rate_terms}
    assert set(rates) == {(), (("w", 1),)}
    assert rates[()].affine is None  # -(g_Ca m_inf(v) + g_L) / C_m depends on v: tabulated
    v = np.array([-0.06, -0.02, 0.01])
    m_inf = 0.5 * (1 + np.tanh((v + 0.0012) / 0.018))
    from neuromorph.model.neuron_spec import evaluate
    np.testing.assert_allclose(evaluate(rates[()].coefficient, v), -(40 * m_inf + 20) / 0.2, rtol=1e-12)


UNLESS_REFRACTORY = (WANG_BUZSAKI.replace("{method}", "exponential_euler")
                     .replace(": volt\n", ": volt (unless refractory)\n", 1)
                     .replace('refractory = "2*ms"', 'refractory = "3*ms"\nreset = "v = -70*mV"'))


@pytest.mark.slow
def test_unless_refractory_holds_the_voltage_as_brian2_does(tmp_path):
    model, stimulus, reference, emulated = run_both(tmp_path, UNLESS_REFRACTORY, stimulus_offset=0.01)
    assert model.spec.voltage_equation.unless_refractory
    assert_same_dynamics(reference, emulated, min_spikes=30)
    steps = int(3e-3 / model.simulation.dt)
    for trace in (reference, emulated):  # held at the reset value for the refractory period
        first = int(round(trace.spike_trains[0][0] / model.simulation.dt))
        assert np.all(trace.v[first + 1:first + steps, 0] == pytest.approx(-0.070, abs=1e-15))
    target = load_target("loihi2")  # and the fixed-point program holds its register too
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, method="exponential_euler"),
                      RangeProfile.from_run(reference.v, stimulus), model.simulation.dt, dict(model.initial))
    fixed, _ = emulate(neuron, stimulus)
    assert compare(reference, fixed).gamma >= 0.99
    first = int(round(fixed.spike_trains[0][0] / model.simulation.dt))
    assert len(set(fixed.v[first + 1:first + steps, 0])) == 1


def test_a_declared_parameter_with_a_value_holds_that_value_in_brian2_too(tmp_path):
    text = (WANG_BUZSAKI.replace("{method}", "exponential_euler").replace('g_L = "0.1 * mS/cm**2"\n', "")
            .replace("I_app : amp/meter**2\n", "I_app : amp/meter**2\ng_L : siemens/meter**2\n")
            .replace("[parameters]\n", '[parameters]\ng_L = "0.1 * mS/cm**2"\n')
            .replace('duration = "150 * ms"', 'duration = "60 * ms"'))
    model, _, reference, emulated = run_both(tmp_path, text)
    assert model.spec.declared_parameters == ("g_L",)
    assert_same_dynamics(reference, emulated, min_spikes=5)


ADAPTING = squid_toml(duration="200 * ms").replace(
    "dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt",
    "dv/dt = (I_inj - I_Na - I_K - I_L - I_w) / C_m : volt\n"
    "I_w = g_w * q * (v - E_K) : amp/meter**2\n"
    "dq/dt = -q / tau_q : 1").replace('refractory = "v > -20*mV"', 'refractory = "v > -20*mV"\nreset = "q += 0.2"').replace(
    'E_L = "-54.387 * mV"', 'E_L = "-54.387 * mV"\ng_w = "5 * mS/cm**2"\ntau_q = "30 * ms"')


@pytest.mark.slow
def test_a_spike_triggered_conductance_is_a_linear_state_that_matches_brian2(tmp_path):
    """A dimensionless trace that only decays (q' = -q/tau) is no gate: it lives in its own register."""
    model, stimulus, reference, emulated = run_both(tmp_path, ADAPTING)
    assert [s.name for s in model.spec.linear_states] == ["q"]
    assert_same_dynamics(reference, emulated, min_spikes=10)
    target = load_target("loihi2")
    profile = RangeProfile.from_run(reference.v, stimulus, reference.states)
    assert profile.states["q"][1] > 0.2
    neuron = quantize(model.spec, target, QuantConfig.for_target(target), profile, model.simulation.dt,
                      dict(model.initial))
    fixed, run = emulate(neuron, stimulus)
    assert compare(reference, fixed).gamma >= 0.99 and run.overflows.sum() == 0
