"""Issue 19 item 2: delays longer than the target's synapses hold, carried by relay neurons.

At dt = 0.05 ms, delays of 1-10 ms are 20-200 steps; loihi2's synapses hold 63. Every
postsynaptic increment must still arrive in the step Brian2 delivers it. The expected arrival
steps come from a plain Brian2 script (SpikeGeneratorGroup, NeuronGroup, Synapses with the
network file's own synapses, delays and spike times), not from neuromorph's reference runner.
"""
import re

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.errors import InputError
from neuromorph.network.emulator import run_network
from neuromorph.network.network_file import load_network_file
from neuromorph.network.resources import format_report, resource_report
from neuromorph.network.states import states_at_steps
from neuromorph.targets import load_target

from .conftest import execute_script, lower_network_text

TAU_G = 5e-3  # s, the decay of g in NETWORK
WEIGHT = 0.5  # the increment of g per spike in NETWORK

#: A spike source feeding P directly and through A (which fires once per cue spike, the step after it
#: arrives); P and Q have no threshold: their g jumps by 0.5 per spike arriving, and decays otherwise.
NETWORK = '''
[simulation]
dt = "0.05 * ms"
duration = "{duration}"
seed = 1

[populations.P]
size = {size_p}
equations = """
dv/dt = (-70*mV - v + g * 10*mV) / (10*ms) : volt
dg/dt = -g / (5*ms) : 1
"""
initial = {{ v = "-70 * mV" }}

[populations.A]
size = 4
equations = "dv/dt = (-70*mV - v) / (10*ms) : volt"
threshold = "v > -60*mV"
reset = "v = -70*mV"
initial = {{ v = "-70 * mV" }}

[populations.Q]
size = {size_q}
equations = """
dv/dt = (-70*mV - v + g * 10*mV) / (10*ms) : volt
dg/dt = -g / (5*ms) : 1
"""
initial = {{ v = "-70 * mV" }}

[sources.cue]
kind = "spike_times"
size = 4
indices = [0, 1, 2, 3, 0, 2, 1]
times = [0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 4.55]
time_unit = "ms"

[projections.cue_to_P]
source = "cue"
target = "P"
connect = {{ rule = "all_to_all" }}
weight = "0.5"
delay = {{ distribution = "uniform", low = "1*ms", high = "10*ms" }}
effect = "g += w"

[projections.cue_to_A]
source = "cue"
target = "A"
connect = {{ rule = "one_to_one" }}
weight = "20 * mV"
delay = "0.5 * ms"
effect = "v += w"

[projections.A_to_Q]
source = "A"
target = "Q"
connect = {{ rule = "all_to_all" }}
weight = "0.5"
delay = {{ distribution = "uniform", low = "1*ms", high = "10*ms" }}
effect = "g += w"
'''


def network_text(duration="20 * ms", size_p=20, size_q=10) -> str:
    return NETWORK.format(duration=duration, size_p=size_p, size_q=size_q)


def brian2_g(spec) -> dict[str, np.ndarray]:
    """g of P and Q at t = k dt (k = 0 .. n_steps - 1) in a plain Brian2 run of ``spec``'s synapses and spikes."""
    import brian2 as b

    b.start_scope()
    b.defaultclock.dt = spec.dt * b.second
    cue = spec.spike_sources[0]
    source = b.SpikeGeneratorGroup(cue.size, cue.indices, cue.times_s * b.second, name="cue")
    post_eqs = "dv/dt = (-70*mV - v + g * 10*mV) / (10*ms) : volt\ndg/dt = -g / (5*ms) : 1"
    groups = {"cue": source,
              "P": b.NeuronGroup(spec.population("P").size, post_eqs, method="exact", name="P"),
              "Q": b.NeuronGroup(spec.population("Q").size, post_eqs, method="exact", name="Q"),
              "A": b.NeuronGroup(4, "dv/dt = (-70*mV - v) / (10*ms) : volt", threshold="v > -60*mV",
                                 reset="v = -70*mV", method="exact", name="A")}
    for group in ("P", "Q", "A"):
        groups[group].v = -70 * b.mV
    synapses = []
    for projection in spec.projections:
        voltage = projection.target == "A"
        s = b.Synapses(groups[projection.source], groups[projection.target], "w : volt" if voltage else "w : 1",
                       on_pre="v += w" if voltage else "g += w", name=projection.name)
        s.connect(i=projection.i, j=projection.j)
        s.w = projection.weights * (b.volt if voltage else 1)
        s.delay = projection.delays_s * b.second
        synapses.append(s)
    monitors = {name: b.StateMonitor(groups[name], "g", record=True, name=f"g_{name}") for name in ("P", "Q")}
    network = b.Network(*groups.values(), *synapses, *monitors.values())
    network.run(spec.n_steps * spec.dt * b.second, namespace={})
    return {name: np.asarray(monitor.g).T for name, monitor in monitors.items()}


