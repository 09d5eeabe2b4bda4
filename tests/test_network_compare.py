"""Networks end to end: Brian2 -> lowering -> emulator and Lava graph (bit for bit) -> fidelity."""
import dataclasses
import json

import numpy as np
import pytest
from scipy.signal import welch

from neuromorph.cli import main
from neuromorph.network.comparison import NetworkOptions, build_report, check_lava, compare, recurrent_populations
from neuromorph.network import fused as fused_module
from neuromorph.network.emulator import run_network
from neuromorph.lava.graph import run_graph
from neuromorph.network.lower import lower_network, recorded_variables
from neuromorph.network.network_file import load_network_file
from neuromorph.network.reference import Recording, replay_sources, run_network_brian2
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.targets import load_target

from .conftest import EXAMPLES, small_network

NETWORKS = EXAMPLES / "networks"


def shortened(name: str, duration: float, seed: int | None = None):
    return dataclasses.replace(load_network_file(NETWORKS / f"{name}.toml", seed=seed), duration=duration)


def lowered(spec, bits=None, reference=None):
    """``spec`` lowered at loihi2 (``bits`` state bits) from its Brian2 run (``reference``, else run here)."""
    if reference is None:
        reference = run_network_brian2(spec, record=Recording(variables=recorded_variables(spec)))
    target = load_target("loihi2")
    return lower_network(replay_sources(spec, reference), reference, target,
                         QuantConfig.for_target(target, state_bits=bits)), reference


@pytest.fixture(scope="module")
def ff_hh_80ms():
    """80 ms of ff_hh and its Brian2 run (numpy target, 3,200 steps), run once for the three tests below
    that lower this network (each lowers it itself, at its own width; the mismatch test used to run
    30 ms of the same network separately)."""
    spec = shortened("ff_hh", 0.08)
    return spec, run_network_brian2(spec, record=Recording(variables=recorded_variables(spec)))


@pytest.mark.slow
@pytest.mark.parametrize("bits", [None, 16])
def test_feed_forward_network_lava_graph_equals_emulator_every_spike_and_state(bits, ff_hh_80ms, monkeypatch):
    """Lava's graph, the emulator stepped from Python and the fused network loop (on one, two and three
    threads): the same integers in every step (a spike raster through 1-5 ms delays into HH neurons)."""
    spec, reference = ff_hh_80ms
    network, _ = lowered(spec, bits, reference)
    emulated, lava = run_network(network, fused_loop=False), run_graph(network)
    check = check_lava(emulated, lava)
    assert check.match and check.steps_compared == network.n_steps
    run = emulated.populations["hh"]
    assert run.spikes.sum() > 50 and run.states.shape == (network.n_steps,) + network.populations[0].initial.shape
    assert_same_runs(run_network(network, fused_loop=True), emulated)
    for threads in (2, 3):
        assert_same_runs(fused_on_threads(network, threads, monkeypatch), emulated, threads=threads)
    assert max(layer.max_delay for p in network.projections for layer in p.layers) > 1  # a ring of many rows


def fused_on_threads(network, threads: int, monkeypatch):
    """``network`` in the fused loop on ``threads`` threads, however few neurons each gets (each thread steps
    its own chunk of every population's neurons and receives the synapses onto them)."""
    monkeypatch.setattr(fused_module, "NEURONS_PER_THREAD", 1)
    monkeypatch.setenv("NEUROMORPH_THREADS", str(threads))
    run = run_network(network, fused_loop=True)
    monkeypatch.undo()
    return run


def assert_same_runs(fused, stepped, looped=True, threads=None):
    """Every spike, every register after every step, every overflow count and the final registers equal
    (the fused run on ``threads`` threads, if given)."""
    assert fused.fused_loop is looped and not stepped.fused_loop
    assert threads is None or fused.threads == threads
    assert fused.populations.keys() == stepped.populations.keys()
    for name, run in stepped.populations.items():
        other = fused.populations[name]
        np.testing.assert_array_equal(other.spikes, run.spikes)
        np.testing.assert_array_equal(other.states, run.states)
        np.testing.assert_array_equal(other.overflows, run.overflows)
        np.testing.assert_array_equal(other.final, run.final)


