"""Export a lowered network as data, and load it back without Brian2, the network file or a reference run.

:func:`export_network` writes a :class:`~neuromorph.network.lower.LoweredNetwork` into a
directory; :func:`load_export` reads it back for the numpy network emulator and
:func:`load_lava` builds the same Lava process graph from it
(:func:`~neuromorph.lava.graph.build_graph`). Both run exactly as the original:
same integers in every step (``tests/test_network_export.py``).

Layout (data only: no pickles, no code; every ``.npy`` file is read with ``allow_pickle=False``)::

    manifest.json   {"format", "version", "files": {path: {"sha256", "bytes"}}} of every other file
    network.json    the structure and small values; each array is {"file", "dtype", "shape"}
    arrays/*.npy    tables, constants, initial registers, drives, synapses, source spikes

``network.json`` holds ``format``, ``version``, ``target`` (name), ``dt`` (s), ``n_steps``,
``config`` (the :class:`~neuromorph.quantization.quantize.QuantConfig`), ``notes`` and lists of

* ``populations``: ``name``, ``size``, ``kind`` (:mod:`neuromorph.network.kinds`: ``"lowered"``,
  neuromorph's integer program, a simulation-only custom Lava process; ``"lif"``, Lava's own
  LIF; ``"relay"``, a relay neuron the lowering added for a long delay, which has no payload),
  ``initial`` (registers x neurons), ``increment_ports``, ``initial_si`` and ``drive_si``
  (SI values, per neuron), and the kind's payload (``LoweredPopulation.export_payload``; the
  keys of other kinds are null): for ``"lowered"``, ``neuron`` (the
  :class:`~neuromorph.quantization.quantize.QuantizedNeuron`: ``program`` with its ``ops``,
  ``registers``, ``ports``; ``tables``; ``constants``; its ``config`` and ``datapath``) and
  ``drive`` (drive ports x neurons); for ``"lif"``, ``lif``: the
  :class:`~neuromorph.network.lif_mapping.LifConversion` field by field (its ``lava``, the
  :class:`~neuromorph.network.lava_lif.LavaLif` that runs, its scales and the neuron it came
  from), written generically from the dataclasses and rebuilt from their type hints;
* ``projections``: ``name``, ``source``, ``target``, ``variable``, ``port``, ``layers`` (one
  :class:`~neuromorph.network.lava_semantics.LavaProjection` per Lava synapse process:
  ``kind``, ``pre``, ``post``, ``weights``, ``delays``, ``weight_exp``, ``sign_mode``, ...),
  ``weights`` (the quantised weights with their error statistics) and ``delay_steps``;
* ``sources``: ``name``, ``size``, ``n_steps`` and the ``steps`` and ``neurons`` of every spike
  of the replayed raster;
* ``currents``: the sampled inputs (:class:`~neuromorph.network.lower.LoweredCurrent`): ``name``,
  ``target`` (a lowered population), ``port`` (one of its program's drive ports) and ``values``
  (steps x neurons, the integer drive added to that port in each step).

Writing owns its output (:func:`check_export_output`, :func:`export_network`): everything is
written into a new temporary directory beside ``out_dir`` and renamed into place; an existing
``out_dir`` must be empty or an earlier export (manifest, listed files, ``resources.json``, no
symlink), which is replaced as a whole; anything else is refused, never deleted or written through.

The neuron IR of each population (``LoweredPopulation.spec``, symbolic expressions) is not
exported: nothing that runs the lowered network needs it; the float emulator, which does,
starts from the network file. Loading checks the format and version, every file's size and
SHA-256 against the manifest, ``network.json`` against its schema
(:mod:`neuromorph.network.export_schema`), every array's dtype and shape, and the
consistency of the whole (indices within the populations, ports and registers of the
programs, synapse counts); any problem raises :class:`ExportFileError` naming the file and field.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..files import read_text_file
from ..schema import validate_file
from .export_load import lowered_network_from_data
from .export_schema import FORMAT, VERSION, ExportFileError, ManifestFile, NetworkData
from .kinds import LoweredPopulation
from .lower import LoweredCurrent, LoweredNetwork, LoweredProjection, LoweredSource

MANIFEST = "manifest.json"
NETWORK = "network.json"
ARRAYS = "arrays"
#: Largest JSON file read back (bytes); programs and formats of many populations fit easily.
MAX_JSON_BYTES = 64_000_000


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------

class _ArrayWriter:
    """Saves arrays as ``arrays/<name>.npy`` and remembers each file's SHA-256 and size.

    A population kind writes its payload through :meth:`array`, :meth:`neuron` and :meth:`data`.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.files: dict[str, dict] = {}

    def add(self, name: str, array) -> dict:
        """Save ``array`` as ``arrays/<name>.npy``; its :class:`ArrayRef` data."""
        array = np.ascontiguousarray(array)
        if array.dtype == object or array.dtype.name not in ("int64", "int32", "bool", "float64"):
            array = array.astype(np.float64 if array.dtype.kind == "f" else np.int64)
        relative = f"{ARRAYS}/{name}.npy"
        path = self.directory / relative
        with open(path, "xb") as handle:
            np.save(handle, array, allow_pickle=False)
        self.files[relative] = _file_entry(path)
        return {"file": relative, "dtype": array.dtype.name, "shape": list(array.shape)}

    def array(self, name: str, values) -> dict | None:
        """:meth:`add`, or None for None."""
        return None if values is None else self.add(name, values)

    def neuron(self, neuron, prefix: str) -> dict:
        """A :class:`~neuromorph.quantization.quantize.QuantizedNeuron` (tables and constants as files)."""
        return _neuron(neuron, self, prefix)

    def data(self, value, name: str):
        """A dataclass, generically (see :func:`_plain_data`)."""
        return _plain_data(value, self, name)


