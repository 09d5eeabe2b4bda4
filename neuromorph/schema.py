"""Declarative schemas for neuromorph's data files, on pydantic v2.

Every file kind (model, tuned config, and later targets and networks) is a tree of
:class:`Section` models: unknown keys are refused, types are strict (``true`` is not a
number, ``1.5`` is not an integer), floats must be finite, and quantities go through the
safe parser of :mod:`neuromorph.units`. :func:`validate_file` runs a schema on parsed
TOML and turns the first problem into one :class:`~neuromorph.errors.InputError` of the
form ``file:field: what is wrong; what is allowed``.

Porting a file kind is declaring its sections, e.g.::

    class Datapath(Section):
        state_bits: Annotated[int, Field(ge=2, le=63)]
        overflow: Literal["saturate", "wrap"]

    class TargetFile(Section):
        datapath: Datapath

    data = read_toml_file(path, error=TargetFileError)
    target = validate_file(TargetFile, data, str(path), TargetFileError)
"""
from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, PlainValidator, StringConstraints, Tag,
                      ValidationError)
from pydantic_core import PydanticCustomError

from .errors import InputError, UnitError
from .files import shorten
from .units import parse_quantity, to_si

#: The error type of messages written by neuromorph's own validators (shown as they are).
CUSTOM = "neuromorph"
#: Largest seed accepted anywhere (numpy generators and the rounding hash take 32 bits here).
MAX_SEED = 2**32 - 1


class Section(BaseModel):
    """A table of a data file: no unknown keys, strict types, finite floats, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def refuse(message: str) -> PydanticCustomError:
    """An error raised inside a validator; its message appears unchanged after the field."""
    return PydanticCustomError(CUSTOM, "{message}", {"message": message})


IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
#: A name usable in equations: a letter, then letters, digits and underscores; at most 64 characters.
Identifier = Annotated[str, StringConstraints(max_length=64, pattern=IDENTIFIER_PATTERN)]


def text(max_length: int, min_length: int = 0) -> Any:
    """A string of bounded length (whitespace at the ends removed)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]


#: A seed: an integer from 0 to :data:`MAX_SEED`.
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


def _quantity_check(unit, low: float | None, low_inclusive: bool) -> Callable[[Any], float]:
    def check(value) -> float:
        try:
            si = to_si(value, unit=unit)
        except UnitError as exc:
            raise refuse(exc.message) from None
        if low is not None and (si < low or (si == low and not low_inclusive)):
            raise refuse(f"must be {'>=' if low_inclusive else '>'} {low:g}, got {shorten(value)}")
        return si
    return check


def quantity(unit, *, positive: bool = False, nonnegative: bool = False) -> Any:
    """A number or quantity string with the dimension of ``unit``, stored as a finite SI float.

    ``unit`` is a Brian2 unit (``brian2.second``) or ``1`` for dimensionless values.
    """
    low = 0.0 if positive or nonnegative else None
    return Annotated[float, PlainValidator(_quantity_check(unit, low, nonnegative))]


def _any_quantity(value):
    try:
        return parse_quantity(value)
    except UnitError as exc:
        raise refuse(exc.message) from None


#: A number or quantity string of any dimension, kept as a Brian2 ``Quantity``.
AnyQuantity = Annotated[Any, PlainValidator(_any_quantity)]


