"""The adversarial run of issue 10: every bad input refused early and clearly.

Each case runs the real CLI in-process and must give exit status 2, at most 3 lines on
stderr naming the file and field, no traceback, in under 5 s, and never start a
simulation (Brian2's ``Network.run`` is replaced by a tripwire that fails the run).
"""
import os
import time

import brian2
import pytest

from neuromorph.cli import main

from .conftest import squid_toml

SQUID = squid_toml(duration="20 * ms", neurons=2)
PHYSIOLOGY = '''
[temperature]
celsius = 6.3

[ions]
K = { z = 1, inside = "400 * mM", outside = "20 * mM" }
'''


class SimulationStarted(BaseException):
    """Raised by the tripwire; not an Exception, so nothing on the way turns it into a message."""


@pytest.fixture
def tripwire(monkeypatch):
    """Any Brian2 simulation aborts the test, so a refusal must come before it."""
    def run(*args, **kwargs):
        raise SimulationStarted("a Brian2 simulation started")
    monkeypatch.setattr(brian2.Network, "run", run)


def refuse(capsys, argv, *expected):
    """Run the CLI; check status 2, at most 3 short lines naming ``expected``, within 5 s."""
    started = time.perf_counter()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own refusals (one line, see cli.CommandParser)
        status = exc.code
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert 1 <= len(err.splitlines()) <= 3, err
    assert "Traceback" not in err and "please report" not in err
    assert len(err) < 1500, err[:300]
    for text in expected:
        assert str(text) in err, err
    assert elapsed < 5, elapsed
    return err


