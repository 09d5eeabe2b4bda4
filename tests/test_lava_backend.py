"""The Lava fixed_pt process against the numpy emulator: exact equality, step by step."""
import numpy as np
import pytest

from neuromorph.execution.loop import run_kernel
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.lava_backend import run_lava
from neuromorph.model.model_file import load_model
from neuromorph.pipeline import check_lava_against_emulator
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.kernel import FixedPointKernel, FloatKernel
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.targets import load_target

N_NEURONS, N_STEPS = 10, 2000


@pytest.fixture(scope="module")
def squid(tmp_path_factory):
    from .conftest import squid_toml

    path = tmp_path_factory.mktemp("lava") / "squid.toml"
    path.write_text(squid_toml(duration="50 * ms", neurons=N_NEURONS, seed=21))
    model = load_model(path)
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    # heterogeneous input: every neuron gets its own noise and its own offset
    stimulus = stimulus + np.linspace(-0.02, 0.04, N_NEURONS)[None, :]
    assert stimulus.shape == (N_STEPS, N_NEURONS)
    return model, stimulus


def lowered(model, stimulus, **config):
    target = load_target("loihi2")
    profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=float(np.abs(stimulus).max()))
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, **config), profile, model.simulation.dt,
                      dict(model.initial))
    return FixedPointKernel(neuron), neuron.quantize_drive(stimulus)


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    {"state_bits": 16, "rounding": "nearest", "interpolate": True},
    {"state_bits": 14, "rounding": "stochastic", "interpolate": True, "seed": 7},
    {"state_bits": 13, "rounding": "dither", "interpolate": True, "seed": 3},
    {"state_bits": 12, "rounding": "truncate", "interpolate": False, "lut_size": 256},
])
def test_lava_fixed_pt_equals_emulator_every_value_every_step(squid, config):
    model, stimulus = squid
    kernel, drive = lowered(model, stimulus, **config)
    emulated = run_kernel(kernel, drive)
    lava = run_lava(kernel, drive, tag="fixed_pt")
    assert emulated.spikes.sum() > 20, "the test needs spikes to be meaningful"
    check = check_lava_against_emulator(emulated, lava.states, lava.spikes)
    assert check.match and check.steps_compared == N_STEPS and check.neurons == N_NEURONS
    np.testing.assert_array_equal(lava.states, emulated.states)
    np.testing.assert_array_equal(lava.spikes, emulated.spikes)
    np.testing.assert_array_equal(lava.saturations, emulated.overflows)


def test_mismatch_detection_reports_the_first_bad_step(squid):
    model, stimulus = squid
    kernel, drive = lowered(model, stimulus[:50], state_bits=16)
    emulated = run_kernel(kernel, drive)
    tampered = emulated.states.copy()
    tampered[17, 0, 3] += 1
    check = check_lava_against_emulator(emulated, tampered, emulated.spikes)
    assert not check.match and check.first_mismatch_step == 17


@pytest.mark.slow
def test_lava_floating_pt_runs_the_float_kernel(squid):
    model, stimulus = squid
    kernel = FloatKernel(model.spec, model.simulation.dt, dict(model.initial))
    emulated = run_kernel(kernel, stimulus[:500])
    lava = run_lava(kernel, stimulus[:500], tag="floating_pt")
    np.testing.assert_allclose(lava.states, emulated.states, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(lava.spikes, emulated.spikes)
