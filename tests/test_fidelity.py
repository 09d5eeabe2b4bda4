"""Spike-timing fidelity against hand-worked values and a brute-force matcher."""
import itertools

import numpy as np
import pytest

from neuromorph.errors import InputError
from neuromorph.execution.trace import Trace
from neuromorph.fidelity import coincidence_factor, compare, match_spikes

WINDOW = 2e-3
RNG = np.random.default_rng(42)


def trace(trains, v=None, duration=1.0, dt=1e-4, label="x"):
    v = np.zeros((0, len(trains))) if v is None else v
    return Trace(label=label, dt=dt, duration=duration, spike_trains=tuple(np.asarray(t, float) for t in trains),
                 t=np.arange(v.shape[0]) * dt, v=v)


def test_identical_trains():
    spikes = np.sort(RNG.uniform(0, 1, 40))
    assert coincidence_factor(spikes, spikes, WINDOW, 1.0) == pytest.approx(1.0)
    report = compare(trace([spikes]), trace([spikes]))
    assert report.gamma == pytest.approx(1.0)
    assert report.spike_time_error_ms == {"mean": 0.0, "median": 0.0, "max": 0.0}
    assert report.missed_spikes == report.extra_spikes == 0


def test_shift_inside_the_window_is_all_matched_with_exact_error():
    spikes = np.arange(0.01, 1.0, 0.05)
    report = compare(trace([spikes]), trace([spikes + 1e-3]))
    assert report.spike_time_error_ms["max"] == pytest.approx(1.0)
    assert report.spike_time_error_ms["median"] == pytest.approx(1.0)
    assert report.missed_spikes == 0


def test_shift_outside_the_window_gives_the_chance_correction():
    spikes = np.arange(0.01, 1.0, 0.05)  # 20 spikes, 50 ms apart
    n, duration = len(spikes), 1.0
    rate = n / duration
    expected = (0 - 2 * rate * WINDOW * n) / (0.5 * (n + n)) / (1 - 2 * rate * WINDOW)
    assert coincidence_factor(spikes, spikes + 5e-3, WINDOW, duration) == pytest.approx(expected)
    report = compare(trace([spikes]), trace([spikes + 5e-3]))
    assert report.missed_spikes == n and report.extra_spikes == n


def test_independent_poisson_trains_score_near_zero():
    gammas = []
    for _ in range(50):
        a = np.sort(RNG.uniform(0, 10, 200))
        b = np.sort(RNG.uniform(0, 10, 200))
        gammas.append(coincidence_factor(a, b, WINDOW, 10.0))
    assert abs(np.mean(gammas)) < 0.03


def test_hand_worked_example():
    reference = [0.100, 0.200, 0.300, 0.400]
    candidate = [0.1015, 0.2000, 0.3500, 0.4019, 0.5]
    pairs, missed, extra = match_spikes(reference, candidate, WINDOW)
    assert pairs.tolist() == [[0, 0], [1, 1], [3, 3]]
    assert missed.tolist() == [2] and extra.tolist() == [2, 4]
    rate = 5 / 1.0
    expected = (3 - 2 * rate * WINDOW * 4) / (0.5 * 9) / (1 - 2 * rate * WINDOW)
    assert coincidence_factor(reference, candidate, WINDOW, 1.0) == pytest.approx(expected)
    errors = compare(trace([reference]), trace([candidate])).spike_time_error_ms
    assert errors["max"] == pytest.approx(1.9) and errors["median"] == pytest.approx(1.5)


def brute_force_max_matching(a, b, window):
    best = 0
    for size in range(min(len(a), len(b)), 0, -1):
        for chosen_a in itertools.combinations(range(len(a)), size):
            for chosen_b in itertools.permutations(range(len(b)), size):
                if all(abs(a[i] - b[j]) <= window for i, j in zip(chosen_a, chosen_b)):
                    return size
    return best


def test_greedy_matching_is_maximal_against_brute_force():
    for _ in range(150):
        a = np.sort(RNG.uniform(0, 0.02, RNG.integers(0, 5)))
        b = np.sort(RNG.uniform(0, 0.02, RNG.integers(0, 5)))
        pairs, _, _ = match_spikes(a, b, 3e-3)
        assert len(pairs) == brute_force_max_matching(a, b, 3e-3)
        assert all(abs(a[i] - b[j]) <= 3e-3 * (1 + 1e-9) for i, j in pairs)


def test_empty_trains():
    assert coincidence_factor([], [], WINDOW, 1.0) == 1.0
    assert coincidence_factor([0.1], [], WINDOW, 1.0) == 0.0


def test_voltage_rmse_matches_numpy():
    v_ref = RNG.normal(-0.065, 0.005, (1000, 3))
    v_cand = v_ref + RNG.normal(0, 0.001, v_ref.shape)
    report = compare(trace([[], [], []], v_ref), trace([[], [], []], v_cand))
    assert report.v_rmse_mV == pytest.approx(np.sqrt(np.mean((v_cand - v_ref) ** 2)) * 1e3)


def test_elephant_agrees_on_spike_counts_and_identity():
    quantities = pytest.importorskip("quantities")
    neo = pytest.importorskip("neo")
    from elephant.spike_train_dissimilarity import victor_purpura_distance

    spikes = np.sort(RNG.uniform(0, 1, 30))
    shifted = spikes + 1e-3
    trains = [neo.SpikeTrain(s * quantities.s, t_stop=1.1 * quantities.s) for s in (spikes, shifted)]
    # Victor-Purpura with cost q: moving a spike by dt costs q*dt; at q = 1/ms a 1 ms shift costs 1 per spike,
    # the same as the summed matched errors in ms that compare() reports.
    distance = victor_purpura_distance(trains, cost_factor=1.0 / quantities.ms)[0, 1]
    report = compare(trace([spikes]), trace([shifted]))
    assert distance == pytest.approx(report.spike_time_error_ms["mean"] * len(spikes), rel=1e-6)


def test_shape_mismatch_is_refused():
    with pytest.raises(InputError):
        compare(trace([[0.1]]), trace([[0.1], [0.2]]))
