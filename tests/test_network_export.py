"""Export of a lowered network as data: loaded back it runs bit for bit like the original, in the
emulator and as a real Lava graph (a lowered HH population and one on Lava's own LIF); a tampered
or inconsistent export is refused by file and field."""
import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest

from neuromorph.network.emulator import NetworkRun, run_network
from neuromorph.lava.graph import read_population, run_graph, run_receiving
from neuromorph.network.export import ExportFileError, export_network, load_export, load_lava
from neuromorph.network.kinds import LoweredProgramPopulation

from .conftest import EXAMPLES, lower_network_text

N_STEPS = 300

#: Two kinds of neuron (HH with a per-neuron bias drive, a current-based LIF in equations), a Poisson and a
#: spike-times source, projections of every Lava kind: delayed dense and sparse, dense, sparse with a
#: multapse (two layers), excitatory and inhibitory weights, two projections into one port.
NETWORK = f'''
[simulation]
dt = "0.1 * ms"
duration = "{N_STEPS * 0.1} * ms"
seed = 3

[populations.E]
size = 12
model = "{EXAMPLES / 'networks' / 'cobahh_neuron.toml'}"
parameters = {{ E_L = "-65 * mV" }}
initial = {{ v = {{ distribution = "uniform", low = "-65 * mV", high = "-50 * mV" }},
            I_bias = {{ distribution = "uniform", low = "0 * nA", high = "0.3 * nA" }} }}

[populations.L]
size = 8
equations = """
dv/dt = (-v + I) / tau_v : volt
dI/dt = -I / tau_I : volt
"""
threshold = "v > 10*mV"
reset = "v = 0*mV"
method = "exact"
parameters = {{ tau_v = "10 * ms", tau_I = "5 * ms" }}
initial = {{ v = {{ distribution = "uniform", low = "0 * mV", high = "10 * mV" }} }}

[sources.noise]
kind = "poisson"
size = 30
rate = "40 * Hz"

[sources.cue]
kind = "spike_times"
size = 2
indices = [0, 1, 0]
times = ["2 * ms", "3 * ms", "10 * ms"]

[projections.noise_to_E]
source = "noise"
target = "E"
connect = {{ rule = "probability", p = 0.3 }}
weight = {{ distribution = "normal", mean = "8 * nS", std = "2 * nS" }}
delay = {{ distribution = "uniform", low = "0.1 * ms", high = "2 * ms" }}
effect = "g_e += w"

[projections.E_to_L]
source = "E"
target = "L"
connect = {{ rule = "all_to_all" }}
weight = "2 * mV"
effect = "I += w"

[projections.L_to_E]
source = "L"
target = "E"
connect = {{ rule = "probability", p = 0.1 }}
weight = "6 * nS"
delay = "1 * ms"
effect = "g_i += w"

[projections.cue_to_L]
source = "cue"
target = "L"
connect = {{ rule = "explicit", i = [0, 0, 1], j = [3, 3, 5] }}
weight = "8 * mV"
effect = "I += w"

[projections.L_rec]
source = "L"
target = "L"
connect = {{ rule = "probability", p = 0.3, autapses = false }}
weight = "1 * mV"
delay = {{ distribution = "uniform", low = "0.5 * ms", high = "3 * ms" }}
effect = "I -= w"
'''


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    return lower_network_text(tmp_path_factory.mktemp("net"), NETWORK)