@pytest.mark.slow
def test_recurrent_network_lava_graph_equals_emulator(monkeypatch):
    """10 ms of PING: E fires from about 1.3 ms, so E -> I and I -> E spikes (1 ms delays) cross the graph."""
    network, _ = lowered(shortened("ping", 0.010), 16)
    emulated = run_network(network, fused_loop=False)
    check = check_lava(emulated, run_graph(network))
    assert check.match and set(check.populations) == {"E", "I"}
    assert all(emulated.populations[name].spikes[200:].sum() > 5 for name in ("E", "I"))
    assert_same_runs(run_network(network, fused_loop=True), emulated)  # the recurrent loop fused
    for threads in (2, 3):  # each thread steps part of E and I and receives the E -> I and I -> E synapses onto them
        assert_same_runs(fused_on_threads(network, threads, monkeypatch), emulated, threads=threads)
    kernels = {p.name: p.stepper(network.n_steps) for p in network.populations}
    rasters = {source.name: source.spikes for source in network.sources}
    loop = fused_module.fuse(network, kernels, rasters, network.n_steps, always=True)
    alternating = loop.run(network.n_steps, True, block=7, threads=(3, 1))  # blocks of 7 steps on 3 or 1 threads
    assert loop.steps_on[3] > 0 and loop.steps_on[1] > 0
    for name, (spikes, states, counts, registers) in zip(loop.names, alternating):
        run = emulated.populations[name]
        for mine, theirs in ((spikes, run.spikes), (states, run.states), (counts, run.overflows),
                             (registers, run.final)):
            np.testing.assert_array_equal(mine, theirs)


def test_the_fused_loop_steps_aside_for_registers_outside_their_ranges(ff_hh_80ms):
    """Registers that start outside their declared widths break the compiled program's assumption: the
    network is then stepped from Python (whose kernel interprets such blocks), with the same results."""
    from neuromorph.network.fused import fuse

    spec, reference = ff_hh_80ms
    network, _ = lowered(spec, reference=reference)
    population = network.populations[0]
    initial = population.initial.copy()
    initial[0, :3] = (1 << (population.neuron.program.registers[0].bits + 2))  # beyond the voltage register
    network = dataclasses.replace(network, populations=(dataclasses.replace(population, initial=initial),))
    kernels = {population.name: network.populations[0].stepper(network.n_steps)}
    rasters = {source.name: source.spikes for source in network.sources}
    assert fuse(network, kernels, rasters, network.n_steps, always=True) is None
    assert_same_runs(run_network(network, fused_loop=True), run_network(network, fused_loop=False), looped=False)


def test_a_mismatch_is_reported_with_its_first_step(ff_hh_80ms):
    spec, reference = ff_hh_80ms
    network, _ = lowered(spec, reference=reference)
    emulated = run_network(network)
    run = emulated.populations["hh"]
    spikes = run.spikes.copy()
    spikes[123, 7] = not spikes[123, 7]
    tampered = dataclasses.replace(emulated, populations={"hh": dataclasses.replace(run, spikes=spikes)})
    check = check_lava(emulated, tampered)
    assert not check.match and check.populations["hh"]["first_mismatch_step"] == 123


@pytest.mark.slow
def test_feed_forward_network_keeps_spike_timing_at_loihi2_defaults():
    # Brian2's numpy target: its 10,000 steps of 100 HH neurons take 2.3 s, where Cython compiles
    # for 38 s before its first step (cold, on the 2-core machine)
    options = NetworkOptions(floor=False, codegen="numpy")
    result = compare(shortened("ff_hh", 1.0), load_target("loihi2"), options=options)
    report = build_report(result)
    hh = report["populations"]["hh"]
    assert hh["driven"] == "feed-forward" and hh["gamma"]["mean"] >= 0.98
    assert abs(hh["rates_hz"]["candidate"] / hh["rates_hz"]["reference"] - 1) < 0.02
    json.dumps(report, allow_nan=False, default=float)


