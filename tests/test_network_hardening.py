"""The network surface hardened (issue 21): ``export`` writes only its own files, atomically, and never
through a symlink; bad network inputs are refused in one line before any run; silent wrong answers of
``from_brian2``, spike-time replay and re-hashed exports are refused or fixed; ``from_brian2`` raises
neuromorph exceptions naming the Brian2 object."""
import json
import time
from pathlib import Path

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.errors import InputError
from neuromorph.network.export import ExportFileError, check_export_output, export_network, load_export
from neuromorph.network.network_file import load_network_file

from .conftest import lower_network_text, small_network

#: A small network: one LIF population in equations, a Poisson source, a delayed projection.
NETWORK = small_network("3 * ms", seed=2, size=4, trains=5, rate="500 * Hz", p=0.8)


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    return lower_network_text(tmp_path_factory.mktemp("net"), NETWORK)


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


# -- refused before the run, in one line -----------------------------------------------------------

def _variant(tmp_path, old="", new="", extra=""):
    path = tmp_path / "net.toml"
    path.write_text(NETWORK.replace(old, new) + extra)
    return path


HH_MODEL = str(__import__("tests.conftest", fromlist=["EXAMPLES"]).EXAMPLES / "networks" / "cobahh_neuron.toml")
LIF_NEURON = NETWORK[NETWORK.index('equations = """'):NETWORK.index('[sources.noise]')]


@pytest.mark.parametrize("command", ["network", "export"])
@pytest.mark.parametrize("edit, args, message", [
    (('duration = "3 * ms"', 'duration = "1e6 * second"'), [],
     r"net.toml:simulation.duration: 1e\+06 s at dt = 0.0001 s is 1e\+10 steps; Brian2 counts steps in int32"),
    (("size = 4", "size = 100000"), [], r"net.toml:simulation.duration: the run needs about .* GB of memory .* but "
                                        r"0.1 GB are available"),
    (('duration = "3 * ms"', 'duration = "0.05 * ms"'), [], "net.toml:simulation.duration: 5e-05 s is shorter than one "
                                                          "time step"),
    ((), ["--network-seed", "-1"], "--network-seed: must be a seed from 0 to 4294967295, got -1"),
    ((), ["--network-seed", str(2 ** 32)], "--network-seed: must be a seed from 0 to 4294967295"),
    ((), ["--headroom", "1e-300"], "--headroom: must be a finite factor from 0.01 to 100"),
    (("populations.L]", "populations." + "L" * 300 + "]"), [], "net.toml:populations.LLLL.*: must have at most 64"),
    (('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nmethod = "rk99"'), [], "net.toml:populations.L.method: must be one of"),
    (('effect = "I += w"', 'effect = "tau_v += w"'), [], "net.toml:projections.noise_to_L.effect: 'tau_v \\+= w' is not"),
    ((LIF_NEURON, f'model = "{HH_MODEL}"\n\n'), [], None),  # the HH population's gate (below)
])
def test_bad_network_inputs_are_refused_in_one_line_before_any_run(tmp_path, capsys, monkeypatch, command, edit, args,
                                                                    message):
    monkeypatch.setattr("neuromorph.resources_check.available_memory", lambda: 10 ** 8)
    if message is None:
        edit = (LIF_NEURON, f'model = "{HH_MODEL}"\n\n')
        text = NETWORK.replace(*edit).replace('weight = "6 * mV"', 'weight = "0.1"').replace('"I += w"', '"m += w"')
        message = (r"net.toml:projections.noise_to_L.effect: 'm' of 'L' is a gate or a nonlinear state; a synapse may "
                   r"increment the voltage or a linear state: \['g_e', 'g_i', 'v'\]")
        (tmp_path / "net.toml").write_text(text)
        path = tmp_path / "net.toml"
    else:
        path = _variant(tmp_path, *edit)
    status, stdout, err, seconds = run_cli(capsys, command, path, "--out", tmp_path / "out", *args)
    err = err.splitlines()[-1]
    assert status == 2 and err.startswith("neuromorph: error: "), err
    assert __import__("re").search(message, err), err
    assert seconds < 5 and "reference: Brian2" not in err and not (tmp_path / "out" / "report.json").exists()


def test_a_spike_time_beyond_brians_int32_bins_is_refused_not_delivered_at_zero(tmp_path):
    """Brian2 bins spike times in int32: a spike at 2^31 steps wrapped around and was delivered (and replayed)
    at t = 0; now refused naming the source."""
    path = _variant(tmp_path, extra='\n[sources.cue]\nkind = "spike_times"\nsize = 1\nindices = [0]\n'
                                     'times = ["214748.3648 * second"]\n')
    with pytest.raises(InputError, match=r"net.toml:sources.cue.times_s: spike time 214748 s is step 2.147e\+09 .*"
                                         r"int32 time bins"):
        load_network_file(path)


