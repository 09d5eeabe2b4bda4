"""Hardware targets: declarative TOML files in ``hw_targets/``, validated on load.

A target states register widths, overflow behaviour, rounding modes, lookup-table
budgets and the network limits (weights, delays). Adding a target is adding a file; the
keys are documented in ``hw_targets/README.md``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomli

from ..errors import ConfigError, TargetFileError
from ..quantization.fixed_point import OVERFLOW_MODES, ROUNDING_MODES

TARGETS_DIR = Path(__file__).resolve().parents[2] / "hw_targets"


def _positive(value) -> str | None:
    return None if value > 0 else "must be positive"


def _width(value) -> str | None:
    return None if 2 <= value <= 63 else "must be between 2 and 63 bits"


#: Widest multiplier operand and accumulator neuromorph emulates exactly in 64-bit integers:
#: a product of two 32-bit operands is below 2**62 in magnitude, and a sum of two values of
#: 62 bits, or a rounding offset added to one, still fits int64.
MAX_MULTIPLIER_BITS = 32
MAX_ACCUMULATOR_BITS = 62


def _multiplier(value) -> str | None:
    if not 2 <= value <= MAX_MULTIPLIER_BITS:
        return (f"must be between 2 and {MAX_MULTIPLIER_BITS} bits (neuromorph emulates products exactly in "
                "64-bit integers)")
    return None


def _accumulator(value) -> str | None:
    if not 2 <= value <= MAX_ACCUMULATOR_BITS:
        return (f"must be between 2 and {MAX_ACCUMULATOR_BITS} bits (neuromorph emulates sums exactly in "
                "64-bit integers)")
    return None


def _overflow(value) -> str | None:
    return None if value in OVERFLOW_MODES else f"must be one of {list(OVERFLOW_MODES)}"


def _roundings(value) -> str | None:
    if not value or not all(isinstance(v, str) and v in ROUNDING_MODES for v in value):
        return f"must be a non-empty list drawn from {list(ROUNDING_MODES)}"
    return None


def _any(value) -> str | None:
    return None


#: section -> key -> (field name, type, validator)
SCHEMA: dict[str, dict[str, tuple[str, type, Callable[[Any], str | None]]]] = {
    "target": {"name": ("name", str, _any), "description": ("description", str, _any)},
    "datapath": {
        "state_bits": ("state_bits", int, _width), "multiplier_bits": ("multiplier_bits", int, _multiplier),
        "accumulator_bits": ("accumulator_bits", int, _accumulator), "input_bits": ("input_bits", int, _width),
        "rounding_modes": ("rounding_modes", list, _roundings),
    },
    "overflow": {
        "voltage": ("overflow_voltage", str, _overflow), "gate": ("overflow_gate", str, _overflow),
        "linear": ("overflow_linear", str, _overflow), "accumulator": ("overflow_accumulator", str, _overflow),
        "input": ("overflow_input", str, _overflow),
    },
    "lookup_tables": {"max_entries": ("lut_max_entries", int, _positive),
                      "memory_bits": ("lut_memory_bits", int, _positive)},
    "network": {
        "weight_bits": ("weight_bits", int, _width), "weight_exponent_min": ("weight_exponent_min", int, _any),
        "weight_exponent_max": ("weight_exponent_max", int, _any),
        "max_delay_steps": ("max_delay_steps", int, lambda v: None if v >= 0 else "must be >= 0"),
    },
    "defaults": {
        "state_bits": ("default_state_bits", int, _width), "lut_size": ("default_lut_size", int, _positive),
        "interpolate": ("default_interpolate", bool, _any), "rounding": ("default_rounding", str, _any),
        "narrow_rounding": ("default_narrow_rounding", str, _any),
    },
}


@dataclass(frozen=True)
class HardwareTarget:
    """A validated hardware target (widths in bits, delays in time steps)."""

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


def _field_values(data: dict, source: str) -> dict[str, Any]:
    for section in data:
        if section not in SCHEMA:
            raise TargetFileError(f"unknown section [{section}]; allowed: {sorted(SCHEMA)}", source, section)
    values = {}
    for section, keys in SCHEMA.items():
        content = data.get(section)
        if not isinstance(content, dict):
            raise TargetFileError(f"missing section [{section}]", source, section)
        for key in content:
            if key not in keys:
                raise TargetFileError(f"unknown key; allowed: {sorted(keys)}", source, f"{section}.{key}")
        for key, (name, kind, check) in keys.items():
            where = f"{section}.{key}"
            if key not in content:
                raise TargetFileError("missing required key", source, where)
            value = content[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TargetFileError(f"must be of type {kind.__name__}, got {value!r}", source, where)
            problem = check(value)
            if problem:
                raise TargetFileError(f"{problem}, got {value!r}", source, where)
            values[name] = tuple(value) if kind is list else value
    return values


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
    for where, ok, message in rules:
        if not ok:
            raise TargetFileError(message, target.source, where)


def load_target_file(path: str | Path) -> HardwareTarget:
    """Load and validate one target file."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = tomli.load(handle)
    except FileNotFoundError:
        raise TargetFileError("file not found", source) from None
    except tomli.TOMLDecodeError as exc:
        raise TargetFileError(f"malformed TOML: {exc}", source) from None
    target = HardwareTarget(**_field_values(data, source), source=source)
    _check_consistency(target)
    return target


def targets_dir() -> Path:
    """Directory of the shipped targets (``NEUROMORPH_TARGETS_DIR`` overrides it)."""
    return Path(os.environ.get("NEUROMORPH_TARGETS_DIR", TARGETS_DIR))


def available_targets() -> list[str]:
    """Names of the target files in :func:`targets_dir`."""
    return sorted(p.stem for p in targets_dir().glob("*.toml"))


def load_target(name_or_path: str | Path) -> HardwareTarget:
    """A target by name (``loihi2``) or by path to a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(".toml") or os.sep in text:
        return load_target_file(text)
    path = targets_dir() / f"{text}.toml"
    if not path.exists():
        raise ConfigError(f"unknown target {text!r}; available: {available_targets()} (or give a .toml path)",
                          field="--target")
    return load_target_file(path)
