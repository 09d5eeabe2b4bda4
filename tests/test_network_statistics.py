"""Network statistics against theory, scipy and Elephant (independent implementations)."""
import json
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
import scipy.stats
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient
from elephant.statistics import cv as elephant_cv
from elephant.statistics import isi as elephant_isi

from neuromorph.errors import InputError
from neuromorph.network.statistics import (
    StatisticsConfig, binned_counts, gamma, isi_cv, ks_distance, pair_correlations, population_rate,
    population_statistics, sample_pairs, triangle_pairs,
)

DT = 1e-4


def poisson_trains(rate, duration, n, rng):
    """Homogeneous Poisson trains from exponential intervals (not the code under test)."""
    trains = []
    for _ in range(n):
        times = np.cumsum(rng.exponential(1 / rate, int(rate * duration * 2 + 50)))
        trains.append(times[times < duration])
    return trains


def modulated_trains(rate, depth, frequency, duration, n, rng):
    """Inhomogeneous Poisson, rate ``rate (1 + depth sin(2 pi f t))``, by thinning."""
    peak = rate * (1 + depth)
    trains = []
    for times in poisson_trains(peak, duration, n, rng):
        keep = rng.uniform(0, peak, times.size) < rate * (1 + depth * np.sin(2 * np.pi * frequency * times))
        trains.append(times[keep])
    return trains


def on_grid(trains, dt=DT):
    """Spike times rounded to the time grid, as a simulator emits them."""
    return [np.unique(np.round(t / dt)) * dt for t in trains]


# --------------------------------------------------------------------------- ISI CV


def test_poisson_cv_is_one_within_sampling_error():
    rng = np.random.default_rng(1)
    trains = poisson_trains(50.0, 20.0, 40, rng)
    cv = isi_cv(trains)
    # Delta method for the sample CV of exponential intervals: Var(CV) ~ 1/n (mu3 = 2, mu4 = 9 in 1/lambda units).
    intervals = np.array([t.size - 1 for t in trains])
    standard_error = np.sqrt(np.mean(1.0 / intervals) / len(trains))
    assert abs(cv.mean() - 1) < 4 * standard_error + 1 / intervals.min()
    assert np.all(np.abs(cv - 1) < 5 / np.sqrt(intervals))


def test_gamma_process_cv_is_one_over_root_shape():
    rng = np.random.default_rng(2)
    shape = 4.0
    trains = [np.cumsum(rng.gamma(shape, 1 / (shape * 40.0), 2000)) for _ in range(20)]
    cv = isi_cv(trains)
    assert cv.mean() == pytest.approx(1 / np.sqrt(shape), abs=4 * np.sqrt(1 / 1999 / 20) + 1e-3)


def test_regular_trains_have_cv_zero():
    trains = [np.arange(0.0, 1.0, period) for period in (0.01, 0.013, 0.05)]
    np.testing.assert_allclose(isi_cv(trains), 0.0, atol=1e-9)


def test_cv_equals_elephant_and_is_undefined_below_three_spikes():
    rng = np.random.default_rng(3)
    trains = on_grid(poisson_trains(30.0, 1.0, 12, rng)) + [np.array([]), np.array([0.2]), np.array([0.2, 0.5])]
    ours = isi_cv(trains, min_spikes=3)
    for train, value in zip(trains, ours):
        if train.size < 3:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(elephant_cv(elephant_isi(train)), abs=1e-12)


# --------------------------------------------------------------------------- correlations


def correlated_trains(n, duration, rng):
    """Trains sharing a common Poisson source (copied with probability 0.5) plus their own spikes."""
    common = poisson_trains(20.0, duration, 1, rng)[0]
    own = poisson_trains(15.0, duration, n, rng)
    return on_grid([np.sort(np.concatenate([common[rng.uniform(size=common.size) < 0.5], t])) for t in own])


@pytest.mark.parametrize("fast", [True, False])
def test_pair_correlations_equal_elephant(fast):
    rng = np.random.default_rng(4)
    duration = 2.0
    trains = correlated_trains(10, duration, rng) + [np.array([])]  # a silent neuron: undefined
    pairs = sample_pairs(len(trains), 10_000, seed=0)
    ours = pair_correlations(binned_counts(trains, 5e-3, duration), pairs)
    spiketrains = [neo.SpikeTrain(t * pq.s, t_stop=duration * pq.s) for t in trains]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binned = BinnedSpikeTrain(spiketrains, bin_size=5 * pq.ms, t_start=0 * pq.s, t_stop=duration * pq.s)
        theirs = correlation_coefficient(binned, fast=fast)[pairs[:, 0], pairs[:, 1]]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours).sum() == len(trains) - 1
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-12)
    assert np.nanmean(ours) > 0.1  # the common source shows


