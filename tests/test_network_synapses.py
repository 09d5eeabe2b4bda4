"""Lava's synapse processes against their numpy reproduction: exact equality, every step.

One Lava graph (a RingBuffer source fanning out to every projection, a sink per
projection) runs once per module; the emulator must reproduce every a_out value of every
step, and the integer weights Lava holds after its own clip and truncation.
"""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as SinkBuffer

from neuromorph.errors import InputError, NeuromorphError
from neuromorph.lava.build import (LAVA_CLASSES, build_process, choose_kind, lava_projection,
                                           multapse_layers, spike_source)
from neuromorph.network.lava_semantics import (PROCESS_KINDS, SIGN_MODES, LavaProjection, SynapseEmulator,
                                               lava_weights, read_sink, replay_source, run_synapse, source_data)
from neuromorph.network.weights import quantize_weights
from neuromorph.targets import load_target

N_PRE, N_POST, N_STEPS = 24, 16, 100
KINDS = sorted(PROCESS_KINDS)
SCALES = {"excitatory": 0.6, "inhibitory": 3.0, "mixed": 500.0}  # exponents below and above 0


def _synapses(rng, density=0.35):
    post, pre = np.nonzero(rng.random((N_POST, N_PRE)) < density)
    return pre, post


def _real_weights(rng, sign_mode, size, scale):
    magnitude = rng.lognormal(0.0, 1.0, size) * scale
    if sign_mode == "mixed":
        return magnitude * rng.choice([-1.0, 1.0], size)
    return -magnitude if sign_mode == "inhibitory" else magnitude


def quantised_projections(rng, target):
    """Every kind in every sign mode, weights from quantize_weights, random delays within the target's range."""
    projections = []
    for kind in KINDS:
        for mode in SIGN_MODES:
            name = f"{kind}-{mode}"
            pre, post = _synapses(rng)
            q = quantize_weights(_real_weights(rng, mode, len(pre), SCALES[mode] * rng.uniform(0.5, 2)), target,
                                 name=name)
            delays = rng.integers(0, target.max_delay_steps + 1, len(pre)) if PROCESS_KINDS[kind].delayed else None
            projection = lava_projection(pre, post, N_PRE, N_POST, q, delays, target=target, name=name)
            projections.append(dataclasses.replace(projection, kind=kind))
    return projections


def raw_projections(rng):
    """Weights Lava itself clips and truncates (and, for floats, truncates toward zero)."""
    pre, post = _synapses(rng, 0.5)
    n = len(pre)
    negative_floats = -rng.uniform(0, 600, n)
    negative_floats[::7] = 0.3  # truncated to 0 in Dense's int32 Var; makes Sparse's own sign mode mixed
    cases = [("Dense", negative_floats, dict(num_weight_bits=6, weight_exp=-2)),
             ("Sparse", negative_floats, dict(num_weight_bits=7, weight_exp=1)),
             ("DelayDense", rng.integers(0, 700, n), dict(num_weight_bits=5, weight_exp=-3)),
             ("DelaySparse", rng.integers(-400, 400, n), dict(num_weight_bits=8, weight_exp=3))]
    delays = rng.integers(0, 64, n)
    delays[0] = 63  # Lava's largest delay
    return [LavaProjection(name=f"raw-{kind}", kind=kind, n_pre=N_PRE, n_post=N_POST, pre=pre, post=post,
                           weights=weights, delays=delays if PROCESS_KINDS[kind].delayed else 0 * delays, **options)
            for kind, weights, options in cases]


def _held_matrix(weights_var_value) -> np.ndarray:
    value = weights_var_value
    return np.asarray(value.toarray() if sp.issparse(value) else value).astype(np.int64)