def _file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{type(value).__name__} is not exported as JSON")


def _program(program) -> dict:
    data = {f.name: getattr(program, f.name) for f in dataclasses.fields(program)}
    for key in ("ops", "registers", "ports"):
        data[key] = [dataclasses.asdict(item) for item in data[key]]
    return data


def _neuron(neuron, arrays: _ArrayWriter, prefix: str) -> dict:
    tables = [{"name": t.name, "entries": arrays.add(f"{prefix}_table{k}", t.entries), "frac": t.frac,
               "entry_bits": t.entry_bits, "signed": t.signed, "grid": dataclasses.asdict(t.grid),
               "input_name": t.input_name} for k, t in enumerate(neuron.tables)]
    return {"name": neuron.name, "target": neuron.target, "config": neuron.config.to_dict(), "dt": neuron.dt,
            "program": _program(neuron.program), "tables": tables,
            "constants": arrays.add(f"{prefix}_constants", np.asarray(neuron.constants, dtype=np.int64)),
            "initial": arrays.add(f"{prefix}_neuron_initial", np.asarray(neuron.initial, dtype=np.int64)),
            "datapath": dict(neuron.datapath)}


def _plain_data(value, arrays: _ArrayWriter, name: str):
    """A dataclass as JSON data, generically: nested dataclasses as objects, arrays as files, scalars as they are."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain_data(getattr(value, f.name), arrays, f"{name}_{f.name}")
                for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return arrays.add(name, value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{name}: a {type(value).__name__} cannot be exported as data")


def _population(population: LoweredPopulation, arrays: _ArrayWriter, k: int) -> dict:
    prefix = f"p{k}"
    return {
        "name": population.name, "size": population.size, "kind": population.kind,
        "initial": arrays.array(f"{prefix}_initial", population.initial),
        "increment_ports": dict(population.increment_ports),
        "initial_si": {name: arrays.add(f"{prefix}_initial_si{m}", np.asarray(values, dtype=np.float64))
                       for m, (name, values) in enumerate((population.initial_si or {}).items())},
        "drive_si": {name: arrays.add(f"{prefix}_drive_si{m}", np.asarray(values, dtype=np.float64))
                     for m, (name, values) in enumerate((population.drive_si or {}).items())},
        **population.export_payload(arrays, prefix),
    }


def _layer(layer, arrays: _ArrayWriter, prefix: str) -> dict:
    data = {f.name: getattr(layer, f.name) for f in dataclasses.fields(layer)}
    for key in ("pre", "post", "weights", "delays"):
        data[key] = arrays.add(f"{prefix}_{key}", np.asarray(data[key], dtype=np.int64))
    return data


def _projection(projection: LoweredProjection, arrays: _ArrayWriter, k: int) -> dict:
    prefix = f"j{k}"
    weights = projection.weights
    weight_data = {f.name: getattr(weights, f.name) for f in dataclasses.fields(weights)}
    weight_data["weights"] = arrays.add(f"{prefix}_weights", np.asarray(weights.weights, dtype=np.int64))
    weight_data["error"] = dataclasses.asdict(weights.error)
    return {"name": projection.name, "source": projection.source, "target": projection.target,
            "variable": projection.variable, "port": projection.port,
            "layers": [_layer(layer, arrays, f"{prefix}_l{m}") for m, layer in enumerate(projection.layers)],
            "weights": weight_data,
            "delay_steps": arrays.add(f"{prefix}_delay_steps", np.asarray(projection.delay_steps, dtype=np.int64))}


def _source(source: LoweredSource, arrays: _ArrayWriter, k: int) -> dict:
    steps, neurons = np.nonzero(np.asarray(source.spikes, dtype=bool))
    return {"name": source.name, "size": source.size, "n_steps": int(source.spikes.shape[0]),
            "steps": arrays.add(f"s{k}_steps", steps.astype(np.int64)),
            "neurons": arrays.add(f"s{k}_neurons", neurons.astype(np.int64))}


def _current(current: LoweredCurrent, arrays: _ArrayWriter, k: int) -> dict:
    return {"name": current.name, "target": current.target, "port": int(current.port),
            "values": arrays.add(f"c{k}_values", np.asarray(current.values, dtype=np.int64))}


def _network_data(lowered: LoweredNetwork, arrays: _ArrayWriter) -> dict:
    return {"format": FORMAT, "version": VERSION, "target": lowered.target, "dt": lowered.dt,
            "n_steps": lowered.n_steps, "config": lowered.config.to_dict(), "notes": list(lowered.notes),
            "populations": [_population(p, arrays, k) for k, p in enumerate(lowered.populations)],
            "projections": [_projection(p, arrays, k) for k, p in enumerate(lowered.projections)],
            "sources": [_source(s, arrays, k) for k, s in enumerate(lowered.sources)],
            "currents": [_current(c, arrays, k) for k, c in enumerate(lowered.currents)]}


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to the new file ``path`` (refusing to open an existing file or a symlink)."""
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(text)


