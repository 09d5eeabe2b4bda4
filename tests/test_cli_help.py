"""``neuromorph --version`` and ``--help``: the version from the package metadata, every option's default stated."""
import argparse
import subprocess
import sys
from importlib.metadata import version

import pytest

from neuromorph.cli import build_parser, main


def parsers(parser: argparse.ArgumentParser, name: str = "neuromorph"):
    """``(name, parser)`` of ``parser`` and every sub-command below it."""
    yield name, parser
    for action in parser._actions:  # argparse has no public way to list sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for child, sub in action.choices.items():
                yield from parsers(sub, f"{name} {child}")


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"neuromorph {version('neuromorph')}"


def test_version_through_the_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "neuromorph.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"neuromorph {version('neuromorph')}"


ALL = dict(parsers(build_parser()))


def test_every_command_is_registered():
    assert set(ALL) >= {f"neuromorph {c}" for c in ("compare", "lower", "tune", "sweep", "network", "export",
                                                   "biophys", "biophys nernst", "biophys ghk", "biophys donnan")}


@pytest.mark.parametrize("command", sorted(ALL))
def test_every_option_states_its_default(command):
    parser = ALL[command]
    formatter = parser._get_formatter()
    missing = []
    for action in parser._actions:
        if not action.option_strings or action.default is argparse.SUPPRESS:
            continue  # positional arguments (required) and --help/--version
        text = formatter._expand_help(action) if action.help else ""
        if "default" not in text and "(required)" not in text:
            missing.append(f"{'/'.join(action.option_strings)}: {text!r}")
    assert missing == []
