"""Float network reference: step semantics of on_pre and delays, exact equality with the user's objects,
exact replay of Poisson input, seeded reproducibility, and the perturbation's distribution."""
import brian2
import numpy as np
import pytest
from brian2 import ms

from neuromorph.errors import InputError
from neuromorph.network.ir import (NetworkSpec, NeuronModel, PoissonSource, Population, Projection, SIQuantity,
                                   SpikeTimesSource)
from neuromorph.network.reference import Recording, replay_sources, run_network_brian2

from .test_network_from_brian2 import cuba_script, numpy_target  # noqa: F401 -- numpy_target is an autouse fixture

DT = 1e-4


def probe_population(size: int) -> Population:
    """Neurons whose g only changes through synapses, and x integrating g by forward Euler."""
    model = NeuronModel(name="probe", equations="dv/dt = -v/(10*ms) : volt\ndx/dt = g/ms : 1\ng : 1",
                        parameters={}, threshold=None, reset=None, refractory=None, method="euler", voltage="v",
                        initial={})
    return Population("post", size, model)


def test_on_pre_changes_the_target_in_the_spike_step_plus_the_rounded_delay():
    """One spike in step 10 through delays of 0, 3, 2.4 and 2.6 steps (D = 0, 3, 2, 3).

    The increment lands in the synapses slot of step 10 + D: a monitor (start of step) first
    shows it at step 11 + D, and the state integrated in step 11 + D moves at step 12 + D.
    """
    delays = np.array([0.0, 3.0, 2.4, 2.6]) * DT
    expected_d = np.array([0, 3, 2, 3])
    spec = NetworkSpec(
        populations=[probe_population(4)], sources=[SpikeTimesSource("pre", 1, [0], [10 * DT])],
        projections=[Projection("syn", "pre", "post", [0, 0, 0, 0], [0, 1, 2, 3], [1.0] * 4, "1", delays, "g")],
        dt=DT, duration=30 * DT)
    np.testing.assert_array_equal(spec.projections[0].delay_steps(DT), expected_d)
    np.testing.assert_array_equal(spec.sources[0].steps(DT), [10])
    trace = run_network_brian2(spec, codegen="numpy", record=Recording(variables=("g", "x")))
    np.testing.assert_array_equal(trace.sources["pre"].times_s, [10 * DT])  # reported at t = 10 dt
    post = trace.populations["post"]
    steps = np.arange(30)[:, None]
    np.testing.assert_array_equal(post.states["g"], (steps >= 11 + expected_d).astype(float))
    first_move = np.argmax(post.states["x"] != 0, axis=0)
    np.testing.assert_array_equal(first_move, 12 + expected_d)
    np.testing.assert_allclose(post.states["x"][-1], (30 - 12 - expected_d) * DT / 1e-3)


def test_rebuilt_ir_gives_the_same_spikes_and_voltages_as_the_users_objects():
    spec, b = cuba_script(duration=60 * ms, run=True)  # the user's own objects run after the export
    original = b["spikes"].spike_trains()
    trace = run_network_brian2(spec, codegen="numpy")
    rebuilt = trace.populations[b["P"].name]
    assert sum(len(s) for s in original.values()) > 20  # the comparison is not vacuous
    for index, train in original.items():
        np.testing.assert_array_equal(rebuilt.spike_trains[index], train / brian2.second)
    np.testing.assert_array_equal(rebuilt.states["v"], b["voltage"].v_.T)


def poisson_network(seed=4) -> NetworkSpec:
    """Poisson drive into a recurrently coupled LIF population (all deterministic but the Poisson trains)."""
    model = NeuronModel(
        name="lif", equations="dv/dt = (I - v)/(10*ms) : volt\ndI/dt = -I/(5*ms) : volt", parameters={},
        threshold="v > 10*mV", reset="v = 0*mV", refractory=0.002, method="exact", voltage="v",
        initial={"v": SIQuantity(np.linspace(0, 0.009, 20), "volt")})
    rng = np.random.default_rng(0)
    pre, post = np.nonzero(rng.random((30, 20)) < 0.3)
    rec_pre, rec_post = np.nonzero(rng.random((20, 20)) < 0.2)
    return NetworkSpec(
        populations=[Population("lif", 20, model)], sources=[PoissonSource("noise", 30, 40.0)],
        projections=[Projection("drive", "noise", "lif", pre, post, rng.uniform(5e-3, 1.5e-2, pre.size), "volt",
                                rng.uniform(0, 2e-3, pre.size), "I"),
                     Projection("inhibition", "lif", "lif", rec_pre, rec_post, np.full(rec_pre.size, 2e-3), "volt",
                                np.full(rec_pre.size, 1e-3), "I", "-=")],
        dt=DT, duration=0.1, seed=seed)


