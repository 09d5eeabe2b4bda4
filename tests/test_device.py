"""The Brian2 device: copies of Brian2's own example scripts with two added lines run in fixed point.

``tests/data/brian2_examples/*.py`` are Brian2's examples (``examples/`` of brian-team/brian2)
with ``import neuromorph`` and ``set_device('neuromorph', target='loihi2')`` added after
``from brian2 import *``, shorter runs and the plotting cut. The plain Brian2 run of the same
script is the same text without those two lines, under the same ``seed``; expected values come
from it. Both run Brian2's numpy target (the tests' code-generation preference, set outside the
scripts).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import brian2
import numpy as np
import pytest
from brian2.devices.device import reinit_devices

import neuromorph
from neuromorph.errors import InputError

from .conftest import execute_script

EXAMPLES = Path(__file__).parent / "data" / "brian2_examples"
DEVICE_LINE = "set_device('neuromorph', target='loihi2')"
ADDED = ("import neuromorph\n", DEVICE_LINE + "\n")


def script(name: str, **options) -> str:
    """The example's text; ``options`` replace the device line's (``target='loihi2'`` kept unless given)."""
    text = (EXAMPLES / f"{name}.py").read_text()
    assert text.count(DEVICE_LINE) == 1 and text.count(ADDED[0]) == 1
    arguments = ", ".join(f"{k}={v!r}" for k, v in {"target": "loihi2", **options}.items())
    return text.replace(DEVICE_LINE, f"set_device('neuromorph', {arguments})")


def plain(name: str) -> str:
    """The example as Brian2 ships it (without the two added lines)."""
    text = (EXAMPLES / f"{name}.py").read_text()
    for line in ADDED:
        text = text.replace(line, "", 1)
    return text


def execute(text: str, seed: int = 1, extra: str = "") -> dict:
    """Run ``text`` (then ``extra``) as a script (:func:`tests.conftest.execute_script`)."""
    return execute_script(text + "\n" + extra, seed, "<example>")


class _Rates:
    """The samples ``cut`` of a PopulationRateMonitor (``t``, ``rate``)."""

    def __init__(self, monitor, cut: slice):
        self.t, self.rate = np.asarray(monitor.t)[cut], np.asarray(monitor.rate)[cut]


class _Trace:
    """The samples ``cut`` of a StateMonitor of ``v`` (``t``, ``v``)."""

    def __init__(self, monitor, cut: slice):
        self.t, self.v = np.asarray(monitor.t)[cut], np.asarray(monitor.v)[:, cut]


def rate_hz(monitor, size: int, duration: float) -> float:
    return monitor.num_spikes / size / duration


def test_importing_neuromorph_registers_the_device():
    from brian2.devices.device import all_devices

    assert type(all_devices["neuromorph"]).__name__ == "NeuromorphDevice"
    doc = type(all_devices["neuromorph"]).__doc__
    for option in ("state_bits", "rounding", "backend", "reference", "target", "config", "window"):
        assert f"    {option}:" in doc


def test_unknown_and_bad_options_are_refused_at_set_device():
    with pytest.raises(InputError, match=r"unknown option\(s\) \['state_bit'\]"):
        brian2.set_device("neuromorph", state_bit=16)
    with pytest.raises(InputError, match="backend.*must be one of"):
        brian2.set_device("neuromorph", backend="gpu")
    with pytest.raises(InputError, match="state_bits.*from 2 to 64"):
        brian2.set_device("neuromorph", state_bits=1)
    brian2.set_device("runtime")
    reinit_devices()


@pytest.mark.slow
def test_cuba_rates_match_brian2_and_a_second_run_continues():
    """CUBA for 500 ms (the example runs 1 s), then 50 ms more.

    The mean rate over 100 ms is too sensitive for a 10 % bound: plain Brian2 itself moves by up
    to 5 % when the weights change by their quantisation error (0.16 % and 0.31 %), as it does
    over 500 ms, and fixed point was 8 % off at 100 ms for this seed (1 % at 500 ms; 6 % for the
    worst of seeds 1, 2, 4). Over 500 ms every tested seed stays within the bound.
    """
    first_run = ("run(100 * ms)", "run(500 * ms)")
    extra = "first = (s_mon.num_spikes, P.v[:].copy(), float(defaultclock.t[:]))\nrun(50 * ms)\nlast_t = float(defaultclock.t[:])"
    fixed = execute(script("CUBA", reference=False).replace(*first_run), extra=extra)
    brian = execute(plain("CUBA").replace(*first_run))
    n, duration = 4000, 0.5
    ours, theirs = fixed["first"][0] / n / duration, rate_hz(brian["s_mon"], n, duration)
    assert abs(ours / theirs - 1) < 0.10, (ours, theirs)
    spikes, v_after_first, t_first = fixed["first"]
    monitor = fixed["s_mon"]
    assert t_first == pytest.approx(0.5) and fixed["last_t"] == pytest.approx(0.55)
    assert monitor.num_spikes > spikes and monitor.t[spikes:].min() >= 0.5 * brian2.second
    assert np.all(np.diff(np.asarray(monitor.t)) >= 0)
    assert np.array_equal(np.bincount(monitor.i, minlength=n), monitor.count)
    assert not np.array_equal(fixed["P"].v[:], v_after_first)  # the group holds the state after the second run


@pytest.mark.slow
def test_cobahh_monitors_are_filled_and_rates_match_brian2():
    """The example records three voltage traces; both runs also get a PopulationRateMonitor for the rates.
    Then 20 ms more: the monitors go on from where the first run ended."""
    rates = "rates = PopulationRateMonitor(P)\nrun(100 * ms)"
    extra = "first = (len(rates.t), P.v[:].copy())\nrun(20 * ms)"
    fixed = execute(script("COBAHH", reference=False).replace("run(100 * ms)", rates), extra=extra)
    brian = execute(plain("COBAHH").replace("run(100 * ms)", rates), extra=extra)
    samples, v_after_first = fixed["first"]
    assert samples == brian["first"][0] and len(fixed["rates"].t) == len(brian["rates"].t) > samples
    assert np.allclose(np.asarray(fixed["rates"].t), np.asarray(brian["rates"].t))
    assert fixed["trace"].v.shape == brian["trace"].v.shape
    assert not np.array_equal(fixed["P"].v[:], v_after_first)  # the group holds the state after the second run
    first = slice(0, samples)
    fixed["rates"], brian["rates"] = _Rates(fixed["rates"], first), _Rates(brian["rates"], first)
    fixed["trace"], brian["trace"] = _Trace(fixed["trace"], first), _Trace(brian["trace"], first)
    ours, theirs = float(np.mean(fixed["rates"].rate)), float(np.mean(brian["rates"].rate))
    assert abs(ours / theirs - 1) < 0.10, (ours, theirs)
    assert np.allclose(np.asarray(fixed["rates"].t), np.asarray(brian["rates"].t))
    trace, ref_trace = fixed["trace"], brian["trace"]
    assert trace.v.shape == ref_trace.v.shape == (3, 1000)
    assert np.allclose(np.asarray(trace.t), np.asarray(ref_trace.t))
    v, ref_v = np.asarray(trace.v), np.asarray(ref_trace.v)
    assert np.allclose(v[:, 0], ref_v[:, 0], atol=1e-6)  # the same initial state, recorded at t = 0
    assert -0.1 < v.min() and v.max() < 0.06 and v.max() > 0  # volts, spikes included


@pytest.mark.slow
def test_if_curve_every_rate_within_2_hz_and_the_report():
    """The example's 1 s, then 100 ms more: every neuron's count goes on from the first run's."""
    extra = "first = (monitor.count[:].copy(), neuromorph.last_report())\nrun(100 * ms)"
    fixed = execute(script("IF_curve_Hodgkin_Huxley", floor=False), extra=extra)
    brian = execute(plain("IF_curve_Hodgkin_Huxley"))
    first_count, report = fixed["first"]
    ours = np.asarray(first_count) / 1.0
    theirs = np.asarray(brian["monitor"].count) / 1.0
    assert theirs.max() > 40  # the curve rises
    assert np.abs(ours - theirs).max() <= 2.0, np.abs(ours - theirs).max()
    after = np.asarray(fixed["monitor"].count)
    assert np.all(after >= first_count) and after.sum() > first_count.sum()
    assert float(fixed["monitor"].t[-1]) >= 1.0  # the second run's spikes come after the first run's

    (name, metrics), = report.populations.items()
    assert name in report.table() and getattr(report, name) == metrics
    assert metrics.rate_reference_hz == pytest.approx(theirs.mean(), rel=0.02)
    assert metrics.rate_candidate_hz == pytest.approx(ours.mean())
    assert len(report.spike_trains[name]["candidate"]) == 100
    with tempfile.TemporaryDirectory() as directory:
        written = report.plot(directory)
        assert all(path.stat().st_size > 10_000 for path in written)
        assert report.to_json(Path(directory) / "report.json").read_text().startswith("{")