def model_file(tmp_path, text=SQUID, name="model.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old, new, text=SQUID):
    assert old in text, old
    return text.replace(old, new)


def compare_args(model, tmp_path, *extra):
    return ["compare", model, "--backend", "emulator", "--out", tmp_path / "out", *extra]


# ---------------------------------------------------------------------------------------
# Tracebacks where exit 2 belongs
# ---------------------------------------------------------------------------------------

MODEL_EDITS = {
    "huge exponent literal": (('"50 * mV"', '"1e999 * mV"'), "parameters.E_Na"),
    "division by zero": (('"50 * mV"', '"50 * mV / 0"'), "parameters.E_Na"),
    "TOML inf": (('E_Na = "50 * mV"', "E_Na = inf"), "parameters.E_Na"),
    "TOML nan": (('E_Na = "50 * mV"', "E_Na = nan"), "parameters.E_Na"),
    "4000-digit literal": (('"50 * mV"', '"' + "9" * 4000 + ' * mV"'), "parameters.E_Na"),
    "100,000 unary minus signs": (('"50 * mV"', '"' + "-" * 100_000 + '50 * mV"'), "parameters.E_Na"),
    "chain of 100,000 * 1": (('"50 * mV"', '"50 * mV' + " * 1" * 100_000 + '"'), "parameters.E_Na"),
    "deep parentheses": (('"50 * mV"', '"' + "(" * 250 + "50" + ")" * 250 + ' * mV"'), "parameters.E_Na"),
    "deep nesting": (('"50 * mV"', '"' + "-" * 40 + '50 * mV"'), "parameters.E_Na"),
    "negative stimulus seed": (("seed = 3", "seed = -1"), "stimulus.seed"),
    "seed beyond 32 bits": (("seed = 3", "seed = 9223372036854775807"), "stimulus.seed"),
    "empty reversal": (("[initial]", PHYSIOLOGY + '\n[reversal]\nE_X = ""\n\n[initial]'), "reversal.E_X"),
    "NaN permeability": (("[initial]", PHYSIOLOGY + '\n[reversal]\nE_X = "ghk K=nan"\n\n[initial]'), "reversal.E_X"),
    "zero permeabilities": (("[initial]", PHYSIOLOGY + '\n[reversal]\nE_X = "ghk K=0"\n\n[initial]'), "reversal.E_X"),
    "infinite temperature": (("[initial]", PHYSIOLOGY.replace("6.3", "inf") + "\n[initial]"), "temperature.celsius"),
    "integer as text": (("neurons = 2", 'neurons = "2"'), "simulation.neurons"),
    "boolean as number": (("neurons = 2", "neurons = true"), "simulation.neurons"),
    "unknown stimulus kind": (('kind = "ou"', 'kind = "sine"'), "stimulus.kind"),
    "key of the other stimulus kind": (('kind = "ou"', 'kind = "ou"\namplitude = "1 * uA/cm**2"'), "stimulus.amplitude"),
    "unknown Brian2 method": (("neurons = 2", 'neurons = 2\nmethod = "magic"'), "simulation.method"),
}


@pytest.mark.parametrize("case", sorted(MODEL_EDITS))
def test_bad_model_values_are_refused(tmp_path, capsys, tripwire, case):
    (old, new), field = MODEL_EDITS[case]
    path = model_file(tmp_path, edited(old, new))
    refuse(capsys, compare_args(path, tmp_path), path, field)


def _latin1(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(SQUID.replace('name = "squid_test"', 'name = "caf\xe9"').encode("latin-1"))
    return path


def _binary(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def _directory(tmp_path):
    path = tmp_path / "dir.toml"
    path.mkdir()
    return path


def _symlink_loop(tmp_path):
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    return tmp_path / "a.toml"


def _oversized(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(SQUID.replace('"50 * mV"', '"' + "x" * 10_000_000 + '"'))
    return path


BAD_FILES = {"Latin-1": (_latin1, "UTF-8"), "binary": (_binary, "binary"), "directory": (_directory, "directory"),
             "symlink loop": (_symlink_loop, "symbolic links"), "10 MB": (_oversized, "1,000,000 bytes"),
             "/dev/zero": (lambda tmp_path: "/dev/zero", "not a regular file")}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("role", ["model", "target", "config"])
def test_files_that_are_not_small_utf8_text_are_refused(tmp_path, capsys, tripwire, kind, role):
    make, words = BAD_FILES[kind]
    bad = make(tmp_path)
    model = model_file(tmp_path)
    argv = {"model": compare_args(bad, tmp_path),
            "target": compare_args(model, tmp_path, "--target", bad),
            "config": compare_args(model, tmp_path, "--config", bad)}[role]
    refuse(capsys, argv, bad, words)


def test_a_byte_order_mark_is_tolerated(tmp_path):
    from neuromorph.model.model_file import load_model

    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SQUID.encode())
    assert load_model(path).spec.name == "squid_test"


@pytest.mark.parametrize("option, value", [
    ("--seed", "-1"), ("--seed", str(2**64)), ("--stimulus-seed", "-5"), ("--headroom", "inf"),
    ("--headroom", "nan"), ("--headroom", "0"), ("--window", "inf"), ("--window", "nan"), ("--window", "-2"),
    ("--state-bits", "-3"), ("--lut-size", "0"),
])
def test_bad_compare_options_are_refused(tmp_path, capsys, tripwire, option, value):
    refuse(capsys, compare_args(model_file(tmp_path), tmp_path, option, value), option)


@pytest.mark.parametrize("option, value", [
    ("--workers", "-1"), ("--workers", "0"), ("--seeds", "0"), ("--seeds", "100000"), ("--bits", "14-10"),
    ("--bits", "8-100000000"), ("--bits", "-3-5"), ("--bits", "twelve"), ("--lut-sizes", "0,64"),
    ("--roundings", "nearest,magic"), ("--window", "inf"),
])
@pytest.mark.parametrize("command", ["tune", "sweep"])
def test_bad_search_options_are_refused(tmp_path, capsys, tripwire, command, option, value):
    refuse(capsys, [command, model_file(tmp_path), "--target", "generic16", "--out", tmp_path / "o", option, value],
           option)


@pytest.mark.parametrize("value", ["nan", "2", "-inf"])
def test_bad_min_gamma_is_refused(tmp_path, capsys, tripwire, value):
    refuse(capsys, ["tune", model_file(tmp_path), "--out", tmp_path / "o", "--min-gamma", value], "--min-gamma")


def test_out_that_is_a_file_is_refused_before_running(tmp_path, capsys, tripwire):
    existing = tmp_path / "report"
    existing.write_text("not a directory")
    refuse(capsys, ["compare", model_file(tmp_path), "--out", existing], "--out", "not a directory")
    refuse(capsys, ["sweep", model_file(tmp_path), "--out", existing], "--out", "not a directory")


def test_out_that_cannot_be_written_is_refused_before_running(tmp_path, capsys, tripwire):
    refuse(capsys, ["compare", model_file(tmp_path), "--out", "/proc/neuromorph-out"], "--out", "cannot write")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_out_is_refused_before_running(tmp_path, capsys, tripwire):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    refuse(capsys, ["compare", model_file(tmp_path), "--out", locked / "sub"], "--out")


# ---------------------------------------------------------------------------------------
# Wrong answers with exit 0
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mV", "ms", "pi", "exp", "t", "dt", "i", "N", "ghk_current", "xi", "e"])
def test_parameters_may_not_shadow_brian2_names(tmp_path, capsys, tripwire, name):
    path = model_file(tmp_path, edited('E_Na = "50 * mV"', f'E_Na = "50 * mV"\n{name} = 2'))
    refuse(capsys, compare_args(path, tmp_path), path, f"parameters.{name}", "rename")


def test_reversal_names_may_not_shadow_brian2_names(tmp_path, capsys, tripwire):
    path = model_file(tmp_path, edited("[initial]", PHYSIOLOGY + '\n[reversal]\nmV = "nernst K"\n\n[initial]'))
    refuse(capsys, compare_args(path, tmp_path), path, "reversal.mV")


# ---------------------------------------------------------------------------------------
# Unbounded resources
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, field", [
    ("neurons = 2", "neurons = 1e9", "simulation.neurons"),
    ("neurons = 2", "neurons = 1000000000", "simulation.neurons"),
    ("neurons = 2", "neurons = 5000000", "simulation.neurons"),
    ('duration = "20 * ms"', 'duration = "1e5 * second"', "simulation.duration"),
    ('duration = "20 * ms"', 'duration = "1e300 * second"', "simulation.duration"),
    ('dt = "0.025 * ms"', 'dt = "1e-9 * ms"', "simulation.duration"),
    ("n**4", "n**1000000000", "neuron.equations"),
    ("n**4", "n**(10**9)", "neuron.equations"),
])
def test_runs_too_large_for_the_machine_are_refused(tmp_path, capsys, tripwire, old, new, field):
    path = model_file(tmp_path, edited(old, new))
    refuse(capsys, compare_args(path, tmp_path), path, field)


def test_search_memory_is_checked_before_the_references(tmp_path, capsys, tripwire):
    path = model_file(tmp_path, edited('duration = "20 * ms"', 'duration = "1e4 * second"'))
    refuse(capsys, ["sweep", path, "--target", "generic16", "--out", tmp_path / "o"], path, "simulation.duration")


def test_memory_estimate_follows_the_grid():
    from neuromorph.errors import InputError
    from neuromorph.resources_check import check_memory, compare_estimate

    small = compare_estimate(1000, 10, 5, lava=False)
    assert compare_estimate(2000, 10, 5, lava=False).total == pytest.approx(2 * small.total)
    assert compare_estimate(1000, 10, 5, lava=True).total > small.total
    check_memory(small, "m.toml", "simulation.duration", "shorten it", available=10**9)
    with pytest.raises(InputError, match="m.toml:simulation.duration: the run needs about"):
        check_memory(small, "m.toml", "simulation.duration", "shorten it", available=10**5)


def test_workers_are_bounded_by_cores_and_tasks():
    from neuromorph.tuning import usable_cores, worker_count

    assert worker_count(40, 2) <= 2
    assert worker_count(40, 1000) == usable_cores()
    assert worker_count(None, 3) == min(3, usable_cores())


# ---------------------------------------------------------------------------------------
# Misleading messages
# ---------------------------------------------------------------------------------------

def test_a_gate_named_v_when_the_voltage_is_u_is_a_gate(tmp_path):
    """It used to be blamed on linearity; the IR's voltage symbol cannot clash with a model's names now."""
    from neuromorph.model.model_file import load_model

    text = SQUID.replace("dv/dt", "du/dt").replace("(v - E", "(u - E").replace("[neuron]", '[neuron]\nvoltage = "u"')
    text = text.replace("(v +", "(u +").replace('v = "-65 * mV"', 'u = "-65 * mV"').replace("v > -20", "u > -20")
    text = text.replace("dm/dt = alpha_m * (1 - m) - beta_m * m", "dv/dt = alpha_m * (1 - v) - beta_m * v")
    text = text.replace("m**3", "v**3")
    spec = load_model(model_file(tmp_path, text)).spec
    assert spec.voltage == "u" and [g.name for g in spec.gates] == ["v", "h", "n"]
    assert {t.monomial for t in spec.voltage_equation.terms} >= {(("v", 3), ("h", 1))}


def test_a_huge_value_is_not_echoed_whole(tmp_path, capsys, tripwire):
    path = model_file(tmp_path, edited('"50 * mV"', '"' + "x" * 900_000 + '"'))
    err = refuse(capsys, compare_args(path, tmp_path), path, "parameters.E_Na", "900,000 characters")
    assert len(err) < 600


def test_a_nan_reversal_potential_is_refused_where_it_is_written(tmp_path, capsys, tripwire):
    path = model_file(tmp_path, edited('E_L = "-54.387 * mV"', "E_L = nan"))
    err = refuse(capsys, compare_args(path, tmp_path), path, "parameters.E_L", "finite")
    assert "I_inj" not in err


def test_negative_integer_powers_run_and_equal_the_plain_spelling(tmp_path, capsys):
    import json

    reports = []
    for spelling in ('"120 * mS/cm**2"', '"120 * 10**-3 * S/cm**2"'):
        path = model_file(tmp_path, edited('"120 * mS/cm**2"', spelling))
        assert main(["compare", str(path), "--backend", "emulator", "--json", "--out", str(tmp_path / "o")]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    for key in ("formats", "rates_hz", "gamma", "spike_time_error_ms", "v_rmse_mV", "saturations"):
        assert reports[0][key] == reports[1][key], key