#: Files besides those the manifest lists that an export directory may hold (written by ``neuromorph export``).
EXTRA_FILES = ("resources.json",)


def _entries(directory: Path) -> list[Path]:
    """Every entry below ``directory`` (not following symlinks), deepest first."""
    found = []
    for root, dirs, files in os.walk(directory, topdown=False, followlinks=False):
        found += [Path(root) / name for name in files + dirs]
    return found


def _previous_export_files(directory: Path) -> list[Path] | None:
    """The files of the earlier export in ``directory``, or None if it holds anything else.

    A previous export is a directory whose manifest is of this format and which holds only the
    manifest, the files it lists, :data:`EXTRA_FILES` and the ``arrays`` directory: no symlink,
    no other file.
    """
    manifest = directory / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return None
    try:
        data = json.loads(read_text_file(manifest, max_bytes=MAX_JSON_BYTES, error=ExportFileError))
    except (ValueError, ExportFileError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        return None
    allowed = {MANIFEST, *EXTRA_FILES, *data["files"]}
    files = []
    for entry in _entries(directory):
        relative = entry.relative_to(directory).as_posix()
        if entry.is_symlink():
            return None
        if relative == ARRAYS and entry.is_dir():
            continue
        if relative not in allowed or not entry.is_file():
            return None
        files.append(entry)
    return files


def check_export_output(out_dir: str | Path) -> Path:
    """The absolute path of an output directory ``export`` may write, checked before anything runs.

    Allowed: a path that does not exist (its parents are created), an empty directory, or an
    earlier export (which is replaced as a whole). Refused: an empty path, a symlink, a file,
    a non-empty directory holding anything that is not part of an earlier export, a name too
    long for the file system, a parent that cannot be written.

    Raises
    ------
    ExportFileError
        Naming ``--out``: what is wrong and what is allowed.
    """
    text = str(out_dir)
    if not text.strip():
        raise ExportFileError("is empty; give a directory path (a new or empty directory, or an earlier export)",
                              field="--out")
    directory = Path(os.path.abspath(text))
    where = f"{text!r} " if len(text) <= 200 else ""
    if directory.parent == directory:
        raise ExportFileError(f"{where}is the root directory; give a new or empty directory", field="--out")
    try:
        _check_owned(directory, where)
        probe = Path(tempfile.mkdtemp(prefix=_temporary_prefix(directory, "probe"), dir=directory.parent))
        probe.rmdir()
    except OSError as exc:
        raise ExportFileError(f"{where}cannot be written: {exc.strerror or exc}", field="--out") from None
    return directory


def _check_owned(directory: Path, where: str) -> None:
    """Refuse a symlink, a file, or a non-empty directory that is not an earlier export."""
    if directory.is_symlink():
        raise ExportFileError(f"{where}is a symlink; give a real directory (export never writes through a "
                              "symlink it did not create)", field="--out")
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)  # as --out of the other commands
        if len(os.fsencode(directory.name)) > os.pathconf(directory.parent, "PC_NAME_MAX"):
            raise OSError(36, "File name too long")
        return
    if not directory.is_dir():
        raise ExportFileError(f"{where}exists and is not a directory", field="--out")
    if any(directory.iterdir()) and _previous_export_files(directory) is None:
        raise ExportFileError(f"{where}holds files that are not an earlier export (or a symlink); export "
                              "writes only into a new or empty directory or over an earlier export, and "
                              "never deletes other files", field="--out")