def _number_or_text(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise refuse(f"expected a number or a quantity string such as '-65 * mV', got {shorten(value)}")
    if isinstance(value, str) and len(value) > 1000:
        raise refuse(f"a quantity is at most 1000 characters long, got {shorten(value)}")
    return value


#: A number or quantity string whose dimension is checked later (kept as written).
NumberOrText = Annotated[Any, PlainValidator(_number_or_text)]


def _shape(value) -> str:
    return "table" if isinstance(value, dict) else "list" if isinstance(value, list) else "value"


def by_shape(*, value: Any = None, table: Any = None, list_: Any = None) -> Any:
    """A field whose TOML shape (a table, a list or a single value) selects its type.

    Only the selected type validates the input, so an error names that type's problem
    and field, never a member of a union the input was not meant to be. A shape without
    a type is refused as a value of the first type given.
    """
    members = {"value": value, "table": table, "list": list_}
    given = [(tag, kind) for tag, kind in members.items() if kind is not None]
    first = given[0][0]
    return Annotated[Union[tuple(Annotated[kind, Tag(tag)] for tag, kind in given)],
                     Discriminator(lambda data: _shape(data) if members[_shape(data)] is not None else first)]


def name_check(check: Callable[[str], str | None]) -> AfterValidator:
    """An after-validator from ``check(name) -> problem or None``."""
    def run(name: str) -> str:
        problem = check(name)
        if problem:
            raise refuse(problem)
        return name
    return AfterValidator(run)


# ----------------------------------------------------------------------------------------
# ValidationError -> InputError
# ----------------------------------------------------------------------------------------

_KINDS = {
    "int_type": "must be an integer", "int_from_float": "must be an integer",
    "float_type": "must be a number", "string_type": "must be a string", "bool_type": "must be true or false",
    "dict_type": "must be a table", "model_type": "must be a table", "model_attributes_type": "must be a table",
    "list_type": "must be a list", "finite_number": "must be a finite number",
    "string_pattern_mismatch": "must be a name: a letter, then letters, digits or underscores",
}


def _strip_optional(annotation):
    """The annotation without ``Annotated`` metadata and without a ``None`` alternative."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _strip_optional(members[0])
    return annotation


def _tag_member(annotation, tag) -> Any:
    """The member of a discriminated union selected by ``tag``, if ``annotation`` is one."""
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return None
    for member in typing.get_args(annotation):
        if any(isinstance(meta, Tag) and meta.tag == tag for meta in getattr(member, "__metadata__", ())):
            return member
        member = _strip_optional(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            for field in member.model_fields.values():
                if typing.get_origin(field.annotation) is Literal and tag in typing.get_args(field.annotation):
                    return member
    return None


def _locate(schema: type[BaseModel], loc: tuple) -> tuple[list[str], type[BaseModel] | None]:
    """Dotted field path of a pydantic ``loc`` (union tags and ``[key]`` markers removed),
    and the section model the last key belongs to (for listing the allowed keys)."""
    path, current, owner = [], schema, None
    for part in loc:
        current = _strip_optional(current)
        member = _tag_member(current, part)
        if member is not None:
            current = member
            continue
        if part == "[key]":
            continue
        path.append(str(part))
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) is dict:
            owner, current = None, typing.get_args(current)[1]
        else:
            owner, current = None, None
    return path, owner


def _message(error: dict, owner: type[BaseModel] | None, depth: int) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    got = f", got {shorten(error['input'])}"
    if kind == CUSTOM:
        return ctx["message"]
    if kind == "missing":
        return "missing section" if depth == 1 else "missing required key"
    if kind == "extra_forbidden":
        return f"unknown key; allowed: {sorted(owner.model_fields) if owner else 'none'}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{got}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')}, got {shorten(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return "missing required key"
    if kind in _KINDS:
        return _KINDS[kind] + got
    message = re.sub(r"^(Input|Value|String) should (be|have)", lambda m: f"must {m.group(2)}", error["msg"])
    return message + got


def as_input_error(exc: ValidationError, schema: type[BaseModel], source: str | None,
                   error: type[InputError] = InputError) -> InputError:
    """One-line error for the first problem of a validation: ``file:field: message``.

    An unknown key comes first: a misspelt key also makes the right one missing, and the
    misspelling is what the user has to fix.
    """
    problems = exc.errors(include_url=False)
    first = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    path, owner = _locate(schema, tuple(first["loc"]))
    message = _message(first, owner, len(path))
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path.append(str((first.get("ctx") or {}).get("discriminator", "")).strip("'"))
    path = [part if len(part) <= 64 else part[:64] + "..." for part in path]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return error(message, source, ".".join(path) or None)


def validate_file(schema: type[BaseModel], data: Any, source: str | None, error: type[InputError] = InputError):
    """Validate parsed file ``data`` against ``schema``; raise ``error`` naming file and field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise as_input_error(exc, schema, source, error) from None