def run_lava_graph(projections, spikes, readable=()):
    """Run all projections from one RingBuffer source: a_out per step, the weights Lava holds (of the
    projections named in ``readable``) and the source echo.

    Lava's ``Var.get`` of a csr weight matrix fails once Lava's truncation has removed entries
    (lava/magma/core/process/variable.py:176-179 rebuilds it with the initial sparsity), so
    only the weights of Dense kinds or of weights Lava keeps can be read back.
    """
    n_steps = spikes.shape[0]
    source = spike_source(spikes)
    echo = SinkBuffer(shape=(spikes.shape[1],), buffer=n_steps)
    source.s_out.connect(echo.a_in)
    processes, sinks = {}, {}
    for projection in projections:
        processes[projection.name] = build_process(projection)
        sinks[projection.name] = SinkBuffer(shape=(projection.n_post,), buffer=n_steps)
        source.s_out.connect(processes[projection.name].s_in)
        processes[projection.name].a_out.connect(sinks[projection.name].a_in)
    try:
        source.run(condition=RunSteps(num_steps=n_steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        a_out = {name: read_sink(sink.data.get(), n_steps) for name, sink in sinks.items()}
        held = {name: _held_matrix(process.weights.get()) for name, process in processes.items()
                if name in readable}
        echoed = read_sink(echo.data.get(), n_steps)
    finally:
        source.stop()
    return a_out, held, echoed


QUANTISED = [f"{kind}-{mode}" for kind in KINDS for mode in SIGN_MODES]
RAW = [f"raw-{kind}" for kind in KINDS]


@pytest.fixture(scope="module")
def lava_graph():
    rng = np.random.default_rng(20240607)
    target = load_target("loihi2")
    projections = quantised_projections(rng, target) + raw_projections(rng)
    spikes = rng.random((N_STEPS, N_PRE)) < 0.15
    readable = QUANTISED + [name for name in RAW if "Sparse" not in name]
    a_out, held, echoed = run_lava_graph(projections, spikes, readable)
    return {p.name: p for p in projections}, spikes, a_out, held, echoed


@pytest.mark.parametrize("name", QUANTISED + RAW)
def test_emulator_equals_lava_every_value_every_step(lava_graph, name):
    projections, spikes, a_out, _, _ = lava_graph
    lava = a_out[name]
    assert lava.shape == (N_STEPS, N_POST) and np.array_equal(lava, np.round(lava))
    assert np.count_nonzero(lava) > N_STEPS, "the comparison needs input to be meaningful"
    np.testing.assert_array_equal(run_synapse(projections[name], spikes), lava.astype(np.int64))


@pytest.mark.parametrize("name", QUANTISED)
def test_lava_keeps_the_quantised_weights_unchanged(lava_graph, name):
    projection = lava_graph[0][name]
    matrix = np.zeros((N_POST, N_PRE), np.int64)
    matrix[projection.post, projection.pre] = projection.weights
    np.testing.assert_array_equal(lava_graph[3][name], matrix)


@pytest.mark.parametrize("name", [name for name in RAW if "Sparse" not in name])
def test_emulated_clip_and_truncation_equal_what_lava_holds(lava_graph, name):
    projection = lava_graph[0][name]
    matrix = np.zeros((N_POST, N_PRE), np.int64)
    matrix[projection.post, projection.pre] = projection.held_weights
    np.testing.assert_array_equal(lava_graph[3][name], matrix)
    assert not np.array_equal(projection.held_weights, projection.weights), "Lava should have changed these"


def test_the_lava_run_covers_every_exponent_sign_and_long_delays(lava_graph):
    projections = lava_graph[0]
    exponents = {projections[name].weight_exp for name in QUANTISED}
    assert min(exponents) < 0 < max(exponents)
    assert max(projections[name].delays.max() for name in QUANTISED) >= 55
    raw = projections["raw-DelayDense"]
    assert raw.delays.max() == 63  # Lava's largest delay, beyond loihi2's max_delay_steps


def test_sparse_and_dense_determine_the_sign_mode_from_different_values(lava_graph):
    """Dense casts its weights to int32 first (0.3 -> 0: inhibitory); Sparse decides on the floats (mixed)."""
    dense, sparse = lava_graph[0]["raw-Dense"], lava_graph[0]["raw-Sparse"]
    assert dense.held_weights.max() == 0 and sparse.held_weights.min() < 0
    assert np.all(sparse.held_weights % 2 == 0)  # mixed mode drops the lowest bit


def test_ring_buffer_source_sends_column_t_in_step_t(lava_graph):
    _, spikes, _, _, echoed = lava_graph
    np.testing.assert_array_equal(echoed.astype(bool), replay_source(source_data(spikes), N_STEPS).astype(bool))
    np.testing.assert_array_equal(echoed.astype(bool), spikes)


def test_ring_buffer_source_replays_from_the_start_after_its_length():
    data = source_data(np.eye(3, dtype=bool))
    np.testing.assert_array_equal(replay_source(data, 7), np.eye(3, dtype=np.int32)[[0, 1, 2, 0, 1, 2, 0]])


# Lava's own expected values: tests/lava/proc/dense/test_models.py and tests/lava/proc/sparse/test_models.py
# (lava-nc v0.10.0, TestDenseProcessModelFixed, TestDelayDenseProcessModel, TestDelaySparseProcessModel).
# Every input neuron spikes once, in step 3; weights and delays are Lava's, a_out expected in the listed steps.
def _column(values):
    matrix = np.zeros((3, 4))
    matrix[:, 2] = values
    return matrix


def _row(values):
    matrix = np.zeros((3, 4))
    matrix[2, :] = values
    return matrix


DELAYS_012 = np.zeros((3, 4), dtype=int)
DELAYS_012[:, 2] = [0, 1, 2]
LAVA_CASES = {
    "test_bitacc_pm_fan_out_excitatory": ("Dense", _column([0.5, 300, 40]), 0, dict(sign_mode="excitatory"),
                                          {4: [0, 255, 40]}),
    "test_bitacc_pm_fan_out_mixed_sign": ("Dense", _column([300, -300, 39]), 0, dict(sign_mode="mixed"),
                                          {4: [254, -256, 38]}),
    "test_bitacc_pm_fan_out_weight_exp": ("Dense", _column([300, -300, 39]), 0, dict(weight_exp=1),
                                          {4: [508, -512, 76]}),
    "test_bitacc_pm_fan_out_weight_precision": ("Dense", _column([300, -300, 39]), 0, dict(num_weight_bits=7),
                                                {4: [252, -256, 36]}),
    "test_bitacc_pm_fan_in_mixed_sign": ("Dense", _row([300, -300, 39, -0.4]), 0, dict(sign_mode="mixed"),
                                         {4: [0, 0, 36]}),
    "test_bitacc_pm_fan_out_excitatory_delay": ("DelayDense", _column([0.5, 300, 40]), DELAYS_012,
                                                dict(sign_mode="excitatory"), {4: [0, 0, 0], 5: [0, 255, 0],
                                                                               6: [0, 0, 40]}),
    "test_bitacc_pm_fan_out_mixed_sign_delay": ("DelayDense", _column([300, -300, 39]), 2, dict(sign_mode="mixed"),
                                                {6: [254, -256, 38]}),
    "test_bitacc_pm_fan_out_weight_exp_delay": ("DelayDense", _column([300, -300, 39]), DELAYS_012,
                                                dict(weight_exp=1), {4: [508, 0, 0], 5: [0, -512, 0], 6: [0, 0, 76]}),
    "test_bitacc_pm_fan_out_weight_precision_delay": ("DelayDense", _column([300, -300, 39]), 2,
                                                      dict(num_weight_bits=7), {6: [252, -256, 36]}),
    "test_bitacc_pm_fan_in_mixed_sign_delay": ("DelayDense", _row([300, -300, 39, -0.4]), 2,
                                               dict(sign_mode="mixed"), {6: [0, 0, 36]}),
}


LAVA_CASE_IDS = [(case, False) for case in sorted(LAVA_CASES)] + \
    [(case, True) for case in sorted(LAVA_CASES) if PROCESS_KINDS[LAVA_CASES[case][0]].delayed]  # sparse file: delay cases


@pytest.mark.parametrize("case, sparse", LAVA_CASE_IDS, ids=[f"{c}-{'sparse' if s else 'dense'}" for c, s in LAVA_CASE_IDS])
def test_emulator_reproduces_lavas_own_fixed_point_test_cases(case, sparse):
    kind, weights, delays, options, expected_rows = LAVA_CASES[case]
    kind = kind.replace("Dense", "Sparse") if sparse else kind
    weights = sp.csr_matrix(weights) if sparse else weights
    delays = sp.csr_matrix(delays) if sparse and np.ndim(delays) else delays
    projection = LavaProjection.from_matrices(kind, weights, delays, name=case, **options)
    spikes = np.zeros((8, 4), dtype=bool)
    spikes[3] = True
    expected = np.zeros((8, 3), dtype=np.int64)
    for step, row in expected_rows.items():
        expected[step] = row
    np.testing.assert_array_equal(run_synapse(projection, spikes), expected)


def test_delays_beyond_lava_are_refused_before_running_naming_the_projection():
    with pytest.raises(InputError, match=r"'fast'.*64 steps exceeds the limit of 63"):
        LavaProjection(name="fast", kind="DelayDense", n_pre=2, n_post=2, pre=[0, 1], post=[1, 1],
                       weights=[3, 4], delays=[2, 64])


def test_delays_beyond_the_target_are_refused_naming_projection_and_target():
    target = load_target("loihi2")
    q = quantize_weights(np.array([1.0, 2.0]), target)
    with pytest.raises(InputError, match=rf"'e->i'.*loihi2.*{target.max_delay_steps + 1} steps exceeds"):
        lava_projection([0, 1], [0, 0], 2, 1, q, [0, target.max_delay_steps + 1], target=target, name="e->i")
    assert lava_projection([0, 1], [0, 0], 2, 1, q, [0, target.max_delay_steps], target=target,
                           name="e->i").kind == "DelayDense"


@pytest.mark.parametrize("delays, message", [([-1, 0], ">= 0"), ([0.5, 1], "whole numbers")])
def test_negative_or_fractional_delays_are_refused(delays, message):
    with pytest.raises(InputError, match=message):
        LavaProjection(name="p", kind="DelaySparse", n_pre=2, n_post=1, pre=[0, 1], post=[0, 0], weights=[1, 1],
                       delays=delays)


def test_dense_without_delay_support_refuses_delays():
    with pytest.raises(InputError, match="use DelayDense"):
        LavaProjection(name="p", kind="Dense", n_pre=2, n_post=1, pre=[0, 1], post=[0, 0], weights=[1, 1],
                       delays=[0, 3])


def test_duplicate_pairs_are_refused_and_multapses_split_into_layers():
    pre, post = np.array([0, 1, 0, 0, 2]), np.array([3, 3, 3, 3, 1])
    with pytest.raises(InputError, match="more than once"):
        LavaProjection(name="p", kind="Sparse", n_pre=3, n_post=4, pre=pre, post=post, weights=np.ones(5),
                       delays=np.zeros(5, int))
    layers = multapse_layers(pre, post)
    np.testing.assert_array_equal(layers, [0, 0, 1, 2, 0])
    for layer in range(3):
        keep = layers == layer
        pairs = set(zip(pre[keep], post[keep]))
        assert len(pairs) == keep.sum()


def test_kind_follows_density_and_delays():
    assert choose_kind(25, 10, 10, delayed=False) == "Dense"
    assert choose_kind(24, 10, 10, delayed=False) == "Sparse"
    assert choose_kind(24, 10, 10, delayed=True) == "DelaySparse"
    assert choose_kind(100, 10, 10, delayed=True) == "DelayDense"
    assert set(LAVA_CLASSES) == set(PROCESS_KINDS)


def test_summed_input_beyond_int32_raises_instead_of_wrapping():
    projection = LavaProjection(name="huge", kind="Dense", n_pre=40, n_post=1, pre=np.arange(40),
                                post=np.zeros(40, int), weights=np.full(40, 255), delays=np.zeros(40, int),
                                weight_exp=20)
    emulator = SynapseEmulator(projection)
    with pytest.raises(NeuromorphError, match="'huge'.*int32"):
        emulator.step(np.ones(40, bool))


def test_the_fused_loops_layers_of_one_sign_without_shift_add_straight_to_the_ring(lava_graph):
    """The Lava comparison above covers both ways of ``_receive``: straight adds (excitatory and inhibitory
    layers at exponents >= 0) and sums per entry (mixed signs, negative exponents)."""
    from neuromorph.network.fused import synapse_arrays

    projections = lava_graph[0]
    ways = {name: synapse_arrays(projections[name]).direct for name in QUANTISED + RAW}
    assert set(ways.values()) == {True, False}
    assert not any(ways[name] for name in QUANTISED if name.endswith("mixed"))


@pytest.mark.parametrize("mode", ["excitatory", "inhibitory", "mixed"])
def test_the_fused_loop_stops_beyond_int32_exactly_when_the_synapse_emulator_raises(mode):
    """``_receive`` (straight adds for one sign, sums for mixed signs) returns False in the step where
    :class:`SynapseEmulator` raises, and not before: 40 sources onto one target at 2^22 (a single delay
    and two delays), firing in growing numbers until the sum leaves int32. In mixed mode the weights
    alternate in sign and cancel: the layer sums per entry, and its sums never leave int32."""
    from neuromorph.network.fused import receive_kernel, synapse_arrays

    sign = {"excitatory": np.ones(40), "inhibitory": -np.ones(40), "mixed": np.tile([1.0, -1.0], 20)}[mode]
    for delays in (np.zeros(40, int), np.arange(40) % 2):
        projection = LavaProjection(name="big", kind="DelayDense", n_pre=40, n_post=1, pre=np.arange(40),
                                    post=np.zeros(40, int), weights=sign * 255, delays=delays, weight_exp=22)
        emulator, layer = SynapseEmulator(projection), synapse_arrays(projection)
        assert layer.direct is (mode != "mixed")
        split, key, delay, column, weight, shift, direct, ring, scratch, touched, offset = layer.kernel_arguments(1)
        receive = receive_kernel()
        for t, active in enumerate(range(1, 41, 3)):
            fired = np.arange(40) < active
            ring[t % ring.shape[0]] = 0
            try:
                emulator.step(fired)
                expected = True
            except NeuromorphError:
                expected = False
            assert receive(fired, split[0], split[1], key, delay, column, weight, shift, direct, ring, scratch,
                           touched, t) is expected, (delays[:2], active)
            if not expected:
                break
        else:
            assert mode == "mixed"  # the cancelling sums never leave int32
        assert mode == "mixed" or not expected


def test_values_beyond_the_declared_16_bit_a_out_are_counted():
    projection = LavaProjection(name="p", kind="Dense", n_pre=2, n_post=1, pre=[0, 1], post=[0, 0],
                                weights=[255, 255], delays=[0, 0], weight_exp=7)
    emulator = SynapseEmulator(projection)
    emulator.step(np.array([True, False]))
    assert emulator.step(np.array([True, True]))[0] == 255 * 128 and emulator.n_beyond_declared_bits == 0
    assert emulator.step(np.zeros(2, bool))[0] == 2 * 255 * 128 and emulator.n_beyond_declared_bits == 1


def test_a_300k_synapse_projection_steps_fast():
    import time

    rng = np.random.default_rng(5)
    n_pre = n_post = 2000
    pairs = rng.choice(n_pre * n_post, 300_000, replace=False)
    projection = LavaProjection(name="big", kind="DelaySparse", n_pre=n_pre, n_post=n_post, pre=pairs % n_pre,
                                post=pairs // n_pre, weights=rng.integers(-128, 128, 300_000) * 2,
                                delays=rng.integers(0, 20, 300_000), weight_exp=-2, sign_mode="mixed")
    spikes = rng.random((50, n_pre)) < 0.05
    started = time.perf_counter()
    out = run_synapse(projection, spikes)
    per_step = (time.perf_counter() - started) / 50
    assert out.shape == (50, n_post) and np.count_nonzero(out) > 0
    assert per_step < 0.02, f"{per_step * 1e3:.1f} ms per step"


def test_lava_weights_follow_lavas_documented_ranges():
    """weightutils: excitatory 0..255, inhibitory -255..0, mixed even -256..254 (num_weight_bits 8)."""
    values = np.arange(-300, 301)
    assert lava_weights(values.clip(0), "excitatory").max() == 255
    assert lava_weights(-values.clip(0), "inhibitory").min() == -255
    mixed = lava_weights(values, "mixed")
    assert mixed.min() == -256 and mixed.max() == 254 and np.all(mixed % 2 == 0)
    np.testing.assert_array_equal(lava_weights([-3, -2, -1, 1, 2, 3], "mixed"), [-4, -2, -2, 0, 2, 2])  # floor
    np.testing.assert_array_equal(lava_weights([-3, -1], "inhibitory", 7), [-2, 0])  # toward zero


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("name", QUANTISED + RAW)
def test_the_fused_network_loop_sends_what_lava_sends(lava_graph, name, threads):
    """The fused loop's synapse step (``neuromorph.network.fused``: int64 sums per delay and target, a
    negative exponent's floor, the delay ring) sends what Lava's process sends, every value of every
    step, for every process kind and sign mode, exponents below and above 0; also when the targets
    are split among three threads (each receiving the synapses onto its own chunk of targets)."""
    from neuromorph.network.fused import receive_kernel, synapse_arrays

    projections, spikes, a_out, _, _ = lava_graph
    projection = projections[name]
    receive = receive_kernel()
    layer = synapse_arrays(projection)
    split, key, delay, column, weight, shift, direct, ring, scratch, touched, offset = layer.kernel_arguments(threads)
    expected = a_out[name].astype(np.int64)
    for t in range(spikes.shape[0]):
        row = t % ring.shape[0]
        np.testing.assert_array_equal(ring[row], expected[t], err_msg=f"step {t}")
        ring[row] = 0
        for tid in range(threads):
            assert receive(np.ascontiguousarray(spikes[t], dtype=np.bool_), split[tid], split[tid + 1], key, delay,
                           column, weight, shift, direct, ring, scratch, touched[offset[tid]:], t)
