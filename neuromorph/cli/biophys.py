"""``neuromorph biophys``: quick membrane-physics calculations from the command line.

    neuromorph biophys nernst --ion K --out 5mM --in 140mM --temperature 37C
    neuromorph biophys ghk --pk 1 --pna 0.04 --pcl 0.45 --k 5mM,140mM --na 145mM,15mM --cl 110mM,10mM
    neuromorph biophys donnan --salt-out 150mM --impermeant-in 100mM --z-impermeant -1
"""
from __future__ import annotations

import argparse
import functools
import math
import re

from ..biophysics.constants import ZERO_CELSIUS
from ..biophysics.donnan import donnan_equilibrium
from ..biophysics.ghk import ghk_voltage
from ..biophysics.nernst import nernst
from ..errors import InputError
from ..files import shorten

VALENCES = {"K": 1, "Na": 1, "Cl": -1, "Ca": 2, "Mg": 2, "H": 1}
CONCENTRATION_UNITS = {"M": 1000.0, "mM": 1.0, "uM": 1e-3, "nM": 1e-6}
#: Largest concentration accepted (mol/m^3 = mM): 100 M, far above any solution.
MAX_CONCENTRATION = 1e5
NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def parse_concentration(text: str, option: str) -> float:
    """``"5mM"``, ``"140 mM"``, ``"0.1M"``, ``"20uM"`` -> mol/m^3 (= mM)."""
    match = re.fullmatch(NUMBER + r"\s*(M|mM|uM|nM)", text.strip())
    value = float(match.group(1)) * CONCENTRATION_UNITS[match.group(2)] if match else math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_CONCENTRATION):
        raise InputError(f"expected a positive concentration up to 100M such as 5mM or 0.1M, got {shorten(text)}",
                         field=option)
    return value


def parse_temperature(text: str, option: str = "--temperature") -> float:
    """``"37C"`` or ``"37 degC"`` (Celsius), ``"310K"`` or ``"310.15"`` (kelvin) -> K."""
    match = re.fullmatch(NUMBER + r"\s*(C|degC|K)?", text.strip())
    if not match:
        raise InputError(f"expected a temperature such as 37C or 310K, got {shorten(text)}", field=option)
    value = float(match.group(1)) + (ZERO_CELSIUS if match.group(2) in ("C", "degC") else 0.0)
    if not (math.isfinite(value) and 0 < value <= 10_000):
        raise InputError(f"temperature must be above absolute zero and at most 10,000 K, got {shorten(text)}",
                         field=option)
    return value


