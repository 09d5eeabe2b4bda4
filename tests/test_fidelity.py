"""Spike-timing fidelity against closed forms of the published definition, independent
implementations (scipy's bipartite matching, Elephant) and brute force."""
import itertools

import numpy as np
import pytest

from neuromorph.errors import InputError
from neuromorph.execution.trace import Trace
from neuromorph.fidelity import coincidence, coincidence_factor, compare, match_spikes

WINDOW = 2e-3


def trace(trains, v=None, duration=1.0, dt=1e-4, label="x"):
    v = np.zeros((0, len(trains))) if v is None else v
    return Trace(label=label, dt=dt, duration=duration, spike_trains=tuple(np.asarray(t, float) for t in trains),
                 t=np.arange(v.shape[0]) * dt, v=v)


def test_identical_trains(rng):
    spikes = np.sort(rng.uniform(0, 1, 40))
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


def test_regular_train_shifted_beyond_the_window_scores_minus_x_over_one_minus_x():
    # Nothing coincides (N_coinc = 0) and N_ref = N_cand, so the definition (Kistler et al. 1997,
    # Jolivet et al. 2008) reduces to -x / (1 - x) with x = 2 nu Delta: at 20 Hz and 2 ms, -0.08 / 0.92.
    spikes = np.arange(0.01, 1.0, 0.05)  # 20 spikes, 50 ms apart
    assert coincidence_factor(spikes, spikes + 5e-3, WINDOW, 1.0) == pytest.approx(-0.08 / 0.92)
    report = compare(trace([spikes]), trace([spikes + 5e-3]))
    assert report.missed_spikes == report.extra_spikes == 20


def test_candidate_with_every_other_spike_scores_the_closed_form():
    # N_cand = N_ref / 2, all coincident, nu = r / 2: Gamma = (2/3) (1 - 2 r Delta) / (1 - r Delta).
    rate = 20.0
    spikes = np.arange(0.01, 1.0, 1 / rate)
    expected = (2 / 3) * (1 - 2 * rate * WINDOW) / (1 - rate * WINDOW)
    assert coincidence_factor(spikes, spikes[::2], WINDOW, 1.0) == pytest.approx(expected, rel=1e-12)


def test_independent_poisson_trains_score_near_zero(rng):
    gammas = []
    for _ in range(50):
        a = np.sort(rng.uniform(0, 10, 200))
        b = np.sort(rng.uniform(0, 10, 200))
        gammas.append(coincidence_factor(a, b, WINDOW, 10.0))
    assert abs(np.mean(gammas)) < 0.03


def poisson_train(rate_hz, duration_s=20.0, seed=0, refractory_ms=None):
    """Spike times (s) from Elephant's stationary Poisson process (an independent generator)."""
    quantities = pytest.importorskip("quantities")
    from elephant.spike_train_generation import StationaryPoissonProcess

    np.random.seed(seed)
    process = StationaryPoissonProcess(rate=rate_hz * quantities.Hz, t_stop=duration_s * quantities.s,
                                       refractory_period=None if refractory_ms is None else refractory_ms * quantities.ms)
    return np.asarray(process.generate_spiketrain().rescale(quantities.s).magnitude)


@pytest.mark.parametrize("rate", [50, 200, 260])
def test_independent_poisson_trains_give_gamma_near_zero_or_undefined(rate):
    for seed in range(5):
        result = coincidence(poisson_train(rate, seed=2 * seed), poisson_train(rate, seed=2 * seed + 1), WINDOW, 20.0)
        if result.gamma is None:
            assert result.undefined.startswith("Gamma is undefined") and "window" in result.undefined
        else:
            assert abs(result.gamma) <= 0.1
    if rate >= 200:  # the published formula gives about -1.8 at 200 Hz and divides by zero at 250 Hz
        assert result.gamma is None


def test_independent_refractory_trains_at_200_hz_give_gamma_near_zero():
    # With a dead time longer than 2 Delta the windows never overlap and Kistler's chance count is exact.
    gammas = [coincidence(poisson_train(200, seed=s, refractory_ms=4.5), poisson_train(200, seed=s + 50,
                                                                                     refractory_ms=4.5),
                          WINDOW, 20.0).gamma for s in range(5)]
    assert all(g is not None for g in gammas) and abs(np.mean(gammas)) <= 0.05


def test_gamma_is_undefined_at_2_nu_delta_equal_to_one():
    train = np.arange(0.002, 1.0, 1 / 250)  # 250 Hz regular, 2 nu Delta = 1 exactly
    result = coincidence(train, train, WINDOW, 1.0)
    assert result.gamma is None and "2 nu Delta = 1 >= 1" in result.undefined


def test_gamma_never_exceeds_one(rng):
    for _ in range(300):
        duration = rng.uniform(0.05, 2)
        a = rng.uniform(0, duration, rng.integers(0, 60))
        kept = a[: rng.integers(0, a.size + 1)]
        b = np.concatenate([kept + rng.normal(0, 1e-3, kept.size), rng.uniform(0, duration, rng.integers(0, 30))])
        gamma = coincidence_factor(a, b, rng.uniform(1e-4, 5e-3), duration)
        assert gamma is None or gamma <= 1.0


