"""Every example model loads and lowers; physiology sections compute what they claim."""
import dataclasses

import numpy as np
import pytest

from neuromorph import biophysics as bp
from neuromorph.errors import InputError
from neuromorph.execution.emulator import emulate_float
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import run_model_brian2
from neuromorph.targets import load_target

from .conftest import EXAMPLES

MODELS = sorted(p.stem for p in EXAMPLES.glob("*.toml"))


def test_all_five_examples_are_present():
    assert {"squid_hh", "squid_hh_18C", "hh_ghk", "hh_kir_pump", "traub_miles"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_example_lowers_at_loihi2_defaults(name):
    model = load_model(EXAMPLES / f"{name}.toml")
    target = load_target("loihi2")
    profile = RangeProfile(v_min=-0.09, v_max=0.05, dv_max=0.01, drive_max=0.5)
    neuron = quantize(model.spec, target, QuantConfig.for_target(target), profile, model.simulation.dt,
                      dict(model.initial))
    assert neuron.program.registers[0].bits == 24 and neuron.table_memory_bits <= target.lut_memory_bits


def test_q10_factor_is_applied_to_the_warm_squid():
    cold = load_model(EXAMPLES / "squid_hh.toml")
    warm = load_model(EXAMPLES / "squid_hh_18C.toml")
    assert float(warm.parameters["phi"]) == pytest.approx(3 ** ((18.5 - 6.3) / 10))
    v = np.array([-0.07, -0.04])
    from neuromorph.model.neuron_spec import evaluate
    for g_cold, g_warm in zip(cold.spec.gates, warm.spec.gates):
        np.testing.assert_allclose(evaluate(g_warm.tau, v), evaluate(g_cold.tau, v) / float(warm.parameters["phi"]),
                                   rtol=1e-9)


def test_reversal_potentials_follow_the_ions_section():
    model = load_model(EXAMPLES / "hh_kir_pump.toml")
    kelvin = float(model.parameters["temperature"])
    assert kelvin == pytest.approx(279.45)
    # Nernst and GHK voltage equations written out (Hille 2001), CODATA's R and F from scipy
    from scipy.constants import e, k
    rt_f = k * 279.45 / e
    assert float(model.parameters["E_K"]) == pytest.approx(rt_f * np.log(20 / 400))  # K: 20 mM out, 400 in
    assert float(model.parameters["E_Na"]) == pytest.approx(rt_f * np.log(440 / 50))
    assert float(model.parameters["E_K"]) == pytest.approx(-0.072, abs=5e-4)  # the file's comment: about -72 mV
    ghk = load_model(EXAMPLES / "hh_ghk.toml")
    # P_K : P_Na : P_Cl = 1 : 0.04 : 0.45; the anion Cl enters with its inside concentration on top
    assert float(ghk.parameters["E_L"]) == pytest.approx(
        rt_f * np.log((20 + 0.04 * 440 + 0.45 * 52) / (400 + 0.04 * 50 + 0.45 * 560)))


def test_changing_outside_potassium_changes_the_model(tmp_path):
    from scipy.constants import e, k

    text = (EXAMPLES / "hh_kir_pump.toml").read_text()
    path = tmp_path / "high_k.toml"
    path.write_text(text.replace('outside = "20 * mM" }', 'outside = "40 * mM" }'))
    assert float(load_model(path).parameters["E_K"]) - float(load_model(EXAMPLES / "hh_kir_pump.toml").parameters["E_K"]) \
        == pytest.approx(k * 279.45 / e * np.log(40 / 20))  # RT/F ln 2, CODATA's k and e (scipy)


@pytest.mark.slow
def test_kir_pump_neuron_rests_near_the_pump_corrected_potential():
    model = load_model(EXAMPLES / "hh_kir_pump.toml")
    sim = dataclasses.replace(model.simulation, duration=0.2, neurons=1)
    model = dataclasses.replace(model, simulation=sim, stimulus=dataclasses.replace(model.stimulus, mean=0.0, sigma=0.0))
    trace = run_model_brian2(model, sample_stimulus(model.stimulus, sim))
    rest = trace.v[-1, 0]
    kelvin = float(model.parameters["temperature"])
    p = model.parameters_si
    p_k_eff = p["P_Kir"] * bp.woodhull_unblocked_fraction(rest, p["Mg_in"], p["K_d0"], 2, p["delta"], kelvin)
    mullins_noda = bp.pump_resting_potential(p_k_eff, p["P_NaB"], 20, 400, 440, 50, kelvin)
    e_k = float(model.parameters["E_K"])
    plain_ghk = bp.ghk_voltage([p_k_eff, p["P_NaB"]], [20, 440], [400, 50], [1, 1], kelvin)
    assert abs(rest - mullins_noda) < 2.5e-3
    assert e_k < rest < plain_ghk


@pytest.mark.slow
def test_ghk_model_float_emulator_reproduces_brian2_euler():
    model = load_model(EXAMPLES / "hh_ghk.toml")
    sim = dataclasses.replace(model.simulation, duration=0.05, neurons=3)
    model = dataclasses.replace(model, simulation=sim)
    stimulus = sample_stimulus(model.stimulus, sim)
    reference = run_model_brian2(model, stimulus)
    emulated = emulate_float(model, stimulus, method="euler")
    np.testing.assert_allclose(emulated.v, reference.v, atol=1e-9)


@pytest.mark.parametrize("edit, field", [
    (('[temperature]\ncelsius = 6.3', '[temperature]\ncelsius = "hot"'), "temperature.celsius"),
    (('K = { z = 1,', 'K = { z = 0,'), "ions.K.z"),
    (('inside = "400 * mM"', 'inside = "400 * mV"'), "ions.K.inside"),
    (('E_K = "nernst K"', 'E_K = "nernst Rb"'), "reversal.E_K"),
    (('E_K = "nernst K"', 'E_K = "import os"'), "reversal.E_K"),
])
def test_bad_physiology_sections_name_the_field(tmp_path, edit, field):
    text = (EXAMPLES / "hh_kir_pump.toml").read_text()
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(InputError) as info:
        load_model(path)
    assert field in str(info.value) and str(path) in str(info.value)