@pytest.mark.slow
def test_seed_1_twice_gives_identical_monitors():
    text = script("CUBA", reference=False).replace("run(100 * ms)", "run(30 * ms)")
    first, second = execute(text, seed=1), execute(text, seed=1)
    assert np.array_equal(first["s_mon"].i, second["s_mon"].i)
    assert np.array_equal(first["s_mon"].t, second["s_mon"].t)
    assert first["s_mon"].num_spikes > 0


LATE_BURST = """from brian2 import *
import neuromorph
set_device('neuromorph', target='loihi2', reference={reference})
inputs = SpikeGeneratorGroup(1, [0] * 40, (60 + np.arange(40) * 0.2) * ms)
G = NeuronGroup(5, 'dv/dt = (I_syn - v) / (10*ms) : volt (unless refractory)\\ndI_syn/dt = -I_syn / (5*ms) : volt',
                threshold='v > 10*mV', reset='v = 0*mV', refractory=2*ms, method='exact')
S = Synapses(inputs, G, on_pre='I_syn += 2*mV')
S.connect()
M = SpikeMonitor(G)
V = StateMonitor(G, 'v', record=[3])
run(100*ms, report='text')
"""


def test_ranges_the_float_profile_misses_are_taken_from_a_float_run_of_every_step(capsys):
    """``reference=False`` takes its ranges from the first 20 ms in float; here nothing happens before 60 ms, so
    the fixed-point run overflows, and the device takes the ranges of the whole run instead: then its
    monitors hold what ``reference=True``'s do (the same lowering), and Brian2's spikes within 1 ms."""
    fixed = execute(LATE_BURST.format(reference=False))
    said = capsys.readouterr().err
    assert "Brian2 run of the first 200 of 1000 steps" in said and "Brian2 run of all 1000 steps" in said
    assert "overflowed" not in said.split("Brian2 run of all")[-1]  # no overflow left
    full = execute(LATE_BURST.format(reference=True))
    brian = execute(LATE_BURST.format(reference=True).replace("import neuromorph\nset_device", "# set_device"))
    assert fixed["M"].num_spikes == full["M"].num_spikes > 0
    assert np.array_equal(fixed["M"].i, full["M"].i) and np.array_equal(fixed["M"].t_, full["M"].t_)
    assert np.array_equal(fixed["V"].v_, full["V"].v_)
    assert np.allclose(np.sort(fixed["M"].t_), np.sort(brian["M"].t_), rtol=0, atol=1e-3)  # Brian2's, within 1 ms


