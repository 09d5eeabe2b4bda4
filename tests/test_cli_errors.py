"""Bad input: one-line errors naming file and field, exit status 2, no traceback."""
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

