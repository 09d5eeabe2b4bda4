"""A model file is a network of one population: ``compare MODEL`` equals ``network`` on a file holding it.

The two commands read their inputs through different loaders (the model file's stimulus
section against a network file's current source that points at the model file) and must
meet in the same network: the same Brian2 reference, the same lowered program, the same
emulator and Lava runs, hence the same report values.
"""
import json

import pytest

from neuromorph.cli import main

from .conftest import squid_toml

NEURONS, DURATION = 4, "100 * ms"

NETWORK = '''
[simulation]
dt = "0.025 * ms"
duration = "{duration}"
seed = 9

[populations.axon]
size = {neurons}
model = "{model}"

[sources.stimulus]
kind = "current"
target = "axon"
variable = "I_inj"
stimulus = {{ kind = "ou", mean = "5 * uA/cm**2", sigma = "3 * uA/cm**2", tau = "5 * ms", seed = 3 }}
'''


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one_pipeline")
    model = folder / "squid.toml"
    model.write_text(squid_toml(duration=DURATION, neurons=NEURONS, seed=3))
    network = folder / "network.toml"
    network.write_text(NETWORK.format(duration=DURATION, neurons=NEURONS, model=model))
    common = ["--target", "generic16", "--codegen", "numpy", "--backend", "both"]
    assert main(["compare", str(model), *common, "--out", str(folder / "compare")]) == 0
    assert main(["network", str(network), *common, "--no-floor", "--out", str(folder / "network")]) == 0
    return tuple(json.loads((folder / name / "report.json").read_text()) for name in ("compare", "network"))


@pytest.mark.slow
def test_model_file_and_network_file_give_the_same_report_values(reports):
    single, network = reports
    population = network["populations"]["axon"]
    fidelity = population["fidelity"]
    assert single["reference"] == network["reference"] and single["config"] == network["config"]
    for key in ("gamma", "gamma_min", "gamma_undefined", "spike_time_error_ms", "missed_spikes", "extra_spikes",
                "spike_count_difference", "v_rmse_mV", "window_ms"):
        assert single[key] == fidelity[key], key
    assert single["rates_hz"]["reference"] == population["rates_hz"]["reference"]
    assert single["rates_hz"]["candidate"] == population["rates_hz"]["candidate"]
    assert single["formats"] == population["formats"]
    assert single["saturations"] == population["overflows"]["registers"]
    assert single["operation_overflows"] == population["overflows"]["operations"]
    assert single["lava_matches_emulator"]["match"] and network["lava_matches_emulator"]["match"]
    # dither at 16 bits moves spikes: the equal values are not the trivial ones of identical trains
    assert single["missed_spikes"] + single["extra_spikes"] > 0 or single["spike_time_error_ms"]["max"] > 0
    assert single["rates_hz"]["reference"] > 10


def test_the_python_compare_stays_a_function_after_its_module_is_imported():
    """``neuromorph.network.compare`` is the function, also after the comparison module and the CLI
    (which import the pipeline's modules) are loaded: no submodule of the same name replaces it."""
    import importlib

    import neuromorph.cli.network  # noqa: F401 -- imports the comparison module
    import neuromorph.network as nmn

    importlib.import_module("neuromorph.network.comparison")
    assert callable(nmn.compare) and nmn.compare.__module__ == "neuromorph.network"


FEED_FORWARD = '''
[simulation]
dt = "0.1 * ms"
duration = "150 * ms"
seed = 4

[populations.hh]
size = 10
model = "{model}"
initial = {{ v = {{ distribution = "uniform", low = "-65 * mV", high = "-55 * mV" }} }}

[sources.poisson]
kind = "poisson"
size = 60
rate = "20 * Hz"

[projections.drive]
source = "poisson"
target = "hh"
connect = {{ rule = "probability", p = 0.2 }}
weight = "6 * nS"
effect = "g_e += w"
'''


@pytest.mark.slow
def test_sweep_takes_a_network_file_and_judges_it_on_held_out_network_seeds(tmp_path):
    """A network file is searched like a model file: held-out network seeds (new Poisson spikes,
    connections and initial values), formats from the file's own seed, Gamma of the feed-forward
    population per seed. 24 bits on loihi2 keep the spikes (Gamma >= 0.99 on every seed, as a
    single neuron does at 24 bits), even with truncation; 8 bits with truncation do not. (One
    rounding: each of the 4 configurations is its own program structure, 2.5 s interpreted.)"""
    from neuromorph.network.benchmark import held_out_network_seeds
    from neuromorph.network.network_file import load_network_file

    from .conftest import EXAMPLES

    network = tmp_path / "ff.toml"
    network.write_text(FEED_FORWARD.format(model=EXAMPLES / "networks" / "cobahh_neuron.toml"))
    seeds = held_out_network_seeds(load_network_file(network), 2)
    draws = [load_network_file(network, seed=s) for s in (4, *seeds)]
    assert len({tuple(d.projections[0].i) for d in draws}) == 3, "each seed draws its own connections"
    out = tmp_path / "sweep"
    assert main(["sweep", str(network), "--target", "loihi2", "--bits", "8,24", "--lut-sizes", "1024",
                 "--roundings", "truncate", "--seeds", "2", "--workers", "1", "--out", str(out)]) == 0
    records = {json.loads(line)["key"]: json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()}
    assert len(records) == 4
    best = records["24/1024/1/truncate"]
    assert best["seeds"] == list(seeds) and best["feed_forward"] == 1 and best["rate_error"] is None
    assert min(best["gamma_per_seed"]) >= 0.99
    assert records["8/1024/1/truncate"]["gamma"] < 0.9
