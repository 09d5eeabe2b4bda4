"""Hardware targets: declarative TOML files in ``hw_targets/``, validated on load.

A target states register widths, overflow behaviour, rounding modes, lookup-table
budgets and the network limits (weights, delays). Adding a target is adding a file; the
keys are documented in ``hw_targets/README.md``.

The checkout's top-level ``hw_targets/`` directory is the one copy of the shipped targets.
Packaging maps it onto the subpackage ``neuromorph.hw_targets`` (``setup.py``), so an
installed neuromorph reads them as package data through :mod:`importlib.resources`; a
neuromorph run from a source checkout (editable install, or ``PYTHONPATH``) reads that
checkout's ``hw_targets/``, so code and targets always come from the same tree.
"""
from __future__ import annotations

import math

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field

from ..errors import ConfigError, TargetFileError
from ..files import read_toml_file
from ..quantization.fixed_point import OVERFLOW_MODES, ROUNDING_MODES
from ..schema import Identifier, Section, refuse, text, validate_file

#: Environment variable naming another directory of target files.
TARGETS_DIR_ENV = "NEUROMORPH_TARGETS_DIR"
#: Package whose data files are the shipped targets in an installed neuromorph.
TARGETS_PACKAGE = "neuromorph.hw_targets"
#: ``hw_targets/`` beside the package when it runs from a source checkout (absent once installed).
CHECKOUT_TARGETS_DIR = Path(__file__).resolve().parents[2] / "hw_targets"
#: Suffix of a target file.
TARGET_SUFFIX = ".toml"


#: Widest multiplier operand and accumulator neuromorph emulates exactly in 64-bit integers:
#: a product of two 32-bit operands is below 2**62 in magnitude, and a sum of two values of
#: 62 bits, or a rounding offset added to one, still fits int64.
MAX_MULTIPLIER_BITS = 32
MAX_ACCUMULATOR_BITS = 62

Width = Annotated[int, Field(ge=2, le=63)]
Overflow = Literal[OVERFLOW_MODES]
Rounding = Literal[ROUNDING_MODES]
Positive = Annotated[int, Field(ge=1)]


def _emulated(limit: int):
    def check(bits: int) -> int:
        if not 2 <= bits <= limit:
            raise refuse(f"must be between 2 and {limit} bits (neuromorph emulates the datapath exactly in 64-bit "
                         f"integers), got {bits}")
        return bits
    return AfterValidator(check)


class TargetSection(Section):
    """``[target]``: name and description."""

    name: Identifier
    description: text(500) = ""


class DatapathSection(Section):
    """``[datapath]``: register, multiplier, accumulator and input widths; rounding modes."""

    state_bits: Width
    multiplier_bits: Annotated[int, _emulated(MAX_MULTIPLIER_BITS)]
    accumulator_bits: Annotated[int, _emulated(MAX_ACCUMULATOR_BITS)]
    input_bits: Width
    rounding_modes: Annotated[list[Rounding], Field(min_length=1)]


class OverflowSection(Section):
    """``[overflow]``: the rule of each register class."""

    voltage: Overflow
    gate: Overflow
    linear: Overflow
    accumulator: Overflow
    input: Overflow


class TablesSection(Section):
    """``[lookup_tables]``: largest table and total table memory."""

    max_entries: Positive
    memory_bits: Positive


class NetworkSection(Section):
    """``[network]``: weight mantissa and exponent, longest delay."""

    weight_bits: Width
    weight_exponent_min: int
    weight_exponent_max: int
    max_delay_steps: Annotated[int, Field(ge=0)]


class CoresSection(Section):
    """``[cores]``: per-core limits and cores per chip, for the resource report (optional)."""

    cores_per_chip: Positive
    neurons_per_core: Positive
    synapse_memory_bits_per_core: Positive
    fan_in_per_core: Positive
    fan_out_per_core: Positive
    table_memory_bits_per_core: Positive


#: How a target forms a Gaussian increment from uniform draws (``[noise] gaussian``).
GAUSSIAN_FORMS = ("sum_of_uniforms", "inverse_cdf")


class NoiseSection(Section):
    """``[noise]``: the target's random source for ``noise = "target"`` (optional).

    ``uniform_bits``: bits of one uniform draw. ``gaussian = "sum_of_uniforms"``: a Gaussian
    increment is the centred sum of ``uniforms`` draws (Irwin-Hall), scaled by one multiply;
    ``"inverse_cdf"``: one draw addresses a table of ``table_entries`` quantiles of the normal
    distribution (its top bits), scaled by one multiply.
    """

    uniform_bits: Annotated[int, Field(ge=2, le=32)]
    gaussian: Literal[GAUSSIAN_FORMS]
    uniforms: Annotated[int, Field(ge=1, le=16)] = 1
    table_entries: Optional[Positive] = None


class DefaultsSection(Section):
    """``[defaults]``: the settings a user gets without flags."""

    state_bits: Width
    lut_size: Positive
    interpolate: bool
    rounding: Rounding
    narrow_rounding: Rounding