@pytest.fixture(scope="module")
def exported(lowered, tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    export_network(lowered, directory)
    return directory


def test_the_fixture_covers_every_synapse_kind_and_sign_mode(lowered):
    layers = [layer for p in lowered.projections for layer in p.layers]
    assert {layer.kind for layer in layers} >= {"Dense", "Sparse", "DelayDense", "DelaySparse"}
    assert {layer.sign_mode for layer in layers} >= {"excitatory", "inhibitory"}
    assert len({p.name: p for p in lowered.projections}["cue_to_L"].layers) == 2  # the multapse
    assert any(p.drive.shape[0] for p in lowered.populations if isinstance(p, LoweredProgramPopulation))  # a bias
    assert {p.name: p.kind for p in lowered.populations} == {"E": "lowered", "L": "lif"}  # L runs on Lava's LIF


def _assert_same_data(a, b, where="network"):
    """Field by field (arrays exactly, with their values as int64 / float64 / bool); the IR spec is not exported."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            if field.name != "spec":
                _assert_same_data(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(np.asarray(a), np.asarray(b)) and np.asarray(a).shape == np.asarray(b).shape, where
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            _assert_same_data(x, y, f"{where}[{k}]")
    elif isinstance(a, dict) or hasattr(a, "keys"):
        assert set(a) == set(b), where
        for key in a:
            _assert_same_data(a[key], b[key], f"{where}.{key}")
    else:
        assert a == b and type(a) is type(b) or (isinstance(a, (int, float)) and a == b), where


def test_export_loads_back_the_same_data(lowered, exported):
    loaded = load_export(exported)
    _assert_same_data(lowered, loaded)
    assert all(p.spec is None for p in loaded.populations)


def test_files_are_data_listed_with_their_checksums(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    listed = set(manifest["files"])
    on_disk = {str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    for name, entry in manifest["files"].items():
        data = (exported / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        if name.endswith(".npy"):
            assert np.load(exported / name, allow_pickle=False).dtype != object


def _compare_runs(a, b):
    for name, run in a.populations.items():
        other = b.populations[name]
        assert np.array_equal(run.spikes, other.spikes), name
        assert np.array_equal(run.states, other.states), name
        assert np.array_equal(run.overflows, other.overflows), name


def test_emulator_runs_the_loaded_network_bit_for_bit(lowered, exported):
    original = run_network(lowered)
    _compare_runs(original, run_network(load_export(exported)))
    assert sum(int(r.spikes.sum()) for r in original.populations.values()) > 10  # spikes reach every path


def _run_loaded_graph(directory, n_steps: int):
    """Run the graph load_lava rebuilds, read back as run_graph reads its own (LIF readouts streamed)."""
    graph = load_lava(directory, record_steps=n_steps)
    network = load_export(directory)
    try:
        received = run_receiving(graph, n_steps)
        return NetworkRun(populations={p.name: read_population(graph, p, n_steps, True, received)
                                       for p in network.populations}, wall_time_s=0.0)
    finally:
        graph.any_process().stop()


@pytest.mark.slow
def test_lava_graph_of_the_export_runs_bit_for_bit(lowered, exported):
    """The original's Lava graph, the graph rebuilt from the files, and the emulator on the loaded network."""
    original = run_graph(lowered, n_steps=N_STEPS)
    _compare_runs(original, _run_loaded_graph(exported, N_STEPS))
    _compare_runs(original, run_network(load_export(exported), n_steps=N_STEPS))


# -- refusals ----------------------------------------------------------------------------

@pytest.fixture
def copy(exported, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(exported, target)
    return target


def _rehash(directory, name):
    """Update the manifest for an edited file, as someone editing an export by hand would."""
    manifest = json.loads((directory / "manifest.json").read_text())
    data = (directory / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _first_array(directory, suffix="_initial.npy"):
    return next(f"arrays/{p.name}" for p in sorted((directory / "arrays").glob(f"*{suffix}")))


def test_a_changed_array_is_refused_by_its_checksum(copy):
    name = _first_array(copy)
    data = bytearray((copy / name).read_bytes())
    data[-1] ^= 1
    (copy / name).write_bytes(bytes(data))
    with pytest.raises(ExportFileError, match="SHA-256 does not match the manifest") as info:
        load_export(copy)
    assert name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("edit, message", [
    (lambda d: (d / "network.json").write_text((d / "network.json").read_text() + " "), "bytes, the manifest says"),
    (lambda d: (d / _first_array(d)).unlink(), "missing"),
    (lambda d: (d / "manifest.json").unlink(), "file not found"),
    (lambda d: (d / "manifest.json").write_text("{"), "malformed JSON"),
])
def test_missing_or_changed_files_are_refused(copy, edit, message):
    edit(copy)
    with pytest.raises(ExportFileError, match=message):
        load_export(copy)


def _edit_manifest(directory, change):
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_another_format_version_is_refused(copy):
    _edit_manifest(copy, lambda m: m.update(version=2))
    with pytest.raises(ExportFileError, match=r"manifest.json:version: format version 2 .* reads version 1"):
        load_export(copy)


def test_a_path_outside_the_export_is_refused(copy):
    _edit_manifest(copy, lambda m: m["files"].update({"../secret.npy": {"sha256": "0" * 64, "bytes": 1}}))
    with pytest.raises(ExportFileError, match="manifest.json:files"):
        load_export(copy)


def _edit_network(directory, change):
    data = json.loads((directory / "network.json").read_text())
    change(data)
    (directory / "network.json").write_text(json.dumps(data))
    _rehash(directory, "network.json")


def _hh(data):
    return next(p for p in data["populations"] if p["name"] == "E")


@pytest.mark.parametrize("change, field, message", [
    (lambda d: _hh(d)["neuron"]["program"]["ops"][5].update(dst=2), "populations.E.neuron.program.ops[5].dst",
     "dst must be 5"),
    (lambda d: _hh(d)["neuron"]["program"]["ops"][-1].update(args=[10 ** 6]), "ops", "earlier slots"),
    (lambda d: _hh(d)["neuron"]["program"]["ops"][0].update(code="exec"), "ops.0.code", "must be one of"),
    (lambda d: _hh(d)["neuron"]["program"]["outputs"].pop(), "program.outputs", "one slot"),
    (lambda d: _hh(d).update(size=13), "populations.E", "13 neurons"),
    (lambda d: d["projections"][0]["layers"][0].update(n_pre=5), "layers[0]", "the groups have"),
    (lambda d: d["projections"][0].update(target="nowhere"), "projections.", "unknown target"),
    (lambda d: d["projections"][0].update(port=9), "port", "does not exist"),
    (lambda d: d["projections"][0].update(extra=1), "projections.0.extra", "unknown key"),
    (lambda d: d["sources"][0]["steps"].update(shape=[4]), "sources.", "network.json says"),
    (lambda d: d.update(n_steps=10 ** 6), "sources.", "the network runs"),
    (lambda d: _hh(d).update(kind="magic"), "populations.E.kind", "unknown population kind"),
    (lambda d: d["populations"][0]["initial"].update(file="arrays/nope.npy"), "initial", "does not list"),
])
def test_an_inconsistent_network_json_is_refused_by_field(copy, change, field, message):
    _edit_network(copy, change)
    with pytest.raises(ExportFileError, match=message) as info:
        load_export(copy)
    assert "network.json:" in str(info.value) and field in str(info.value)


def test_a_pickled_array_is_refused(copy):
    name = _first_array(copy)
    np.save(copy / name, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _rehash(copy, name)
    with pytest.raises(ExportFileError, match="cannot read .*Python objects"):
        load_export(copy)


def test_a_header_larger_than_its_data_is_refused_before_reading(copy):
    """A forged header (3e11 int64 values, 2.4 TB) over 64 bytes of data: refused, nothing allocated."""
    name = _first_array(copy)
    with open(copy / name, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<i8", "fortran_order": False, "shape": (10 ** 11, 3)})
        handle.write(b"\0" * 64)
    _rehash(copy, name)
    with pytest.raises(ExportFileError, match=r"declares shape \[100000000000, 3\] but holds 64 bytes"):
        load_export(copy)


def test_an_array_of_another_shape_is_refused(copy):
    name = _first_array(copy)
    np.save(copy / name, np.zeros((2, 3), dtype=np.int64))
    _rehash(copy, name)
    with pytest.raises(ExportFileError, match=r"network.json says int64"):
        load_export(copy)


def test_exporting_again_replaces_the_earlier_export_and_nothing_else(lowered, copy):
    export_network(lowered, copy)
    load_export(copy)
    (copy / "arrays" / "stale.npy").write_bytes(b"x")  # not listed in the manifest: not export's to delete
    with pytest.raises(ExportFileError, match="--out: .*not an earlier export"):
        export_network(lowered, copy)
    assert (copy / "arrays" / "stale.npy").read_bytes() == b"x"
    load_export(copy)


# -- a LIF population (Lava's own process) -----------------------------------------------------

def test_a_lif_population_is_written_field_by_field(lowered, exported):
    data = json.loads((exported / "network.json").read_text())
    lif = next(p for p in data["populations"] if p["kind"] == "lif")
    conversion = lowered.population("L").lif
    assert set(lif["lif"]) == {f.name for f in dataclasses.fields(conversion)}
    assert set(lif["lif"]["lava"]) == {f.name for f in dataclasses.fields(conversion.lava)}
    assert lif["neuron"] is None and lif["lif"]["lava"]["du"] == conversion.lava.du


def _lif_data(data):
    return next(p for p in data["populations"] if p["kind"] == "lif")["lif"]


@pytest.mark.parametrize("change, field, message", [
    (lambda d: _lif_data(d)["lava"].update(du=5000), "populations.L.lif.lava", r"\[0, 4095\]"),
    (lambda d: _lif_data(d)["lava"].update(colour=1), "populations.L.lif.lava", "must hold exactly the fields"),
    (lambda d: _lif_data(d).update(v_lsb="small"), "populations.L.lif.v_lsb", "must be float"),
    (lambda d: _lif_data(d)["lava"].update(n=3), "populations.L.lif.lava", "cannot build LavaLif"),
])
def test_an_inconsistent_lif_population_is_refused_by_field(copy, change, field, message):
    _edit_network(copy, change)
    with pytest.raises(ExportFileError, match=message) as info:
        load_export(copy)
    assert field in str(info.value)


# -- re-hashed exports that look consistent but run another network (issue 21) ---------------------

def _first_table(data):
    return _hh(data)["neuron"]["tables"][0]


@pytest.mark.parametrize("change, field, message", [
    (lambda d: _first_table(d)["grid"].update(shift=_first_table(d)["grid"]["shift"] + 1), "ops[",
     "must be an index operation on the grid of table 0"),
    (lambda d: _first_table(d)["grid"].update(shift=99), "tables[0].grid", "grid shift must be 0..62"),
])
def test_a_table_grid_that_disagrees_with_its_program_is_refused(copy, change, field, message):
    _edit_network(copy, change)
    with pytest.raises(ExportFileError, match=message) as info:
        load_export(copy)
    assert field in str(info.value)


def _rewrite_array(directory, ref, change):
    path = directory / ref["file"]
    array = np.load(path)
    np.save(path, change(array.copy()))
    _rehash(directory, ref["file"])


@pytest.mark.parametrize("key", ["weights", "delays"])
def test_layer_weights_or_delays_that_disagree_with_the_projection_are_refused(copy, key):
    """The layers are what runs; they used to be trusted even when they no longer matched the projection's
    own weights and delay_steps (a re-hashed edit ran a different network)."""
    data = json.loads((copy / "network.json").read_text())
    name, layer = next((p["name"], layer) for p in data["projections"] for layer in p["layers"]
                       if layer["kind"].startswith("Delay"))

    def change(array):
        array[0] += 1
        return array

    _rewrite_array(copy, layer[key], change)
    with pytest.raises(ExportFileError, match=f"projections.{name}.layers: the layers' weights and delays differ"):
        load_export(copy)


def test_a_layer_missing_synapses_is_refused(copy):
    _edit_network(copy, lambda d: d["projections"][0]["layers"].pop() if len(d["projections"][0]["layers"]) > 1
                  else d["projections"][0]["weights"].update(n_weights=d["projections"][0]["weights"]["n_weights"] + 1))
    with pytest.raises(ExportFileError):
        load_export(copy)
