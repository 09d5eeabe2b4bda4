"""The static bound that lets SynapseEmulator skip its int32 checks and 16-bit counts is a bound, and tight.

With every presynaptic neuron spiking in every step, each ``a_out`` entry (once the delay
buffer has filled) is the whole sum over the synapses into it, so for non-negative weights
and exponents the largest ``a_out`` equals the bound exactly; with mixed signs or a negative
exponent it never exceeds it. The checks themselves are exercised in test_network_synapses.py.
"""
import numpy as np
import pytest

from neuromorph.network.lava_semantics import LavaProjection, SynapseEmulator, entry_bound, run_synapse


def _projection(rng, kind, sign_mode, weight_exp, max_delay):
    n_pre, n_post = 30, 12
    post, pre = np.nonzero(rng.random((n_post, n_pre)) < 0.4)
    magnitude = rng.integers(1, 256, pre.size)
    weights = {"excitatory": magnitude, "inhibitory": -magnitude, "mixed": 2 * rng.integers(-128, 128, pre.size)}
    delays = rng.integers(0, max_delay + 1, pre.size) if kind.startswith("Delay") else np.zeros(pre.size, int)
    return LavaProjection(name="p", kind=kind, n_pre=n_pre, n_post=n_post, pre=pre, post=post,
                          weights=weights[sign_mode], delays=delays, weight_exp=weight_exp, sign_mode=sign_mode)


@pytest.mark.parametrize("kind, sign_mode, weight_exp, max_delay", [
    ("Sparse", "excitatory", 3, 0), ("DelayDense", "excitatory", 0, 5), ("DelaySparse", "inhibitory", 7, 9),
    ("Dense", "mixed", 2, 0), ("DelaySparse", "mixed", -3, 7), ("Sparse", "excitatory", -2, 0),
])
def test_all_spiking_reaches_but_never_exceeds_the_bound(kind, sign_mode, weight_exp, max_delay):
    projection = _projection(np.random.default_rng(max_delay + 10 * abs(weight_exp)), kind, sign_mode, weight_exp, max_delay)
    out = run_synapse(projection, np.ones((max_delay + 6, projection.n_pre), bool))
    bound = entry_bound(projection)
    assert np.abs(out).max() <= bound
    if sign_mode != "mixed" and weight_exp >= 0:
        assert np.abs(out).max() == bound


def test_checks_and_counts_run_exactly_when_the_bound_allows_an_overflow():
    rng = np.random.default_rng(1)
    small = _projection(rng, "Sparse", "excitatory", 0, 0)
    assert entry_bound(small) < 2 ** 15
    emulator = SynapseEmulator(small)
    assert not emulator._checked and not emulator._counted
    large = _projection(rng, "Sparse", "excitatory", 7, 0)
    assert 2 ** 15 <= entry_bound(large) < 2 ** 31
    emulator = SynapseEmulator(large)
    assert emulator._counted and not emulator._checked
    emulator.step(np.ones(large.n_pre, bool))
    emulator.step(np.zeros(large.n_pre, bool))
    assert emulator.n_beyond_declared_bits > 0
