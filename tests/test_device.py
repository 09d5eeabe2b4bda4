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
from neuromorph.errors import InputError, NeuromorphError

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
    """Run ``text`` (then ``extra``) as a script after ``seed(seed)``, on numpy; return its namespace.

    Brian2's devices, preferences and default clock are reset afterwards.
    """
    namespace = {"__name__": "__main__"}
    try:
        brian2.prefs.codegen.target = "numpy"
        brian2.seed(seed)
        exec(compile(text + "\n" + extra, "<example>", "exec"), namespace)  # noqa: S102 -- the example script
    finally:
        brian2.set_device("runtime")
        reinit_devices()
    return namespace


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
    extra = "first = (s_mon.num_spikes, P.v[:].copy(), float(defaultclock.t[:]))\nrun(50 * ms)\nlast_t = float(defaultclock.t[:])"
    fixed = execute(script("CUBA", reference=False), extra=extra)
    brian = execute(plain("CUBA"))
    n, duration = 4000, 0.1
    ours, theirs = fixed["first"][0] / n / duration, rate_hz(brian["s_mon"], n, duration)
    assert abs(ours / theirs - 1) < 0.10, (ours, theirs)
    spikes, v_after_first, t_first = fixed["first"]
    monitor = fixed["s_mon"]
    assert t_first == pytest.approx(0.1) and fixed["last_t"] == pytest.approx(0.15)
    assert monitor.num_spikes > spikes and monitor.t[spikes:].min() >= 0.1 * brian2.second
    assert np.all(np.diff(np.asarray(monitor.t)) >= 0)
    assert np.array_equal(np.bincount(monitor.i, minlength=n), monitor.count)
    assert not np.array_equal(fixed["P"].v[:], v_after_first)  # the group holds the state after the second run


@pytest.mark.slow
def test_cobahh_monitors_are_filled_and_rates_match_brian2():
    """The example records three voltage traces; both runs also get a PopulationRateMonitor for the rates."""
    rates = "rates = PopulationRateMonitor(P)\nrun(100 * ms)"
    fixed = execute(script("COBAHH", reference=False).replace("run(100 * ms)", rates))
    brian = execute(plain("COBAHH").replace("run(100 * ms)", rates))
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
    fixed = execute(script("IF_curve_Hodgkin_Huxley", floor=False))
    brian = execute(plain("IF_curve_Hodgkin_Huxley"))
    ours = np.asarray(fixed["monitor"].count) / 1.0
    theirs = np.asarray(brian["monitor"].count) / 1.0
    assert theirs.max() > 40  # the curve rises
    assert np.abs(ours - theirs).max() <= 2.0, np.abs(ours - theirs).max()
    report = fixed["neuromorph"].last_report()
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
    "xi": ("G = NeuronGroup(2, 'dv/dt = -v/(10*ms) + xi/sqrt(ms) : 1', threshold='v>1', reset='v=0')\n",
           "stochastic term xi in NeuronGroup 'neurongroup(_[0-9]+)?': "),
}


@pytest.mark.parametrize("construct", sorted(REFUSED))
def test_a_refused_construct_names_the_object_before_anything_runs(construct):
    code, message = REFUSED[construct]
    text = f"from brian2 import *\nimport neuromorph\n{DEVICE_LINE}\n{code}M = SpikeMonitor(G)\nrun(10*ms)\n"
    with pytest.raises(InputError, match=message):
        execute(text)


def test_wang_buzsaki_without_threshold_is_refused_naming_the_group():
    """Groups without a threshold do not lower yet (issue 18, part 3): refused before anything runs."""
    with pytest.raises(InputError, match="NeuronGroup 'neurongroup.*has no threshold"):
        execute(script("Wang_Buszaki_1996"))


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
        "neuromorph: error: stochastic term xi in NeuronGroup 'neurongroup': neuromorph lowers deterministic "
        "equations only; remove the noise term, or drive the group with a PoissonGroup through Synapses")
    assert "Brian 2 encountered" not in done.stderr and "Traceback" not in done.stderr
    assert not left, left