def arrivals(g: np.ndarray, dt: float) -> np.ndarray:
    """Spikes arriving in each step (T - 1, N): the jumps of g (T, N) over its decay, in units of WEIGHT."""
    jumps = g[1:] - g[:-1] * np.exp(-dt / TAU_G)
    return np.rint(jumps / WEIGHT).astype(int)


def same_steps(brian2: np.ndarray, candidate: np.ndarray) -> bool:
    """Whether every increment Brian2 delivers in step k (its ``on_pre`` slot, after which its monitor shows
    it at t_{k+1}) enters the candidate at the start of step k + 1, the step whose integration Brian2 starts
    from the changed value (``lower.py``'s module docstring): the candidate's registers after step k + 1
    (its state at t_{k+2}) are the first to hold it, so its jumps come one sample later."""
    return not candidate[0].any() and np.array_equal(candidate[1:], brian2[:-1]) and not brian2[-1].any()


def candidate_g(lowered, run, name: str) -> np.ndarray:
    """g of ``name`` at t = k dt decoded from a run's registers (``states_at_steps``)."""
    population = lowered.population(name)
    steps = np.arange(lowered.n_steps)
    return states_at_steps(population, run.populations[name], steps, np.arange(population.size))["g"]


def hand_counted_relays(spec, limit: int) -> int:
    """Relays by hand: per presynaptic neuron, ceil((D - M) / (M + 1)) for its longest delay D > M."""
    deepest = {}
    for projection in spec.projections:
        steps = np.floor(projection.delays_s / spec.dt + 0.5).astype(int)
        for i, d in zip(projection.i, steps):
            if d > limit:
                key = (projection.source, int(i))
                deepest[key] = max(deepest.get(key, 0), int(np.ceil((d - limit) / (limit + 1))))
    return sum(deepest.values())


@pytest.fixture(scope="module")
def long_delays(tmp_path_factory):
    """NETWORK (400 steps) lowered at loihi2 and run in the emulator, and its spec."""
    directory = tmp_path_factory.mktemp("relays")
    lowered = lower_network_text(directory, network_text())
    return load_network_file(directory / "net.toml"), lowered, run_network(lowered)


