"""Rebuild a :class:`LoweredNetwork` from a validated ``network.json`` and its arrays, checking consistency.

The schema (:mod:`neuromorph.network.export_schema`) has checked types and ranges of each
value; this module checks what relates values to each other: every slot, register, port,
table and constant a program refers to exists; every array has the shape its population,
program or projection implies; every synapse index lies within its populations; every
name a projection refers to exists. Each problem is an :class:`ExportFileError` naming
``network.json`` and the field. The dataclasses' own validation (``LavaProjection``,
``lava_lif``) runs too, its errors relocated the same way. Each population is read by its
kind (``LoweredPopulation.read_payload``, through a :class:`PayloadReader`).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from contextlib import contextmanager

import numpy as np
from pydantic import ValidationError

from ..errors import InputError
from ..files import shorten
from ..quantization.builder import LutGrid, Table
from ..quantization.program import Op, Port, Program, Register, rounds
from ..quantization.quantize import QuantConfig, QuantizedNeuron
from .export_schema import ArrayRef, ExportFileError
from .kinds import EXPORT_KEYS, KINDS, LoweredPopulation
from .lava_lif import LavaLif, lava_lif
from .lava_semantics import LavaProjection
from .lower import LoweredCurrent, LoweredNetwork, LoweredProjection, LoweredSource
from .weights import QuantizedWeights, WeightError

#: Number of argument slots each opcode reads.
ARITY = {"const": 0, "load": 0, "port": 0, "add": 2, "sub": 2, "mul": 2, "shr": 1, "shl": 1, "scale": 1, "fit": 1,
         "index": 1, "remainder": 1, "read": 1, "gt": 2, "ge": 2, "and": 2, "select": 3, "min": 2,
         "draw": 0}
#: Number of immediates of each opcode (``fit``: 0, or 1 for an unsigned register).
IMMEDIATES = {"const": (1,), "load": (2,), "port": (1,), "shr": (1,), "shl": (1,), "scale": (1,), "fit": (0, 1),
              "index": (3,), "remainder": (3,), "read": (2,), "draw": (3,)}


@contextmanager
def _located(source: str, field: str):
    """Turn an InputError raised by a dataclass's own validation into one naming the file and field."""
    try:
        yield
    except ExportFileError:
        raise
    except InputError as exc:
        raise ExportFileError(exc.message, source, f"{field}.{exc.field}" if exc.field else field) from None


def _refuse(message: str, source: str, field: str):
    raise ExportFileError(message, source, field)


# -- programs ----------------------------------------------------------------------------

def _immediate_limit(op: Op, sizes: dict) -> tuple[int, int] | None:
    """(value, bound) of the immediate that indexes a constant, register, port or table."""
    where = {"const": "constants", "load": "registers", "port": "ports", "read": "tables"}.get(op.code)
    return (op.imm[0], sizes[where]) if where else None


def _check_op(k: int, op: Op, sizes: dict, source: str, field: str) -> None:
    where = f"{field}.ops[{k}]"
    if op.dst != k:
        _refuse(f"dst must be {k} (one slot per operation, in order), got {op.dst}", source, f"{where}.dst")
    if len(op.args) != ARITY[op.code] or any(a >= k for a in op.args):
        _refuse(f"{op.code} reads {ARITY[op.code]} earlier slots, got {list(op.args)}", source, f"{where}.args")
    if len(op.imm) not in IMMEDIATES.get(op.code, (0,)):
        _refuse(f"{op.code} takes {IMMEDIATES.get(op.code, (0,))} immediates, got {list(op.imm)}", source,
                f"{where}.imm")
    if op.code == "fit" and op.imm not in ((), (1,)):
        _refuse(f"fit takes no immediate or (1,) for an unsigned register, got {list(op.imm)}", source, f"{where}.imm")
    limit = _immediate_limit(op, sizes)
    if limit is not None and not 0 <= limit[0] < limit[1]:
        _refuse(f"{op.code} refers to entry {limit[0]} of {limit[1]}", source, f"{where}.imm")
    if op.code in ("shr", "shl") and not 0 <= op.imm[0] < 63:
        _refuse(f"shift must be 0..62, got {op.imm[0]}", source, f"{where}.imm")
    if op.code == "scale" and not -63 < op.imm[0] < 63:
        _refuse(f"scale shift must be -62..62, got {op.imm[0]}", source, f"{where}.imm")
    if op.code in ("index", "remainder") and not (0 <= op.imm[1] < 63 and op.imm[2] >= 1):
        _refuse(f"grid shift must be 0..62 and size >= 1, got {list(op.imm)}", source, f"{where}.imm")
    if rounds(op) != (0 <= op.site < sizes["sites"]):
        _refuse(f"rounding site {op.site} (shr and right scale ops use 0..{sizes['sites'] - 1}, others -1)", source,
                f"{where}.site")


