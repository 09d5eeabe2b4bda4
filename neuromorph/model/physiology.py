"""Parameters computed from temperature and ion concentrations in a model file.

Sections (all optional)::

    [temperature]
    celsius = 18.5
    q10 = { phi = { q10 = 3.0, reference_celsius = 6.3 } }   # phi = 3 ** ((18.5 - 6.3) / 10)

    [ions]                       # each ion: valence and concentrations
    K = { z = 1, inside = "400 * mM", outside = "20 * mM" }

    [reversal]                   # potentials from [ions] at [temperature]
    E_K = "nernst K"
    E_L = "ghk K=1 Na=0.04 Cl=0.45"        # relative permeabilities, monovalent ions
    E_rest = "pump K=1 Na=0.04 r=1.5"      # Mullins-Noda steady state with an electrogenic pump

They become parameters: ``temperature`` (kelvin), each q10 factor (dimensionless), ``<ion>_in``
and ``<ion>_out`` (concentrations) and each reversal potential (volt), so changing the
temperature or ``[K]o`` changes the model. The sections are validated by the schemas below;
every computed value must be finite.
"""
from __future__ import annotations

import math
from typing import Annotated

import brian2
from pydantic import Field

from .. import biophysics
from ..errors import ModelFileError
from ..files import shorten
from ..schema import Identifier, Section, name_check, quantity, text
from .names import ParameterName

CONCENTRATION = brian2.mole / brian2.meter**3

#: Temperature in degrees Celsius, above absolute zero and below 1000 C.
Celsius = Annotated[float, Field(gt=-biophysics.ZERO_CELSIUS, le=1000.0)]
Valence = Annotated[int, Field(ge=-4, le=4), name_check(lambda z: "must not be 0" if z == 0 else None)]
Concentration = quantity(CONCENTRATION, positive=True)


class Q10(Section):
    """``factor = q10 ** ((celsius - reference_celsius) / 10)``."""

    q10: Annotated[float, Field(gt=0, le=100)]
    reference_celsius: Celsius


class TemperatureSection(Section):
    """``[temperature]``: the temperature and the q10 factors derived from it."""

    celsius: Celsius | None = None
    q10: dict[ParameterName, Q10] = {}


class Ion(Section):
    """One ion of ``[ions]``: valence and concentrations (mol/m^3)."""

    z: Valence
    inside: Concentration
    outside: Concentration


#: A ``[reversal]`` entry such as ``"nernst K"``.
ReversalText = text(200, min_length=1)
#: The ``[ions]`` section.
Ions = dict[Identifier, Ion]


def _temperature(section: TemperatureSection, source: str) -> tuple[float | None, dict]:
    if section.celsius is None:
        if section.q10:
            raise ModelFileError("q10 factors need temperature.celsius", source, "temperature.q10")
        return None, {}
    factors = {}
    for name, spec in section.q10.items():
        factor = biophysics.q10_factor(section.celsius, spec.reference_celsius, spec.q10)
        if not math.isfinite(factor) or factor <= 0:
            raise ModelFileError(f"the factor {spec.q10} ** (({section.celsius} - {spec.reference_celsius}) / 10) "
                                 "is not a finite positive number", source, f"temperature.q10.{name}")
        factors[name] = factor
    return section.celsius + biophysics.ZERO_CELSIUS, factors


def _weights(tokens: list[str], ions: Ions, source: str, field: str) -> dict[str, float]:
    weights = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or (name not in ions and name != "r"):
            raise ModelFileError(f"unknown ion {shorten(name)}; [ions] defines {sorted(ions)}", source, field)
        try:
            weights[name] = float(value)
        except ValueError:
            raise ModelFileError(f"expected ION=NUMBER, got {shorten(token)}", source, field) from None
        if not (math.isfinite(weights[name]) and weights[name] >= 0):
            raise ModelFileError(f"{name} must be a finite number >= 0, got {shorten(value)}", source, field)
    return weights


def _evaluate_reversal(kind: str, tokens: list[str], ions: Ions, kelvin: float, source: str, field: str) -> float:
    if kind == "nernst":
        ion = ions[tokens[0]]
        return biophysics.nernst(ion.outside, ion.inside, ion.z, kelvin)
    weights = _weights(tokens, ions, source, field)
    if kind == "ghk":
        names = list(weights)
        return biophysics.ghk_voltage([weights[n] for n in names], [ions[n].outside for n in names],
                                      [ions[n].inside for n in names], [ions[n].z for n in names], kelvin)
    k, na = ions["K"], ions["Na"]
    return biophysics.pump_resting_potential(weights["K"], weights["Na"], k.outside, k.inside, na.outside, na.inside,
                                             kelvin, r=weights.get("r", 1.5))


def _reversal(text_: str, ions: Ions, kelvin: float, source: str, field: str) -> float:
    """Evaluate ``"nernst K"``, ``"ghk K=1 Na=0.04 Cl=0.45"`` or ``"pump K=1 Na=0.04 r=1.5"``."""
    kind, *tokens = text_.split()
    valid = (kind == "nernst" and len(tokens) == 1 and tokens[0] in ions) or (kind in ("ghk", "pump") and tokens)
    if not valid:
        raise ModelFileError(f"{shorten(text_)} is not one of 'nernst ION', 'ghk ION=P ...', 'pump K=P Na=P [r=R]' "
                             f"with ION one of {sorted(ions)}", source, field)
    try:
        value = _evaluate_reversal(kind, tokens, ions, kelvin, source, field)
    except ModelFileError:
        raise
    except (KeyError, ValueError, ZeroDivisionError, ArithmeticError) as exc:
        raise ModelFileError(f"cannot evaluate {shorten(text_)}: {exc}", source, field) from None
    if not math.isfinite(value):
        raise ModelFileError(f"{shorten(text_)} gives no finite potential (are all permeabilities 0?)", source, field)
    return value


def derived_parameters(temperature: TemperatureSection, ions: Ions, reversal: dict[str, str],
                       source: str) -> dict[str, brian2.Quantity]:
    """Parameters from validated [temperature], [ions] and [reversal] sections, as Brian2 quantities."""
    kelvin, factors = _temperature(temperature, source)
    derived: dict[str, brian2.Quantity] = {name: brian2.Quantity(value) for name, value in factors.items()}
    if kelvin is not None:
        derived["temperature"] = kelvin * brian2.kelvin
    for name, ion in ions.items():
        derived[f"{name}_in"] = ion.inside * CONCENTRATION
        derived[f"{name}_out"] = ion.outside * CONCENTRATION
    if reversal and (kelvin is None or not ions):
        raise ModelFileError("[reversal] needs [temperature] celsius and [ions]", source, "reversal")
    for name, text_ in reversal.items():
        derived[name] = _reversal(text_, ions, kelvin, source, f"reversal.{name}") * brian2.volt
    return derived
