"""Weight quantisation against theory: error bounds, clipping counts, exponent optimal by brute force."""
import dataclasses
import math

import numpy as np
import pytest

from neuromorph.errors import InputError
from neuromorph.network.lava_semantics import lava_weights
from neuromorph.network.weights import NORMS, quantize_weights, weight_grid
from neuromorph.targets import load_target

LOIHI2 = load_target("loihi2")


def _weights(rng, sign_mode, size=400, scale=1.0):
    magnitude = rng.lognormal(0.0, 1.5, size) * scale
    if sign_mode == "mixed":
        return magnitude * rng.choice([-1.0, 1.0], size)
    return -magnitude if sign_mode == "inhibitory" else magnitude


def _brute_force_error(weights, grid, exponent, norm):
    """Nearest representable value by scanning the whole grid (no rounding formula involved)."""
    values = np.arange(grid.low, grid.high + 1, grid.step) * 2.0 ** exponent
    nearest = values[np.argmin(np.abs(weights[:, None] - values[None, :]), axis=1)]
    error = nearest - weights
    return np.max(np.abs(error)) if norm == "max" else math.sqrt(np.mean(error ** 2))


@pytest.mark.parametrize("norm", sorted(NORMS))
@pytest.mark.parametrize("sign_mode", ["excitatory", "inhibitory", "mixed"])
@pytest.mark.parametrize("scale", [0.003, 0.7, 40.0, 3000.0, 1e6])
def test_chosen_exponent_is_optimal_by_brute_force(norm, sign_mode, scale):
    rng = np.random.default_rng(int(scale * 1000) % 9973)
    weights = _weights(rng, sign_mode, scale=scale)
    q = quantize_weights(weights, LOIHI2, norm=norm)
    grid = weight_grid(q.sign_mode, LOIHI2.weight_bits)
    errors = {e: _brute_force_error(weights, grid, e, norm)
              for e in range(LOIHI2.weight_exponent_min, LOIHI2.weight_exponent_max + 1)}
    best = min(errors.values())
    assert q.sign_mode == sign_mode
    assert errors[q.weight_exp] == pytest.approx(best, rel=1e-12, abs=0)
    chosen = q.error.max_abs if norm == "max" else q.error.rms_abs
    assert chosen == pytest.approx(best, rel=1e-12, abs=0)


@pytest.mark.parametrize("sign_mode, step", [("excitatory", 1), ("inhibitory", 1), ("mixed", 2)])
def test_error_of_in_range_weights_is_at_most_half_a_step(sign_mode, step):
    rng = np.random.default_rng(3)
    weights = _weights(rng, sign_mode, 2000, scale=2.0)
    q = quantize_weights(weights, LOIHI2)
    grid = weight_grid(sign_mode, LOIHI2.weight_bits)
    bound = 0.5 * step * 2.0 ** q.weight_exp
    in_range = (weights >= (grid.low - step / 2) * 2.0 ** q.weight_exp) & \
               (weights <= (grid.high + step / 2) * 2.0 ** q.weight_exp)
    assert in_range.sum() > 1900
    assert np.all(np.abs(q.values - weights)[in_range] <= bound)
    assert q.n_clipped == np.count_nonzero(~in_range)


def test_weights_beyond_the_largest_exponent_are_clipped_and_counted():
    weights = np.array([1.0, 2.0, 1e6, 5e5, 100.0])
    q = quantize_weights(weights, LOIHI2)
    largest = 255 * 2 ** LOIHI2.weight_exponent_max  # 8-bit mantissa at exponent 7
    assert q.weight_exp == LOIHI2.weight_exponent_max and q.n_clipped == 2
    assert q.values.max() == largest
    assert q.error.max_abs == pytest.approx(1e6 - largest)


def test_weights_of_the_wrong_sign_for_a_forced_mode_are_clipped_and_counted():
    q = quantize_weights(np.array([-3.0, 5.0, -0.2, 7.0]), LOIHI2, sign_mode="excitatory")
    assert q.sign_mode == "excitatory" and q.n_clipped == 1  # -0.2 rounds to 0 within half a step
    assert q.values[0] == 0 and q.weights.min() == 0


def test_sign_mode_follows_lavas_rule_on_the_real_weights():
    assert quantize_weights(np.array([0.0, 1.5, 3.0]), LOIHI2).sign_mode == "excitatory"
    assert quantize_weights(np.array([0.0, -1.5]), LOIHI2).sign_mode == "inhibitory"
    assert quantize_weights(np.array([-1e-9, 1.5]), LOIHI2).sign_mode == "mixed"
    assert quantize_weights(np.zeros(3), LOIHI2).sign_mode == "excitatory"


@pytest.mark.parametrize("sign_mode", ["excitatory", "inhibitory", "mixed"])
@pytest.mark.parametrize("scale", [0.01, 1.0, 500.0, 1e7])
def test_lava_keeps_every_quantised_weight(sign_mode, scale):
    weights = _weights(np.random.default_rng(11), sign_mode, scale=scale)
    q = quantize_weights(weights, LOIHI2)
    np.testing.assert_array_equal(lava_weights(q.weights, q.sign_mode), q.weights)


def test_loihi2_grids_are_lavas_8_bit_ranges():
    assert weight_grid("excitatory", 8) == weight_grid("excitatory", 8, False)
    assert (weight_grid("excitatory", 8).low, weight_grid("excitatory", 8).high) == (0, 255)
    assert (weight_grid("inhibitory", 8).low, weight_grid("inhibitory", 8).high) == (-255, 0)
    mixed = weight_grid("mixed", 8)
    assert (mixed.low, mixed.high, mixed.step) == (-256, 254, 2)
    plain = weight_grid("mixed", 8, mixed_drops_lsb=False)
    assert (plain.low, plain.high, plain.step) == (-128, 127, 1)


def test_error_statistics_of_a_hand_computed_case():
    fixed = dataclasses.replace(LOIHI2, weight_exponent_min=0, weight_exponent_max=0)
    q = quantize_weights(np.array([0.0, 3.0, 0.75, 0.25]), fixed)
    np.testing.assert_array_equal(q.weights, [0, 3, 1, 0])
    assert q.error.max_abs == 0.25
    assert q.error.rms_abs == pytest.approx(math.sqrt(2 * 0.25 ** 2 / 4))
    assert q.error.max_rel == 1.0  # 0.25 -> 0
    assert q.error.rms_rel == pytest.approx(math.sqrt(((1 / 3) ** 2 + 1) / 3))
    assert q.n_zeroed == 1 and q.n_clipped == 0 and q.n_weights == 4


def test_ties_prefer_the_exponent_nearest_zero():
    q = quantize_weights(np.array([4.0, 8.0, 12.0]), LOIHI2)  # exact at exponents -8..2
    assert q.weight_exp == 0 and q.error.max_abs == 0


def test_wider_mantissas_shrink_the_error():
    weights = _weights(np.random.default_rng(5), "mixed", scale=10.0)
    wide = dataclasses.replace(LOIHI2, weight_bits=12)
    assert quantize_weights(weights, wide).error.max_abs < quantize_weights(weights, LOIHI2).error.max_abs / 8


@pytest.mark.parametrize("kwargs, message", [({"norm": "l1"}, "unknown norm"), ({"sign_mode": "both"}, "sign mode")])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        quantize_weights(np.ones(3), LOIHI2, **kwargs)


def test_non_finite_weights_are_refused_naming_the_projection():
    with pytest.raises(InputError, match="'e->e'.*finite"):
        quantize_weights(np.array([1.0, np.nan]), LOIHI2, name="e->e")
