"""Issue 21, the open points: every network input runs correctly or is refused before any run in one
line ``FILE:FIELD: what is wrong; what is allowed``; ``network --out`` writes only its own files;
weights quantised to zero count as clipping does; the sampled currents are exported."""
import json
import re

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.errors import InputError
from neuromorph.network.network_file import load_network_file

from .conftest import EXAMPLES
from .test_network_hardening import NETWORK

QUADRATIC = NETWORK.replace("dv/dt = (-v + I) / tau_v : volt", "dv/dt = (v**2/(10*mV) - v + I) / tau_v : volt")
EXP_V = NETWORK.replace("dv/dt = (-v + I) / tau_v : volt", "dv/dt = (-v + I + 1e-3*mV*exp(v/mV)) / tau_v : volt")


def run_cli(capsys, *args):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("neuromorph: error: "), err
    return last


def write(tmp_path, text, name="net.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- 1. a method Brian2 cannot apply: refused at load time, naming file and field ----------------------

@pytest.mark.parametrize("command", ["network", "export"])
def test_a_quadratic_leak_under_exponential_euler_is_refused_naming_file_and_method(tmp_path, capsys, command):
    """It used to end after the reference had started, in 'reference: Brian2 run failed: Can only solve
    conditionally linear systems', naming no file."""
    path = write(tmp_path, QUADRATIC)
    status, _, err = run_cli(capsys, command, path, "--out", tmp_path / "out")
    line = one_line(err)
    assert status == 2 and f"{path}:populations.L.method: Brian2's exponential_euler cannot integrate" in line
    assert "methods that can: euler" in line and "reference" not in line and not (tmp_path / "out").exists() or \
        not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("method, runs", [("euler", True), ("heun", True), ("exact", False), ("linear", False),
                                          ("exponential_euler", False)])
def test_the_method_check_follows_brian2(tmp_path, method, runs):
    path = write(tmp_path, QUADRATIC.replace('reset = "v = 0*mV"', f'reset = "v = 0*mV"\nmethod = "{method}"'))
    if runs:
        assert load_network_file(path).populations[0].model.method == method
    else:
        with pytest.raises(InputError, match=rf"net.toml:populations.L.method: Brian2's {method} cannot"):
            load_network_file(path)


def test_the_method_of_a_model_file_is_named_in_that_file(tmp_path):
    model = write(tmp_path, '''
[neuron]
name = "quad"
equations = """
dv/dt = (v**2/(10*mV) - v) / tau_v : volt
"""
threshold = "v > 10*mV"
reset = "v = 0*mV"
[parameters]
tau_v = "10 * ms"
[simulation]
method = "exponential_euler"
''', "quad_neuron.toml")
    net = NETWORK.replace(NETWORK[NETWORK.index('equations = """'):NETWORK.index('initial = {')],
                          f'model = "{model.name}"\n').replace('effect = "I += w"', 'effect = "v += w"')
    with pytest.raises(InputError, match=r"quad_neuron.toml:simulation.method: Brian2.s exponential_euler (cannot|splits)"):
        load_network_file(write(tmp_path, net))


def test_a_model_file_with_a_quadratic_leak_is_refused_before_compare_runs(tmp_path, capsys):
    model = write(tmp_path, '''
[neuron]
name = "q"
input = "I"
threshold = "v > 10*mV"
reset = "v = 0*mV"
equations = """
dv/dt = (v**2/(10*mV) - v + I) / tau_v : volt
I : volt
"""
[parameters]
tau_v = "10 * ms"
[initial]
v = "0 * mV"
[stimulus]
kind = "step"
amplitude = "5 * mV"
[simulation]
dt = "0.1 * ms"
duration = "3 * ms"
neurons = 2
''', "quad.toml")
    status, _, err = run_cli(capsys, "compare", model, "--out", tmp_path / "out")
    assert status == 2 and f"{model}:simulation.method: Brian2's exponential_euler cannot" in one_line(err)


def test_brian2s_silent_split_of_a_quadratic_term_is_refused_in_from_brian2():
    """Brian2 2.9 splits (v**2/mV - v)/tau into A = -1/tau, B = 0 under exponential_euler: it drops the
    quadratic term and runs another model without a word. from_brian2 refuses it, naming the group."""
    import brian2 as b

    from neuromorph.network import from_brian2

    b.start_scope()
    group = b.NeuronGroup(3, "dv/dt = (v**2/mV - v)/(10*ms) : volt", threshold="v > 10*mV", reset="v = 0*mV",
                          method="exponential_euler", name="Q")
    with pytest.raises(InputError, match=r"^NeuronGroup 'Q':method: Brian2's exponential_euler splits the equation "
                                         r"of 'v' into A\*v \+ B and drops the term"):
        from_brian2(group, duration=5 * b.ms)
    b.start_scope()
    group = b.NeuronGroup(3, "dv/dt = (v**2/mV - v)/(10*ms) : volt", threshold="v > 10*mV", reset="v = 0*mV",
                          method="euler", name="Q")
    assert from_brian2(group, duration=5 * b.ms).populations[0].model.method == "euler"


# -- 2. exp(v/mV): Brian2 holds it over the step (conditionally linear), and so does the lowering -------

def test_exp_of_v_in_a_network_population_runs_and_matches_brian2(tmp_path, capsys):
    path = write(tmp_path, EXP_V.replace('duration = "3 * ms"', 'duration = "20 * ms"').replace('"500 * Hz"', '"100 * Hz"'))
    status, _, err = run_cli(capsys, "network", path, "--out", tmp_path / "out", "--no-floor", "--codegen", "numpy")
    assert status == 0, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())["populations"]["L"]
    assert report["kind"] == "lowered" and report["rates_hz"]["reference"] > 0
    assert report["gamma"]["mean"] > 0.9 and not report["overflows"]["operations"]


