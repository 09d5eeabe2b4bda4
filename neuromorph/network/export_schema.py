"""Schemas (pydantic, :mod:`neuromorph.schema`) of an exported network's JSON files.

``manifest.json`` lists every other file with its SHA-256 and size; ``network.json`` holds
the structure and the small values, and refers to each array by an :class:`ArrayRef` (a
``.npy`` file under ``arrays/``, its dtype and shape). The field names are those of the
dataclasses they rebuild (:class:`~neuromorph.quantization.program.Op`, ``Register``,
``Port``, :class:`~neuromorph.quantization.quantize.QuantConfig`, ...), so a reader can
follow the code. Keys are documented in :mod:`neuromorph.network.export`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, StringConstraints

from ..errors import InputError
from ..quantization.fixed_point import OVERFLOW_MODES, ROUNDING_MODES
from ..quantization.program import OPCODES
from ..quantization.quantize import DEFAULT_RESIDUAL_BITS, FEEDBACK_KINDS, MAX_RESIDUAL_BITS, METHODS
from ..schema import Section, text
from .lava_semantics import PROCESS_KINDS, SIGN_MODES
from .weights import NORMS

#: Format name written in both JSON files.
FORMAT = "neuromorph-lowered-network"
#: Version of the layout this code writes and reads.
VERSION = 1
#: Array dtypes an export may hold (never ``object``: ``.npy`` files are read with ``allow_pickle=False``).
ARRAY_DTYPES = ("int64", "int32", "bool", "float64")
#: An array file: ``arrays/<name>.npy``, no directories below, no ``..``.
ARRAY_FILE = r"^arrays/[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.npy$"
#: Any file of the manifest: ``network.json`` or an array file.
LISTED_FILE = r"^(network\.json|arrays/[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.npy)$"



class ExportFileError(InputError):
    """An exported network is malformed, tampered with or of another format version."""


Count = Annotated[int, Field(ge=0)]
#: Steps of a run: Brian2 counts them in int32, so at most 2^31 - 1 (as a network file's duration).
Steps = Annotated[int, Field(ge=1, le=2 ** 31 - 1)]
Positive = Annotated[int, Field(ge=1)]
Name = text(200, 1)
Label = text(2000)


class FileEntry(Section):
    """One file of the export: SHA-256 (hex) and size in bytes."""

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    bytes: Count


class ManifestFile(Section):
    """``manifest.json``."""

    format: str
    version: int
    files: dict[Annotated[str, StringConstraints(pattern=LISTED_FILE)], FileEntry]


class ArrayRef(Section):
    """An array stored as ``file`` (``.npy``), with the dtype and shape it must have."""

    file: Annotated[str, StringConstraints(pattern=ARRAY_FILE)]
    dtype: Literal[ARRAY_DTYPES]
    shape: list[Count]


class OpData(Section):
    """:class:`~neuromorph.quantization.program.Op`."""

    code: Literal[tuple(OPCODES)]
    dst: Count
    args: list[Count]
    imm: list[int]
    width: Annotated[int, Field(ge=1, le=64)]
    operand_width: Annotated[int, Field(ge=0, le=64)]
    overflow: Literal[("",) + tuple(OVERFLOW_MODES)]
    site: Annotated[int, Field(ge=-1)]
    label: Label
    may_overflow: bool
    low: int
    high: int


class RegisterData(Section):
    """:class:`~neuromorph.quantization.program.Register`."""

    name: Name
    kind: Name
    bits: Annotated[int, Field(ge=1, le=64)]
    frac: int
    offset: int
    overflow: Literal[OVERFLOW_MODES]
    unit: Label
    signed: bool
    value_bits: Annotated[int, Field(ge=0, le=64)]


class PortData(Section):
    """:class:`~neuromorph.quantization.program.Port`."""

    name: Name
    kind: Name
    state: Name
    bits: Annotated[int, Field(ge=1, le=64)]
    frac: int
    scale: float


class ProgramData(Section):
    """:class:`~neuromorph.quantization.program.Program`."""

    ops: list[OpData]
    registers: list[RegisterData]
    ports: list[PortData]
    outputs: list[Count]
    fits: list[Annotated[int, Field(ge=-1)]]
    spike: Count
    rounding: Literal[ROUNDING_MODES]
    seed: Count
    n_sites: Count
    table_names: list[Name]


class ConfigData(Section):
    """:class:`~neuromorph.quantization.quantize.QuantConfig`."""

    state_bits: Annotated[int, Field(ge=2, le=64)]
    gate_bits: Annotated[int, Field(ge=2, le=64)]
    lut_size: Positive
    interpolate: bool
    rounding: Literal[ROUNDING_MODES]
    seed: Count
    headroom: Annotated[float, Field(gt=0)]
    method: Literal[METHODS]
    rounding_source: Label
    residual_bits: Annotated[int, Field(ge=1, le=MAX_RESIDUAL_BITS)] = DEFAULT_RESIDUAL_BITS
    feedback: list[Literal[FEEDBACK_KINDS]] = list(FEEDBACK_KINDS)


class GridData(Section):
    """:class:`~neuromorph.quantization.builder.LutGrid`."""

    origin: int
    shift: Count
    size: Positive
    interpolate: bool


class TableData(Section):
    """:class:`~neuromorph.quantization.builder.Table` (entries in a file)."""

    name: Name
    entries: ArrayRef
    frac: int
    entry_bits: Annotated[int, Field(ge=1, le=64)]
    signed: bool
    grid: GridData
    input_name: Label


class NeuronData(Section):
    """:class:`~neuromorph.quantization.quantize.QuantizedNeuron`."""

    name: Name
    target: Name
    config: ConfigData
    dt: Annotated[float, Field(gt=0)]
    program: ProgramData
    tables: list[TableData]
    constants: ArrayRef
    initial: ArrayRef
    datapath: dict[str, Union[int, str]]


class PopulationData(Section):
    """:class:`~neuromorph.network.kinds.LoweredPopulation` (without its neuron IR ``spec``).

    ``neuron``, ``drive`` and ``lif`` are the kind's payload (``LoweredPopulation.export_payload``);
    ``lif`` holds the fields of a :class:`~neuromorph.network.lif_mapping.LifConversion`, checked
    against its dataclasses' type hints when rebuilt.
    """

    name: Name
    size: Positive
    kind: Name
    neuron: Optional[NeuronData]
    initial: Optional[ArrayRef]
    drive: Optional[ArrayRef]
    increment_ports: dict[str, Count]
    initial_si: dict[str, ArrayRef]
    drive_si: dict[str, ArrayRef]
    lif: Optional[dict[str, Any]]


class WeightErrorData(Section):
    """:class:`~neuromorph.network.weights.WeightError`."""

    max_abs: Annotated[float, Field(ge=0)]
    rms_abs: Annotated[float, Field(ge=0)]
    max_rel: Annotated[float, Field(ge=0)]
    rms_rel: Annotated[float, Field(ge=0)]


class WeightsData(Section):
    """:class:`~neuromorph.network.weights.QuantizedWeights`."""

    weights: ArrayRef
    weight_exp: int
    sign_mode: Literal[tuple(SIGN_MODES)]
    weight_bits: Annotated[int, Field(ge=1, le=64)]
    norm: Literal[tuple(NORMS)]
    n_weights: Count
    n_clipped: Count
    n_zeroed: Count
    error: WeightErrorData


class LayerData(Section):
    """:class:`~neuromorph.network.lava_semantics.LavaProjection` (one Lava synapse process)."""

    name: Name
    kind: Literal[tuple(PROCESS_KINDS)]
    n_pre: Positive
    n_post: Positive
    pre: ArrayRef
    post: ArrayRef
    weights: ArrayRef
    delays: ArrayRef
    weight_exp: int
    num_weight_bits: Annotated[int, Field(ge=1, le=64)]
    sign_mode: Optional[Literal[tuple(SIGN_MODES)]]
    max_delay: Count


class ProjectionData(Section):
    """:class:`~neuromorph.network.lower.LoweredProjection`."""

    name: Name
    source: Name
    target: Name
    variable: Name
    port: Count
    layers: list[LayerData]
    weights: WeightsData
    delay_steps: ArrayRef


class SourceData(Section):
    """:class:`~neuromorph.network.lower.LoweredSource`: its (``n_steps``, ``size``) raster as the
    step and neuron of every spike."""

    name: Name
    size: Positive
    n_steps: Steps
    steps: ArrayRef
    neurons: ArrayRef


class CurrentData(Section):
    """:class:`~neuromorph.network.lower.LoweredCurrent`: the integer drive of one port, (steps, neurons)."""

    name: Name
    target: Name
    port: Count
    values: ArrayRef


class NetworkData(Section):
    """``network.json``: :class:`~neuromorph.network.lower.LoweredNetwork`."""

    format: str
    version: int
    target: Name
    dt: Annotated[float, Field(gt=0)]
    n_steps: Steps
    config: ConfigData
    notes: list[Label]
    populations: list[PopulationData]
    projections: list[ProjectionData]
    sources: list[SourceData]
    currents: list[CurrentData] = []