def _pair(text: str, option: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise InputError(f"expected OUT,IN such as 5mM,140mM, got {shorten(text)}", field=option)
    return parse_concentration(parts[0], option), parse_concentration(parts[1], option)


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InputError(f"the {what} is not a finite number for these inputs")
    return value


def _nernst(args) -> str:
    if args.z is None and args.ion not in VALENCES:
        raise InputError(f"unknown ion {shorten(args.ion)}; use one of {sorted(VALENCES)} or give --z", field="--ion")
    if args.z is not None and not (args.z != 0 and abs(args.z) <= 4):
        raise InputError(f"the valence must be a non-zero integer from -4 to 4, got {args.z}", field="--z")
    z = args.z if args.z is not None else VALENCES[args.ion]
    value = nernst(parse_concentration(args.out, "--out"), parse_concentration(args.inside, "--in"), z,
                   parse_temperature(args.temperature))
    return f"E_{args.ion or 'X'} = {_finite(value, 'Nernst potential') * 1e3:.2f} mV"


def _ghk(args) -> str:
    permeabilities, outside, inside, valences = [], [], [], []
    for ion, p, pair in (("K", args.pk, args.k), ("Na", args.pna, args.na), ("Cl", args.pcl, args.cl)):
        if not (math.isfinite(p) and 0 <= p <= 1e6):
            raise InputError(f"a relative permeability must be a finite number from 0 to 1e6, got {p}",
                             field=f"--p{ion.lower()}")
        if p:
            c_out, c_in = _pair(pair, f"--{ion.lower()}")
            permeabilities.append(p), outside.append(c_out), inside.append(c_in), valences.append(VALENCES[ion])
    value = ghk_voltage(permeabilities, outside, inside, valences, parse_temperature(args.temperature))
    return f"V_GHK = {_finite(value, 'GHK potential') * 1e3:.2f} mV"


def _donnan(args) -> str:
    result = donnan_equilibrium(parse_concentration(args.salt_out, "--salt-out"),
                                parse_concentration(args.impermeant_in, "--impermeant-in") if args.impermeant_in != "0"
                                else 0.0, args.z_impermeant, parse_temperature(args.temperature))
    _finite(result.potential + result.cation_in + result.anion_in, "Donnan equilibrium")
    return (f"V_Donnan = {result.potential * 1e3:.2f} mV\n"
            f"cation inside = {result.cation_in:.3f} mM\nanion inside = {result.anion_in:.3f} mM")


def _add_nernst_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ion", default="K", help=f"ion name, sets the valence ({', '.join(VALENCES)})")
    p.add_argument("--z", type=int, help="valence (overrides --ion; default: the --ion's)")
    p.add_argument("--out", required=True, help="outside concentration, e.g. 5mM")
    p.add_argument("--in", dest="inside", required=True, help="inside concentration, e.g. 140mM")
    p.add_argument("--temperature", default="37C", help="e.g. 37C or 310K (default 37C)")


def _add_ghk_arguments(p: argparse.ArgumentParser) -> None:
    for ion, default in (("k", "5mM,140mM"), ("na", "145mM,15mM"), ("cl", "110mM,10mM")):
        p.add_argument(f"--{ion}", default=default, help=f"OUT,IN concentrations (default {default})")
    p.add_argument("--pk", type=float, default=1.0, help="relative permeability of K (default 1)")
    p.add_argument("--pna", type=float, default=0.04, help="relative permeability of Na (default 0.04)")
    p.add_argument("--pcl", type=float, default=0.45, help="relative permeability of Cl (default 0.45)")
    p.add_argument("--temperature", default="37C", help="e.g. 37C or 310K (default 37C)")


def _add_donnan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--salt-out", required=True, help="bath 1:1 salt concentration, e.g. 150mM")
    p.add_argument("--impermeant-in", required=True, help="impermeant anion concentration inside, e.g. 100mM")
    p.add_argument("--z-impermeant", type=int, default=-1, help="their charge (default -1)")
    p.add_argument("--temperature", default="37C", help="e.g. 37C or 310K (default 37C)")


#: Calculation -> (help, function adding its options, function computing the printed text).
CALCULATIONS = {
    "nernst": ("Nernst potential of one ion", _add_nernst_arguments, _nernst),
    "ghk": ("GHK resting potential of K, Na and Cl", _add_ghk_arguments, _ghk),
    "donnan": ("Donnan equilibrium with impermeant anions inside", _add_donnan_arguments, _donnan),
}


def add_biophys(subparsers) -> None:
    """Register ``biophys nernst|ghk|donnan`` (:data:`CALCULATIONS`)."""
    parser = subparsers.add_parser("biophys", help="membrane-physics calculations (Nernst, GHK, Donnan)")
    calculations = parser.add_subparsers(dest="calculation", required=True)
    for name, (help_text, add_arguments, calculate) in CALCULATIONS.items():
        p = calculations.add_parser(name, help=help_text)
        add_arguments(p)
        p.set_defaults(handler=functools.partial(print_result, calculate))


#: Sub-command name -> function adding it.
COMMANDS = {"biophys": add_biophys}


def print_result(calculate, args: argparse.Namespace) -> int:
    """Print what ``calculate(args)`` returns; exit status 0."""
    print(calculate(args))
    return 0