POISSON = """from brian2 import *
import neuromorph
set_device('neuromorph', target='loihi2', reference={reference})
P = PoissonGroup(30, 40*Hz)
G = NeuronGroup(10, 'dv/dt = -v / (10*ms) : volt (unless refractory)', threshold='v > 10*mV', reset='v = 0*mV',
                refractory=2*ms, method='exact')
S = Synapses(P, G, on_pre='v += 3*mV')
S.connect(p=0.5)
MP, M = SpikeMonitor(P), SpikeMonitor(G)
run(100*ms)
"""


def test_poisson_spikes_without_the_reference_are_those_of_the_reference_run():
    """Without the reference the Poisson spikes come from a Brian2 run of the Poisson groups alone, seeded as the
    whole network's run: nothing else in this network draws random numbers, so the spikes, and the network's
    response, are those of ``reference=True``."""
    fixed, full = (execute(POISSON.format(reference=reference)) for reference in (False, True))
    assert fixed["MP"].num_spikes > 50
    for monitor in ("MP", "M"):
        assert np.array_equal(fixed[monitor].i, full[monitor].i) and np.array_equal(fixed[monitor].t_, full[monitor].t_)


def test_compare_takes_the_device_options():
    from neuromorph.network import compare, from_brian2

    group = brian2.NeuronGroup(3, "dv/dt = (12*mV - v) / (10*ms) : volt", threshold="v > 10*mV",
                               reset="v = 0*mV", method="exact", name="lif")
    spec = from_brian2(group, duration=50 * brian2.ms, seed=1)
    report = compare(spec, state_bits=16, floor=False)
    assert report["config"]["state_bits"] == 16
    assert report.lif.rate_candidate_hz == pytest.approx(report.lif.rate_reference_hz, rel=0.1)
    assert report.table().startswith("network:")


