"""Stochastic terms (``xi``, ``xi_*``) of Brian2 equations, replayed as sampled inputs.

Brian2 integrates an equation with additive noise, ``dx/dt = f(x) + g * xi``, by
Euler-Maruyama (``method='euler'``, the method Brian2 itself picks for additive noise):

    x[n+1] = x[n] + dt * f(x[n]) + g * sqrt(dt) * z[n],   z[n] ~ N(0, 1)

with one independent ``z`` per neuron, step and noise variable (the same name in two
equations is the same noise, as in Brian2). ``noise = "replay"`` draws the ``z`` once
(seeded) and writes ``xi = z / sqrt(dt)`` (unit ``second**-0.5``) into a declared
parameter at the start of every step, the way a sampled current is replayed: Euler then
computes ``dt * g * z / sqrt(dt) = g * sqrt(dt) * z``, exactly the step above, in Brian2
and in the lowered program alike (the term enters the program as a per-step input).

This module rewrites the equations (:func:`replay_equations`); the network layer
(:mod:`neuromorph.network.noise`) draws the increments and adds the sampled inputs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import brian2
from brian2.equations.equations import DIFFERENTIAL_EQUATION, SUBEXPRESSION
from brian2.utils.stringtools import get_identifiers

from ..errors import InputError, ModelFileError

#: How noise is generated: ``replay`` (drawn once, fed to every backend as an input) or ``target``
#: (Brian2 draws its own; the lowered program draws from the target's generator, ``[noise]`` of its file).
NOISE_MODES = ("replay", "target")
#: Default noise mode of model files, network files, ``from_brian2`` and the Brian2 device.
DEFAULT_NOISE = "replay"
#: Brian2 methods a replayed noise term keeps its meaning under: Euler-Maruyama, Brian2's choice for additive noise.
NOISE_METHODS = ("euler",)
#: Unit of a replayed noise variable (``xi`` has dimension second**-0.5 in Brian2).
NOISE_UNIT = "second ** -0.5"
#: Prefix of the parameter that carries a replayed noise variable (``xi`` -> ``neuromorph_xi``).
PREFIX = "neuromorph_"
NOISE_PATTERN = re.compile(r"\b(xi(?:_\w+)?)\b")


@dataclass(frozen=True)
class NoiseStreams:
    """The noise variables of a model, each replayed through a declared parameter.

    Attributes
    ----------
    mode : str
        One of :data:`NOISE_MODES`.
    seed : int
        Seed of the increments (stream ``k`` of :attr:`parameters` draws from ``(seed, k)``).
    parameters : Mapping[str, str]
        Noise variable (``xi``, ``xi_1``, ...) -> the parameter that replaces it, in sorted order.
    equations : str
        The equations as written (with ``xi``), which Brian2 runs in ``target`` mode.
    """

    mode: str
    seed: int
    parameters: Mapping[str, str]
    equations: str = ""


def noise_variables(equations: str) -> tuple[str, ...]:
    """The noise variables (``xi``, ``xi_*``) of Brian2 ``equations``, sorted; () if none."""
    try:
        return tuple(sorted(brian2.Equations(equations).stochastic_variables))
    except Exception:  # a malformed text is reported by the one equation parser, not here
        return ()


def _check_additive(eqs: brian2.Equations, method: str, error: type[InputError], source, field) -> None:
    """Refuse noise whose factor ``g`` depends on a state variable (multiplicative noise), naming the equation."""
    dependent = {name for name, eq in eqs.items() if eq.type in (DIFFERENTIAL_EQUATION, SUBEXPRESSION)}
    for name, eq in eqs.items():
        if eq.type != DIFFERENTIAL_EQUATION:
            continue
        _, stochastic = eq.expr.split_stochastic()
        for xi, factor in (stochastic or {}).items():
            states = sorted(get_identifiers(factor.code) & dependent)
            if states:
                raise error(f"'d{name}/dt = {eq.expr.code}' has multiplicative noise (the factor of {xi} depends on "
                            f"{states}), integrated by method {method!r}; neuromorph replays additive noise only "
                            f"(Euler-Maruyama, method 'euler'): make the factor of {xi} a constant", source, field)


def replay_equations(equations: str, method: str, error: type[InputError] = ModelFileError,
                     source: str | None = None, field: str = "neuron.equations") -> tuple[str, dict[str, str]]:
    """``equations`` with every noise variable replaced by a declared parameter (unit second**-0.5).

    Returns the rewritten text and {noise variable: parameter}. Refuses (``error``, naming the
    equation and the method) multiplicative noise and methods other than :data:`NOISE_METHODS`.
    """
    variables = noise_variables(equations)
    if not variables:
        return equations, {}
    eqs = brian2.Equations(equations)
    _check_additive(eqs, method, error, source, field)
    if method not in NOISE_METHODS:
        raise error(f"the equations use {list(variables)} (noise), which Brian2 integrates with 'euler' "
                    f"(Euler-Maruyama); method {method!r} cannot integrate noise: use method 'euler'",
                    source, "simulation.method" if error is ModelFileError else field)
    parameters = {xi: PREFIX + xi for xi in variables}
    taken = set(eqs.names) & set(parameters.values())
    if taken:
        raise error(f"{sorted(taken)} name variables of the equations; neuromorph needs these names for the noise "
                    "inputs: rename them", source, field)
    text = NOISE_PATTERN.sub(lambda match: parameters.get(match.group(1), match.group(1)), equations)
    declarations = "".join(f"\n{parameter} : {NOISE_UNIT}" for parameter in parameters.values())
    return text.rstrip() + declarations + "\n", parameters


def noise_streams(equations: str, method: str, mode: str, seed: int, error: type[InputError] = ModelFileError,
                  source: str | None = None, field: str = "neuron.equations") -> tuple[str, NoiseStreams | None]:
    """The equations to lower and run, and their :class:`NoiseStreams` (None without noise)."""
    if mode not in NOISE_MODES:
        raise error(f"noise mode {mode!r} is not one of {list(NOISE_MODES)}", source, "noise")
    text, parameters = replay_equations(equations, method, error, source, field)
    if not parameters:
        return equations, None
    return text, NoiseStreams(mode=mode, seed=int(seed), parameters=MappingProxyType(parameters), equations=equations)