class TargetFile(Section):
    """A whole target file (keys documented in ``hw_targets/README.md``)."""

    target: TargetSection
    datapath: DatapathSection
    overflow: OverflowSection
    lookup_tables: TablesSection
    network: NetworkSection
    defaults: DefaultsSection
    cores: Optional[CoresSection] = None
    noise: Optional[NoiseSection] = None


@dataclass(frozen=True)
class CoreLimits:
    """What one core holds, and how many cores a chip has (``[cores]``; sources in ``hw_targets/README.md``).

    Attributes
    ----------
    cores_per_chip : int
        Neuron cores per chip.
    neurons_per_core : int
        Neurons (compartments) one core updates.
    synapse_memory_bits_per_core : int
        Bits of synaptic memory (weights and delays of the synapses into the core's neurons).
    fan_in_per_core : int
        Input axons: distinct presynaptic neurons whose synapses a core holds.
    fan_out_per_core : int
        Output axons: (neuron, destination core) pairs of a core's neurons.
    table_memory_bits_per_core : int
        Lookup-table memory of a core (each core hosting a lowered population holds its tables).
    """

    cores_per_chip: int
    neurons_per_core: int
    synapse_memory_bits_per_core: int
    fan_in_per_core: int
    fan_out_per_core: int
    table_memory_bits_per_core: int


@dataclass(frozen=True)
class NoiseGenerator:
    """How the target draws a Gaussian increment (``[noise]``): the centred sum of ``uniforms``
    draws of ``uniform_bits`` bits each (``gaussian == "sum_of_uniforms"``), or one draw addressing a
    table of ``table_entries`` normal quantiles (``"inverse_cdf"``)."""

    uniform_bits: int
    gaussian: str
    uniforms: int = 1
    table_entries: int | None = None

    @property
    def largest(self) -> float:
        """Largest magnitude of an increment, in standard deviations: ``sqrt(3 K)`` for the sum of ``K``
        uniforms, the outermost quantile ``Phi^-1(1 - 1 / (2 entries))`` for an inverse-CDF table."""
        if self.gaussian == "inverse_cdf":
            from scipy.stats import norm

            return float(norm.ppf(1.0 - 0.5 / self.table_entries))
        return math.sqrt(3.0 * self.uniforms)


@dataclass(frozen=True)
class HardwareTarget:
    """A validated hardware target (widths in bits, delays in time steps; ``cores``: per-core limits, if declared)."""

    name: str
    description: str
    state_bits: int
    multiplier_bits: int
    accumulator_bits: int
    input_bits: int
    rounding_modes: tuple[str, ...]
    overflow_voltage: str
    overflow_gate: str
    overflow_linear: str
    overflow_accumulator: str
    overflow_input: str
    lut_max_entries: int
    lut_memory_bits: int
    weight_bits: int
    weight_exponent_min: int
    weight_exponent_max: int
    max_delay_steps: int
    default_state_bits: int
    default_lut_size: int
    default_interpolate: bool
    default_rounding: str
    default_narrow_rounding: str
    source: str
    cores: CoreLimits | None = None
    noise: NoiseGenerator | None = None

    def rounding_for(self, state_bits: int) -> tuple[str, str]:
        """The default rounding at a register width, and why (for people).

        At the target's default width: ``defaults.rounding``; narrower: the measured best,
        ``defaults.narrow_rounding`` (see ``hw_targets/README.md``).
        """
        if state_bits >= self.default_state_bits:
            return self.default_rounding, f"{self.name}'s default at {self.default_state_bits} bits"
        return self.default_narrow_rounding, (f"{self.name}'s measured best below its default "
                                              f"{self.default_state_bits} bits (defaults.narrow_rounding)")

    def check_state_bits(self, bits: int, field: str = "--state-bits") -> int:
        """Refuse a register width this target does not have."""
        if not 2 <= bits <= self.state_bits:
            raise ConfigError(f"state bits {bits} exceed the {self.name} register width ({self.state_bits} bits)"
                              if bits > self.state_bits else f"state bits must be at least 2, got {bits}", field=field)
        return bits

    def check_lut_size(self, size: int, field: str = "--lut-size") -> int:
        """Refuse a table size that is not a power of two within the target's table limit."""
        if size < 2 or size & (size - 1) or size > self.lut_max_entries:
            raise ConfigError(f"lookup-table size must be a power of two between 2 and {self.lut_max_entries} "
                              f"on {self.name}, got {size}", field=field)
        return size


def _field_values(file: TargetFile) -> dict[str, Any]:
    """The flat fields of :class:`HardwareTarget` from a validated file."""
    d, o, t, n, f = file.datapath, file.overflow, file.lookup_tables, file.network, file.defaults
    return dict(
        name=file.target.name, description=file.target.description, state_bits=d.state_bits,
        multiplier_bits=d.multiplier_bits, accumulator_bits=d.accumulator_bits, input_bits=d.input_bits,
        rounding_modes=tuple(d.rounding_modes), overflow_voltage=o.voltage, overflow_gate=o.gate,
        overflow_linear=o.linear, overflow_accumulator=o.accumulator, overflow_input=o.input,
        lut_max_entries=t.max_entries, lut_memory_bits=t.memory_bits, weight_bits=n.weight_bits,
        weight_exponent_min=n.weight_exponent_min, weight_exponent_max=n.weight_exponent_max,
        max_delay_steps=n.max_delay_steps, default_state_bits=f.state_bits, default_lut_size=f.lut_size,
        default_interpolate=f.interpolate, default_rounding=f.rounding, default_narrow_rounding=f.narrow_rounding,
    )