REFUSED = {
    "summed": ("G = NeuronGroup(2, 'dv/dt = -v/(10*ms) + I/(10*ms) : 1\\nI : 1', threshold='v>1', reset='v=0')\n"
               "S = Synapses(G, G, 'w : 1\\nI_post = w : 1 (summed)')\nS.connect()\n",
               "Synapses 'synapses.*summed variables"),
    "on_post": ("G = NeuronGroup(2, 'dv/dt = -v/(10*ms) : 1', threshold='v>1', reset='v=0')\n"
                "S = Synapses(G, G, 'w : 1', on_pre='v_post += w', on_post='w += 0.1')\nS.connect()\n",
                "Synapses 'synapses.*on_post"),
    "PoissonInput": ("G = NeuronGroup(2, 'dv/dt = -v/(10*ms) : 1', threshold='v>1', reset='v=0')\n"
                     "P = PoissonInput(G, 'v', 10, 5*Hz, weight=0.1)\n", "PoissonInput 'poissoninput.*replace it by a PoissonGroup"),
    "xi": ("G = NeuronGroup(2, 'dv/dt = -v/(10*ms) + v*xi/sqrt(ms) : 1', threshold='v>1', reset='v=0')\n",
           "NeuronGroup 'neurongroup(_[0-9]+)?': 'dv/dt = .*' has multiplicative noise"),
}


@pytest.mark.parametrize("construct", sorted(REFUSED))
def test_a_refused_construct_names_the_object_before_anything_runs(construct):
    code, message = REFUSED[construct]
    text = f"from brian2 import *\nimport neuromorph\n{DEVICE_LINE}\n{code}M = SpikeMonitor(G)\nrun(10*ms)\n"
    with pytest.raises(InputError, match=message):
        execute(text)


