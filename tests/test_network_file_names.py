"""A network file refuses every parameter name a model file refuses (issue 17, one data-file stack).

A parameter named like a Brian2 unit (``mV``) once ran: Brian2 read the unit, the lowering the
parameter (Gamma 0.05, exit 0). The names come from Brian2 itself (its default namespace) and
from its documented special variables and Python's keywords, not from neuromorph's own list,
so a name neuromorph forgets fails here.
"""
import keyword
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS

from neuromorph.cli import main
from neuromorph.errors import InputError
from neuromorph.model.model_file import load_model
from neuromorph.network.network_file import load_network_file

from .conftest import squid_toml

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("neuromorph")

NETWORK = '''
[simulation]
dt = "0.1 * ms"
duration = "20 * ms"
seed = 1

[populations.E]
size = 3
equations = "dv/dt = (E_L - v)/tau : volt"
threshold = "v > -50*mV"
reset = "v = -70*mV"
parameters = {{ tau = "10 * ms", E_L = "-65 * mV", {key} = "2 * mV" }}
initial = {{ v = "-65 * mV" }}
'''

#: What each kind of name is, and every name of that kind (TOML bare keys only: '-inf' cannot be one).
KINDS = {
    "unit": sorted(DEFAULT_UNITS),
    "constant": sorted(name for name in DEFAULT_CONSTANTS if name.isidentifier()),
    "function": sorted(DEFAULT_FUNCTIONS),
    "special variable": ["t", "dt", "t_in_timesteps", "i", "N", "xi", "xi_1", "xi_noise", "lastspike",
                         "not_refractory"],
    "Python keyword": sorted(keyword.kwlist),
    "neuromorph name": ["ghk_current", "woodhull_unblocked_fraction", "neuromorph_stimulus"],
}
#: One name of each kind for the command-line runs, mV the case that ran.
REPRESENTATIVES = ["mV", "pi", "exp", "t", "if", "ghk_current"]


def network_file(tmp_path: Path, key: str) -> Path:
    path = tmp_path / f"net_{key}.toml"
    path.write_text(NETWORK.format(key=key))
    return path


def test_an_ordinary_parameter_name_is_accepted(tmp_path):
    path = network_file(tmp_path, "E_x")
    path.write_text(path.read_text().replace("(E_L - v)", "(E_L + E_x - v)"))
    parameters = load_network_file(path).population("E").model.parameters
    assert parameters["E_x"].value == pytest.approx(2e-3) and parameters["tau"].value == pytest.approx(1e-2)


@pytest.mark.parametrize("kind", KINDS)
def test_the_loader_refuses_every_reserved_name_as_the_model_file_does(tmp_path, kind):
    """Every name of the kind: refused for what it is (not merely as unused), naming file and field."""
    names = KINDS[kind]
    assert names
    accepted = []
    for name in names:
        path = network_file(tmp_path, name)
        try:
            load_network_file(path)
        except InputError as exc:
            message = str(exc)
            if not (message.startswith(f"{path}:populations.E.parameters.{name}: ") and message.endswith("rename it")):
                accepted.append((name, message))
        else:
            accepted.append((name, "accepted"))
    assert not accepted, accepted[:5]


@pytest.mark.parametrize("name", ["mV", "t", "lastspike", "if", "neuromorph_stimulus"])
def test_the_model_file_refuses_the_same_names(tmp_path, name):
    path = tmp_path / "model.toml"
    path.write_text(squid_toml().replace('E_Na = "50 * mV"', f'E_Na = "50 * mV"\n{name} = "2 * mV"'))
    with pytest.raises(InputError, match=rf"^{path}:parameters\.{name}: .*rename it$"):
        load_model(path)


def test_a_reserved_name_in_a_population_model_file_is_refused_in_that_file(tmp_path):
    model = tmp_path / "neuron.toml"
    model.write_text(squid_toml().replace('E_Na = "50 * mV"', 'E_Na = "50 * mV"\nmV = 2'))
    network = tmp_path / "net.toml"
    network.write_text('[simulation]\ndt = "0.025 * ms"\nduration = "5 * ms"\n\n'
                       '[populations.axon]\nsize = 2\nmodel = "neuron.toml"\n')
    with pytest.raises(InputError, match=rf"^{model}:parameters\.mV: 'mV' is a Brian2 unit"):
        load_network_file(network)


def check_refused(path: Path, out: Path, name: str, status: int, stdout: str, stderr: str) -> None:
    """One line naming file and field, exit 2, no traceback, nothing written."""
    lines = stderr.strip().splitlines()
    assert status == 2, stderr
    assert len(lines) == 1 and lines[0].startswith(f"neuromorph: error: {path}:populations.E.parameters.{name}: ")
    assert lines[0].endswith("rename it"), lines[0]
    assert "Traceback" not in stderr and stdout == ""
    assert not list(out.glob("**/*.*"))  # refused before any run wrote a result


@pytest.mark.parametrize("name", REPRESENTATIVES)
def test_the_command_refuses_a_reserved_name_with_exit_2(tmp_path, name, capsys):
    """``neuromorph network FILE`` through the CLI's entry function, one name of each kind."""
    path = network_file(tmp_path, name)
    status = main(["network", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    check_refused(path, tmp_path / "out", name, status, captured.out, captured.err)


def test_the_console_script_refuses_mv_with_exit_2(tmp_path):
    """``neuromorph network FILE`` as a user runs it (the installed console script, a process of its own):
    the parameter named ``mV`` that once ran."""
    path = network_file(tmp_path, "mV")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    started = time.perf_counter()
    result = subprocess.run([str(CONSOLE_SCRIPT), "network", str(path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120)
    elapsed = time.perf_counter() - started
    check_refused(path, tmp_path / "out", "mV", result.returncode, result.stdout, result.stderr)
    assert elapsed < 30, elapsed  # importing Brian2 and the CLI, on a loaded 2-core machine; no simulation