def _temporary_prefix(directory: Path, what: str) -> str:
    return f".{directory.name[:64]}.{what}-"


def _remove_previous(directory: Path, files: list[Path]) -> None:
    """Delete the files of an earlier export (moved aside), then its directories if empty."""
    for path in files:
        path.unlink(missing_ok=True)
    for path in (directory / ARRAYS, directory):
        try:
            path.rmdir()
        except OSError:
            pass  # someone added a file meanwhile: leave it


def export_network(lowered: LoweredNetwork, out_dir: str | Path, extra: dict[str, str] | None = None) -> dict:
    """Write ``lowered`` as data into ``out_dir`` (see the module docstring); return the manifest.

    Everything is written into a new temporary directory beside ``out_dir``, which is then
    renamed into place: an interrupted export leaves ``out_dir`` as it was. An earlier export
    in ``out_dir`` is replaced (and only its own files deleted); an output that is anything else
    is refused (:func:`check_export_output`). No symlink is followed: every file is created new.

    Parameters
    ----------
    lowered : LoweredNetwork
        The network to write.
    out_dir : str or Path
        The export directory.
    extra : dict, optional
        Text files (names from :data:`EXTRA_FILES`) to write beside it, e.g. ``resources.json``.

    Raises
    ------
    ExportFileError
        When ``out_dir`` cannot be owned (see :func:`check_export_output`).
    """
    directory = check_export_output(out_dir)
    extra = dict(extra or {})
    unknown = set(extra) - set(EXTRA_FILES)
    if unknown:
        raise ValueError(f"extra files {sorted(unknown)}: only {list(EXTRA_FILES)} are written beside an export")
    staging = Path(tempfile.mkdtemp(prefix=_temporary_prefix(directory, "tmp"), dir=directory.parent))
    try:
        (staging / ARRAYS).mkdir()
        arrays = _ArrayWriter(staging)
        text = json.dumps(_network_data(lowered, arrays), indent=1, allow_nan=False, default=_json_default)
        _write_text(staging / NETWORK, text)
        files = {NETWORK: _file_entry(staging / NETWORK), **arrays.files}
        manifest = {"format": FORMAT, "version": VERSION, "files": files}
        for name, content in extra.items():
            _write_text(staging / name, content)
        _write_text(staging / MANIFEST, json.dumps(manifest, indent=1))
        _move_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _move_into_place(staging: Path, directory: Path) -> None:
    """Rename ``staging`` to ``directory``: over an empty directory, or after moving an earlier export aside."""
    previous = None
    if directory.is_symlink():
        raise ExportFileError(f"{str(directory)!r} became a symlink during the export; nothing was written",
                              field="--out")
    if directory.exists() and any(directory.iterdir()):
        files = _previous_export_files(directory)
        if files is None:
            raise ExportFileError(f"{str(directory)!r} was changed during the export and is no longer an earlier "
                                  "export; nothing was written", field="--out")
        previous = Path(tempfile.mkdtemp(prefix=_temporary_prefix(directory, "old"), dir=directory.parent))
        previous.rmdir()
        os.rename(directory, previous)
        files = [previous / path.relative_to(directory) for path in files]
    try:
        os.rename(staging, directory)  # replaces an empty directory atomically
    except OSError:
        if previous is not None:
            os.rename(previous, directory)
        raise
    if previous is not None:
        _remove_previous(previous, files)