def test_binned_counts_equal_integer_binning_of_grid_times():
    rng = np.random.default_rng(5)
    steps_per_bin, total_steps = 50, 10_000
    step_indices = [np.sort(rng.choice(total_steps, 300, replace=False)) for _ in range(3)]
    # on bin edges; 5950 * DT / (50 * DT) is 118.99999999999999 in floats
    step_indices[0] = np.unique(np.concatenate([step_indices[0], [0, 50, 5950, 9950]]))
    counts = binned_counts([s * DT for s in step_indices], steps_per_bin * DT, total_steps * DT).toarray()
    for row, steps in zip(counts, step_indices):
        np.testing.assert_array_equal(row, np.bincount(steps // steps_per_bin, minlength=total_steps // steps_per_bin))
    rate = population_rate([s * DT for s in step_indices], steps_per_bin * DT, total_steps * DT)
    np.testing.assert_allclose(rate, counts.sum(axis=0) / (3 * steps_per_bin * DT), rtol=1e-12)


def test_triangle_pairs_enumerate_the_upper_triangle():
    for n in (2, 3, 7, 100, 1001):
        i, j = np.triu_indices(n, k=1)
        np.testing.assert_array_equal(triangle_pairs(np.arange(i.size), n), np.stack([i, j], axis=1))
    n = 3_000_000  # first and last pair of every row: where the square root could round across a row boundary
    rows = np.arange(n - 1)
    starts = rows * (2 * n - rows - 1) // 2
    np.testing.assert_array_equal(triangle_pairs(starts, n), np.stack([rows, rows + 1], axis=1))
    np.testing.assert_array_equal(triangle_pairs(starts[1:] - 1, n), np.stack([rows[:-1], np.full(n - 2, n - 1)], axis=1))


def test_pair_sample_is_bounded_distinct_and_seeded():
    pairs = sample_pairs(5000, 300, seed=7)
    assert pairs.shape == (300, 2)
    assert np.all(pairs[:, 0] < pairs[:, 1]) and pairs.max() < 5000
    assert len({tuple(p) for p in pairs}) == 300
    np.testing.assert_array_equal(pairs, sample_pairs(5000, 300, seed=7))
    assert not np.array_equal(pairs, sample_pairs(5000, 300, seed=8))
    assert sample_pairs(10, 300, seed=7).shape == (45, 2)


# --------------------------------------------------------------------------- KS distances


def test_ks_distance_of_same_and_shifted_distributions():
    rng = np.random.default_rng(6)
    a, b, shifted = rng.normal(0, 1, 400), rng.normal(0, 1, 500), rng.normal(1, 1, 500)
    same, moved = ks_distance(a, b), ks_distance(a, shifted)
    critical = 1.95 * np.sqrt((400 + 500) / (400 * 500))  # alpha = 0.001
    assert same.statistic < critical < moved.statistic
    assert moved.statistic > 0.3  # sup |Phi(x) - Phi(x - 1)| = 0.38
    for result, other in ((same, b), (moved, shifted)):
        expected = scipy.stats.ks_2samp(a, other)
        assert (result.statistic, result.p_value) == (expected.statistic, expected.pvalue)


def test_rate_distribution_ks_against_scipy_on_raw_rates():
    rng = np.random.default_rng(7)
    duration = 1.0
    reference = poisson_trains(20.0, duration, 200, rng)
    faster = poisson_trains(30.0, duration, 200, rng)
    stats = population_statistics(reference, faster, duration, DT)
    expected = scipy.stats.ks_2samp([t.size / duration for t in reference], [t.size / duration for t in faster])
    assert stats.candidate_vs_reference.ks_rates.statistic == pytest.approx(expected.statistic, abs=1e-15)
    assert stats.candidate_vs_reference.ks_rates.statistic > 0.5
    n_ref, n_fast = sum(t.size for t in reference), sum(t.size for t in faster)
    assert stats.candidate_vs_reference.mean_rate_relative_difference == pytest.approx((n_fast - n_ref) / n_ref)


# --------------------------------------------------------------------------- spectrum


@pytest.mark.parametrize("frequency", [40.0, 90.0])
def test_modulated_population_has_its_psd_peak_at_the_modulation_frequency(frequency):
    rng = np.random.default_rng(int(frequency))
    duration = 2.0
    trains = on_grid(modulated_trains(20.0, 0.8, frequency, duration, 200, rng))
    stats = population_statistics(trains, trains, duration, DT)
    spectrum = stats.reference.spectrum
    resolution = spectrum.frequencies_hz[1] - spectrum.frequencies_hz[0]
    assert resolution == pytest.approx(1 / StatisticsConfig().welch_segment_s)
    assert abs(spectrum.peak_frequency_hz - frequency) <= resolution
    assert spectrum.bin_s == pytest.approx(1e-3)


def test_peak_shift_is_reported_relative_to_the_reference():
    rng = np.random.default_rng(8)
    duration = 2.0
    slow = modulated_trains(20.0, 0.8, 40.0, duration, 200, rng)
    fast = modulated_trains(20.0, 0.8, 60.0, duration, 200, rng)
    shift = population_statistics(slow, fast, duration, DT).candidate_vs_reference.peak_frequency_relative_difference
    resolution = 1 / StatisticsConfig().welch_segment_s
    assert (60 - resolution) / (40 + resolution) - 1 <= shift <= (60 + resolution) / (40 - resolution) - 1


def test_band_without_frequencies_is_undefined_not_nan():
    rng = np.random.default_rng(9)
    trains = poisson_trains(20.0, 0.5, 20, rng)
    config = StatisticsConfig(band_hz=(21.0, 23.0))  # grid 0, 4, 8, ... Hz: none in the band
    stats = population_statistics(trains, trains, 0.5, DT, config=config)
    assert stats.reference.spectrum.peak_frequency_hz is None
    assert "peak_frequency_hz" in stats.reference.spectrum.undefined
    assert "peak_frequency_relative_difference" in stats.candidate_vs_reference.undefined
    json.dumps(stats.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- Gamma


def test_identical_trains_give_gamma_one_and_ks_zero():
    rng = np.random.default_rng(10)
    duration = 1.0
    trains = on_grid(correlated_trains(60, duration, rng))
    stats = population_statistics(trains, [t.copy() for t in trains], duration, DT, floor=trains)
    for comparison in (stats.candidate_vs_reference, stats.floor_vs_reference):
        assert comparison.gamma_mean == pytest.approx(1.0) and comparison.gamma_min == pytest.approx(1.0)
        for ks in (comparison.ks_rates, comparison.ks_cv, comparison.ks_correlations):
            assert ks.statistic == 0.0 and ks.p_value == 1.0
        assert comparison.mean_rate_relative_difference == 0.0
        assert comparison.peak_frequency_relative_difference == 0.0
        assert all(g == pytest.approx(1.0) for g in comparison.windowed_gamma.gamma)
        assert comparison.windowed_gamma.onset_s is None


def test_windowed_gamma_drops_where_the_trains_become_independent():
    rng = np.random.default_rng(11)
    duration, half = 1.0, 0.5
    reference = on_grid(poisson_trains(40.0, duration, 100, rng))
    independent = on_grid(poisson_trains(40.0, duration, 100, rng))
    candidate = [np.concatenate([r[r < half], c[c >= half]]) for r, c in zip(reference, independent)]
    silent = [np.array([])] * 100  # agree trivially: left out of the means, which would read 0.5 otherwise
    windowed = population_statistics(reference + silent, candidate + silent, duration,
                                     DT).candidate_vs_reference.windowed_gamma
    starts, values = np.array(windowed.starts_s), np.array(windowed.gamma)
    np.testing.assert_allclose(values[starts < half], 1.0)
    assert np.all(np.abs(values[starts >= half]) < 0.3)
    assert windowed.onset_s == pytest.approx(half)
    assert len(starts) == 20 and windowed.neurons_sampled == 200 and max(windowed.active_neurons) <= 100
    never = StatisticsConfig(divergence_threshold=-1.0)
    assert population_statistics(reference, candidate, duration, DT, config=never
                                 ).candidate_vs_reference.windowed_gamma.onset_s is None


def test_gamma_follows_kistlers_formula_and_refuses_saturated_windows():
    # Kistler et al. (1997) by hand: one of two spikes coincides within 2 ms; candidate rate 2 Hz;
    # chance coincidences 2 nu Delta N_ref = 0.016; normalisation 1 - 2 nu Delta = 0.992.
    value, reason = gamma(np.array([0.1, 0.5]), np.array([0.1005, 0.7]), 2e-3, 1.0)
    assert reason is None and value == pytest.approx((1 - 0.016) / (0.5 * (2 + 2)) / (1 - 0.008), rel=1e-12)
    assert gamma(np.array([0.2, 0.4]), np.array([0.2, 0.4]), 2e-3, 1.0) == (1.0, None)
    dense = np.arange(0, 1.0, 1e-3)  # 1000 Hz: 2 nu Delta = 4
    value, reason = gamma(dense, dense, 2e-3, 1.0)
    assert value is None and "2 nu Delta = 4 >= 1" in reason


def test_windowed_gamma_uses_a_bounded_seeded_sample_of_neurons():
    rng = np.random.default_rng(13)
    trains = poisson_trains(20.0, 0.2, 50, rng)
    config = StatisticsConfig(max_divergence_neurons=10, max_pairs=30)
    stats = population_statistics(trains, trains, 0.2, DT, config=config)
    assert stats.candidate_vs_reference.windowed_gamma.neurons_sampled == 10
    assert len(stats.pairs) == 30 and len(stats.reference.correlations) == 30


# --------------------------------------------------------------------------- report and inputs


def test_report_is_json_without_nan_and_says_why_values_are_missing():
    rng = np.random.default_rng(14)
    duration = 0.5
    trains = poisson_trains(20.0, duration, 10, rng) + [np.array([]), np.array([0.1, 0.2])]
    stats = population_statistics(trains, trains[::-1], duration, DT, floor=trains)
    data = json.loads(json.dumps(stats.to_dict(), allow_nan=False))
    assert data["reference"]["cv"][-1] is None and data["reference"]["cv"][-2] is None
    assert "2 neurons with fewer than 3 spikes" in data["reference"]["undefined"]["cv"]
    assert "correlations" in data["reference"]["undefined"]
    assert data["config"]["band_hz"] == [20.0, 150.0]
    assert {row["statistic"] for row in stats.summary()} >= {"Gamma mean", "KS CV", "divergence onset (s)"}


def test_user_errors_are_input_errors():
    good = [np.array([0.1, 0.2]), np.array([0.3])]
    with pytest.raises(InputError, match="neuron counts differ"):
        population_statistics(good, good[:1], 1.0, DT)
    with pytest.raises(InputError, match="sorted"):
        population_statistics([np.array([0.2, 0.1])], [np.array([0.1])], 1.0, DT)
    with pytest.raises(InputError, match="inside"):
        population_statistics([np.array([1.5])], [np.array([0.1])], 1.0, DT)
    with pytest.raises(InputError, match="band_hz"):
        population_statistics(good, good, 1.0, DT, config=StatisticsConfig(band_hz=(150.0, 20.0)))
    with pytest.raises(InputError, match="at least one neuron"):
        population_statistics([], [], 1.0, DT)


# --------------------------------------------------------------------------- figures


def test_figures_are_written_with_and_without_floor_and_with_undefined_values(tmp_path):
    import matplotlib.image

    from neuromorph.network.plots import plot_activity, plot_statistics, shown_neurons

    rng = np.random.default_rng(15)
    duration = 0.4
    reference = on_grid(modulated_trains(20.0, 0.8, 40.0, duration, 60, rng))
    candidate = on_grid(modulated_trains(20.0, 0.8, 40.0, duration, 60, rng))
    with_floor = population_statistics(reference, candidate, duration, DT, floor=reference, name="E")
    silent = [np.array([])] * 5  # no CV, no correlation, no spectrum peak
    undefined = population_statistics(silent, silent, duration, DT, name="quiet")
    paths = [plot_statistics(with_floor, tmp_path / "with_floor.png"),
             plot_statistics(undefined, tmp_path / "undefined.png"),
             plot_activity([(with_floor, reference, candidate), (undefined, silent, silent)], tmp_path / "activity.png",
                           neurons=20)]
    for path in paths:
        assert matplotlib.image.imread(path).shape[0] > 500
    np.testing.assert_array_equal(shown_neurons(60, 4), [0, 20, 39, 59])
    assert len(shown_neurons(3, 40)) == 3
