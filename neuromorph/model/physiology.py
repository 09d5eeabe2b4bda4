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
temperature or ``[K]o`` changes the model.
"""
from __future__ import annotations

import brian2

from .. import biophysics
from ..errors import ModelFileError
from ..units import to_si

CONCENTRATION = brian2.mole / brian2.meter**3
ION_KEYS = {"z", "inside", "outside"}


def _temperature(section: dict, source: str) -> tuple[float | None, dict]:
    unknown = set(section) - {"celsius", "q10"}
    if unknown:
        raise ModelFileError("unknown key; allowed: ['celsius', 'q10']", source, f"temperature.{sorted(unknown)[0]}")
    celsius = section.get("celsius")
    if celsius is None:
        return None, {}
    if isinstance(celsius, bool) or not isinstance(celsius, (int, float)) or celsius <= -biophysics.ZERO_CELSIUS:
        raise ModelFileError(f"must be a temperature in degC above absolute zero, got {celsius!r}", source,
                             "temperature.celsius")
    factors = {}
    for name, spec in section.get("q10", {}).items():
        field = f"temperature.q10.{name}"
        if not isinstance(spec, dict) or set(spec) != {"q10", "reference_celsius"}:
            raise ModelFileError("must be a table { q10 = ..., reference_celsius = ... }", source, field)
        try:
            factors[name] = biophysics.q10_factor(celsius, spec["reference_celsius"], spec["q10"])
        except ValueError as exc:
            raise ModelFileError(str(exc), source, field) from None
    return celsius + biophysics.ZERO_CELSIUS, factors


def _ions(section: dict, source: str) -> dict[str, tuple[int, float, float]]:
    ions = {}
    for name, spec in section.items():
        field = f"ions.{name}"
        if not isinstance(spec, dict) or set(spec) != ION_KEYS:
            raise ModelFileError(f"must be a table with keys {sorted(ION_KEYS)}", source, field)
        z = spec["z"]
        if isinstance(z, bool) or not isinstance(z, int) or z == 0:
            raise ModelFileError(f"valence z must be a non-zero integer, got {z!r}", source, f"{field}.z")
        inside = to_si(spec["inside"], unit=CONCENTRATION, source=source, field=f"{field}.inside")
        outside = to_si(spec["outside"], unit=CONCENTRATION, source=source, field=f"{field}.outside")
        if inside <= 0 or outside <= 0:
            raise ModelFileError("concentrations must be positive", source, field)
        ions[name] = (z, inside, outside)
    return ions


def _weights(tokens: list[str], ions: dict, source: str, field: str) -> dict[str, float]:
    weights = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ModelFileError(f"expected ION=NUMBER, got {token!r}", source, field) from None
        if not sep or (name not in ions and name != "r"):
            raise ModelFileError(f"unknown ion {name!r}; [ions] defines {sorted(ions)}", source, field)
    return weights


def _reversal(text: str, ions: dict, kelvin: float, source: str, field: str) -> float:
    """Evaluate ``"nernst K"``, ``"ghk K=1 Na=0.04 Cl=0.45"`` or ``"pump K=1 Na=0.04 r=1.5"``."""
    kind, *tokens = text.split()
    if kind == "nernst" and len(tokens) == 1 and tokens[0] in ions:
        z, inside, outside = ions[tokens[0]]
        return biophysics.nernst(outside, inside, z, kelvin)
    if kind in ("ghk", "pump") and tokens:
        weights = _weights(tokens, ions, source, field)
        try:
            if kind == "ghk":
                names = list(weights)
                return biophysics.ghk_voltage([weights[n] for n in names], [ions[n][2] for n in names],
                                              [ions[n][1] for n in names], [ions[n][0] for n in names], kelvin)
            k, na = ions["K"], ions["Na"]
            return biophysics.pump_resting_potential(weights["K"], weights["Na"], k[2], k[1], na[2], na[1], kelvin,
                                                     r=weights.get("r", 1.5))
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"cannot evaluate {text!r}: {exc}", source, field) from None
    raise ModelFileError(f"{text!r} is not one of 'nernst ION', 'ghk ION=P ...', 'pump K=P Na=P [r=R]'",
                         source, field)


def derived_parameters(data: dict, source: str) -> dict[str, brian2.Quantity]:
    """Parameters from [temperature], [ions] and [reversal], as Brian2 quantities."""
    kelvin, factors = _temperature(data.get("temperature", {}), source)
    ions = _ions(data.get("ions", {}), source)
    derived: dict[str, brian2.Quantity] = {name: brian2.Quantity(value) for name, value in factors.items()}
    if kelvin is not None:
        derived["temperature"] = kelvin * brian2.kelvin
    for name, (_, inside, outside) in ions.items():
        derived[f"{name}_in"] = inside * CONCENTRATION
        derived[f"{name}_out"] = outside * CONCENTRATION
    reversal = data.get("reversal", {})
    if reversal and (kelvin is None or not ions):
        raise ModelFileError("[reversal] needs [temperature] celsius and [ions]", source, "reversal")
    for name, text in reversal.items():
        if not isinstance(text, str):
            raise ModelFileError("must be a string such as 'nernst K'", source, f"reversal.{name}")
        derived[name] = _reversal(text, ions, kelvin, source, f"reversal.{name}") * brian2.volt
    return derived