@pytest.mark.slow
def test_wang_buzsaki_without_threshold_runs_its_voltage_close_to_brian2_and_continues():
    """Wang-Buzsaki's example has no threshold (it records ``v`` only): the group never spikes and its
    states are compared by RMSE. The example runs 50 ms; here 30 ms, then a second run of 10 ms.

    Bound: the voltage RMSE against plain Brian2 stays below 1 mV over both runs (measured 0.07 mV
    over 70 ms; the action potentials' timing included). For scale, Brian2's own time
    discretisation moves this trace by 15 mV RMSE over 50 ms (the same script at dt = 0.01 ms
    against dt = 0.005 ms: its action potentials drift by 0.6 ms), so fixed point adds well under a
    tenth of the error the float model already has; the action potentials (upward crossings of
    0 mV) land in the same step or the next.
    """
    run_first = ("run(50*ms)", "run(30*ms)")
    extra = "first = M.v[0].copy()\nrun(10*ms)"
    fixed = execute(script("Wang_Buszaki_1996", floor=False).replace(*run_first), extra=extra)
    brian = execute(plain("Wang_Buszaki_1996").replace(*run_first), extra=extra)
    monitor, reference = fixed["M"], brian["M"]
    assert monitor.v.shape == reference.v.shape == (1, 4000) and fixed["first"].shape == (3000,)
    assert np.allclose(np.asarray(monitor.t), np.asarray(reference.t))
    v, ref_v = np.asarray(monitor.v[0]), np.asarray(reference.v[0])
    assert v[0] == pytest.approx(-0.070, abs=1e-6)
    rmse = float(np.sqrt(np.mean((v - ref_v) ** 2)))
    assert rmse < 1e-3, rmse

    def upward(trace):
        return np.flatnonzero((trace[1:] > 0) & (trace[:-1] <= 0))

    assert upward(ref_v).size >= 3 and upward(v).size == upward(ref_v).size
    assert np.abs(upward(v) - upward(ref_v)).max() <= 1
    assert upward(v)[-1] >= 3000  # an action potential in the second run: it continued from the first
    assert float(fixed["neuron"].v[0]) == pytest.approx(float(brian["neuron"].v[0]), abs=2e-3)
    report = fixed["neuromorph"].last_report()  # the second run's
    name = fixed["neuron"].name  # Brian2's automatic name: neurongroup, or neurongroup_1 if that one is alive
    metrics = getattr(report, name)
    assert metrics.rate_reference_hz == metrics.rate_candidate_hz == 0.0 and metrics.gamma_mean == 1.0
    assert sorted(metrics.state_rmse) == ["h", "n", "v"] and metrics.state_rmse["v"] < 1e-3
    assert "state RMSE: v " in report.table()
    with tempfile.TemporaryDirectory() as directory:
        written = report.plot(directory)
        assert Path(directory, f"states_{name}.png") in written
        assert all(path.stat().st_size > 10_000 for path in written)


REFRACTORY = """from brian2 import *
{device}
G = NeuronGroup(20, 'dv/dt = (I - v) / (10*ms) : volt (unless refractory)\\nI : volt', threshold='v > 10*mV',
                reset='v = 0*mV', refractory=5*ms, method='exact')
G.I = '12*mV + 20*mV * i / 20'
M = SpikeMonitor(G)
run(20.05*ms)
refractory_at_end = ~G.not_refractory[:]
run(20*ms)
"""


@pytest.mark.parametrize("backend", ["emulator", pytest.param("lava", marks=pytest.mark.slow)])
def test_a_neuron_refractory_at_the_end_of_a_run_stays_refractory_in_the_next(backend):
    """Brian2 keeps ``lastspike`` and ``not_refractory`` across runs; so does the device. The first run
    ends between steps (Brian2 runs whole steps: 201 here, and the next run starts at 20.1 ms).
    Also on Lava alone without the reference (the device's fixed-point-only path)."""
    device = f"import neuromorph\nset_device('neuromorph', target='loihi2', reference=False, backend='{backend}')"
    fixed, brian = execute(REFRACTORY.format(device=device)), execute(REFRACTORY.format(device=""))
    assert 0 < brian["refractory_at_end"].sum() < 20
    assert np.array_equal(fixed["refractory_at_end"], brian["refractory_at_end"])
    assert np.allclose(fixed["G"].lastspike_[:], brian["G"].lastspike_[:], rtol=0, atol=1e-12)
    ours, theirs = fixed["M"].spike_trains(), brian["M"].spike_trains()
    for i in range(20):  # 24-bit state: every spike in the same step as Brian2's
        assert np.allclose(np.asarray(ours[i]), np.asarray(theirs[i]), rtol=0, atol=1e-9), i


