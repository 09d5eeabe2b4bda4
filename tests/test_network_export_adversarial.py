"""Exports changed by hand and re-hashed (the manifest updated, so only the consistency checks stand
between them and a run): each is refused at load time by ``load_export`` and ``load_lava`` with one
line ``network.json:FIELD: what is wrong; what is allowed`` (an ExportFileError, a neuromorph
InputError). The fixture holds every payload: Lava's LIF, a lowered program with a per-neuron drive
and a sampled current (issue 21: currents are exported), a Poisson source, delayed and plain
projections."""
import hashlib
import json
import shutil

import numpy as np
import pytest

from neuromorph.errors import InputError
from neuromorph.network.emulator import run_network
from neuromorph.network.export import ExportFileError, export_network, load_export

from .conftest import lower_network_text, small_network

#: A second population, H, with a per-neuron drive I_b and a sampled input I_inj, fed by L.
POPULATION_H = '''
[populations.H]
size = 3
equations = """
dv/dt = (-v + I + I_inj + I_b) / tau_v : volt
dI/dt = -I / tau_I : volt
I_inj : volt
I_b : volt
"""
threshold = "v > 10*mV"
reset = "v = 0*mV"
parameters = { tau_v = "10 * ms", tau_I = "5 * ms" }
initial = { v = { distribution = "uniform", low = "0 * mV", high = "10 * mV" },
            I_b = { distribution = "uniform", low = "0 * mV", high = "5 * mV" } }
'''
CURRENT_INTO_H = '''
[sources.drive]
kind = "current"
target = "H"
variable = "I_inj"
stimulus = { kind = "ou", mean = "5 * mV", sigma = "3 * mV", tau = "2 * ms", seed = 3 }
'''
L_TO_H = '''
[projections.L_to_H]
source = "L"
target = "H"
connect = { rule = "all_to_all" }
weight = "3 * mV"
effect = "I += w"
'''
NETWORK = small_network("5 * ms", seed=4, size=4, trains=5, rate="500 * Hz", p=0.8, populations=POPULATION_H,
                        sources=CURRENT_INTO_H, projections=L_TO_H)


@pytest.fixture(scope="module")
def lowered(tmp_path_factory):
    return lower_network_text(tmp_path_factory.mktemp("net"), NETWORK)


@pytest.fixture(scope="module")
def exported(lowered, tmp_path_factory):
    directory = tmp_path_factory.mktemp("export") / "out"
    export_network(lowered, directory)
    return directory