def test_unsorted_trains_match_as_sorted_ones(rng):
    a, b = rng.uniform(0, 1, 40), rng.uniform(0, 1, 45)
    pairs, missed, extra = match_spikes(a, b, 5e-3)
    sorted_pairs, _, _ = match_spikes(np.sort(a), np.sort(b), 5e-3)
    assert {(a[i], b[j]) for i, j in pairs} == {(np.sort(a)[i], np.sort(b)[j]) for i, j in sorted_pairs}
    assert len(missed) + len(pairs) == 40 and len(extra) + len(pairs) == 45
    assert coincidence_factor(a, b, 5e-3, 1.0) == coincidence_factor(np.sort(a), np.sort(b), 5e-3, 1.0)


def test_non_finite_spike_times_are_refused():
    with pytest.raises(InputError, match="non-finite"):
        match_spikes([0.1, np.nan], [0.1], WINDOW)


def test_coincidences_equal_scipys_maximum_bipartite_matching(rng):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    for _ in range(30):
        a, b = rng.uniform(0, 0.5, rng.integers(1, 80)), rng.uniform(0, 0.5, rng.integers(1, 80))
        window = rng.uniform(1e-3, 8e-3)
        graph = csr_matrix(np.abs(a[:, None] - b[None, :]) <= window)
        maximum = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
        assert len(match_spikes(a, b, window)[0]) == maximum


def test_report_with_undefined_gamma_is_strict_json():
    import json

    from neuromorph.results_file import json_safe

    train = np.arange(0.002, 1.0, 1 / 300)
    report = compare(trace([train, [0.5]]), trace([train, [0.5]]))
    assert report.gamma is None and report.gamma_min is None and report.gamma_undefined.startswith("1 of 2 neurons")
    assert json.loads(json.dumps(json_safe(report.to_dict()), allow_nan=False))["gamma"] is None


def brute_force_max_matching(a, b, window):
    best = 0
    for size in range(min(len(a), len(b)), 0, -1):
        for chosen_a in itertools.combinations(range(len(a)), size):
            for chosen_b in itertools.permutations(range(len(b)), size):
                if all(abs(a[i] - b[j]) <= window for i, j in zip(chosen_a, chosen_b)):
                    return size
    return best


def test_greedy_matching_is_maximal_against_brute_force(rng):
    for _ in range(150):
        a = np.sort(rng.uniform(0, 0.02, rng.integers(0, 5)))
        b = np.sort(rng.uniform(0, 0.02, rng.integers(0, 5)))
        pairs, _, _ = match_spikes(a, b, 3e-3)
        assert len(pairs) == brute_force_max_matching(a, b, 3e-3)
        assert all(abs(a[i] - b[j]) <= 3e-3 * (1 + 1e-9) for i, j in pairs)


def test_empty_trains():
    assert coincidence_factor([], [], WINDOW, 1.0) == 1.0
    assert coincidence_factor([0.1], [], WINDOW, 1.0) == 0.0
    assert coincidence_factor([], [0.1], WINDOW, 1.0) == 0.0


def test_voltage_rmse_matches_numpy(rng):
    v_ref = rng.normal(-0.065, 0.005, (1000, 3))
    v_cand = v_ref + rng.normal(0, 0.001, v_ref.shape)
    report = compare(trace([[], [], []], v_ref), trace([[], [], []], v_cand))
    assert report.v_rmse_mV == pytest.approx(np.sqrt(np.mean((v_cand - v_ref) ** 2)) * 1e3)


def test_elephant_agrees_on_spike_counts_and_identity(rng):
    quantities = pytest.importorskip("quantities")
    neo = pytest.importorskip("neo")
    from elephant.spike_train_dissimilarity import victor_purpura_distance

    # Intervals of at least 5 ms: with spikes closer than the 1 ms shift, Victor-Purpura could pair a spike with
    # its shifted neighbour for less than 1 per spike.
    spikes = np.cumsum(5e-3 + rng.exponential(20e-3, 30))
    shifted = spikes + 1e-3
    t_stop = (shifted[-1] + 0.1) * quantities.s
    trains = [neo.SpikeTrain(s * quantities.s, t_stop=t_stop) for s in (spikes, shifted)]
    # Victor-Purpura with cost q: moving a spike by dt costs q*dt; at q = 1/ms a 1 ms shift costs 1 per spike,
    # the same as the summed matched errors in ms that compare() reports.
    distance = victor_purpura_distance(trains, cost_factor=1.0 / quantities.ms)[0, 1]
    report = compare(trace([spikes]), trace([shifted]))
    assert distance == pytest.approx(report.spike_time_error_ms["mean"] * len(spikes), rel=1e-6)


def test_shape_mismatch_is_refused():
    with pytest.raises(InputError):
        compare(trace([[0.1]]), trace([[0.1], [0.2]]))