@pytest.mark.slow
def test_backend_both_runs_lava_and_the_report_says_it_equals_the_emulator():
    """CUBA scaled to 200 neurons and 20 ms, plus a group without a threshold that the network drives
    (a leaky integrator of P's spikes), on the emulator and on Lava."""
    text = script("CUBA", backend="both", floor=False)
    for old, new in (("4000", "200"), ("i<3200", "i<160"), ("i>=3200", "i>=160"), ("run(100 * ms)", "run(20 * ms)"),
                     ("s_mon = SpikeMonitor(P)", "s_mon = SpikeMonitor(P)\n" + SILENT_READOUT)):
        text = text.replace(old, new)
    fixed = execute(text)
    report = fixed["neuromorph"].last_report()
    assert report["backend"] == "both"
    lava = report["lava_matches_emulator"]
    assert lava["match"] and lava["steps_compared"] == 200
    assert all(p["states_compared"] > 0 for p in lava["populations"].values())
    assert "Lava graph == emulator: exact over 200 steps" in report.table()
    assert fixed["s_mon"].num_spikes > 0 and fixed["readout"].v.shape == (3, 200)
    assert np.ptp(np.asarray(fixed["readout"].v)) > 1e-3  # the readout integrates P's spikes
    assert report.populations["Q"].state_rmse["v"] < 1e-4


SILENT_READOUT = ("Q = NeuronGroup(3, 'dv/dt = (ge - v) / (10*ms) : volt\\ndge/dt = -ge / (5*ms) : volt', "
                  "method='exact', name='Q')\n"
                  "S = Synapses(P, Q, on_pre='ge += 0.5*mV')\nS.connect(p=0.5)\n"
                  "readout = StateMonitor(Q, 'v', record=True)")


def test_an_uncaught_refusal_is_one_line_without_brian2_banner_or_files():
    code, message = REFUSED["xi"]
    text = f"from brian2 import *\nimport neuromorph\n{DEVICE_LINE}\n{code}run(10*ms)\n"
    with tempfile.TemporaryDirectory() as directory, tempfile.TemporaryDirectory() as tmp:
        path = Path(directory) / "script.py"
        path.write_text(text)
        env = {**os.environ, "PYTHONPATH": str(Path(neuromorph.__file__).parents[1]), "TMPDIR": tmp}
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                              cwd=directory, env=env)
        left = os.listdir(tmp)  # the script's temporary directory: Brian2 writes its debug log there
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "neuromorph: error: NeuronGroup 'neurongroup': 'dv/dt = -v/(10*ms) + v*xi/sqrt(ms)' has multiplicative noise "
        "(the factor of xi depends on ['v']), integrated by method 'heun'; neuromorph replays additive noise only "
        "(Euler-Maruyama, method 'euler'): make the factor of xi a constant")
    assert "Brian 2 encountered" not in done.stderr and "Traceback" not in done.stderr
    assert not left, left


@pytest.mark.parametrize("steps, size, rate", [(3000, 40, 0.002), (3000, 40, 0.0), (200, 7, 0.5), (0, 3, 0.0)])
def test_last_spike_steps_are_each_columns_last_true_row(steps, size, rate):
    """:func:`neuromorph.device_fill.last_spike_steps` (windows read backwards) against a plain scan of
    each column; sparse rasters leave some neurons silent and some with only an early spike."""
    from neuromorph.device_fill import last_spike_steps

    raster = np.random.default_rng(7).random((steps, size)) < rate
    if steps:
        raster[:, 0] = False
        raster[5 % steps, 1] = True
        raster[6 % steps:, 1] = False
    expected = [max((t for t in range(steps) if raster[t, i]), default=-1) for i in range(size)]
    assert last_spike_steps(raster).tolist() == expected
