"""The network surface hardened (issue 21): ``export`` writes only its own files, atomically, and never
through a symlink; bad network inputs are refused in one line before any run; silent wrong answers of
``from_brian2``, spike-time replay and re-hashed exports are refused or fixed; ``from_brian2`` raises
neuromorph exceptions naming the Brian2 object."""
import hashlib
import json
import os
import shutil
import time

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.network.export import ExportFileError, check_export_output, export_network, load_export
from neuromorph.network.lower import lower_network, recorded_variables
from neuromorph.network.network_file import load_network_file
from neuromorph.network.reference import Recording, replay_sources, run_network_brian2
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.targets import load_target

#: A small network: one LIF population in equations, a Poisson source, a delayed projection.
NETWORK = '''
[simulation]
dt = "0.1 * ms"
duration = "3 * ms"
seed = 2

[populations.L]
size = 4
equations = """
dv/dt = (-v + I) / tau_v : volt
dI/dt = -I / tau_I : volt
"""
threshold = "v > 10*mV"
reset = "v = 0*mV"
parameters = { tau_v = "10 * ms", tau_I = "5 * ms" }
initial = { v = { distribution = "uniform", low = "0 * mV", high = "10 * mV" } }

[sources.noise]
kind = "poisson"
size = 5
rate = "500 * Hz"

[projections.noise_to_L]
source = "noise"
target = "L"
connect = { rule = "probability", p = 0.8 }
weight = "6 * mV"
delay = "0.5 * ms"
effect = "I += w"
'''


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.toml"
    path.write_text(NETWORK)
    spec = load_network_file(path)
    reference = run_network_brian2(spec, codegen="numpy", record=Recording(variables=recorded_variables(spec)))
    target = load_target("loihi2")
    return lower_network(replay_sources(spec, reference), reference, target, QuantConfig.for_target(target))


def _tree(directory):
    return {str(p.relative_to(directory)): (p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink()
                                            else None) for p in sorted(directory.rglob("*"))}


# -- export: only its own files, atomically, never through a symlink ------------------------------

def test_export_into_a_directory_with_unrelated_files_is_refused_and_leaves_them_untouched(lowered, tmp_path):
    """Decision: a non-empty directory that is not an earlier export is refused (nothing is deleted or
    overwritten), including unrelated ``arrays/*.npy`` files the old export used to delete."""
    out = tmp_path / "out"
    (out / "arrays").mkdir(parents=True)
    (out / "arrays" / "mine.npy").write_bytes(b"precious")
    (out / "notes.txt").write_text("keep")
    before = _tree(out)
    with pytest.raises(ExportFileError, match=r"^--out: .*not an earlier export.*never deletes other files"):
        export_network(lowered, out)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary directory left behind


def test_a_symlink_in_the_output_directory_is_refused_and_not_followed(lowered, tmp_path):
    export_network(lowered, tmp_path / "out")
    outside = tmp_path / "outside.npy"
    outside.write_bytes(b"outside")
    listed = json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]
    name = next(n for n in listed if n.startswith("arrays/"))
    (tmp_path / "out" / name).unlink()
    (tmp_path / "out" / name).symlink_to(outside)
    with pytest.raises(ExportFileError, match="--out: .*symlink"):
        export_network(lowered, tmp_path / "out")
    assert outside.read_bytes() == b"outside" and (tmp_path / "out" / name).is_symlink()


def test_an_output_that_is_a_symlink_is_refused(lowered, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ExportFileError, match="--out: .*is a symlink"):
        export_network(lowered, tmp_path / "link")
    assert not any((tmp_path / "real").iterdir())


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_output_path_is_refused(out, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportFileError, match="^--out: is empty"):
        check_export_output(out)
    assert not any(tmp_path.iterdir())


def test_an_output_name_too_long_for_the_file_system_is_refused(tmp_path):
    with pytest.raises(ExportFileError, match="^--out: .*cannot be written: File name too long"):
        check_export_output(tmp_path / ("x" * 300))


def test_export_replaces_an_earlier_export_as_a_whole_and_an_empty_directory(lowered, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    export_network(lowered, out, extra={"resources.json": "{}"})
    (out / "arrays" / "p0_initial.npy").exists()
    first = _tree(out)
    export_network(lowered, out)  # an earlier export: replaced, resources.json of the old one removed
    assert set(_tree(out)) == set(first) - {"resources.json"}
    load_export(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_export_that_fails_midway_leaves_the_output_as_it_was(lowered, tmp_path, monkeypatch):
    from neuromorph.network import export as export_module

    out = tmp_path / "out"
    export_network(lowered, out)
    before = _tree(out)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "_file_entry", broken)
    with pytest.raises(OSError):
        export_network(lowered, out)
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def run_cli(capsys, *args):
    started = time.perf_counter()
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip(), time.perf_counter() - started


def test_cli_export_refuses_an_output_it_cannot_own_before_any_run(tmp_path, capsys):
    net = tmp_path / "net.toml"
    net.write_text(NETWORK)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "a.txt").write_text("a")
    for out in ["", tmp_path / "busy"]:
        status, _, err, seconds = run_cli(capsys, "export", net, "--out", out)
        assert status == 2 and err.startswith("neuromorph: error: --out: ") and "\n" not in err and seconds < 5
    assert (tmp_path / "busy" / "a.txt").read_text() == "a"
