"""Lava's fixed_pt LIF against its numpy reproduction, alone and inside a small network."""
import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as SinkBuffer
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.monitor.process import Monitor

from neuromorph.errors import InputError
from neuromorph.lava.build import build_lif, build_process, lava_projection, spike_source
from neuromorph.network.lava_lif import lava_lif, run_lif
from neuromorph.network.lava_semantics import read_sink, replay_source, run_synapse
from neuromorph.network.weights import quantize_weights
from neuromorph.targets import load_target

N_STEPS, N_A, N_B, N_IN = 80, 8, 10, 20


def _projection(rng, n_pre, n_post, scale, name, target):
    post, pre = np.nonzero(rng.random((n_post, n_pre)) < 0.5)
    weights = rng.normal(scale, abs(scale), len(pre))
    delays = rng.integers(0, 6, len(pre))
    return lava_projection(pre, post, n_pre, n_post, quantize_weights(weights, target, name=name), delays,
                           target=target, name=name)


def _network(rng):
    """A: LIF driven by raw integer currents (large enough to wrap u and clip v); B: LIF driven by
    input spikes and by A's spikes through two projections into the same port; C: B's spikes out."""
    target = load_target("loihi2")
    currents = rng.integers(-2 ** 15, 2 ** 15, (N_A, N_STEPS)).astype(np.int32)
    currents[:2] = rng.integers(-2 ** 18, 2 ** 18, (2, N_STEPS))
    lif_a = lava_lif(N_A, du=100, dv=300, vth=2000, bias_mant=rng.integers(-500, 500, N_A),
                     bias_exp=rng.integers(-3, 4, N_A), name="A")
    lif_b = lava_lif(N_B, du=600, dv=200, vth=300, bias_mant=rng.integers(0, 300, N_B), bias_exp=2,
                     u=rng.integers(-5000, 5000, N_B), v=rng.integers(0, 20000, N_B), name="B")
    spikes = rng.random((N_STEPS, N_IN)) < 0.2
    return dict(currents=currents, spikes=spikes, lif_a=lif_a, lif_b=lif_b,
                in_b=_projection(rng, N_IN, N_B, 8.0, "in->B", target),
                a_b=_projection(rng, N_A, N_B, -20.0, "A->B", target),
                b_out=_projection(rng, N_B, 4, 50.0, "B->out", target))