# ----------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------

def _non_finite_constant(name: str) -> float:
    """``NaN``, ``Infinity``, ``-Infinity`` (not JSON, but Python writes them) read as what they are, then
    refused by field (:func:`_non_finite`)."""
    return float(name.replace("Infinity", "inf"))


def _read_json(path: Path):
    """JSON data of ``path``; ``NaN``/``Infinity`` and numbers beyond float64 (``1e999``) refused by field."""
    text = read_text_file(path, max_bytes=MAX_JSON_BYTES, error=ExportFileError)
    try:
        data = json.loads(text, parse_constant=_non_finite_constant)
    except (ValueError, RecursionError) as exc:
        raise ExportFileError(f"malformed JSON: {exc}", str(path)) from None
    try:
        where = _non_finite(data, "")
    except RecursionError:
        raise ExportFileError("malformed JSON: nested too deeply", str(path)) from None
    if where is not None:
        raise ExportFileError("is not a finite number (NaN, Infinity, or beyond float64 such as 1e999); every "
                              "number of an export is finite", str(path), where.lstrip(".") or None)
    return data


def _non_finite(data, field: str) -> str | None:
    """The field of the first non-finite float in ``data`` (list items by their ``name`` when they have one)."""
    if isinstance(data, float):
        return None if math.isfinite(data) else field
    if isinstance(data, dict):
        items = ((f"{field}.{key}", value) for key, value in data.items())
    elif isinstance(data, list):
        items = ((f"{field}.{item['name']}" if isinstance(item, dict) and isinstance(item.get("name"), str)
                  else f"{field}[{k}]", item) for k, item in enumerate(data))
    else:
        return None
    for where, value in items:
        found = _non_finite(value, where)
        if found is not None:
            return found
    return None