def _check_program(program: Program, n_tables: int, n_constants: int, source: str, field: str) -> None:
    n_ops, n_registers = len(program.ops), len(program.registers)
    sizes = {"constants": n_constants, "registers": n_registers, "ports": len(program.ports), "tables": n_tables,
             "sites": program.n_sites}
    if program.n_sites != sum(rounds(op) for op in program.ops):
        _refuse(f"n_sites {program.n_sites} differs from the number of rounding operations", source,
                f"{field}.n_sites")
    for k, op in enumerate(program.ops):
        _check_op(k, op, sizes, source, field)
    if len(program.outputs) != n_registers or any(o >= n_ops for o in program.outputs):
        _refuse(f"needs one slot (< {n_ops}) per register ({n_registers})", source, f"{field}.outputs")
    if len(program.fits) != n_registers or any(f >= n_ops for f in program.fits):
        _refuse(f"needs one slot (< {n_ops}, or -1) per register ({n_registers})", source, f"{field}.fits")
    if program.spike >= n_ops:
        _refuse(f"slot {program.spike} does not exist ({n_ops} operations)", source, f"{field}.spike")
    if len(program.table_names) != n_tables:
        _refuse(f"names {len(program.table_names)} tables, the neuron has {n_tables}", source, f"{field}.table_names")


def _program(data, n_tables: int, n_constants: int, source: str, field: str) -> Program:
    ops = tuple(Op(**{**op.model_dump(), "args": tuple(op.args), "imm": tuple(op.imm)}) for op in data.ops)
    program = Program(ops=ops, registers=tuple(Register(**r.model_dump()) for r in data.registers),
                      ports=tuple(Port(**p.model_dump()) for p in data.ports), outputs=tuple(data.outputs),
                      fits=tuple(data.fits), spike=data.spike, rounding=data.rounding, seed=data.seed,
                      n_sites=data.n_sites, table_names=tuple(data.table_names))
    _check_program(program, n_tables, n_constants, source, field)
    return program


def _check_table_reads(program: Program, tables: tuple, source: str, field: str) -> None:
    """Every table read is addressed by an ``index`` operation on that table's own grid (origin, step, size):
    an index grid larger than its table, or another step, would read outside it or the wrong entry."""
    for k, op in enumerate(program.ops):
        if op.code != "read":
            continue
        address = program.ops[op.args[0]] if op.args else None
        grid = tables[op.imm[0]].grid
        expected = (grid.origin, grid.shift, grid.size)
        if address is None or address.code != "index" or tuple(address.imm) != expected:
            found = "no index operation" if address is None or address.code != "index" else list(address.imm)
            _refuse(f"table read {k} is addressed by {found}; it must be an index operation on the grid of table "
                    f"{op.imm[0]} (origin, shift, size) = {list(expected)}", source, f"{field}.program.ops[{k}]")


