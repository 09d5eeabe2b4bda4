"""Safe quantity parser: ``"1.5 * mS/cm**2"`` -> Brian2 quantity, without ``eval``.

The text is parsed with :mod:`ast` and walked over a whitelist: numbers, names of Brian2
units (plus the bare SI symbols ``S V A F M``), ``+ - * / **``, unary signs and parentheses. Everything else (calls, attribute
access, subscripts, strings, ...) is refused before anything is evaluated.

Arithmetic is done in float64 on (value, dimension) pairs, never in Python or numpy
integers, so ``2**64 * mV`` is 1.8e16 V and ``10**-3`` is 0.001; every intermediate
result must be finite (no overflow, no division by zero). Texts longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` are refused, and
error messages echo at most about 200 characters of a bad value.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import NamedTuple

import brian2
import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, Quantity, Unit, get_dimensions

from .errors import UnitError
from .files import shorten

#: Longest quantity text accepted (characters).
MAX_LENGTH = 1000
#: Deepest expression tree accepted (levels of operators and parentheses).
MAX_DEPTH = 32
#: Largest power a quantity with units may be raised to (``cm**-2`` is 2).
MAX_UNIT_EXPONENT = 12


def _unit_namespace() -> dict[str, Quantity]:
    """Every unit Brian2 exports (``mV``, ``msiemens``, ``mS``, ``uF``, ``mM``, ...)."""
    names = {}
    for name in dir(brian2):
        value = getattr(brian2, name)
        if isinstance(value, Unit):
            names[name] = value
    return names


#: Bare SI symbols Brian2 spells out (it has ``mS`` and ``mV`` but not ``S`` or ``V``); quantity
#: strings accept them, equations do not (there Brian2's names apply: ``siemens``, ``volt``).
SI_SYMBOLS = {"S": brian2.siemens, "V": brian2.volt, "A": brian2.amp, "F": brian2.farad, "M": brian2.molar}

UNITS = {**SI_SYMBOLS, **_unit_namespace()}


class _Value(NamedTuple):
    """A float64 value in SI units and its Brian2 dimension."""

    value: float
    dim: Dimension


def _mul(a: _Value, b: _Value) -> _Value:
    return _Value(a.value * b.value, a.dim * b.dim)


def _div(a: _Value, b: _Value) -> _Value:
    if b.value == 0:
        raise ZeroDivisionError
    return _Value(a.value / b.value, a.dim / b.dim)


def _add(a: _Value, b: _Value, op) -> _Value:
    if a.dim != b.dim:
        raise brian2.DimensionMismatchError("")
    return _Value(op(a.value, b.value), a.dim)


def _pow(base: _Value, exponent: _Value) -> _Value:
    if exponent.dim != DIMENSIONLESS:
        raise TypeError("an exponent must be a plain number")
    if base.dim != DIMENSIONLESS and abs(exponent.value) > MAX_UNIT_EXPONENT:
        raise TypeError(f"a quantity with units may be raised to powers up to {MAX_UNIT_EXPONENT}")
    value = base.value ** exponent.value  # float ** float: OverflowError, ZeroDivisionError or complex
    if isinstance(value, complex):
        raise TypeError("a negative number to a fractional power is not a real number")
    return _Value(value, base.dim ** exponent.value)


_BINARY = {
    ast.Add: lambda a, b: _add(a, b, operator.add), ast.Sub: lambda a, b: _add(a, b, operator.sub),
    ast.Mult: _mul, ast.Div: _div, ast.Pow: _pow,
}
_UNARY = {ast.UAdd: lambda a: a, ast.USub: lambda a: _Value(-a.value, a.dim)}


def expression_depth(tree: ast.AST) -> int:
    """Depth of an expression tree, computed without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _constant(node: ast.Constant) -> _Value:
    try:
        value = float(node.value)
    except OverflowError:
        raise ArithmeticError("a number is too large for a 64-bit float") from None
    if not math.isfinite(value):
        raise ArithmeticError("a number is too large for a 64-bit float")
    return _Value(value, DIMENSIONLESS)