# -- 3. network --out writes only its own names ---------------------------------------------------------

@pytest.mark.parametrize("setup, message", [
    (lambda out: (out / "report.json").write_text('{"mine": 1}'), "its report.json is not the report of an earlier"),
    (lambda out: (out / "activity.png").write_text("x"), "it holds activity.png but no report.json"),
    (lambda out: (out / "statistics_L.png").write_text("x"), "it holds statistics_L.png but no report.json"),
    (lambda out: (out / "report.json").symlink_to(out.parent / "elsewhere.json"), "report.json' is a symlink"),
    (lambda out: (out / "activity.png").mkdir(), "activity.png' is not a regular file"),
])
def test_network_out_never_clobbers_other_files(tmp_path, capsys, setup, message):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere.json").write_text("precious")
    setup(out)
    before = {p.name: (p.read_bytes() if p.is_file() else None) for p in out.iterdir()}
    status, _, err = run_cli(capsys, "network", write(tmp_path, NETWORK), "--out", out)
    line = one_line(err)
    assert status == 2 and line.startswith("neuromorph: error: --out: ") and message in line, line
    assert {p.name: (p.read_bytes() if p.is_file() else None) for p in out.iterdir()} == before
    assert (tmp_path / "elsewhere.json").read_text() == "precious"