def _table(data, arrays, field: str) -> Table:
    if not 0 <= data.grid.shift < 63 or data.grid.size < 1:
        _refuse(f"grid shift must be 0..62 and size >= 1, got shift {data.grid.shift}, size {data.grid.size}",
                arrays.source, f"{field}.grid")
    last = data.grid.origin + ((data.grid.size - 1) << data.grid.shift)
    if not (-(1 << 63) <= data.grid.origin and last < (1 << 63)):
        _refuse("the grid's last point lies beyond 64-bit integers", arrays.source, f"{field}.grid")
    entries = arrays.get(data.entries, f"{field}.entries", shape=(data.grid.size,))
    low, high = ((-(1 << (data.entry_bits - 1)), (1 << (data.entry_bits - 1)) - 1) if data.signed
                 else (0, (1 << data.entry_bits) - 1))
    if entries.size and (entries.min() < low or entries.max() > high):
        _refuse(f"entries beyond {data.entry_bits} bits", arrays.source, f"{field}.entries")
    return Table(name=data.name, entries=entries, frac=data.frac, entry_bits=data.entry_bits, signed=data.signed,
                 grid=LutGrid(**data.grid.model_dump()), input_name=data.input_name)


def _neuron(data, arrays, field: str) -> QuantizedNeuron:
    tables = tuple(_table(t, arrays, f"{field}.tables[{k}]") for k, t in enumerate(data.tables))
    constants = arrays.get(data.constants, f"{field}.constants")
    if constants.ndim != 1:
        _refuse("must be a 1-D array", arrays.source, f"{field}.constants")
    program = _program(data.program, len(tables), constants.size, arrays.source, f"{field}.program")
    _check_table_reads(program, tables, arrays.source, field)
    initial = arrays.get(data.initial, f"{field}.initial", shape=(len(program.registers),))
    return QuantizedNeuron(name=data.name, target=data.target, config=QuantConfig(**data.config.model_dump()),
                           dt=data.dt, program=program, tables=tables, constants=constants, initial=initial,
                           datapath=dict(data.datapath))


# -- populations -------------------------------------------------------------------------

#: Dataclasses rebuilt through their validating constructor rather than directly.
VALIDATING = {LavaLif: lava_lif}


def _scalar(hint, value, source: str, field: str):
    """A JSON scalar of the annotated type (``float`` also takes an integer; ``bool`` is never a number)."""
    allowed = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}
    if hint not in allowed:
        _refuse(f"a field of type {hint} cannot be read from an export", source, field)
    if not isinstance(value, allowed[hint]) or (hint is not bool and isinstance(value, bool)):
        _refuse(f"must be {hint.__name__}, got {shorten(value)}", source, field)
    return float(value) if hint is float else value