@pytest.fixture
def copy(exported, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(exported, target)
    return target


# -- 7. sampled currents are exported and load back ------------------------------------------------

def test_the_fixture_has_a_current_a_drive_and_both_kinds(lowered):
    assert {p.name: p.kind for p in lowered.populations} == {"L": "lif", "H": "lowered"}
    assert len(lowered.currents) == 1 and lowered.population("H").drive.shape[0] >= 1


def test_currents_round_trip_through_an_export(lowered, exported):
    """``export`` used to drop ``LoweredNetwork.currents``: the loaded network ran without its sampled input."""
    loaded = load_export(exported)
    assert [(c.name, c.target, c.port) for c in loaded.currents] == [(c.name, c.target, c.port)
                                                                     for c in lowered.currents]
    for mine, theirs in zip(lowered.currents, loaded.currents):
        assert np.array_equal(mine.values, theirs.values) and theirs.values.dtype == np.int64
    original, again = run_network(lowered), run_network(loaded)
    for name, run in original.populations.items():
        assert np.array_equal(run.spikes, again.populations[name].spikes)
        assert np.array_equal(run.states, again.populations[name].states)


# -- changed exports, re-hashed -------------------------------------------------------------------

def _rehash(directory, name):
    manifest = json.loads((directory / "manifest.json").read_text())
    data = (directory / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _pop(data, name):
    return next(p for p in data["populations"] if p["name"] == name)


def _json(change):
    """An edit of network.json's data."""
    def edit(directory):
        data = json.loads((directory / "network.json").read_text())
        change(data)
        (directory / "network.json").write_text(json.dumps(data))
        _rehash(directory, "network.json")
    return edit


def _text(old, new):
    """An edit of network.json's text (for literals json.dumps would not write, such as 1e999)."""
    def edit(directory):
        text = (directory / "network.json").read_text()
        assert old in text, old
        (directory / "network.json").write_text(text.replace(old, new, 1))
        _rehash(directory, "network.json")
    return edit


def _array(locate, change):
    """Rewrite the array ``locate(data)`` refers to (``change(array) -> array``), shape and dtype in
    network.json updated to match, and re-hash both."""
    def edit(directory):
        data = json.loads((directory / "network.json").read_text())
        ref = locate(data)
        array = change(np.load(directory / ref["file"]))
        np.save(directory / ref["file"], array)
        ref.update(dtype=array.dtype.name, shape=list(array.shape))
        (directory / "network.json").write_text(json.dumps(data))
        _rehash(directory, ref["file"])
        _rehash(directory, "network.json")
    return edit


def _set(array, value, index=0):
    array = array.copy()
    array.flat[index] = value
    return array


def _current(d):
    return d["currents"][0]


def _lif(d):
    return _pop(d, "L")["lif"]


def _proj(d, name="noise_to_L"):
    return next(p for p in d["projections"] if p["name"] == name)


def _layer(d, projection="noise_to_L"):
    return _proj(d, projection)["layers"][0]


#: (edit, field named, message) -> ExportFileError "network.json:FIELD: ...MESSAGE..."
CASES = {
    # issue 21, point 4: nulls, infinities, absurd rasters
    "null LIF initial": (_json(lambda d: _pop(d, "L").update(initial=None)), "populations.L.initial", "is null"),
    "null program initial": (_json(lambda d: _pop(d, "H").update(initial=None)), "populations.H.initial", "is null"),
    "null drive": (_json(lambda d: _pop(d, "H").update(drive=None)), "populations.H.drive", "is null"),
    "1e999 in the LIF payload": (_text('"v_lsb": ', '"v_lsb": 1e999, "x": '), "populations.L.lif.v_lsb",
                                 "is not a finite number"),
    "-1e999 LIF threshold": (_json(lambda d: _lif(d)["match"].update(threshold="__INF__")), None, None),
    "1e999 dt": (_text('"dt": ', '"dt": 1e999, "y": '), "dt", "is not a finite number"),
    "NaN literal": (_text('"dt": ', '"dt": NaN, "y": '), "dt", "is not a finite number"),
    "Infinity in a weight error": (_text('"max_abs": ', '"max_abs": -Infinity, "z": '),
                                   "projections.L_to_H.weights.error.max_abs", "is not a finite number"),
    "petabyte raster": (_json(lambda d: (d["sources"][0].update(n_steps=2 ** 31 - 1, size=10 ** 9),
                                         d.update(n_steps=2 ** 31 - 1))), "sources.noise.n_steps", "GB are available"),
    "raster beyond int32 steps": (_json(lambda d: d["sources"][0].update(n_steps=2 ** 31)), "sources.0.n_steps",
                                  "less than or equal to 2147483647"),
    "network of 10^12 steps": (_json(lambda d: d.update(n_steps=10 ** 12)), "n_steps", "less than or equal"),
    "network of 0 steps": (_json(lambda d: d.update(n_steps=0)), "n_steps", "greater than or equal to 1"),
    "raster longer than the run": (_json(lambda d: d["sources"][0].update(n_steps=d["n_steps"] + 1)),
                                   "sources.noise.n_steps", "the network runs"),
    "source of size 0": (_json(lambda d: d["sources"][0].update(size=0)), "sources.0.size", "greater than or equal"),
    "negative spike step": (_array(lambda d: d["sources"][0]["steps"], lambda a: _set(a, -1)), "sources.noise.steps",
                            "must lie in"),
    "spike of a neuron beyond the source": (_array(lambda d: d["sources"][0]["neurons"], lambda a: _set(a, 5)),
                                            "sources.noise.neurons", "must lie in"),
    # point 7: currents checked against their population
    "current on a LIF": (_json(lambda d: _current(d).update(target="L")), "currents.drive.port", "not a drive port"),
    "current on an unknown population": (_json(lambda d: _current(d).update(target="nowhere")),
                                         "currents.drive.target", "unknown target"),
    "current on a spike source": (_json(lambda d: _current(d).update(target="noise")), "currents.drive.target",
                                  "unknown target"),
    "current on a port that does not exist": (_json(lambda d: _current(d).update(port=7)), "currents.drive.port",
                                              "not a drive port"),
    "current on an increment port": (_json(lambda d: _current(d).update(port=_pop(d, "H")["increment_ports"]["I"])),
                                     "currents.drive.port", "not a drive port"),
    "two currents on one port": (_json(lambda d: d["currents"].append({**_current(d), "name": "drive2"})),
                                 "currents.drive2.port", "one sampled input per port"),
    "current named like a population": (_json(lambda d: _current(d).update(name="L")), "populations.L",
                                        "used twice"),
    "current with one step too few": (_array(lambda d: _current(d)["values"], lambda a: a[:-1]),
                                      "currents.drive.values", "expected"),
    "current of another population size": (_array(lambda d: _current(d)["values"], lambda a: a[:, :2]),
                                           "currents.drive.values", "expected"),
    "current of floats": (_array(lambda d: _current(d)["values"], lambda a: a.astype(float)),
                          "currents.drive.values", "must hold integers"),
    "current beyond 62 bits": (_array(lambda d: _current(d)["values"], lambda a: _set(a, 2 ** 62)),
                               "currents.drive.values", "beyond 62 bits"),
    "current on a port with a constant drive": (_json(lambda d: _current(d).update(port=1)), "currents.drive.port",
                                                "also has a constant drive"),
    "a constant drive on the current's port": (_array(lambda d: _pop(d, "H")["drive"], lambda a: _set(a, 5)),
                                               "currents.drive.port", "also has a constant drive"),
    "current with a negative port": (_json(lambda d: _current(d).update(port=-1)), "currents.0.port",
                                     "greater than or equal to 0"),
    "current with an unknown key": (_json(lambda d: _current(d).update(gain=2)), "currents.0.gain", "unknown key"),
    # populations
    "LIF initial u changed": (_array(lambda d: _pop(d, "L")["initial"], lambda a: _set(a, a.flat[0] + 1)),
                              "populations.L.initial", "differs from the u and v"),
    "LIF initial with 3 rows": (_array(lambda d: _pop(d, "L")["initial"], lambda a: np.vstack([a, a[:1]])),
                                "populations.L.initial", "does not fit 2 rows"),
    "program initial with a row missing": (_array(lambda d: _pop(d, "H")["initial"], lambda a: a[:-1]),
                                           "populations.H.initial", "rows"),
    "drive with more rows than ports": (_array(lambda d: _pop(d, "H")["drive"], lambda a: np.vstack([a] * 9)),
                                        "populations.H.drive", "drive rows for"),
    "a NaN initial SI value": (_array(lambda d: _pop(d, "H")["initial_si"]["v"], lambda a: _set(a, np.nan)),
                               "populations.H.initial_si.v", "non-finite"),
    "an initial SI value per 2 neurons": (_array(lambda d: _pop(d, "H")["initial_si"]["v"], lambda a: a[:2]),
                                          "populations.H.initial_si.v", "expected"),
    "population of size 0": (_json(lambda d: _pop(d, "H").update(size=0)), None,
                             "size: must be greater than or equal to 1, got 0"),
    "increment port that is a drive": (_json(lambda d: _pop(d, "H")["increment_ports"].update(I=0)),
                                       "populations.H.increment_ports.I", "not an input"),
    "LIF with a drive": (_json(lambda d: _pop(d, "L").update(drive=_pop(d, "L")["initial"])), "populations.L.drive",
                         "Lava's LIF takes no drive"),
    "LIF du beyond 12 bits": (_json(lambda d: _lif(d)["lava"].update(du=4096)), "populations.L.lif.lava", "4095"),
    "LIF vth of a string": (_json(lambda d: _lif(d)["lava"].update(vth="65535")), "populations.L.lif.lava.vth",
                            "must be int"),
    "LIF v_lsb true": (_json(lambda d: _lif(d).update(v_lsb=True)), "populations.L.lif.v_lsb", "must be float"),
    "population names twice": (_json(lambda d: _pop(d, "H").update(name="L")), "populations.L", "used twice"),
    "source named like a population": (_json(lambda d: d["sources"][0].update(name="H")), "populations.H",
                                       "used twice"),
    # projections and layers
    "layer weight_exp 99": (_json(lambda d: _layer(d).update(weight_exp=99)), "projections.noise_to_L.layers[0]",
                            ""),
    "layer pre beyond the source": (_array(lambda d: _layer(d)["pre"], lambda a: _set(a, 99)),
                                    "projections.noise_to_L.layers[0]", ""),
    "layer of another process kind": (_json(lambda d: _layer(d).update(kind="Conv")), None,
                                      "layers.0.kind: must be one of 'Dense'"),
    "projection from a current": (_json(lambda d: _proj(d).update(source="drive")),
                                  "projections.noise_to_L.source", "unknown source"),
    "projection port 10^30": (_json(lambda d: _proj(d).update(port=10 ** 30)), "projections.noise_to_L.port",
                              "does not exist"),
    "negative weight count": (_json(lambda d: d["projections"][0]["weights"].update(n_weights=-1)),
                              "projections.0.weights.n_weights", "greater than or equal to 0"),
    "weight error of -1": (_json(lambda d: d["projections"][0]["weights"]["error"].update(max_abs=-1.0)),
                           "projections.0.weights.error.max_abs", "greater than or equal to 0"),
    "delay steps of another length": (_array(lambda d: _proj(d)["delay_steps"], lambda a: a[:-1]),
                                      "projections.noise_to_L.delay_steps", "expected"),
    # the whole file
    "config of 1 bit": (_json(lambda d: d["config"].update(state_bits=1)), "config.state_bits", "greater than"),
    "config lut_size 0": (_json(lambda d: d["config"].update(lut_size=0)), "config.lut_size", "greater than"),
    "dt 0": (_json(lambda d: d.update(dt=0)), "dt", "greater than 0"),
    "dt negative": (_json(lambda d: d.update(dt=-1e-4)), "dt", "greater than 0"),
    "empty target name": (_json(lambda d: d.update(target="")), "target", "at least 1"),
    "format of another tool": (_json(lambda d: d.update(format="nir")), "format", "not a neuromorph network export"),
    "version as a string": (_json(lambda d: d.update(version="1")), "version", "format version"),
    "a list instead of an object": (lambda directory: ((directory / "network.json").write_text(
        "[" + (directory / "network.json").read_text() + "]"), _rehash(directory, "network.json")), "format",
        "not a neuromorph network export"),
    "nested 100,000 deep": (lambda directory: ((directory / "network.json").write_text("[" * 100000 + "]" * 100000),
                                               _rehash(directory, "network.json")), None, "malformed JSON"),
}
CASES["-1e999 LIF threshold"] = (_text('"threshold": ', '"threshold": -1e999, "w": '),
                                 "populations.L.lif.match.threshold", "is not a finite number")


@pytest.mark.parametrize("name", list(CASES))
def test_a_changed_export_is_refused_in_one_line_by_field(copy, name):
    edit, field, message = CASES[name]
    edit(copy)
    with pytest.raises(ExportFileError) as info:
        load_export(copy)
    text = str(info.value)
    assert "\n" not in text and "network.json" in text, text
    if field is not None:
        assert f"network.json:{field}" in text, text
    if message:
        assert message in text, text


@pytest.mark.parametrize("name", ["null drive", "1e999 in the LIF payload", "petabyte raster", "current on a LIF"])
def test_load_lava_raises_the_same_neuromorph_exception(copy, name):
    from neuromorph.network import load_lava

    edit, field, message = CASES[name]
    edit(copy)
    with pytest.raises(InputError, match=message):
        load_lava(copy)
