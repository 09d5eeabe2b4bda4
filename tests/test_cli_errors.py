"""Bad input: one-line errors naming file and field, exit status 2, no traceback."""
import json
import os
import subprocess
import sys

import pytest

from neuromorph.cli import main

from .conftest import squid_toml


def run_cli(capsys, *args):
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.err.strip()


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


CASES = {
    "malformed TOML": (lambda t: t.replace("[parameters]", "[parameters"), "malformed TOML"),
    "unknown section": (lambda t: t + "\n[extras]\nx = 1\n", "extras"),
    "unknown key": (lambda t: t.replace("[simulation]", "[simulation]\nspeed = 3"), "simulation.speed"),
    "missing units": (lambda t: t.replace('dt = "0.025 * ms"', "dt = 0.025"), "simulation.dt"),
    "unknown unit": (lambda t: t.replace('"120 * mS/cm**2"', '"120 * mSiemens/cm**2"'), "parameters.g_Na"),
    "non-positive dt": (lambda t: t.replace('dt = "0.025 * ms"', 'dt = "-0.025 * ms"'), "simulation.dt"),
    "wrong dimension": (lambda t: t.replace('E_K = "-77 * mV"', 'E_K = "-77 * ms"'), "E_K"),
    "unlowerable gate": (lambda t: t.replace("beta_n * n : 1", "beta_n * n**2 : 1"), "neuron.equations"),
    "python code": (lambda t: t.replace('"-77 * mV"', "\"__import__('os').system('touch PWNED')\""), "parameters.E_K"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file_gives_one_line_error(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    mutate, field = CASES[case]
    path = write(tmp_path, mutate(squid_toml()))
    status, err = run_cli(capsys, "compare", str(path), "--backend", "emulator", "--out", str(tmp_path / "out"))
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert str(path) in err and field in err
    assert not (tmp_path / "PWNED").exists()


def test_state_bits_above_register_width(tmp_path, capsys):
    path = write(tmp_path, squid_toml())
    status, err = run_cli(capsys, "compare", str(path), "--state-bits", "32", "--out", str(tmp_path / "o"))
    assert status == 2
    assert len(err.splitlines()) == 1 and "state" in err and "24" in err and "loihi2" in err


def test_unknown_target(tmp_path, capsys):
    path = write(tmp_path, squid_toml())
    status, err = run_cli(capsys, "compare", str(path), "--target", "loihi9", "--out", str(tmp_path / "o"))
    assert status == 2 and "loihi9" in err and len(err.splitlines()) == 1


def test_missing_file(tmp_path, capsys):
    status, err = run_cli(capsys, "compare", str(tmp_path / "nope.toml"))
    assert status == 2 and "nope.toml" in err


def test_debug_shows_the_traceback(tmp_path):
    path = write(tmp_path, squid_toml().replace('dt = "0.025 * ms"', "dt = 0.025"))
    plain = subprocess.run([sys.executable, "-m", "neuromorph.cli", "compare", str(path)],
                           capture_output=True, text=True)
    debug = subprocess.run([sys.executable, "-m", "neuromorph.cli", "--debug", "compare", str(path)],
                           capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert "neuromorph: error:" in plain.stderr
    assert debug.returncode != 0 and "Traceback" in debug.stderr



def _run_in_fresh_tmpdir(tmp_path, *args):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "neuromorph.cli", *args], capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": str(scratch)}, cwd=tmp_path)
    return result, sorted(p.name for p in scratch.iterdir())


@pytest.mark.parametrize("debug", [False, True])
def test_no_brian2_banner_and_no_temporary_files_left(tmp_path, debug):
    path = write(tmp_path, squid_toml().replace('E_Na = "50 * mV"', 'E_Na = "50 * mV / 0"'))
    result, left = _run_in_fresh_tmpdir(tmp_path, *(["--debug"] if debug else []), "compare", str(path),
                                        "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Brian 2 encountered" not in result.stderr and "please report" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("neuromorph: error:")
    assert ("Traceback" in result.stderr) == debug
    assert left == []  # Brian2's debug log and script copy are removed


def test_argument_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "m.toml", "--seed", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--seed" in err and "invalid int value" in err


def test_report_json_is_strict_even_with_non_finite_values(tmp_path):
    from neuromorph.cli.options import write_json

    text = write_json(tmp_path / "r.json", {"gamma": float("nan"), "x": [float("inf"), 1.0], "y": {"z": -float("inf")}})
    assert json.loads((tmp_path / "r.json").read_text()) == {"gamma": None, "x": [None, 1.0], "y": {"z": None}}
    assert "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_one_line_without_banner_or_temporary_files(tmp_path, debug):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = ("import sys, brian2, neuromorph.cli as cli, neuromorph.cli.neuron as neuron\n"
            "def broken(args):\n    raise ZeroDivisionError('a bug')\n"
            "neuron.run_compare_command = broken\n"
            f"sys.exit(cli.main({(['--debug'] if debug else []) + ['compare', 'm.toml']!r}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": str(scratch)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "Brian 2 encountered" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "neuromorph: error: internal error: ZeroDivisionError: a bug (a bug in neuromorph or a library it uses; "
        "run with --debug for the traceback)")
    assert ("Traceback" in result.stderr) == debug
    assert list(scratch.iterdir()) == []
