"""Safe quantity parser: ``"1.5 * mS/cm**2"`` -> Brian2 quantity, without ``eval``.

The text is parsed with :mod:`ast` and walked over a whitelist: numbers, names of Brian2
units, ``+ - * / **``, unary signs and parentheses. Everything else (calls, attribute
access, subscripts, strings, ...) is refused before anything is evaluated.
"""
from __future__ import annotations

import ast
import operator

import brian2
from brian2.units.fundamentalunits import DimensionMismatchError, Quantity, Unit, get_dimensions

from .errors import UnitError


def _unit_namespace() -> dict[str, Quantity]:
    """Every unit Brian2 exports (``mV``, ``msiemens``, ``mS``, ``uF``, ``mM``, ...)."""
    names = {}
    for name in dir(brian2):
        value = getattr(brian2, name)
        if isinstance(value, Unit):
            names[name] = value
    return names


UNITS = _unit_namespace()

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _evaluate(node: ast.AST, text: str, source, field):
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Quantity(node.value)
    if isinstance(node, ast.Name):
        if node.id not in UNITS:
            raise UnitError(f"unknown unit '{node.id}' in {text!r}", source, field)
        return UNITS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, text, source, field))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = node.right
        sign = -1 if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub) else 1
        literal = exponent.operand if sign == -1 else exponent
        if not (isinstance(literal, ast.Constant) and type(literal.value) in (int, float)):
            raise UnitError(f"exponents must be plain numbers in {text!r}", source, field)
        return _evaluate(node.left, text, source, field) ** (sign * literal.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, text, source, field), _evaluate(node.right, text, source, field)
        try:
            return _BINARY[type(node.op)](left, right)
        except DimensionMismatchError:
            raise UnitError(f"cannot add or subtract quantities of different dimensions in {text!r}",
                            source, field) from None
    raise UnitError(f"{text!r} is not a quantity: only numbers, units and + - * / ** are allowed",
                    source, field)


def parse_quantity(value, *, source: str | None = None, field: str | None = None) -> Quantity:
    """Parse a number or a quantity string into a Brian2 :class:`Quantity`.

    Parameters
    ----------
    value : int, float or str
        E.g. ``6.3``, ``"-65*mV"`` or ``"1.5 * mS/cm**2"``.
    source, field : str, optional
        Where the value came from, for error messages.

    Raises
    ------
    UnitError
        Malformed text, unknown unit, or anything but numbers, units and arithmetic.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnitError(f"expected a number or a quantity string such as '1.5 * mS/cm**2', got {value!r}",
                        source, field)
    if not isinstance(value, str):
        return Quantity(value)
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except SyntaxError:
        raise UnitError(f"cannot parse {value!r} as a quantity (e.g. '1.5 * mS/cm**2')", source, field) from None
    return _evaluate(tree.body, value, source, field)


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
            raise UnitError(f"{value!r} needs units of {_unit_name(unit)}", source, field)
        raise UnitError(f"expected a quantity in {_unit_name(unit)}, got {value!r} ({_unit_name(quantity)})",
                        source, field)
    return float(quantity)