def _check_consistency(target: HardwareTarget) -> None:
    rules = [
        ("defaults.state_bits", target.default_state_bits <= target.state_bits,
         f"must not exceed datapath.state_bits ({target.state_bits})"),
        ("defaults.rounding", target.default_rounding in target.rounding_modes,
         f"must be one of datapath.rounding_modes {list(target.rounding_modes)}"),
        ("defaults.narrow_rounding", target.default_narrow_rounding in target.rounding_modes,
         f"must be one of datapath.rounding_modes {list(target.rounding_modes)}"),
        ("defaults.lut_size", target.default_lut_size & (target.default_lut_size - 1) == 0
         and target.default_lut_size <= target.lut_max_entries,
         f"must be a power of two no larger than lookup_tables.max_entries ({target.lut_max_entries})"),
        ("datapath.accumulator_bits", target.accumulator_bits >= target.state_bits,
         "must be at least datapath.state_bits"),
        ("datapath.accumulator_bits", target.accumulator_bits >= 2 * target.multiplier_bits - 1,
         "must hold the double-width product of two multiplier operands (2 * multiplier_bits - 1)"),
        ("datapath.input_bits", target.input_bits <= target.accumulator_bits,
         "must not exceed datapath.accumulator_bits"),
        ("network.weight_exponent_max", target.weight_exponent_max >= target.weight_exponent_min,
         "must be >= network.weight_exponent_min"),
    ]
    noise = target.noise
    if noise is not None and noise.gaussian == "inverse_cdf":
        entries = noise.table_entries or 0
        rules.append(("noise.table_entries", entries >= 2 and entries & (entries - 1) == 0
                      and entries <= min(target.lut_max_entries, 1 << noise.uniform_bits),
                      "inverse_cdf needs a power of two from 2 to lookup_tables.max_entries "
                      f"({target.lut_max_entries}) and 2**uniform_bits"))
    for where, ok, message in rules:
        if not ok:
            raise TargetFileError(message, target.source, where)


def load_target_file(path: str | Path) -> HardwareTarget:
    """Load and validate one target file (bounded UTF-8 text, one declarative schema)."""
    source = str(path)
    file = validate_file(TargetFile, read_toml_file(path, error=TargetFileError), source, TargetFileError)
    cores = CoreLimits(**file.cores.model_dump()) if file.cores is not None else None
    noise = NoiseGenerator(**file.noise.model_dump()) if file.noise is not None else None
    target = HardwareTarget(**_field_values(file), source=source, cores=cores, noise=noise)
    _check_consistency(target)
    return target


def targets_dir() -> Path:
    """Directory of the target files that names (``--target loihi2``) refer to.

    In order: the directory ``NEUROMORPH_TARGETS_DIR`` names; the source checkout's
    ``hw_targets/`` when neuromorph runs from one; else the installed package data of
    ``neuromorph.hw_targets``.

    Raises
    ------
    ConfigError
        neuromorph is installed without its targets (a broken install), or they are not
        files on the file system (a zipped install).
    """
    override = os.environ.get(TARGETS_DIR_ENV)
    if override:
        return Path(override)
    if CHECKOUT_TARGETS_DIR.is_dir():
        return CHECKOUT_TARGETS_DIR
    try:
        shipped = resources.files(TARGETS_PACKAGE)
    except ModuleNotFoundError:
        raise ConfigError(f"the shipped hardware targets ({TARGETS_PACKAGE}) are not installed; reinstall "
                          f"neuromorph, or set {TARGETS_DIR_ENV}", field="--target") from None
    if not isinstance(shipped, Path):
        raise ConfigError(f"the shipped hardware targets ({TARGETS_PACKAGE}) are not files on disk ({shipped}); "
                          f"install neuromorph unzipped, or set {TARGETS_DIR_ENV}", field="--target")
    return shipped


def available_targets() -> list[str]:
    """Names of the target files in :func:`targets_dir`."""
    return sorted(p.stem for p in targets_dir().glob(f"*{TARGET_SUFFIX}"))


def load_target(name_or_path: str | Path) -> HardwareTarget:
    """A target by name (``loihi2``) or by path to a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(TARGET_SUFFIX) or os.sep in text:
        return load_target_file(text)
    path = targets_dir() / f"{text}{TARGET_SUFFIX}"
    if not path.exists():
        raise ConfigError(f"unknown target {text!r}; available: {available_targets()} (or give a .toml path)",
                          field="--target")
    return load_target_file(path)
