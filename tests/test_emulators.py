"""Emulators against Brian2 (an independent implementation of the same dynamics)."""
import dataclasses

import numpy as np
import pytest

from neuromorph.execution.emulator import emulate_float

from .single_neuron import emulate
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import run_model_brian2
from neuromorph.targets import load_target


@pytest.fixture(scope="module")
def squid_run(tmp_path_factory):
    from .conftest import squid_toml

    path = tmp_path_factory.mktemp("model") / "squid.toml"
    path.write_text(squid_toml(duration="100 * ms", neurons=6, seed=11))
    model = load_model(path)
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    return model, stimulus, run_model_brian2(model, stimulus)


def test_float_emulator_reproduces_brian2_exponential_euler(squid_run):
    model, stimulus, reference = squid_run
    float_trace = emulate_float(model, stimulus)
    assert sum(len(s) for s in reference.spike_trains) > 10
    np.testing.assert_allclose(float_trace.v, reference.v, atol=1e-9)
    for ref, cand in zip(reference.spike_trains, float_trace.spike_trains):
        np.testing.assert_allclose(cand, ref, atol=1e-12)


def test_forward_euler_reproduces_brian2_euler(squid_run):
    model, stimulus, reference = squid_run
    euler_model = dataclasses.replace(model, simulation=dataclasses.replace(model.simulation, method="euler"))
    brian2_euler = run_model_brian2(euler_model, stimulus)
    euler = emulate_float(model, stimulus, method="euler")
    np.testing.assert_allclose(euler.v, brian2_euler.v, atol=1e-9)
    assert np.abs(euler.v - reference.v).max() > 1e-4  # and it is a different scheme


@pytest.mark.parametrize("bits, tolerance_mV", [(24, 0.05), (16, 2.0)])
def test_fixed_point_tracks_brian2(squid_run, bits, tolerance_mV):
    model, stimulus, reference = squid_run
    target = load_target("loihi2")
    config = QuantConfig.for_target(target, state_bits=bits, interpolate=True)
    neuron = quantize(model.spec, target, config, RangeProfile.from_run(reference.v, stimulus),
                      model.simulation.dt, dict(model.initial))
    trace, run = emulate(neuron, stimulus)
    below_threshold = reference.v < -0.055  # compare where spike-time jitter cannot dominate
    rmse = np.sqrt(np.mean((trace.v[below_threshold] - reference.v[below_threshold]) ** 2)) * 1e3
    assert rmse < tolerance_mV
    assert run.overflows.sum() == 0


def test_initial_voltage_is_exact_to_one_lsb(squid_run):
    model, stimulus, reference = squid_run
    target = load_target("loihi2")
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, state_bits=12),
                      RangeProfile.from_run(reference.v, stimulus), model.simulation.dt, dict(model.initial))
    trace, _ = emulate(neuron, stimulus[:5])
    assert abs(trace.v[0, 0] - model.initial["v"]) <= neuron.voltage_lsb / 2
