"""The squid example end to end against Brian2 (the issue's acceptance numbers)."""
import json

import numpy as np
import pytest

from neuromorph.cli import main
from .single_neuron import emulate
from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.fidelity import compare
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.network.model_network import run_model_brian2
from neuromorph.targets import load_target

from .conftest import EXAMPLES

REQUIRED_KEYS = {"gamma", "spike_time_error_ms", "missed_spikes", "extra_spikes", "v_rmse_mV", "formats",
                 "saturations", "lava_matches_emulator"}


@pytest.fixture(scope="module")
def squid_reference():
    model = load_model(EXAMPLES / "squid_hh.toml")
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    return model, stimulus, run_model_brian2(model, stimulus)


def fixed_point_fidelity(squid_reference, **config):
    model, stimulus, reference = squid_reference
    target = load_target("loihi2")
    neuron = quantize(model.spec, target, QuantConfig.for_target(target, **config),
                      RangeProfile.from_run(reference.v, stimulus), model.simulation.dt, dict(model.initial))
    trace, _ = emulate(neuron, stimulus)
    return compare(reference, trace, window=2e-3)


@pytest.mark.slow
def test_example_fires_at_20_to_60_hz(squid_reference):
    model, _, reference = squid_reference
    assert model.simulation.neurons == 10 and model.simulation.dt == pytest.approx(25e-6)
    rates = [len(s) / reference.duration for s in reference.spike_trains]
    assert 20 <= np.mean(rates) <= 60


@pytest.mark.slow
def test_16_bits_nearest_keeps_gamma(squid_reference):
    report = fixed_point_fidelity(squid_reference, state_bits=16, rounding="nearest")
    assert report.gamma >= 0.98


@pytest.mark.slow
def test_24_bits_median_spike_error(squid_reference):
    report = fixed_point_fidelity(squid_reference, state_bits=24, rounding="nearest")
    assert report.spike_time_error_ms["median"] <= 0.05
    assert report.gamma >= 0.99


@pytest.mark.slow
def test_fewer_bits_do_worse(squid_reference):
    """A sanity check that the two tests above can fail: 10 bits lose spike timing."""
    assert fixed_point_fidelity(squid_reference, state_bits=10, rounding="nearest").gamma < 0.9


@pytest.mark.slow
def test_cli_compare_both_backends_writes_report_and_figure(tmp_path, squid_file, capsys):
    path = squid_file(duration="60 * ms", neurons=4)
    status = main(["compare", str(path), "--backend", "both", "--state-bits", "16", "--out", str(tmp_path / "o"),
                   "--json"])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "o" / "report.json").read_text())
    assert printed == written
    assert REQUIRED_KEYS <= set(written)
    assert set(written["spike_time_error_ms"]) == {"mean", "median", "max"}
    lava = written["lava_matches_emulator"]
    assert lava["match"] is True and lava["steps_compared"] == 2400 and lava["neurons"] == 4
    assert (tmp_path / "o" / "compare.png").stat().st_size > 10_000