def _typed(hint, value, arrays, field: str):
    """``value`` read as the annotated type: a dataclass, an array, a scalar, or None where optional."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if value is None and len(members) < len(typing.get_args(hint)):
            return None
        hint = members[0]
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, arrays, field)
    if hint is np.ndarray:
        try:
            ref = ArrayRef.model_validate(value)
        except ValidationError:
            _refuse(f"must be an array reference {{file, dtype, shape}}, got {shorten(value)}", arrays.source, field)
        return arrays.get(ref, field, kind="iufb")
    return _scalar(hint, value, arrays.source, field)


def _dataclass(cls, value, arrays, field: str):
    """A dataclass from its fields (by their type hints), through its validating constructor if it has one."""
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(value, dict) or set(value) != set(names):
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        _refuse(f"must hold exactly the fields {names} of {cls.__name__}, got {found}", arrays.source, field)
    hints = typing.get_type_hints(cls)
    values = {name: _typed(hints[name], value[name], arrays, f"{field}.{name}") for name in names}
    with _located(arrays.source, field):
        try:
            return VALIDATING.get(cls, cls)(**values)
        except (TypeError, ValueError) as exc:
            raise ExportFileError(f"cannot build {cls.__name__}: {exc}", arrays.source, field) from None


class PayloadReader:
    """What a population kind reads its payload with (``LoweredPopulation.read_payload``).

    Every method refuses what it cannot read with an :class:`ExportFileError` naming
    ``network.json`` and the field.
    """

    def __init__(self, arrays):
        self.arrays = arrays
        self.source = arrays.source

    def array(self, ref, field: str, kind: str = "i", shape: tuple | None = None) -> np.ndarray:
        """The array ``ref`` refers to, of dtype ``kind`` (numpy kind letters) and ``shape`` when given."""
        return self.arrays.get(ref, field, kind, shape)

    def matrix(self, ref, field: str, size: int, rows: int | None = None) -> np.ndarray | None:
        """A (rows, ``size``) integer array (any number of rows when ``rows`` is None); None for None."""
        if ref is None:
            return None
        array = self.arrays.get(ref, field)
        if array.ndim != 2 or array.shape[1] != size or (rows is not None and array.shape[0] != rows):
            self.refuse(f"shape {list(array.shape)} does not fit {rows if rows is not None else 'k'} rows x "
                        f"{size} neurons", field)
        return array

    def neuron(self, data, field: str) -> QuantizedNeuron:
        """A :class:`QuantizedNeuron`, its program checked (every slot, register, port, table and constant)."""
        return _neuron(data, self.arrays, field)

    def dataclass(self, cls, value, field: str):
        """A dataclass rebuilt field by field from its type hints (arrays as files)."""
        return _dataclass(cls, value, self.arrays, field)

    def refuse(self, message: str, field: str):
        """Raise an :class:`ExportFileError` about ``field``."""
        _refuse(message, self.source, field)


def _check_ports(population: LoweredPopulation, source: str, field: str) -> None:
    for variable, port in population.increment_ports.items():
        if not population.accepts(variable, port):
            _refuse(f"port {port} of {variable!r} is not an input of the population ({population.input_rows} "
                    "ports)", source, f"{field}.increment_ports.{variable}")


def _population(data, reader: PayloadReader, field: str) -> LoweredPopulation:
    """The population of one ``network.json`` entry, read by its kind (:data:`~.kinds.KINDS`)."""
    if data.kind not in KINDS:
        reader.refuse(f"unknown population kind {data.kind!r}; known: {sorted(KINDS)}", f"{field}.kind")
    cls = KINDS[data.kind]
    if any((getattr(data, key) is not None) != (key in cls.export_keys) for key in EXPORT_KEYS):
        reader.refuse(f"a {data.kind!r} population needs {' and '.join(cls.export_keys)} (and only that)",
                      f"{field}.kind")
    own = cls.read_payload(data, reader, field)
    si = {key: {name: reader.array(ref, f"{field}.{key}.{name}", "f", (data.size,))
                for name, ref in getattr(data, key).items()} for key in ("initial_si", "drive_si")}
    population = cls(name=data.name, size=data.size, spec=None, increment_ports=dict(data.increment_ports), **si,
                     **own)
    _check_ports(population, reader.source, field)
    return population


# -- projections and sources -------------------------------------------------------------

def _layer(data, arrays, sizes: tuple[int, int], field: str) -> LavaProjection:
    if (data.n_pre, data.n_post) != sizes:
        _refuse(f"n_pre x n_post = {data.n_pre} x {data.n_post}; the groups have {sizes[0]} x {sizes[1]} neurons",
                arrays.source, field)
    values = {key: arrays.get(getattr(data, key), f"{field}.{key}") for key in ("pre", "post", "weights", "delays")}
    with _located(arrays.source, field):
        return LavaProjection(**{**data.model_dump(), **values})


def _weights(data, arrays, field: str) -> QuantizedWeights:
    weights = arrays.get(data.weights, f"{field}.weights", shape=(data.n_weights,))
    error = WeightError(**data.error.model_dump())
    return QuantizedWeights(**{**data.model_dump(), "weights": weights, "error": error})


def _sorted_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


def _check_layers(layers: tuple, weights: QuantizedWeights, delays: np.ndarray, source: str, field: str) -> None:
    """The layers (the Lava processes that run) hold exactly the projection's synapses: as many, the same
    (weight, delay) pairs, its weight_exp and sign mode; a layer without delays only synapses of delay 0."""
    if sum(layer.n_synapses for layer in layers) != weights.n_weights:
        _refuse(f"the layers hold {sum(layer.n_synapses for layer in layers)} synapses, the projection "
                f"{weights.n_weights} weights", source, f"{field}.layers")
    for k, layer in enumerate(layers):
        if layer.weight_exp != weights.weight_exp or layer.sign_mode != weights.sign_mode:
            _refuse(f"weight_exp {layer.weight_exp} / sign_mode {layer.sign_mode!r} differ from the projection's "
                    f"{weights.weight_exp} / {weights.sign_mode!r}", source, f"{field}.layers[{k}]")
    pairs = np.concatenate([np.stack([np.asarray(layer.weights, dtype=np.int64),
                                      np.asarray(layer.delays, dtype=np.int64) if layer.kind.startswith("Delay")
                                      else np.zeros(layer.n_synapses, dtype=np.int64)], axis=1)
                            for layer in layers] or [np.zeros((0, 2), dtype=np.int64)])
    own = np.stack([np.asarray(weights.weights, dtype=np.int64), np.asarray(delays, dtype=np.int64)], axis=1)
    if not np.array_equal(_sorted_rows(pairs), _sorted_rows(own)):
        _refuse("the layers' weights and delays differ from the projection's weights and delay_steps (the "
                "export was changed after it was written)", source, f"{field}.layers")


def _projection(data, arrays, groups: dict, populations: dict, field: str) -> LoweredProjection:
    if data.source not in groups:
        _refuse(f"unknown source {data.source!r}; populations and sources: {sorted(groups)}", arrays.source,
                f"{field}.source")
    if data.target not in populations:
        _refuse(f"unknown target {data.target!r}; populations: {sorted(populations)}", arrays.source, f"{field}.target")
    target = populations[data.target]
    if data.port >= target.input_rows:
        _refuse(f"port {data.port} does not exist on {data.target!r} ({target.input_rows} ports)", arrays.source,
                f"{field}.port")
    sizes = (groups[data.source], target.size)
    layers = tuple(_layer(layer, arrays, sizes, f"{field}.layers[{k}]") for k, layer in enumerate(data.layers))
    weights = _weights(data.weights, arrays, f"{field}.weights")
    delays = arrays.get(data.delay_steps, f"{field}.delay_steps", shape=(data.weights.n_weights,))
    _check_layers(layers, weights, delays, arrays.source, field)
    return LoweredProjection(name=data.name, source=data.source, target=data.target, variable=data.variable,
                             port=data.port, layers=layers, weights=weights, delay_steps=delays)


def _check_raster_memory(sources, source: str) -> None:
    """Refuse spike rasters (steps x neurons, one byte each) that would not fit in memory, before allocating them."""
    from ..resources_check import USABLE_FRACTION, available_memory

    total, budget = 0, USABLE_FRACTION * available_memory()
    for data in sources:
        total += data.n_steps * data.size
        if total > budget:
            _refuse(f"the spike rasters need {total / 1e9:.3g} GB ({data.n_steps:,} steps x {data.size:,} neurons "
                    f"here) but {budget / 1e9:.3g} GB are available", source, f"sources.{data.name}.n_steps")


def _source(data, arrays, n_steps: int, field: str) -> LoweredSource:
    steps = arrays.get(data.steps, f"{field}.steps")
    neurons = arrays.get(data.neurons, f"{field}.neurons", shape=steps.shape)
    if steps.ndim != 1:
        _refuse("must be a 1-D array", arrays.source, f"{field}.steps")
    if data.n_steps < n_steps:
        _refuse(f"the raster has {data.n_steps} steps; the network runs {n_steps}", arrays.source, f"{field}.n_steps")
    if data.n_steps > n_steps:
        _refuse(f"the raster has {data.n_steps} steps; the network runs {n_steps}", arrays.source, f"{field}.n_steps")
    for name, values, bound in (("steps", steps, data.n_steps), ("neurons", neurons, data.size)):
        if values.size and (values.min() < 0 or values.max() >= bound):
            _refuse(f"values must lie in [0, {bound})", arrays.source, f"{field}.{name}")
    spikes = np.zeros((data.n_steps, data.size), dtype=bool)
    spikes[steps, neurons] = True
    return LoweredSource(name=data.name, size=data.size, spikes=spikes)


def _current(data, arrays, n_steps: int, populations: dict, field: str) -> LoweredCurrent:
    """A sampled input: the integer drive of one drive port of a lowered population, one row per step."""
    target = populations.get(data.target)
    if target is None:
        _refuse(f"unknown target {data.target!r}; populations: {sorted(populations)}", arrays.source, f"{field}.target")
    ports = getattr(getattr(target, "neuron", None), "program", None)
    ports = ports.ports if ports is not None else ()
    if not (data.port < len(ports) and ports[data.port].kind == "drive"):
        drives = [k for k, p in enumerate(ports) if p.kind == "drive"]
        _refuse(f"port {data.port} is not a drive port of {data.target!r} (its drive ports: {drives}; a "
                f"{target.kind!r} population)", arrays.source, f"{field}.port")
    if data.port < target.drive.shape[0] and np.any(target.drive[data.port]):
        _refuse(f"port {data.port} of {data.target!r} also has a constant drive (populations.{data.target}.drive row "
                f"{data.port}); a sampled input's port has a drive of 0, its values come from here", arrays.source,
                f"{field}.port")
    values = arrays.get(data.values, f"{field}.values", shape=(n_steps, target.size))
    if values.size and np.abs(values).max() >= 1 << 62:
        _refuse("values beyond 62 bits (the lowering clamps sampled inputs there)", arrays.source, f"{field}.values")
    return LoweredCurrent(name=data.name, target=data.target, port=data.port, values=values)


def _check_unique(names: list[str], source: str, field: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            _refuse(f"name {name!r} is used twice", source, f"{field}.{name}")
        seen.add(name)


def lowered_network_from_data(network, arrays) -> LoweredNetwork:
    """The :class:`LoweredNetwork` of a validated ``network.json`` (``arrays`` loads its ``.npy`` files)."""
    _check_unique([p.name for p in network.populations] + [s.name for s in network.sources]
                  + [c.name for c in network.currents], arrays.source, "populations")
    _check_unique([p.name for p in network.projections], arrays.source, "projections")
    _check_raster_memory(network.sources, arrays.source)
    reader = PayloadReader(arrays)
    populations = tuple(_population(p, reader, f"populations.{p.name}") for p in network.populations)
    sources = tuple(_source(s, arrays, network.n_steps, f"sources.{s.name}") for s in network.sources)
    groups = {**{p.name: p.size for p in populations}, **{s.name: s.size for s in sources}}
    by_name = {p.name: p for p in populations}
    projections = tuple(_projection(p, arrays, groups, by_name, f"projections.{p.name}") for p in network.projections)
    currents = tuple(_current(c, arrays, network.n_steps, by_name, f"currents.{c.name}") for c in network.currents)
    _check_one_current_per_port(currents, arrays.source)
    return LoweredNetwork(target=network.target, dt=network.dt, n_steps=network.n_steps, populations=populations,
                          projections=projections, sources=sources, config=QuantConfig(**network.config.model_dump()),
                          notes=tuple(network.notes), currents=currents)


def _check_one_current_per_port(currents: tuple, source: str) -> None:
    seen = {}
    for current in currents:
        key = (current.target, current.port)
        if key in seen:
            _refuse(f"port {current.port} of {current.target!r} is also set by {seen[key]!r}; one sampled input "
                    "per port", source, f"currents.{current.name}.port")
        seen[key] = current.name