def spikes_equal(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_recorded_poisson_spikes_replay_exactly_and_seeds_reproduce():
    spec = poisson_network()
    state = np.random.get_state()
    first = run_network_brian2(spec, codegen="numpy")
    assert all(np.array_equal(x, y) for x, y in zip(np.random.get_state()[1:], state[1:]))  # generator restored
    again = run_network_brian2(spec, codegen="numpy")
    replayed = run_network_brian2(replay_sources(spec, first), codegen="numpy")
    other_seed = run_network_brian2(poisson_network(seed=5), codegen="numpy")
    lif = first.populations["lif"]
    assert 5 < lif.rate_hz(first.duration) < 200 and first.sources["noise"].times_s.size > 50
    assert spikes_equal(again.populations["lif"].spike_trains, lif.spike_trains)
    assert spikes_equal(replayed.populations["lif"].spike_trains, lif.spike_trains)
    np.testing.assert_array_equal(replayed.populations["lif"].states["v"], lif.states["v"])
    np.testing.assert_array_equal(replayed.populations["lif"].states["I"], lif.states["I"])
    assert not np.array_equal(other_seed.sources["noise"].times_s, first.sources["noise"].times_s)


def test_perturbation_kicks_are_uniform_independent_and_seeded():
    """With dv/dt = 0, v performs a random walk whose steps are the kicks themselves."""
    model = NeuronModel(name="still", equations="dv/dt = 0*volt/second : volt", parameters={}, threshold=None,
                        reset=None, refractory=None, method="euler", voltage="v", initial={})
    spec = NetworkSpec(populations=[Population("still", 50, model)], sources=[], projections=[], dt=DT,
                       duration=400 * DT)
    amplitude = 1e-4
    trace = run_network_brian2(spec, codegen="numpy", perturbation=("v", amplitude, 7))
    kicks = np.diff(trace.populations["still"].states["v"], axis=0)
    assert np.abs(kicks).max() <= amplitude * (1 + 1e-9)
    n = kicks.size
    assert abs(kicks.mean()) < 4 * amplitude / np.sqrt(3 * n)
    assert kicks.var() == pytest.approx(amplitude**2 / 3, rel=0.05)  # uniform on [-a, a]
    assert abs(np.corrcoef(kicks[:, 0], kicks[:, 1])[0, 1]) < 0.2
    same = run_network_brian2(spec, codegen="numpy", perturbation=("v", amplitude, 7))
    other = run_network_brian2(spec, codegen="numpy", perturbation=("v", amplitude, 8))
    np.testing.assert_array_equal(same.populations["still"].states["v"], trace.populations["still"].states["v"])
    assert not np.array_equal(other.populations["still"].states["v"], trace.populations["still"].states["v"])


def test_perturbation_requires_replayed_poisson_sources_and_a_known_variable():
    spec = poisson_network()
    with pytest.raises(InputError, match="replay the sources first"):
        run_network_brian2(spec, codegen="numpy", perturbation=("v", 1e-4, 1))
    replay = spec.__class__(populations=spec.populations, sources=[SpikeTimesSource("noise", 30, [], [])],
                            projections=spec.projections, dt=spec.dt, duration=spec.duration)
    with pytest.raises(InputError, match="no population has a state variable 'u'"):
        run_network_brian2(replay, codegen="numpy", perturbation=("u", 1e-4, 1))


def test_recording_subsamples_neurons_and_steps():
    trace = run_network_brian2(poisson_network(), codegen="numpy", record=Recording(neurons=3, every=10))
    lif = trace.populations["lif"]
    assert set(lif.states) == {"v", "I"} and lif.states["v"].shape == (100, 3)
    np.testing.assert_allclose(lif.t, np.arange(100) * 10 * DT)
    np.testing.assert_array_equal(lif.recorded, [0, 1, 2])
    assert len(lif.spike_trains) == 20  # spikes of every neuron
    single = trace.trace("lif")
    assert single.v.shape == (100, 3) and single.n_neurons == 20
    spikes_only = run_network_brian2(poisson_network(), codegen="numpy", record=None)
    assert spikes_only.populations["lif"].states == {}


def brian2_names(network: brian2.Network) -> list[tuple[str, str]]:
    """(object name, clock name) of every object the network runs, contained objects included."""
    objects = list(network.objects)
    for obj in network.objects:
        objects += list(obj.contained_objects)
    return sorted((obj.name, obj.clock.name) for obj in objects)


def test_a_network_built_again_in_one_process_has_the_same_brian2_names():
    """Brian2 writes object and clock names into its generated code: equal names, equal code,
    so a second run (the float floor, a test, a sweep) reuses the compiled code."""
    from neuromorph.network.reference import build_brian2_network

    spec = replay_sources(poisson_network(), run_network_brian2(poisson_network(), codegen="numpy"))
    first = build_brian2_network(spec, "numpy", Recording(every=10), perturbation=("v", 1e-4, 1))[0]
    second = build_brian2_network(spec, "numpy", Recording(every=10), perturbation=("v", 1e-4, 1))[0]
    assert brian2_names(first) == brian2_names(second)
    assert not any(name.rsplit("_", 1)[-1].isdigit() for pair in brian2_names(first) for name in pair)


def test_a_neuron_reference_built_again_in_one_process_has_the_same_brian2_names(squid_file):
    from neuromorph.execution.stimulus import sample_stimulus
    from neuromorph.model.model_file import load_model
    from neuromorph.network.lower import recorded_variables
    from neuromorph.network.model_network import network_of_model
    from neuromorph.network.reference import build_brian2_network

    model = load_model(squid_file(duration="2 * ms", neurons=2))
    spec = network_of_model(model, sample_stimulus(model.stimulus, model.simulation))
    first, second = (build_brian2_network(spec, "numpy", Recording(variables=recorded_variables(spec)))[0]
                     for _ in range(2))
    assert brian2_names(first) == brian2_names(second)
    assert not any(name.rsplit("_", 1)[-1].isdigit() for pair in brian2_names(first) for name in pair)


def test_brian2_runs_leave_older_objects_out_of_collections_and_restore_them():
    """``older_objects_frozen``: inside, a collection leaves alone a cycle that was garbage before (Brian2's
    ``Network.run`` collects at its start), after it the cycle is collected; objects someone else froze stay
    frozen."""
    import gc
    import weakref

    from neuromorph.network.reference import older_objects_frozen

    class Node:
        pass

    def cycle():
        node = Node()
        node.self = node
        return weakref.ref(node)

    assert gc.get_freeze_count() == 0
    old = cycle()
    with older_objects_frozen():
        assert gc.get_freeze_count() > 0
        new = cycle()
        gc.collect()
        assert old() is not None and new() is None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with older_objects_frozen():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
