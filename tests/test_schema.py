"""The schema machinery: one declarative schema per file kind, errors as file:field: message."""
from typing import Annotated, Literal

import brian2
import pytest
from pydantic import Field

from neuromorph.errors import TargetFileError
from neuromorph.schema import Section, quantity, validate_file


class Datapath(Section):
    state_bits: Annotated[int, Field(ge=2, le=63)]
    overflow: Literal["saturate", "wrap"] = "saturate"


class Timing(Section):
    dt: quantity(brian2.second, positive=True)


class TargetLike(Section):
    datapath: Datapath
    timing: Timing | None = None


@pytest.mark.parametrize("data, message", [
    ({}, "t.toml:datapath: missing section"),
    ({"datapath": {}}, "t.toml:datapath.state_bits: missing required key"),
    ({"datapath": {"state_bits": 1}}, "t.toml:datapath.state_bits: must be greater than or equal to 2, got 1"),
    ({"datapath": {"state_bits": True}}, "t.toml:datapath.state_bits: must be an integer, got True"),
    ({"datapath": {"state_bits": 8.0}}, "t.toml:datapath.state_bits: must be an integer, got 8.0"),
    ({"datapath": {"state_bits": 8, "speed": 3}}, "t.toml:datapath.speed: unknown key; allowed: ['overflow', 'state_bits']"),
    ({"datapath": {"state_bits": 8, "overflow": "clip"}}, "t.toml:datapath.overflow: must be one of 'saturate' or 'wrap', got 'clip'"),
    ({"datapath": 3}, "t.toml:datapath: must be a table, got 3"),
    ({"datapath": {"state_bits": 8}, "timing": {"dt": "1 * mV"}}, "t.toml:timing.dt: expected a quantity in s"),
    ({"datapath": {"state_bits": 8}, "timing": {"dt": "-1 * ms"}}, "t.toml:timing.dt: must be > 0"),
    ({"datapath": {"state_bits": 8}, "timing": {"dt": float("nan")}}, "t.toml:timing.dt: must be a finite number"),
])
def test_errors_name_file_and_field(data, message):
    with pytest.raises(TargetFileError) as info:
        validate_file(TargetLike, data, "t.toml", TargetFileError)
    assert str(info.value).startswith(message), str(info.value)


def test_several_problems_are_counted_on_one_line():
    with pytest.raises(TargetFileError, match=r"\(and 1 more problem\)$"):
        validate_file(TargetLike, {"datapath": {"state_bits": 1, "overflow": "clip"}}, "t.toml", TargetFileError)


def test_valid_data_gives_frozen_si_values():
    value = validate_file(TargetLike, {"datapath": {"state_bits": 8}, "timing": {"dt": "25 * us"}}, "t.toml")
    assert value.timing.dt == pytest.approx(25e-6) and value.datapath.overflow == "saturate"
    with pytest.raises(Exception):
        value.datapath.state_bits = 9