def test_a_diverging_reference_ends_in_one_line_naming_the_population(tmp_path, capsys):
    path = _variant(tmp_path, 'dv/dt = (-v + I) / tau_v : volt', 'dv/dt = (v**2/mV + I) / tau_v : volt')
    path.write_text(path.read_text().replace('threshold = "v > 10*mV"', 'threshold = "v > 1e300*mV"')
                    .replace('high = "10 * mV"', 'high = "100 * mV"')
                    .replace('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nmethod = "euler"'))
    status, _, err, seconds = run_cli(capsys, "export", path, "--out", tmp_path / "out", "--codegen", "numpy")
    assert status == 2 and "Traceback" not in err and "Warning" not in err and seconds < 5, err
    err = err.splitlines()[-1]
    assert "net.toml:populations.L.equations: the Brian2 reference diverged: v of neuron" in err
    assert not (tmp_path / "out").exists()


# -- from_brian2: no silent loss, neuromorph exceptions naming the object ----------------------------

def _brian2_projection(shared: bool, constructor_delay: bool, per_synapse_delays: bool = False):
    import brian2 as b

    from neuromorph.network import from_brian2

    b.start_scope()
    source = b.PoissonGroup(6, 50 * b.Hz, name="P")
    target = b.NeuronGroup(9, "dv/dt = -v/(10*ms) : volt", threshold="v > 10*mV", reset="v = 0*mV", name="G")
    synapses = b.Synapses(source, target, "w : volt" + (" (shared)" if shared else ""), on_pre="v += w",
                          delay=1 * b.ms if constructor_delay else None, name="S")
    synapses.connect()
    synapses.w = 1 * b.mV
    if per_synapse_delays:
        synapses.delay = "(1 + i) * 0.1 * ms"
    return from_brian2(b.Network(source, target, synapses), duration=5 * b.ms).projections[0]


@pytest.mark.parametrize("shared, constructor_delay, per_synapse_delays", [
    (True, True, False), (True, False, True), (True, False, False), (False, True, False)])
def test_a_shared_weight_keeps_every_synapse(shared, constructor_delay, per_synapse_delays, brian2_numpy_target):
    """A (shared) weight with the delay given to the constructor turned a 54-synapse projection into 1; with
    per-synapse delays it was refused as 'delays_s: has 54 values for 1 synapses' naming no object."""
    projection = _brian2_projection(shared, constructor_delay, per_synapse_delays)
    assert projection.i.size == projection.j.size == 54 and np.all(projection.weights == 1e-3)
    expected = (1 + projection.i) * 1e-4 if per_synapse_delays else np.full(54, 1e-3 if constructor_delay else 0.0)
    assert np.allclose(projection.delays_s, expected)


def test_only_monitors_is_refused_as_input_not_stop_iteration():
    import brian2 as b

    from neuromorph.network import from_brian2

    b.start_scope()
    group = b.NeuronGroup(2, "dv/dt = -v/(10*ms) : volt", threshold="v > 10*mV", reset="v = 0*mV")
    with pytest.raises(InputError, match="^from_brian2:objects: nothing to read"):
        from_brian2(b.SpikeMonitor(group), duration=5 * b.ms)


@pytest.mark.parametrize("on_pre", ["v += 1*mV; u += 1*mV", "v += 1*mV;", "v += (1*mV", "v += 1*mV +", "v += 1*mV)"])
def test_an_on_pre_that_is_not_one_increment_is_refused_naming_the_synapses(on_pre, brian2_numpy_target):
    import brian2 as b

    from neuromorph.network import from_brian2

    b.start_scope()
    group = b.NeuronGroup(2, "dv/dt = -v/(10*ms) : volt\ndu/dt = -u/(10*ms) : volt", threshold="v > 10*mV",
                          reset="v = 0*mV", name="H")
    try:
        synapses = b.Synapses(group, group, on_pre=on_pre, name="S2")
        synapses.connect()
    except Exception:  # noqa: BLE001 - Brian2 itself refuses some of them
        return
    with pytest.raises(InputError, match="^Synapses 'S2': "):
        from_brian2(group, synapses, duration=5 * b.ms)


def test_a_target_with_weights_wider_than_lavas_synapses_is_refused_before_any_run(tmp_path, capsys):
    """generic16 declares 16-bit weights; Lava's synapse processes (and their emulation) clip every weight
    to an 8-bit magnitude, which made ff_hh fire at 2.7 Hz instead of Brian2's 27.8 Hz with no clipping
    counted. Refused in one line, naming the target and the field, before Brian2 runs."""
    from neuromorph.targets import load_target

    assert load_target("generic16").weight_bits > 8
    network = Path(__file__).resolve().parents[1] / "examples" / "networks" / "ff_hh.toml"
    status = main(["network", str(network), "--target", "generic16", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "target generic16:network.weight_bits" in err and "Traceback" not in err
    assert "Brian2 reference" not in err
