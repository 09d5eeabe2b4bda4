"""The shared fixed-point arithmetic against exact integer math."""
import numpy as np
import pytest

from neuromorph.quantization.fixed_point import (
    NOISE_BITS, dither_noise, from_fixed, saturate, shift_round, splitmix64, stochastic_noise, table_index,
    table_remainder, to_fixed,
)

RNG = np.random.default_rng(1234)
VALUES = RNG.integers(-(1 << 40), 1 << 40, size=5000, dtype=np.int64)


def test_splitmix64_reference_vector():
    # First output of SplitMix64 seeded with 0 (Steele, Lea & Flood 2014; Vigna's reference C code).
    assert int(splitmix64(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("shift", [1, 3, 12, 20])
def test_nearest_is_floor_of_half_up(shift):
    expected = np.floor(VALUES / 2.0**shift + 0.5).astype(np.int64)
    np.testing.assert_array_equal(shift_round(VALUES, shift, "nearest"), expected)


@pytest.mark.parametrize("shift", [1, 7, 20])
def test_truncate_is_floor(shift):
    expected = np.array([v // (1 << shift) for v in VALUES.tolist()], dtype=np.int64)
    np.testing.assert_array_equal(shift_round(VALUES, shift, "truncate"), expected)


def test_non_positive_shift_is_exact_left_shift():
    np.testing.assert_array_equal(shift_round(VALUES[:10], 0, "nearest"), VALUES[:10])
    np.testing.assert_array_equal(shift_round(VALUES[:10], -3, "stochastic"), VALUES[:10] * 8)


def test_stochastic_rounds_to_a_neighbour_and_is_unbiased():
    shift = 8
    x = np.full(1000, 77, dtype=np.int64)  # 77 / 256 = 0.30078...
    rounded = np.concatenate([shift_round(x, shift, "stochastic", stochastic_noise(3, k, 1, x.size)[0])
                              for k in range(200)])
    assert set(np.unique(rounded)) <= {0, 1}
    assert abs(rounded.mean() - 77 / 256) < 4 * np.sqrt(0.3 * 0.7 / rounded.size)


def test_stochastic_noise_is_reproducible_and_seed_dependent():
    a = stochastic_noise(seed=1, step=3, n_sites=4, n=50)
    np.testing.assert_array_equal(a, stochastic_noise(seed=1, step=3, n_sites=4, n=50))
    assert (a != stochastic_noise(seed=2, step=3, n_sites=4, n=50)).all()
    assert (a != stochastic_noise(seed=1, step=4, n_sites=4, n=50)).all()
    assert len(np.unique(a)) == a.size  # sites and neurons get distinct draws


def test_stochastic_noise_range_and_uniformity():
    noise = stochastic_noise(seed=9, step=5, n_sites=10, n=10_000)
    assert noise.min() >= 0 and noise.max() < 2**NOISE_BITS
    top = noise >> (NOISE_BITS - 4)
    counts = np.bincount(top.ravel(), minlength=16)
    expected = top.size / 16
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 50  # 15 degrees of freedom: p < 1e-5 above 45


def rounded_up_counts(mode, noise_source, fraction_lsbs, shift, steps, n):
    """How often each of ``n`` neurons rounds ``fraction_lsbs * 2**-shift`` up to 1 over ``steps`` steps."""
    x = np.full(n, fraction_lsbs, dtype=np.int64)
    return sum(shift_round(x, shift, mode, noise_source(5, k, 1, n)[0]) for k in range(steps))


@pytest.mark.parametrize("fraction_lsbs", [1, 77, 128, 200])
def test_dither_rounds_a_repeated_fraction_up_in_its_share_of_steps(fraction_lsbs):
    # A Weyl sequence with the golden-ratio step has discrepancy below 3 / K for K <= 1000
    # (three-gap theorem; Kuipers & Niederreiter, Uniform Distribution of Sequences, ch. 2),
    # so every neuron's count of round-ups is p K within 3, from its first step on.
    shift, steps = 8, 500
    counts = rounded_up_counts("dither", dither_noise, fraction_lsbs, shift, steps, n=200)
    assert np.abs(counts - fraction_lsbs / 2**shift * steps).max() <= 3


def test_dither_error_does_not_grow_like_stochastic_rounding():
    # Stochastic rounding's count is binomial: sd sqrt(K p (1-p)) = 10.3 LSB-steps at K=500, p=0.3.
    shift, steps, fraction_lsbs = 8, 500, 77
    expected = fraction_lsbs / 2**shift * steps
    stochastic = rounded_up_counts("stochastic", stochastic_noise, fraction_lsbs, shift, steps, n=200)
    dither = rounded_up_counts("dither", dither_noise, fraction_lsbs, shift, steps, n=200)
    assert np.std(stochastic - expected) > 5 * np.std(dither - expected)


def test_dither_noise_is_reproducible_in_range_and_decorrelated_across_neurons():
    a = dither_noise(seed=1, step=3, n_sites=4, n=50)
    np.testing.assert_array_equal(a, dither_noise(seed=1, step=3, n_sites=4, n=50))
    assert a.min() >= 0 and a.max() < 2**NOISE_BITS
    assert len(np.unique(a)) == a.size
    assert (a != dither_noise(seed=2, step=3, n_sites=4, n=50)).all()


def test_saturate_clips_and_counts():
    x = np.array([-200, -128, 0, 127, 128, 1000], dtype=np.int64)
    value, count = saturate(x, 8, "saturate")
    np.testing.assert_array_equal(value, [-128, -128, 0, 127, 127, 127])
    assert count == 3


def test_wrap_is_twos_complement_and_counts():
    x = np.array([128, -129, 255, 5], dtype=np.int64)
    value, count = saturate(x, 8, "wrap")
    np.testing.assert_array_equal(value, [-128, 127, -1, 5])
    assert count == 3


def test_to_fixed_round_trip_within_half_lsb(rng):
    values = rng.uniform(-1, 1, 1000)
    assert np.abs(from_fixed(to_fixed(values, 12), 12) - values).max() <= 2.0**-13


def test_table_index_takes_the_floor_entry_clipped_to_the_table():
    table = np.arange(16, dtype=np.int64) * 100
    x = np.array([-50, 0, 7, 8, 15, 127, 1000])
    np.testing.assert_array_equal(table[table_index(x, 0, 3, 16)], [0, 0, 0, 100, 100, 1500, 1500])


def test_table_interpolation_matches_numpy_interp(rng):
    grid = np.arange(64) * 16 - 300
    table = to_fixed(np.sin(grid / 200.0), 14)
    x = rng.integers(grid[0], grid[-1], 2000)
    k = table_index(x, int(grid[0]), 4, 64)
    r = table_remainder(x, int(grid[0]), 4, 64)
    out = table[k] + shift_round((table[np.minimum(k + 1, 63)] - table[k]) * r, 4, "nearest")
    assert np.abs(out - np.interp(x, grid, table)).max() <= 0.5 + 1e-9


def test_table_remainder_is_zero_outside_the_grid():
    x = np.array([-100, -1, 0, 5, 16 * 63, 16 * 63 + 7, 5000])
    np.testing.assert_array_equal(table_remainder(x, 0, 4, 64), [0, 0, 0, 5, 0, 0, 0])


@pytest.mark.parametrize("shift", [1, 5, 12])
def test_toward_zero_matches_lavas_sign_abs_shift(shift):
    # Lava's fixed-point LIF: decayed = sign(x) * (|x| >> decay_shift) (lava/proc/lif/models.py)
    expected = np.array([int(v / 2**shift) for v in VALUES.tolist()], dtype=np.int64)  # int() truncates toward 0
    np.testing.assert_array_equal(shift_round(VALUES, shift, "toward_zero"), expected)