def _run_lava(net):
    source_a, source_in = SourceBuffer(data=net["currents"]), spike_source(net["spikes"])
    lif_a, lif_b = build_lif(net["lif_a"]), build_lif(net["lif_b"])
    in_b, a_b, b_out = (build_process(net[key]) for key in ("in_b", "a_b", "b_out"))
    sink_a, sink_b, sink_out = (SinkBuffer(shape=(n,), buffer=N_STEPS) for n in (N_A, N_B, 4))
    source_a.s_out.connect(lif_a.a_in)
    source_in.s_out.connect(in_b.s_in)
    lif_a.s_out.connect([a_b.s_in, sink_a.a_in])
    in_b.a_out.connect(lif_b.a_in)
    a_b.a_out.connect(lif_b.a_in)
    lif_b.s_out.connect([b_out.s_in, sink_b.a_in])
    b_out.a_out.connect(sink_out.a_in)
    monitors = {}
    for name, lif in (("A", lif_a), ("B", lif_b)):
        for var in ("u", "v"):
            monitors[name, var] = Monitor()
            monitors[name, var].probe(getattr(lif, var), N_STEPS)
    try:
        lif_a.run(condition=RunSteps(num_steps=N_STEPS), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        states = {key: np.asarray(monitor.get_data()[(lif_a if key[0] == "A" else lif_b).name][key[1]])
                  for key, monitor in monitors.items()}
        spikes = {name: read_sink(sink.data.get(), N_STEPS) for name, sink in
                  (("A", sink_a), ("B", sink_b), ("out", sink_out))}
    finally:
        lif_a.stop()
    return states, spikes


def _emulate(net):
    run_a = run_lif(net["lif_a"], replay_source(net["currents"], N_STEPS))
    drive_b = run_synapse(net["in_b"], net["spikes"]) + run_synapse(net["a_b"], run_a.spikes)
    run_b = run_lif(net["lif_b"], drive_b)
    return run_a, run_b, run_synapse(net["b_out"], run_b.spikes)


@pytest.fixture(scope="module")
def network_runs():
    net = _network(np.random.default_rng(77))
    return _emulate(net), _run_lava(net)


def test_lif_state_and_spikes_equal_lava_every_step(network_runs):
    (run_a, run_b, _), (states, spikes) = network_runs
    for name, run in (("A", run_a), ("B", run_b)):
        np.testing.assert_array_equal(run.u, states[name, "u"])
        np.testing.assert_array_equal(run.v, states[name, "v"])
        np.testing.assert_array_equal(run.spikes, spikes[name].astype(bool))
    assert run_a.spikes.sum() > 20 and run_b.spikes.sum() > 20, "the comparison needs spikes"


def test_overflow_paths_were_exercised_and_counted(network_runs):
    """The emulator's wrap and clip counts of A equal those read off Lava's own recorded u and v.

    Oracle: Lava's fixed_pt LIF written out here from lava/proc/lif/models.py (lava-nc 0.10,
    subthr_dynamics), not neuromorph's lif_step. From the previous recorded state, the input
    (the RingBuffer's column t arrives in step t) and the bias, the sums before wrapping and
    clipping are plain integers: a u that left (-2**23, 2**23] shows as a jump of 2**24 in Lava's
    recorded u; a v that reached +-2**23 was clipped (and, above threshold, reset to 0).
    """
    (run_a, _, _), (states, spikes) = network_runs
    net = _network(np.random.default_rng(77))
    lif = net["lif_a"]
    u, v = states["A", "u"].astype(np.int64), states["A", "v"].astype(np.int64)
    assert u.shape == v.shape == (N_STEPS, N_A)

    def decayed(x, d):  # sign(x * (4096 - d)) * (|x * (4096 - d)| >> 12)
        product = x * (4096 - d)
        return np.sign(product) * (np.abs(product) >> 12)

    u_before = np.vstack([np.broadcast_to(np.asarray(lif.u, np.int64), (1, N_A)), u[:-1]])
    v_before = np.vstack([np.broadcast_to(np.asarray(lif.v, np.int64), (1, N_A)), v[:-1]])
    bias_mant, bias_exp = np.asarray(lif.bias_mant, np.int64), np.asarray(lif.bias_exp, np.int64)
    bias = np.where(bias_exp >= 0, bias_mant << np.maximum(bias_exp, 0), bias_mant >> np.maximum(-bias_exp, 0))
    u_sum = decayed(u_before, lif.du + 1) + net["currents"].T.astype(np.int64) * 64  # ds_offset 1, act_shift 6
    jump = u - u_sum
    assert set(np.unique(jump)) <= {-2 ** 24, 0, 2 ** 24}  # the formula is Lava's, up to the wrap
    u_wrapped = int(np.count_nonzero(jump))
    v_sum = decayed(v_before, lif.dv) + u + bias  # dm_offset 0
    clipped = (v_sum >= 2 ** 23) | (v_sum <= -2 ** 23)
    fired = spikes["A"].astype(bool)
    np.testing.assert_array_equal(v[~fired], np.clip(v_sum, -2 ** 23 + 1, 2 ** 23 - 1)[~fired])
    assert not v[fired].any()
    assert u_wrapped > 0 and int(clipped.sum()) > 0, "the run must exercise both paths"
    assert (run_a.n_input_wrapped, run_a.n_u_wrapped, run_a.n_v_clipped) == (0, u_wrapped, int(clipped.sum()))


def test_spikes_of_a_lif_drive_a_delayed_projection_as_lava_does(network_runs):
    (_, _, a_out), (_, spikes) = network_runs
    assert np.count_nonzero(a_out) > 10
    np.testing.assert_array_equal(a_out, spikes["out"].astype(np.int64))


# Lava's own expected values: tests/lava/proc/lif/test_models.py (lava-nc v0.10.0, TestLIFProcessModelsFixed).
def test_lavas_case_test_bitacc_pm_no_decay():
    run = run_lif(lava_lif(10, du=0, dv=0, bias_mant=2, bias_exp=6, vth=8), np.zeros((10, 10), int))
    expected = np.zeros((10, 10), bool)
    expected[4:10:5] = True
    np.testing.assert_array_equal(run.spikes, expected)


def test_lavas_case_test_bitacc_pm_impulse_du():
    drive = np.zeros((8, 1), int)
    drive[0] = 128
    run = run_lif(lava_lif(1, du=2047, dv=0, bias_mant=0, bias_exp=1, vth=256), drive)
    assert run.u[:, 0].tolist() == [1 << (13 - j) for j in range(8)]


def test_lavas_case_test_bitacc_pm_impulse_dv():
    drive = np.zeros((8, 1), int)
    drive[0] = 128
    run = run_lif(lava_lif(1, du=0, dv=2048, bias_mant=0, bias_exp=1, vth=256), drive)
    assert run.v[:, 0].tolist() == [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]


def test_lavas_case_test_bitacc_pm_scaling_of_bias():
    run = run_lif(lava_lif(1, du=0, dv=0, bias_mant=2 ** 12 - 1, bias_exp=5, vth=2 ** 17), np.zeros((1, 1), int))
    assert run.v[0, 0] == (2 ** 12 - 1) * 2 ** 5


def test_u_wraps_once_as_lava_does_and_v_clips():
    """u: > 2**23 loses 2**24, <= -2**23 gains it (so +2**23 stays, -2**23 becomes +2**23); v clips at +-(2**23-1)."""
    lif = lava_lif(4, du=4095, dv=4095, vth=2 ** 20, u=0, v=0)  # du=4095: u is replaced by the input each step
    drive = np.array([[2 ** 17, 2 ** 17 + 1, -(2 ** 17), -(2 ** 17) - 1]])
    run = run_lif(lif, drive)
    assert run.u[0].tolist() == [2 ** 23, 2 ** 23 + 64 - 2 ** 24, 2 ** 23, -(2 ** 23) - 64 + 2 ** 24]
    assert run.n_u_wrapped == 3
    assert run.v[0].tolist() == [2 ** 23 - 1, -(2 ** 23) + 64, 2 ** 23 - 1, 2 ** 23 - 64]
    assert run.n_v_clipped == 2


@pytest.mark.parametrize("kwargs, field", [({"du": 4096}, "du"), ({"dv": -1}, "dv"), ({"vth": 1.5}, "vth"),
                                           ({"bias_mant": 40000}, "bias_mant"), ({"u": 0.5}, "u"),
                                           ({"bias_mant": 4095, "bias_exp": 20}, "bias_exp")])
def test_values_lava_would_change_are_refused(kwargs, field):
    with pytest.raises(InputError, match=field):
        lava_lif(3, **kwargs)
