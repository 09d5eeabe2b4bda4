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