def test_delays_are_up_to_200_steps_beyond_what_loihi2_holds(long_delays):
    spec, lowered, _ = long_delays
    steps = np.concatenate([p.delay_steps(spec.dt) for p in spec.projections if p.name != "cue_to_A"])
    assert steps.min() >= 20 and steps.max() > 190 and load_target("loihi2").max_delay_steps == 63
    stages = {}  # by hand: the deepest stage of each source, ceil((D - 63) / 64) for its longest delay D
    for projection in spec.projections:
        longest = int(projection.delay_steps(spec.dt).max())
        stages[projection.source] = max(stages.get(projection.source, 0), -(-(longest - 63) // 64))
    assert sorted(p.name for p in lowered.relays) == sorted(f"{s}.relay{k}" for s, n in stages.items()
                                                            for k in range(1, n + 1))
    assert {p.kind for p in lowered.relays} == {"relay"} and len(lowered.relays) >= 5
    assert sorted(p.name for p in lowered.network_populations) == ["A", "P", "Q"]


def test_every_increment_arrives_in_brian2s_step_emulator(long_delays, brian2_numpy_target):
    spec, lowered, run = long_delays
    expected = brian2_g(spec)
    for name in ("P", "Q"):
        want = arrivals(expected[name], spec.dt)
        got = arrivals(candidate_g(lowered, run, name), spec.dt)
        assert want.sum() == (140 if name == "P" else 70)  # 7 cue spikes x 20 neurons / 7 A spikes x 10
        assert want.max() >= 1 and same_steps(want, got), name


def test_each_relay_fires_its_neurons_spikes_m_plus_1_steps_per_stage_later(long_delays):
    """Relay m of stage k of S spikes exactly when its neuron of S spiked k (M + 1) = 64 k steps earlier."""
    _, lowered, run = long_delays
    hops = {p.target: p for p in lowered.projections if p.target in {r.name for r in lowered.relays}}
    carried = {}  # relay population -> the neuron of its source group each relay carries
    for relay in sorted(lowered.relays, key=lambda r: r.name):
        source, stage = relay.name.rsplit(".relay", 1)
        layer = hops[relay.name].layers[0]
        assert hops[relay.name].source == (source if stage == "1" else f"{source}.relay{int(stage) - 1}")
        assert set(layer.delays.tolist()) == {63} and set(layer.weights.tolist()) == {1}
        below = np.arange(layer.n_pre) if stage == "1" else carried[f"{source}.relay{int(stage) - 1}"]
        carried[relay.name] = np.empty(relay.size, dtype=np.int64)
        carried[relay.name][layer.post] = below[layer.pre]
        origin = lowered.sources[0].spikes if source == "cue" else run.populations[source].spikes
        lag = 64 * int(stage)
        expected = np.zeros_like(run.populations[relay.name].spikes)
        expected[lag:] = origin[:-lag, carried[relay.name]]
        assert expected.any() and np.array_equal(run.populations[relay.name].spikes, expected), relay.name


def test_the_report_leaves_relays_out_and_its_resources_count_them(long_delays):
    from neuromorph.network.comparison import NetworkOptions, build_report, compare

    spec, _, _ = long_delays
    result = compare(spec, load_target("loihi2"), options=NetworkOptions(floor=False, codegen="numpy"))
    report = build_report(result)
    assert set(report["populations"]) == set(result.fidelity) == {"A", "P", "Q"}
    assert report["resources"]["totals"]["relay_neurons"] == sum(p.size for p in result.lowered.relays) > 0
    assert report["populations"]["A"]["rates_hz"]["candidate"] == report["populations"]["A"]["rates_hz"]["reference"]


def test_resource_report_counts_the_relays_by_hand(long_delays):
    spec, lowered, _ = long_delays
    target = load_target("loihi2")
    report = resource_report(lowered, target)
    expected = hand_counted_relays(spec, target.max_delay_steps)
    assert expected >= 8
    assert report.totals["relay_neurons"] == expected == sum(p.neurons for p in report.populations if p.kind == "relay")
    assert report.totals["relay_synapses"] == expected
    assert report.totals["relay_cores"] == len(lowered.relays) and report.totals["cores"] == 3 + len(lowered.relays)
    user = sum(p.size for p in lowered.network_populations)
    assert report.totals["neurons"] == user + expected
    assert "relay neurons for long delays" in format_report(report)


def test_without_relays_the_cli_refuses_the_delay_in_one_line(tmp_path, capsys):
    path = tmp_path / "net.toml"
    path.write_text(network_text())
    status = main(["export", str(path), "--out", str(tmp_path / "out"), "--no-relays", "--codegen", "numpy"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("neuromorph: error:")]
    assert status == 2 and len(errors) == 1
    err = errors[0]
    assert re.search(r"net\.toml:projections\.(A_to_Q|cue_to_P)\.delay: delays up to 1\d\d steps", err)
    assert "loihi2 holds at most 63 steps" in err
    assert "relays are off (--no-relays" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target, limit, stages", [("loihi1", 62, 3), ("generic16", 63, 3)])
def test_the_hop_limit_is_the_targets_or_lavas(tmp_path, target, limit, stages):
    """loihi1 holds 62 steps per synapse (its file); generic16's file says 255, but Lava's Delay processes
    hold 63: a 200-step delay needs ceil((200 - M) / (M + 1)) relays, and --no-relays names the limit."""
    from neuromorph.network.lower import check_network_fits
    from neuromorph.network.relays import hop_limit, last_delays, relay_stages

    hardware = load_target(target)
    assert hop_limit(hardware) == limit
    assert relay_stages(np.array([limit, limit + 1, 200]), limit).tolist() == [0, 1, stages]
    assert last_delays(np.array([200]), np.array([stages]), limit).tolist() == [200 - stages * (limit + 1)]
    assert 0 <= 200 - stages * (limit + 1) <= limit
    path = tmp_path / "net.toml"
    path.write_text(network_text())
    origin = "network.max_delay_steps" if target == "loihi1" else "Lava's Delay processes"
    with pytest.raises(InputError, match=rf"{target} holds at most {limit} steps \({origin}"):
        check_network_fits(load_network_file(path), hardware, relays=False)
    if hardware.weight_bits <= 8:
        check_network_fits(load_network_file(path), hardware)
    else:  # generic16's 16-bit weights do not fit Lava's synapses
        with pytest.raises(InputError, match="network.weight_bits"):
            check_network_fits(load_network_file(path), hardware)


def test_an_export_with_relays_loads_and_runs_the_same(long_delays, tmp_path):
    from neuromorph.network.export import export_network, load_export

    _, lowered, run = long_delays
    export_network(lowered, tmp_path / "export")
    again = run_network(load_export(tmp_path / "export"))
    for name, population in run.populations.items():
        assert np.array_equal(again.populations[name].spikes, population.spikes), name
        assert np.array_equal(again.populations[name].states, population.states), name


@pytest.mark.slow
def test_every_increment_arrives_in_brian2s_step_lava(tmp_path, brian2_numpy_target):
    """20 neurons, 300 steps in Lava's Loihi2SimCfg fixed_pt, equal to the emulator and to Brian2's arrivals."""
    from neuromorph.lava.graph import run_graph
    from neuromorph.network.comparison import check_lava

    lowered = lower_network_text(tmp_path, network_text("15 * ms", size_p=10, size_q=6))
    spec = load_network_file(tmp_path / "net.toml")
    assert sum(p.size for p in lowered.network_populations) == 20 and lowered.n_steps == 300
    lava = run_graph(lowered)
    check = check_lava(run_network(lowered), lava)
    assert check.match and set(check.populations) >= {p.name for p in lowered.relays}
    expected = brian2_g(spec)
    for name in ("P", "Q"):
        want = arrivals(expected[name], spec.dt)
        assert want.sum() > 10 and same_steps(want, arrivals(candidate_g(lowered, lava, name), spec.dt)), name


DEVICE_SCRIPT = """
from brian2 import *
{device}
defaultclock.dt = 0.05*ms
cue = SpikeGeneratorGroup(3, [0, 1, 2, 0], [0.5, 1.0, 1.5, 2.0]*ms)
A = NeuronGroup(3, "dv/dt = (-70*mV - v) / (10*ms) : volt", threshold="v > -60*mV", reset="v = -70*mV",
                method="exact")
A.v = -70*mV
S = Synapses(cue, A, on_pre="v += 20*mV")
S.connect(j="i")
S.delay = "(8 + i) * ms"
spikes = SpikeMonitor(A)
run(15*ms)
"""


@pytest.mark.slow
def test_a_brian2_script_on_the_device_gets_brian2s_spikes_through_relays():
    """8-10 ms (160-200 steps) on set_device('neuromorph'): the same spikes as Brian2's own run;
    relays=False refuses the delays at run()."""
    def execute(device: str) -> dict:
        return execute_script(DEVICE_SCRIPT.format(device=device))

    plain = execute("")
    device = execute("import neuromorph\nset_device('neuromorph', target='loihi2')")
    assert plain["spikes"].num_spikes == 4
    assert np.array_equal(device["spikes"].i[:], plain["spikes"].i[:])
    assert np.allclose(device["spikes"].t_[:], plain["spikes"].t_[:])
    with pytest.raises(InputError, match="63 steps.*relays are off"):
        execute("import neuromorph\nset_device('neuromorph', target='loihi2', relays=False)")