def test_network_out_writes_beside_unrelated_files_and_replaces_its_own_earlier_run(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    path = write(tmp_path, NETWORK)
    for _ in range(2):  # the second run replaces the first's report and figures
        status, _, err = run_cli(capsys, "network", path, "--out", out, "--no-floor", "--codegen", "numpy")
        assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["activity.png", "notes.txt", "report.json", "statistics_L.png"]
    assert (out / "notes.txt").read_text() == "keep"
    assert json.loads((out / "report.json").read_text())["populations"]["L"]


def test_compare_out_follows_the_same_rule(tmp_path, capsys):
    from .conftest import EXAMPLES

    out = tmp_path / "out"
    out.mkdir()
    (out / "compare.png").write_text("someone's figure")
    status, _, err = run_cli(capsys, "compare", EXAMPLES / "squid_hh.toml", "--out", out)
    assert status == 2 and "it holds compare.png but no report.json of an earlier `neuromorph compare` run" in \
        one_line(err)
    assert (out / "compare.png").read_text() == "someone's figure"


# -- 5. weights quantised to zero count as clipped ones do ------------------------------------------------

ZEROED = NETWORK.replace('weight = "6 * mV"', 'weight = { distribution = "lognormal", mean = "1 * mV", std = "50 * mV" }')


def test_weights_quantised_to_zero_are_counted_printed_and_refused_under_strict(tmp_path, capsys):
    path = write(tmp_path, ZEROED)
    common = ["network", path, "--no-floor", "--codegen", "numpy"]
    status, stdout, err = run_cli(capsys, *common, "--out", tmp_path / "a")
    assert status == 0, err
    report = json.loads((tmp_path / "a" / "report.json").read_text())["projections"]["noise_to_L"]
    zeroed = report["weights_zeroed"]
    assert zeroed > 0 and report["weights_clipped"] == 0
    assert re.search(rf"projection noise_to_L: {zeroed} nonzero weights \(of \d+ synapses\) quantised to 0", stdout)
    status, _, err = run_cli(capsys, *common, "--out", tmp_path / "b", "--strict")
    assert status == 3 and f"{zeroed} nonzero weights" in one_line(err)
    status, stdout, err = run_cli(capsys, "export", path, "--out", tmp_path / "c", "--codegen", "numpy")
    assert status == 0 and f"projection noise_to_L: 0 weights clipped, {zeroed} nonzero weights quantised to 0" in stdout
    assert json.loads((tmp_path / "c" / "resources.json").read_text())["projections"][0]["zeroed_weights"] == zeroed


# -- 6. every error about a network file names the file -------------------------------------------------

@pytest.mark.parametrize("source, field, located", [
    ("projection 'x'", "delay", "net.toml:projections.x.delay: m"),
    ("projection 'x'", "norm", "net.toml:projections.x: norm: m"),
    ("population 'L' as Lava's LIF", "threshold", "net.toml:populations.L.threshold: m"),
    ("LIF 'L'", "du", "net.toml:populations.L: du: m"),
    ("reference", None, "net.toml:populations: m"),
    ("network", "populations.L", "net.toml:populations.L: m"),
    ("network:populations.L", "neuron.equations", "net.toml:populations.L.equations: m"),
    (None, "populations.L.equations", "net.toml:populations.L.equations: m"),
    (None, "lut_size", "--lut-size: m"),
    (None, "--window", "--window: m"),
    ("/elsewhere/model.toml", "neuron.threshold", "/elsewhere/model.toml:neuron.threshold: m"),
])
def test_errors_of_the_lowering_are_located_in_the_network_file(source, field, located):
    """They used to print ``projection 'x':delay``, ``network:populations.L:neuron.equations`` or
    ``reference: Brian2 run failed`` without the file."""
    from neuromorph.cli.network import in_network_file

    assert str(in_network_file(InputError("m", source, field), "net.toml")) == located


def test_a_parameter_that_divides_by_zero_is_refused_before_the_run_not_an_internal_error(tmp_path, capsys):
    """tau_v = 0 ended in 'internal error: TypeError: Cannot convert complex to float'."""
    path = write(tmp_path, NETWORK.replace('tau_v = "10 * ms"', 'tau_v = "0 * ms"'))
    status, _, err = run_cli(capsys, "network", path, "--out", tmp_path / "out")
    assert status == 2 and f"{path}:populations.L.equations: cannot lower 'dv/dt = (-v + I) / tau_v': a coefficient " \
                           "is infinite or undefined" in one_line(err) and "reference: Brian2" not in err


# -- the Python API: neuromorph exceptions naming the object -------------------------------------------

def _group(name="G", eqs="dv/dt = -v/(10*ms) : volt", **kw):
    import brian2 as b

    return b.NeuronGroup(3, eqs, threshold="v > 10*mV", reset="v = 0*mV", name=name, **kw)


def _api_cases():
    import brian2 as b

    from neuromorph.network import build_lava, compare, from_brian2, load_lava

    def spec(**kw):
        return from_brian2(_group(**kw), duration=2 * b.ms)

    def with_value(setup):
        group = _group()
        setup(group)
        return from_brian2(group, duration=2 * b.ms)

    def weights(value):
        source = b.PoissonGroup(4, 50 * b.Hz, name="P")
        group = _group()
        synapses = b.Synapses(source, group, "w : volt", on_pre="v += w", name="S")
        synapses.connect()
        synapses.w = value
        return from_brian2(source, group, synapses, duration=2 * b.ms)

    nan, inf = float("nan"), float("inf")
    return {
        "duration negative": (lambda: from_brian2(_group(), duration=-1 * b.ms), "from_brian2:duration: must be a "
                                                                                 "positive number of seconds"),
        "duration without unit": (lambda: from_brian2(_group(), duration=5), "from_brian2:duration: must be a Brian2"),
        "duration in volts": (lambda: from_brian2(_group(), duration=5 * b.mV), "from_brian2:duration: must be a "
                                                                                "Brian2 time"),
        "duration of 1e300 s": (lambda: from_brian2(_group(), duration=1e300 * b.second),
                                "from_brian2:simulation.duration: 1e+300 s at dt"),
        "duration NaN": (lambda: from_brian2(_group(), duration=nan * b.second), "from_brian2:duration: must be a "
                                                                                 "positive"),
        "dt 0": (lambda: from_brian2(_group(), duration=5 * b.ms, dt=0 * b.ms), "from_brian2:dt: must be a positive"),
        "seed negative": (lambda: from_brian2(_group(), duration=5 * b.ms, seed=-1), "from_brian2:seed: must be a seed"),
        "seed 2^40": (lambda: from_brian2(_group(), duration=5 * b.ms, seed=2 ** 40), "from_brian2:seed: must be a "
                                                                                      "seed"),
        "seed a string": (lambda: from_brian2(_group(), duration=5 * b.ms, seed="1"), "from_brian2:seed: must be an "
                                                                                      "integer"),
        "voltage unknown": (lambda: from_brian2(_group(), duration=5 * b.ms, voltage="nope"),
                            "NeuronGroup 'G': voltage 'nope' is not a differential equation"),
        "voltage of a group not given": (lambda: from_brian2(_group(), duration=5 * b.ms, voltage={"X": "v"}),
                                         "from_brian2:voltage: names ['X'], which are not NeuronGroups given"),
        "nothing": (lambda: from_brian2(duration=5 * b.ms), "from_brian2:objects: nothing to read"),
        "a string": (lambda: from_brian2("G", duration=5 * b.ms), "objects of type str are not supported"),
        "a GSL method": (lambda: spec(method="gsl"), "NeuronGroup 'G':method: Brian2's gsl needs the GNU Scientific"),
        "exact on a quadratic": (lambda: spec(eqs="dv/dt = (v**2/(10*mV) - v)/(10*ms) : volt", method="exact"),
                                 "NeuronGroup 'G':method: Brian2's exact cannot integrate"),
        "a NaN constant": (lambda: spec(eqs="dv/dt = -v/tau : volt", namespace={"tau": nan * b.ms}),
                           "NeuronGroup 'G':namespace.tau: must be finite"),
        "a NaN initial value": (lambda: with_value(lambda g: setattr(g, "v", nan * b.mV)),
                                "NeuronGroup 'G':v: must be finite"),
        "an infinite weight": (lambda: weights(inf * b.mV), "Synapses 'S':weights: must be finite"),
        "a spike at 3e9 steps": (lambda: from_brian2(b.SpikeGeneratorGroup(1, [0], [3e5] * b.second, name="SG"),
                                                     _group(), duration=5 * b.ms),
                                 "from_brian2:sources.SG.times_s: spike time 300000 s is step 3e+09"),
        "compare: tau 0, before the reference": (
            lambda: compare(spec(eqs="dv/dt = -v/tau : volt", namespace={"tau": 0 * b.ms})),
            "populations.G.equations: cannot lower 'dv/dt = -v/tau': a coefficient is infinite"),
        "compare: unknown target": (lambda: compare(spec(), target="loihi9"), "unknown target 'loihi9'"),
        "compare: backend gpu": (lambda: compare(spec(), backend="gpu"), "backend: must be one of"),
        "compare: window -1": (lambda: compare(spec(), window=-1), "window: must be a finite time"),
        "compare: an unknown option": (lambda: compare(spec(), colour="red"), "unknown option(s) ['colour']"),
        "build_lava: unknown target": (lambda: build_lava(spec(), "loihi9"), "unknown target 'loihi9'"),
        "load_network_file: seed True": (lambda: load_network_file(EXAMPLES / "networks" / "lif_net.toml", seed=True),
                                         "lif_net.toml:--network-seed: must be a seed"),
        "load_network_file: a directory": (lambda: load_network_file(EXAMPLES), "is a directory, not a file"),
        "load_lava: no export there": (lambda: load_lava(EXAMPLES / "nowhere"), "manifest.json: file not found"),
        "load_lava: a file": (lambda: load_lava(EXAMPLES / "squid_hh.toml"), "manifest.json: a component of the path"),
    }


@pytest.mark.parametrize("name", ["duration negative", "duration without unit", "duration in volts",
                                  "duration of 1e300 s", "duration NaN", "dt 0", "seed negative", "seed 2^40",
                                  "seed a string", "voltage unknown", "voltage of a group not given", "nothing",
                                  "a string", "a GSL method", "exact on a quadratic", "a NaN constant",
                                  "a NaN initial value", "an infinite weight", "a spike at 3e9 steps",
                                  "compare: tau 0, before the reference", "compare: unknown target",
                                  "compare: backend gpu", "compare: window -1", "compare: an unknown option",
                                  "build_lava: unknown target", "load_network_file: seed True",
                                  "load_network_file: a directory", "load_lava: no export there", "load_lava: a file"])
def test_the_python_api_raises_neuromorph_errors_naming_the_object(name, brian2_numpy_target):
    import brian2 as b

    from neuromorph.errors import NeuromorphError

    b.start_scope()
    call, message = _api_cases()[name]
    with pytest.raises(NeuromorphError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


# -- memory before drawing: every-pair rules and replayed spike rasters ------------------------------------

@pytest.mark.parametrize("command", ["network", "export"])
@pytest.mark.parametrize("edits, message", [
    ([("size = 4", "size = 2000"), ("size = 5", "size = 2000")],
     "net.toml:projections.noise_to_L.connect.rule: probability over 2,000 x 2,000 pairs needs about 0.1 GB while "
     "connecting, but 0.1 GB are available"),
    ([("size = 4", "size = 3000"), ("size = 5", "size = 3000"),
      ('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "all_to_all" }')],
     "net.toml:projections.noise_to_L.connect.rule: all_to_all over 3,000 x 3,000 pairs"),
    ([("size = 5", "size = 1000000"), ('duration = "3 * ms"', 'duration = "100 * ms"'),
      ('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "explicit", i = [0], j = [0] }')],
     "net.toml:simulation.duration: the run needs about 2 GB of memory"),
])
def test_a_network_too_large_to_connect_or_replay_is_refused_before_allocating(tmp_path, capsys, monkeypatch, command,
                                                                                edits, message):
    """A probability rule draws one number per pair of neurons: 10^5 x 10^5 neurons asked for 80 GB before
    any check; a Poisson source's replayed raster (steps x trains) was not counted by the memory check."""
    monkeypatch.setattr("neuromorph.resources_check.available_memory", lambda: 10 ** 8)
    text = NETWORK
    for old, new in edits:
        text = text.replace(old, new)
    status, _, err = run_cli(capsys, command, write(tmp_path, text), "--out", tmp_path / "out")
    assert status == 2 and message in one_line(err), err