def _check_format(data, source: str) -> None:
    """Refuse another file kind or another layout version before anything else is read."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ExportFileError(f"not a neuromorph network export (format {found!r}, expected {FORMAT!r})",
                              source, "format")
    if data.get("version") != VERSION:
        raise ExportFileError(f"format version {data.get('version')!r} cannot be read by this neuromorph, which "
                              f"reads version {VERSION}; export the network again with this version", source,
                              "version")


def _verify_file(directory: Path, name: str, entry) -> None:
    path = directory / name
    if path.is_symlink() or not path.is_file():
        raise ExportFileError("is listed in the manifest but missing (or not a regular file)", str(path))
    size = path.stat().st_size
    if size != entry.bytes:
        raise ExportFileError(f"is {size} bytes, the manifest says {entry.bytes}: the file was changed after "
                              "export", str(path))
    if _file_entry(path)["sha256"] != entry.sha256:
        raise ExportFileError("SHA-256 does not match the manifest: the file was changed after export", str(path))


def read_manifest(out_dir: str | Path) -> ManifestFile:
    """The validated manifest of an export, after checking every file it lists (size and SHA-256)."""
    directory = Path(out_dir)
    path = directory / MANIFEST
    data = _read_json(path)
    _check_format(data, str(path))
    manifest = validate_file(ManifestFile, data, str(path), ExportFileError)
    if NETWORK not in manifest.files:
        raise ExportFileError(f"does not list {NETWORK}", str(path), "files")
    for name, entry in manifest.files.items():
        _verify_file(directory, name, entry)
    return manifest


class _ArrayReader:
    """Loads the arrays ``network.json`` refers to (``allow_pickle=False``), checking dtype and shape."""

    def __init__(self, directory: Path, listed, source: str):
        self.directory, self.listed, self.source = directory, set(listed), source

    def get(self, ref, field: str, kind: str = "i", shape: tuple | None = None) -> np.ndarray:
        if ref.file not in self.listed:
            raise ExportFileError(f"refers to {ref.file}, which the manifest does not list", self.source, field)
        path = self.directory / ref.file
        self._check_header(path, ref, field)
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ExportFileError(f"cannot read {ref.file}: {exc}", self.source, field) from None
        if array.dtype.name != ref.dtype or list(array.shape) != ref.shape:
            raise ExportFileError(f"{ref.file} holds {array.dtype.name} {list(array.shape)}, network.json says "
                                  f"{ref.dtype} {ref.shape}", self.source, field)
        if array.dtype.kind not in kind:
            raise ExportFileError(f"{ref.file} must hold {'integers' if kind == 'i' else 'numbers'}, not "
                                  f"{array.dtype.name}", self.source, field)
        if shape is not None and array.shape != tuple(shape):
            raise ExportFileError(f"{ref.file} has shape {list(array.shape)}; expected {list(shape)}", self.source,
                                  field)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ExportFileError(f"{ref.file} holds non-finite values", self.source, field)
        return array.astype(np.int64) if array.dtype.kind in "iu" else array


    def _check_header(self, path: Path, ref, field: str) -> None:
        """Refuse an object array, or a header whose shape the file's bytes cannot hold, before reading any data."""
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(handle)
                data_bytes = path.stat().st_size - handle.tell()
        except (ValueError, OSError, EOFError) as exc:
            raise ExportFileError(f"cannot read {ref.file}: {exc}", self.source, field) from None
        if dtype.hasobject:
            raise ExportFileError(f"cannot read {ref.file}: it holds Python objects (pickles are never loaded)",
                                  self.source, field)
        if math.prod(shape) * dtype.itemsize > data_bytes:
            raise ExportFileError(f"{ref.file} declares shape {list(shape)} but holds {data_bytes} bytes of data",
                                  self.source, field)


def load_export(out_dir: str | Path) -> LoweredNetwork:
    """The :class:`LoweredNetwork` exported into ``out_dir`` (for the emulator, or :func:`load_lava`).

    Raises
    ------
    ExportFileError
        A file is missing, changed after export (size or SHA-256), of another format
        version, malformed, or inconsistent with the rest (named by file and field).
    """
    directory = Path(out_dir)
    manifest = read_manifest(directory)
    path = directory / NETWORK
    data = _read_json(path)
    _check_format(data, str(path))
    network = validate_file(NetworkData, data, str(path), ExportFileError)
    return lowered_network_from_data(network, _ArrayReader(directory, manifest.files, str(path)))


def load_lava(out_dir: str | Path, record_steps: int = 0):
    """The Lava process graph (:class:`~neuromorph.lava.graph.LavaGraph`) of an exported network.

    Run it with ``graph.any_process().run(condition=RunSteps(n), run_cfg=graph.run_config())``
    and stop it after; with ``record_steps`` > 0 each lowered population records that many steps
    (``graph.populations[name].recorded()``, files under ``graph.record_dir``, which the caller removes).
    """
    from ..lava.graph import build_graph

    return build_graph(load_export(out_dir), record_steps=record_steps)
