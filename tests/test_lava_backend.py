"""The Lava graph of a model file's one population against the network emulator: exact equality, step by step.

A model file runs as a network of one population fed by its sampled stimulus; Lava sees the
stimulus through a ``RingBuffer`` into the lowered neuron's port, the emulator through its
fused loop. Every register, spike and overflow count must be equal in every step.
"""

import multiprocessing
import os
import time

import numpy as np
import pytest

from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.network.comparison import check_lava
from neuromorph.network.emulator import NetworkRun, PopulationRun, run_network
from neuromorph.network.lower import lower_network, recorded_variables
from neuromorph.network.model_network import network_of_model
from neuromorph.network.reference import Recording, run_network_brian2
from neuromorph.quantization.quantize import QuantConfig
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
    spec = network_of_model(model, stimulus)
    reference = run_network_brian2(spec, codegen="numpy", record=Recording(variables=recorded_variables(spec)))
    return model, stimulus, spec, reference

def lowered(squid, **config):
    _, _, spec, reference = squid
    target = load_target("loihi2")
    return lower_network(spec, reference, target, QuantConfig.for_target(target, **config), lif="never")

@pytest.mark.slow
@pytest.mark.parametrize("config", [
    {"state_bits": 16, "rounding": "nearest", "interpolate": True},
    {"state_bits": 14, "rounding": "stochastic", "interpolate": True, "seed": 7},
    {"state_bits": 13, "rounding": "dither", "interpolate": True, "seed": 3},
    {"state_bits": 12, "rounding": "truncate", "interpolate": False, "lut_size": 256},
    {"state_bits": 12, "rounding": "error_feedback", "interpolate": True, "residual_bits": 3},
])
def test_lava_fixed_pt_equals_emulator_every_value_every_step(squid, config):
    from neuromorph.lava.graph import run_graph

    network = lowered(squid, **config)
    emulated = run_network(network)
    lava = run_graph(network)
    (name,) = emulated.populations
    run, other = emulated.populations[name], lava.populations[name]
    assert run.spikes.sum() > 20, "the test needs spikes to be meaningful"
    assert run.states.shape == (N_STEPS, len(network.populations[0].neuron.program.registers), N_NEURONS)
    np.testing.assert_array_equal(other.states, run.states)
    np.testing.assert_array_equal(other.spikes, run.spikes)
    np.testing.assert_array_equal(other.overflows, run.overflows)
    check = check_lava(emulated, lava)
    assert check.match and check.steps_compared == N_STEPS
    assert set(lava.timings) == {"build", "start_up", "stepping", "run", "waited", "read_back"}
    assert lava.wall_time_s == lava.timings["run"]


def test_lava_run_without_states_records_spikes_only(squid):
    from neuromorph.lava.graph import run_graph

    network = lowered(squid, state_bits=16)
    emulated = run_network(network)
    lava = run_graph(network, record=False)
    (name,) = emulated.populations
    assert lava.populations[name].states is None and emulated.populations[name].spikes.sum() > 20
    np.testing.assert_array_equal(lava.populations[name].spikes, emulated.populations[name].spikes)

def test_lava_steps_while_the_host_works_and_states_its_own_stepping_time(squid):
    """The host runs the emulator between start and finish; Lava's result is still exact, and the
    stepping time its processes' clocks give lies within what the host saw of the run."""
    from neuromorph.lava.graph import start_graph

    network = lowered(squid, state_bits=16)
    started = time.perf_counter()
    with start_graph(network) as running:
        emulated = run_network(network, fused_loop=False)
        lava = running.finish()
    seen = time.perf_counter() - started
    (name,) = emulated.populations
    np.testing.assert_array_equal(lava.populations[name].states, emulated.populations[name].states)
    assert check_lava(emulated, lava).match
    timings = lava.timings
    assert 0 < timings["stepping"] < timings["run"] < seen
    assert timings["start_up"] > 0 and timings["waited"] >= 0
    assert not os.path.exists(running.graph.record_dir), "finish removes the record files"


def test_an_error_on_the_host_while_lava_steps_stops_lava(squid):
    from neuromorph.lava.graph import start_graph

    network = lowered(squid, state_bits=16)
    with pytest.raises(RuntimeError, match="the host failed"):
        with start_graph(network) as running:
            raise RuntimeError("the host failed")
    assert not os.path.exists(running.graph.record_dir)
    for child in multiprocessing.active_children():
        child.join(timeout=10)
    assert not multiprocessing.active_children(), "Lava's processes were stopped"


def test_mismatch_detection_reports_the_first_bad_step(squid):
    network = lowered(squid, state_bits=16)
    emulated = run_network(network, n_steps=50)
    (name,) = emulated.populations
    run = emulated.populations[name]
    tampered = run.states.copy()
    tampered[17, 0, 3] += 1
    other = NetworkRun(populations={name: PopulationRun(name=name, spikes=run.spikes, states=tampered,
                                                        overflows=run.overflows)}, wall_time_s=0.0)
    check = check_lava(emulated, other)
    assert not check.match and check.populations[name]["first_mismatch_step"] == 17

def test_lava_imports_after_something_fixed_the_multiprocessing_context():
    """Lava sets the start method to fork when first imported; after anything has fixed the context
    (``get_start_method()`` does, e.g. inside Dask) that raised "context has already been set"."""
    import subprocess
    import sys

    code = ("import multiprocessing as mp; mp.get_start_method()\n"
            "import neuromorph.lava.graph\nprint(mp.get_start_method())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "fork"