def rate_peak(trains, duration: float) -> tuple[float, float]:
    """Peak frequency of the population-rate spectrum in 20-100 Hz and its power over the median power
    (scipy's Welch estimate of 1 ms bins, independent of neuromorph.network.statistics)."""
    counts = np.histogram(np.concatenate(trains), bins=np.arange(0, duration + 5e-4, 1e-3))[0].astype(float)
    f, power = welch(counts - counts.mean(), fs=1000.0, nperseg=500)
    band = (f >= 20) & (f <= 100)
    k = np.flatnonzero(band)[np.argmax(power[band])]
    return f[k], power[k] / np.median(power[(f > 0) & (f <= 250)])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pyramidal_interneuron_gamma_keeps_its_frequency_and_rates(seed):
    """Issue 11 (b): over 3 seeds at loihi2 defaults, peak within 5 % and rates within 10 % of Brian2.

    The Brian2 reference of each seed is also the example's own claim: E oscillates in the
    gamma band (30-80 Hz, a clear peak) and I fires on every cycle. The float floor (a third
    network run, 17 s) is left to the README, which lists it for all three seeds; what it is, is
    checked on a small network (test_the_float_floor_is_brian2_on_the_replayed_input_kicked_by_half_an_lsb).
    One test per seed, so that the seeds can run on different xdist workers. Brian2's numpy
    target: its 40,000 steps of 250 neurons take 17 s, where Cython compiles 28 code objects
    for 70 s before its first step.
    """
    options = NetworkOptions(floor=False, codegen="numpy")
    result = compare(shortened("ping", 1.0, seed), load_target("loihi2"), options=options)
    e, i = result.reference.populations["E"], result.reference.populations["I"]
    frequency, prominence = rate_peak(e.spike_trains, result.reference.duration)
    assert 30 <= frequency <= 80 and prominence > 20, (seed, frequency, prominence)
    assert i.rate_hz(result.reference.duration) > 2 * e.rate_hz(result.reference.duration) > 10
    for name in ("E", "I"):
        stats = result.statistics[name]
        rates = stats.reference.mean_rate_hz, stats.candidate.mean_rate_hz
        assert abs(rates[1] / rates[0] - 1) <= 0.10, (seed, name, rates)
    peaks = result.statistics["E"].reference.spectrum, result.statistics["E"].candidate.spectrum
    assert 30 <= peaks[0].peak_frequency_hz <= 80
    assert abs(peaks[1].peak_frequency_hz / peaks[0].peak_frequency_hz - 1) <= 0.05, (seed, peaks)


def test_the_float_floor_is_brian2_on_the_replayed_input_kicked_by_half_an_lsb(tmp_path):
    """The floor (step 4 of the comparison) is Brian2 run again on the replayed Poisson spikes with the
    voltage kicked by up to half the finest voltage LSB per step, seeded with the network's seed + 1:
    the same trains as that run made directly, and the report sets its rate and Gamma beside the
    candidate's. An integer program at 10 bits (a 31 uV LSB): kicks that move spikes, so that
    another amplitude or seed would give other trains (Lava's LIF holds v in 24 bits: 2 nV)."""
    path = tmp_path / "net.toml"
    path.write_text(small_network("300 * ms", seed=5, size=20, trains=40, rate="40 * Hz", p=0.3))
    spec, target = load_network_file(path), load_target("loihi2")
    result = compare(spec, target, QuantConfig.for_target(target, state_bits=10),
                     options=NetworkOptions(codegen="numpy", lif="never"))
    lsb = min(population.voltage_lsb for population in result.lowered.network_populations)
    assert lsb > 1e-5
    direct = run_network_brian2(replay_sources(spec, result.reference), codegen="numpy",
                                perturbation=("v", lsb / 2, spec.seed + 1))
    floor, reference = result.floor.populations["L"].spike_trains, result.reference.populations["L"].spike_trains
    assert sum(map(len, reference)) > 100
    assert any(len(a) != len(b) or np.any(a != b) for a, b in zip(floor, reference))  # the kicks moved spikes
    for own, made in zip(floor, direct.populations["L"].spike_trains):
        np.testing.assert_array_equal(own, made)
    population = build_report(result)["populations"]["L"]
    assert population["rates_hz"]["floor"] == pytest.approx(population["rates_hz"]["reference"], rel=0.05)
    assert 0.9 <= population["gamma"]["floor"] <= 1


def test_recurrence_is_read_from_the_projection_graph():
    assert recurrent_populations(load_network_file(NETWORKS / "ping.toml")) == {"E": True, "I": True}
    assert recurrent_populations(load_network_file(NETWORKS / "ff_hh.toml")) == {"hh": False}


