"""``neuromorph export``: a network file lowered, written as data and loadable; its resource report printed;
mistakes refused with one line and exit status 2."""
import json

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.network.emulator import run_network
from neuromorph.network.export import load_export
from neuromorph.targets import targets_dir

from .conftest import small_network

NETWORK = small_network("20 * ms", seed=2, size=10, trains=20, rate="100 * Hz", p=0.5)


@pytest.fixture
def network_file(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(NETWORK)
    return path


def run_cli(capsys, *args):
    status = main([str(a) for a in args] + (["--codegen", "numpy"] if args[0] == "export" else []))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


def test_export_writes_a_loadable_network_and_prints_its_resources(tmp_path, capsys, network_file):
    out = tmp_path / "export"
    status, stdout, _ = run_cli(capsys, "export", network_file, "--target", "loihi2", "--out", out, "--state-bits",
                                "16")
    assert status == 0
    lowered = load_export(out)
    assert lowered.target == "loihi2" and lowered.config.state_bits == 16 and lowered.n_steps == 200
    assert lowered.populations[0].kind == "lif"  # a LIF neuron runs on Lava's own LIF
    assert run_network(lowered).populations["L"].spikes.any()
    assert "resources on loihi2" in stdout and "| L | lif | LIF (Lava, Loihi 2) |" in stdout
    assert "fits one chip" in stdout
    resources = json.loads((out / "resources.json").read_text())
    assert resources["totals"]["hardware_neurons"] == 10
    synapses = sum(layer.n_synapses for p in lowered.projections for layer in p.layers)
    assert resources["totals"]["synapses"] == synapses and resources["totals"]["neurons"] == 10
    assert resources["totals"]["synaptic_memory_bits"] == synapses * (8 + 6)  # 8-bit weights, 6-bit delays


def tight_target(tmp_path):
    text = (targets_dir() / "loihi2.toml").read_text()
    text = text.replace("cores_per_chip = 128", "cores_per_chip = 2").replace("neurons_per_core = 1024",
                                                                            "neurons_per_core = 3")
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def test_several_chips_need_multichip(tmp_path, capsys, network_file):
    target = tight_target(tmp_path)
    status, _, err = run_cli(capsys, "export", network_file, "--target", target, "--out", tmp_path / "a")
    assert status == 2 and err.splitlines()[-1].startswith("neuromorph: error: ")
    assert "tiny.toml:cores.cores_per_chip: the network needs 4 cores (L 4)" in err and "--multichip" in err
    assert not (tmp_path / "a" / "manifest.json").exists()
    status, stdout, _ = run_cli(capsys, "export", network_file, "--target", target, "--out", tmp_path / "b",
                                "--multichip", "--json")
    assert status == 0 and json.loads(stdout)["totals"]["chips"] == 2
    assert np.array_equal(load_export(tmp_path / "b").sources[0].spikes.shape, (200, 20))


@pytest.mark.parametrize("args, message", [
    (["--state-bits", "99"], "--state-bits"),
    (["--target", "loihi9"], "unknown target 'loihi9'"),
    (["--rounding", "dither", "--target", "generic16", "--state-bits", "20"], "exceed the generic16 register width"),
])
def test_bad_options_are_refused_before_any_run(tmp_path, capsys, network_file, args, message):
    status, _, err = run_cli(capsys, "export", network_file, "--out", tmp_path / "x", *args)
    assert status == 2 and message in err and err.count("\n") == 0


def test_bad_network_file_and_output_are_refused(tmp_path, capsys, network_file):
    (tmp_path / "file").write_text("")
    status, _, err = run_cli(capsys, "export", network_file, "--out", tmp_path / "file")
    assert status == 2 and "--out" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(NETWORK.replace("size = 10", "size = -1"))
    status, _, err = run_cli(capsys, "export", bad, "--out", tmp_path / "y")
    assert status == 2 and "populations.L.size" in err