def _evaluate(node: ast.AST) -> _Value:
    """Value of a whitelisted node; raises ValueError for anything outside the whitelist."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _constant(node)
    if isinstance(node, ast.Name):
        if node.id not in UNITS:
            raise NameError(node.id)
        return _Value(float(UNITS[node.id]), get_dimensions(UNITS[node.id]))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        result = _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
        if not math.isfinite(result.value):
            raise ArithmeticError("the result overflows a 64-bit float")
        return result
    raise ValueError("not whitelisted")


def _parse_tree(text: str, source, field) -> ast.AST:
    if len(text) > MAX_LENGTH:
        raise UnitError(f"a quantity is at most {MAX_LENGTH} characters long, got {shorten(text)}", source, field)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise UnitError(f"cannot parse {shorten(text)} as a quantity (e.g. '1.5 * mS/cm**2')", source, field) from None
    if expression_depth(tree) > MAX_DEPTH:
        raise UnitError(f"{shorten(text)} is nested deeper than {MAX_DEPTH} levels; write the value plainly",
                        source, field)
    return tree


def _quantity_from_text(text: str, source, field) -> Quantity:
    tree = _parse_tree(text, source, field)
    shown = shorten(text)
    try:
        result = _evaluate(tree.body)
    except NameError as exc:
        raise UnitError(f"unknown unit {shorten(str(exc))} in {shown}", source, field) from None
    except brian2.DimensionMismatchError:
        raise UnitError(f"cannot add or subtract quantities of different dimensions in {shown}", source, field) from None
    except ZeroDivisionError:
        raise UnitError(f"division by zero in {shown}", source, field) from None
    except OverflowError:
        raise UnitError(f"the result overflows a 64-bit float in {shown}", source, field) from None
    except (ArithmeticError, TypeError) as exc:
        message = str(exc) or "the result is not a finite number"
        raise UnitError(f"{message} in {shown}", source, field) from None
    except ValueError:
        raise UnitError(f"{shown} is not a quantity: only numbers, units and + - * / ** are allowed",
                        source, field) from None
    return Quantity(result.value, dim=result.dim)


def parse_quantity(value, *, source: str | None = None, field: str | None = None) -> Quantity:
    """Parse a number or a quantity string into a Brian2 :class:`Quantity` with a finite value.

    Parameters
    ----------
    value : int, float, str or Quantity
        E.g. ``6.3``, ``"-65*mV"``, ``"1.5 * mS/cm**2"`` or ``"120 * 10**-3 * S/cm**2"``; an
        already parsed scalar :class:`Quantity` is returned as it is when finite.
    source, field : str, optional
        Where the value came from, for error messages.

    Raises
    ------
    UnitError
        Malformed or overlong text, unknown unit, anything but numbers, units and
        arithmetic, or a result (or intermediate result) that is not a finite float64.
    """
    if isinstance(value, Quantity) and value.shape == () and np.isfinite(float(value)):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnitError(f"expected a number or a quantity string such as '1.5 * mS/cm**2', got {shorten(value)}",
                        source, field)
    if isinstance(value, str):
        return _quantity_from_text(value, source, field)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise UnitError(f"must be a finite number, got {shorten(value)}", source, field)
    return Quantity(number)


def _unit_name(unit) -> str:
    dimensions = get_dimensions(unit)
    return "dimensionless" if dimensions.is_dimensionless else str(dimensions)


def to_si(value, *, unit=None, source: str | None = None, field: str | None = None) -> float:
    """Parse ``value`` and return its SI value, checking its dimension against ``unit``.

    ``unit`` is a Brian2 unit or quantity (``brian2.mV``), a dimension, or ``1`` for a
    dimensionless value; None skips the check. A plain number where units are expected
    is an error that says units are missing.
    """
    quantity = parse_quantity(value, source=source, field=field)
    if unit is not None and get_dimensions(quantity) != get_dimensions(unit):
        if get_dimensions(quantity).is_dimensionless:
            raise UnitError(f"{shorten(value)} needs units of {_unit_name(unit)}", source, field)
        raise UnitError(f"expected a quantity in {_unit_name(unit)}, got {shorten(value)} ({_unit_name(quantity)})",
                        source, field)
    return float(quantity)