def test_network_command_writes_report_and_figures(tmp_path, capsys):
    path = tmp_path / "short.toml"
    path.write_text((NETWORKS / "ff_hh.toml").read_text().replace('duration = "1 * second"', 'duration = "50 * ms"')
                    .replace('model = "cobahh_neuron.toml"', f'model = "{NETWORKS / "cobahh_neuron.toml"}"'))
    assert main(["network", str(path), "--out", str(tmp_path / "o"), "--no-floor"]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["populations"]["hh"]["kind"] == "lowered" and not report["populations"]["hh"]["hardware_deployable"]
    delays = report["projections"]["poisson_to_hh"]["delay_steps"]  # the file's 1-5 ms at dt = 0.1 ms
    assert 10 <= delays["min"] <= 11 and 49 <= delays["max"] <= 50
    assert (tmp_path / "o" / "activity.png").stat().st_size > 10_000
    assert (tmp_path / "o" / "statistics_hh.png").exists()
    assert "hh" in capsys.readouterr().out


def test_delays_beyond_the_target_are_refused_without_relays_naming_the_projection(tmp_path, capsys):
    """With relays (the default) such delays run (tests/test_network_relays.py); --no-relays refuses them."""
    path = tmp_path / "long_delays.toml"
    path.write_text((NETWORKS / "ff_hh.toml").read_text().replace('high = "5 * ms"', 'high = "9 * ms"')
                    .replace('duration = "1 * second"', 'duration = "20 * ms"')
                    .replace('model = "cobahh_neuron.toml"', f'model = "{NETWORKS / "cobahh_neuron.toml"}"'))
    assert main(["network", str(path), "--out", str(tmp_path / "o"), "--no-floor", "--no-relays"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 3 and "poisson_to_hh" in err[-1] and "63 steps" in err[-1] and "--no-relays" in err[-1]


CUE_NETWORK = """
[simulation]
dt = "0.1 * ms"
duration = "20 * ms"
seed = 1

[populations.hh]
size = 2
model = "{model}"

[sources.cue]
kind = "spike_times"
size = 1
indices = [0]
times = ["5 * ms"]

[projections.cue_to_hh]
source = "cue"
target = "hh"
connect = {{ rule = "all_to_all" }}
weight = "20 * nS"
effect = "g_e += w"
"""


def test_clipped_weights_are_reported_and_refused_under_strict(tmp_path, capsys):
    """A lowered neuron's increment port is sized for the largest weight reaching it, so a 20 nS
    weight on a target whose weight exponent cannot exceed 0 is held with a coarser port LSB,
    not clipped. A population on Lava's LIF has no such port: its input scale follows from the
    voltage LSB (24-bit v with headroom), so a weight whose current dominates the voltage range
    needs about 2**16 units of a_in, beyond the (2**8 - 1) * 2**7 that Lava's weights hold.
    Both synapses of that projection are clipped for real through the lowering; the command
    prints it and --strict refuses it."""
    from neuromorph.targets import targets_dir

    target = tmp_path / "narrow_exponent.toml"
    target.write_text((targets_dir() / "loihi2.toml").read_text().replace('name = "loihi2"', 'name = "narrow"')
                      .replace("weight_exponent_max = 7", "weight_exponent_max = 0"))
    network = tmp_path / "cue.toml"
    network.write_text(CUE_NETWORK.format(model=NETWORKS / "cobahh_neuron.toml"))
    common = ["network", str(network), "--target", str(target), "--no-floor"]
    assert main([*common, "--out", str(tmp_path / "a"), "--strict"]) == 0
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["projections"]["cue_to_hh"]["weights_clipped"] == 0
    assert report["projections"]["cue_to_hh"]["weight_exp"] <= 0
    assert "clipped" not in capsys.readouterr().out

    lif = tmp_path / "lif_cue.toml"
    lif.write_text("""
[simulation]
dt = "0.1 * ms"
duration = "20 * ms"
seed = 1

[populations.lif]
size = 2
equations = '''
dv/dt = (v_rest - v + I) / tau_v : volt
dI/dt = -I / tau_I : volt
'''
threshold = "v > -55*mV"
reset = "v = -65*mV"
method = "exact"
parameters = { tau_v = "20 * ms", tau_I = "5 * ms", v_rest = "-65 * mV" }
initial = { v = "-65 * mV" }

[sources.cue]
kind = "spike_times"
size = 1
indices = [0]
times = ["5 * ms"]

[projections.cue_to_lif]
source = "cue"
target = "lif"
connect = { rule = "all_to_all" }
weight = "4 * volt"
effect = "I += w"
""")
    common = ["network", str(lif), "--target", "loihi2", "--no-floor"]
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    projection = json.loads((tmp_path / "b" / "report.json").read_text())["projections"]["cue_to_lif"]
    assert projection["weights_clipped"] == 2 and projection["synapses"] == 2
    assert projection["sign_mode"] == "excitatory" and projection["weight_exp"] == 7  # loihi2's largest
    # rounding to an 8-bit mantissa at the best exponent is off by at most half a step of 128
    # or more: 1/256 relative. A larger error is the clip itself.
    assert projection["weight_error"]["max_rel"] > 1 / 256
    assert "projection cue_to_lif: 2 weights clipped" in out
    assert main([*common, "--out", str(tmp_path / "c"), "--strict"]) == 3
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and "cue_to_lif" in last and "clipped" in last


@pytest.mark.slow
def test_a_run_keeps_the_registers_of_the_neurons_asked_for_only(monkeypatch):
    """``record={population: neurons}`` (what the device passes for a StateMonitor of a few neurons): the fused loop
    on 1 and 3 threads and the stepped emulator keep those neurons' registers, equal to the columns of a run that
    keeps all of them, and none of a population not named; the states decoded at chosen steps are the same."""
    from neuromorph.network.states import states_at_steps

    network, _ = lowered(shortened("ping", 0.010), 16)
    full = run_network(network, fused_loop=False)
    chosen = {"E": [17, 3, 3, 40]}  # unsorted, repeated
    monkeypatch.setattr(fused_module, "NEURONS_PER_THREAD", 1)
    for threads, fused_loop in (("1", True), ("3", True), ("1", False)):
        monkeypatch.setenv("NEUROMORPH_THREADS", threads)
        part = run_network(network, record=chosen, fused_loop=fused_loop)
        assert part.fused_loop is fused_loop
        run, reference = part.populations["E"], full.populations["E"]
        np.testing.assert_array_equal(run.recorded, [3, 17, 40])
        np.testing.assert_array_equal(run.states, reference.states[..., [3, 17, 40]])
        np.testing.assert_array_equal(run.spikes, reference.spikes)
        assert part.populations["I"].states is None
        steps = np.array([0, 1, 57, network.n_steps - 1])
        population = network.population("E")
        decoded = states_at_steps(population, run, steps, np.array([40, 3]))
        for name, values in states_at_steps(population, reference, steps, np.array([40, 3])).items():
            np.testing.assert_array_equal(decoded[name], values)
    with pytest.raises(ValueError, match="not all of"):
        states_at_steps(network.population("E"), part.populations["E"], np.array([1]), np.array([4]))


@pytest.mark.slow
def test_compare_hands_over_the_candidate_before_lavas_check_and_the_same_run_it_reports(tmp_path):
    """``compare(with_candidate=...)``: called once, with the lowered network and the run the result holds; with
    ``backend="both"`` the emulator's run, before Lava's check (the device fills Brian2's monitors while Lava
    steps), with ``backend="lava"`` Lava's own run."""
    path = tmp_path / "net.toml"
    path.write_text(small_network("5 * ms", seed=3, size=6, trains=8, rate="300 * Hz", p=0.6))
    spec, target = load_network_file(path), load_target("loihi2")
    for backend in ("both", "lava"):
        handed = []
        result = compare(spec, target, options=NetworkOptions(backend=backend, floor=False),
                         with_candidate=lambda lowered, run: handed.append((lowered, run)))
        assert len(handed) == 1
        lowered, run = handed[0]
        assert lowered is result.lowered and run is result.candidate
        assert run.label == ("emulator" if backend == "both" else result.lava.label)
        assert (result.lava_check is not None and result.lava_check.match) is (backend == "both")


def test_a_fused_loop_declined_once_is_taken_when_the_network_runs_again(ff_hh_80ms, tmp_path, monkeypatch):
    """A run too short to repay compiling the loop declines it and leaves ``<module>.wanted`` in the kernel cache;
    the same network run again takes the loop (it is then compiled and cached) and removes the file. At 20 state
    bits, a loop no other test imports into this process (an imported loop counts as cached)."""
    import sys

    from neuromorph.quantization import compiled as compiled_module
    from neuromorph.quantization.compiled import module_name

    spec, reference = ff_hh_80ms
    network, _ = lowered(spec, 20, reference)
    monkeypatch.setattr(compiled_module, "COMPILE_SECONDS", 0.0)  # the population kernels compiled for this run
    kernels = {p.name: p.stepper(network.n_steps) for p in network.populations}
    assert all(k.kernel.compiled is not None for k in kernels.values())  # loaded before the cache moves
    rasters = {source.name: source.spikes for source in network.sources}
    monkeypatch.setenv("NEUROMORPH_KERNEL_CACHE", str(tmp_path))
    steps = 10
    loop = fused_module.FusedNetwork(network, kernels, [k.kernel.compiled for k in kernels.values()],
                                     [k.initial() for k in kernels.values()], rasters)
    assert module_name(loop.source, "network") not in sys.modules
    calls = len(loop.names) + len(loop.wiring.layers)
    assert steps * calls * fused_module.STEP_CALL_SECONDS < fused_module.FUSE_COMPILE_SECONDS  # too short alone
    assert fused_module.fuse(network, kernels, rasters, steps) is None
    assert [p.suffix for p in tmp_path.iterdir()] == [".wanted"]
    assert fused_module.fuse(network, kernels, rasters, steps) is not None
    assert not list(tmp_path.glob("*.wanted"))
