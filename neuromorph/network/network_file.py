"""Network files: TOML data describing populations, spike sources and projections.

Loading never executes code. A network file is one more kind of neuromorph data file
(:mod:`neuromorph.schema`): TOML through ``tomli``, the structure through a declarative
pydantic v2 schema of :class:`~neuromorph.schema.Section` tables (unknown keys, missing keys,
wrong types, non-finite numbers are refused), quantities through the whitelist parser
:func:`neuromorph.units.parse_quantity`. A population's neuron, whether written inline or
taken from a model file, gets the checks a model file gets: parameter names that shadow a
Brian2 unit, constant, function or special variable are refused
(:mod:`neuromorph.model.names`), equations go through the one
:func:`~neuromorph.model.from_brian2.parse_equations` and
:func:`~neuromorph.model.model_file.check_equations`, Brian2 checks their units, and the
threshold, reset and refractoriness are parsed as the lowering parses them. Every mistake
raises one :class:`~neuromorph.errors.InputError` printed as
``file:field: what is wrong; what is allowed``, before anything is simulated. Loading gives the same
:class:`NetworkSpec` as :func:`~neuromorph.network.from_brian2.from_brian2` gives for the
equivalent Brian2 script.

.. code-block:: toml

    [simulation]
    dt = "0.025 * ms"
    duration = "1 * second"
    seed = 1                        # seeds every random choice below that has no seed
    noise = "replay"                # default: xi in equations drawn once, fed to every backend
    noise_seed = 2                  # default: seed (0 without one)

    [populations.E]
    size = 100
    model = "neurons/cobahh.toml"   # optional: [neuron], [parameters], [initial] of a model file,
                                    # relative to this file; keys below override or add to it
    equations = '''...'''           # Brian2 equations (or from the model file)
    threshold = "v > -20*mV"
    refractory = "3*ms"             # a duration, a condition such as "v > -20*mV", or false
    reset = "v = -65*mV"            # optional
    method = "exponential_euler"    # default
    voltage = "v"                   # default
    parameters = { g_L = "0.05 * mS/cm**2" }
    initial = { v = { distribution = "uniform", low = "-70*mV", high = "-60*mV" } }

    [sources.noise]
    kind = "poisson"
    size = 200
    rate = "10 * Hz"                # or a list, one rate per train

    [sources.drive]
    kind = "current"                # a sampled input: sets a parameter of the target every step
    target = "E"
    variable = "I_inj"              # declared in E's equations (I_inj : amp/meter**2)
    stimulus = { kind = "ou", mean = "10 * uA/cm**2", sigma = "3 * uA/cm**2", tau = "2 * ms", seed = 3 }
                                    # the keys of a model file's [stimulus]: "step" or "ou"

    [sources.cue]
    kind = "spike_times"
    size = 3
    indices = [0, 1, 2]
    times = ["1*ms", "2*ms", "3*ms"]   # or plain numbers with time_unit = "ms"

    [projections.noise_to_E]
    source = "noise"
    target = "E"
    connect = { rule = "probability", p = 0.1 }    # seed, autapses = false (default true, as Brian2);
                                    # or one_to_one, all_to_all (autapses), explicit (i = [...], j = [...])
    weight = { distribution = "normal", mean = "6*nS", std = "1*nS" }   # or "6*nS"; uniform (low,
                                    # high), lognormal (mean, std of the weights themselves); seed
    delay = { distribution = "uniform", low = "1*ms", high = "5*ms" }   # or "1*ms" (default 0)
    effect = "g_e += w"             # or "-=", into any state variable of the target

The model file's ``[neuron] input`` (a single-neuron stimulus) is a plain state variable
here; its ``[simulation] method`` is used unless the population sets one. Initial values
(a quantity, or a normal/uniform table drawn per neuron) not given are the steady state at the initial voltage for variables whose
equation is linear in them with coefficients of the voltage only (gates, synaptic
conductances), else 0 (Brian2's default); the initial voltage is required. Random draws
(``probability`` connections, distributions) use the table's ``seed``, or else a stream
derived from ``[simulation] seed`` and the field's name. Drawn weights keep the sign of
their mean (a normal draw is clipped at 0). Parameters not used by the equations,
threshold, reset or refractoriness are dropped if they come from a model file and refused
if given in the network file.
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union

import brian2
import numpy as np
import sympy
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
from brian2.units.fundamentalunits import get_dimensions
from brian2.utils.stringtools import get_identifiers
from pydantic import Field

from ..errors import InputError, LoweringError
from ..files import read_toml_file
from ..execution.stimulus import sample_stimulus
from ..model.from_brian2 import (check_method, numeric_values, parse_condition, parse_equations, parse_refractory,
                                 parse_reset, to_ir_expression)
from ..model.model_file import (MAX_NEURONS, Code, EquationsText, Method, ModelName, PopulationModel, PositiveTime,
                                RefractoryText, SimulationConfig, Size, StimulusTable, check_equations, check_units,
                                load_population_model, stimulus_config)
from ..model.names import ParameterName, builtin_names
from ..model.noise import DEFAULT_NOISE, NOISE_MODES
from ..model.neuron_spec import V, compile_expression
from ..schema import MAX_SEED, AnyQuantity, Identifier, NumberOrText, Section, Seed, by_shape, quantity, text, validate_file
from ..units import to_si
from .brian2_import import equations_text
from .noise import replay_noise
from .ir import (MAX_STEPS, CurrentSource, NetworkSpec, NeuronModel, PoissonSource, Population, Projection,
                 SIQuantity, SpikeTimesSource, unit_string, within)

EFFECT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=)\s*w\s*$")
#: The keys of a population that define its neuron (as in a model file's [neuron], plus ``method``).
NEURON_KEYS = ("name", "equations", "threshold", "reset", "refractory", "method", "voltage")


class NetworkFileError(InputError):
    """A network file is malformed or refers to something that does not exist."""


# ----------------------------------------------------------------------------------------
# The schema (neuromorph.schema sections: unknown keys, strict types, finite numbers)
# ----------------------------------------------------------------------------------------

class SimulationSection(Section):
    """``[simulation]``: time step, duration, and the seed of every draw that has none."""

    dt: PositiveTime
    duration: PositiveTime
    seed: Seed | None = None
    noise: Literal[NOISE_MODES] = DEFAULT_NOISE
    noise_seed: Seed | None = None


class NormalDraw(Section):
    """``distribution = "normal"``: ``mean`` and ``std`` (a drawn weight keeps the sign of the mean)."""

    distribution: Literal["normal"]
    mean: NumberOrText
    std: NumberOrText
    seed: Seed | None = None


class UniformDraw(Section):
    """``distribution = "uniform"``: from ``low`` to ``high``."""

    distribution: Literal["uniform"]
    low: NumberOrText
    high: NumberOrText
    seed: Seed | None = None


class LognormalDraw(Section):
    """``distribution = "lognormal"``: ``mean`` and ``std`` of the values themselves."""

    distribution: Literal["lognormal"]
    mean: NumberOrText
    std: NumberOrText
    seed: Seed | None = None


def _drawn(*tables: type[Section]) -> Any:
    """A constant (number or quantity string) or a table drawing one value per element."""
    table = Annotated[Union[tables], Field(discriminator="distribution")] if len(tables) > 1 else tables[0]
    return by_shape(value=NumberOrText, table=table)


Rate = quantity(brian2.Hz, nonnegative=True)


class PoissonSection(Section):
    """``kind = "poisson"``: ``size`` trains at ``rate`` (one rate, or a list of one per train)."""

    kind: Literal["poisson"]
    size: Size
    rate: by_shape(value=Rate, list_=list[Rate])


class SpikeTimesSection(Section):
    """``kind = "spike_times"``: neuron ``indices[k]`` spikes at ``times[k]`` (numbers with ``time_unit``)."""

    kind: Literal["spike_times"]
    size: Size
    indices: list[Annotated[int, Field(ge=0, lt=MAX_NEURONS)]]
    times: list[NumberOrText]
    time_unit: PositiveTime | None = None


class CurrentSection(Section):
    """``kind = "current"``: ``variable`` of ``target`` (a parameter of its equations) set every step to a sampled
    ``stimulus`` (the keys of a model file's ``[stimulus]``: a step or an Ornstein-Uhlenbeck current)."""

    kind: Literal["current"]
    target: Identifier
    variable: Identifier
    stimulus: StimulusTable


class ProbabilityConnect(Section):
    """``rule = "probability"``: each pair with probability ``p``."""

    rule: Literal["probability"]
    p: Annotated[float, Field(ge=0, le=1)]
    seed: Seed | None = None
    autapses: bool = True


class AllToAllConnect(Section):
    """``rule = "all_to_all"``: every pair."""

    rule: Literal["all_to_all"]
    autapses: bool = True


class OneToOneConnect(Section):
    """``rule = "one_to_one"``: neuron k to neuron k."""

    rule: Literal["one_to_one"]


class ExplicitConnect(Section):
    """``rule = "explicit"``: ``i[k]`` to ``j[k]``."""

    rule: Literal["explicit"]
    i: list[Annotated[int, Field(ge=0, lt=MAX_NEURONS)]]
    j: list[Annotated[int, Field(ge=0, lt=MAX_NEURONS)]]


class ProjectionSection(Section):
    """``[projections.NAME]``: connectivity, weights, delays and effect on the target."""

    source: Identifier
    target: Identifier
    connect: Annotated[Union[ProbabilityConnect, AllToAllConnect, OneToOneConnect, ExplicitConnect],
                       Field(discriminator="rule")]
    weight: _drawn(NormalDraw, UniformDraw, LognormalDraw)
    delay: _drawn(UniformDraw) = "0 * second"
    effect: text(200, min_length=1)


class PopulationSection(Section):
    """``[populations.NAME]``: ``size`` neurons; the neuron inline or from a model file (keys here win)."""

    size: Size
    model: text(1000, min_length=1) | None = None
    name: ModelName | None = None
    equations: EquationsText | None = None
    threshold: Code | None = None
    reset: text(1000) | None = None
    refractory: RefractoryText = None
    method: Method | None = None
    voltage: Identifier | None = None
    parameters: dict[ParameterName, AnyQuantity] = {}
    initial: dict[Identifier, _drawn(UniformDraw, NormalDraw)] = {}


class NetworkFileSchema(Section):
    """A whole network file (see the module docstring for every key)."""

    simulation: SimulationSection
    populations: Annotated[dict[Identifier, PopulationSection], Field(min_length=1)]
    sources: dict[Identifier, Annotated[Union[PoissonSection, SpikeTimesSection, CurrentSection],
                                        Field(discriminator="kind")]] = {}
    projections: dict[Identifier, ProjectionSection] = {}


# ----------------------------------------------------------------------------------------
# Values: constants and seeded draws
# ----------------------------------------------------------------------------------------

def _rng(seed: int | None, base_seed: int | None, source: str, field: str) -> np.random.Generator:
    """The table's own seed, else a stream derived from [simulation] seed and the field's name."""
    if seed is not None:
        return np.random.default_rng(seed)
    if base_seed is None:
        raise NetworkFileError("a random draw needs a seed: give 'seed' here or in [simulation]", source, field)
    return np.random.default_rng([base_seed, zlib.crc32(field.encode())])


def _lognormal(rng: np.random.Generator, p: dict, n: int) -> np.ndarray:
    """Log-normal draws with the given mean and standard deviation of the values themselves."""
    if p["mean"] <= 0:
        raise ValueError("a lognormal distribution needs mean > 0")
    sigma2 = np.log1p((p["std"] / p["mean"]) ** 2)
    return rng.lognormal(np.log(p["mean"]) - sigma2 / 2, np.sqrt(sigma2), n)


def _normal(rng: np.random.Generator, p: dict, n: int) -> np.ndarray:
    return rng.normal(p["mean"], p["std"], n)


def _uniform(rng: np.random.Generator, p: dict, n: int) -> np.ndarray:
    if p["high"] < p["low"]:
        raise ValueError("needs low <= high")
    return rng.uniform(p["low"], p["high"], n)


#: distribution name -> (parameter keys, draw(rng, SI parameters, n))
DISTRIBUTIONS = {"normal": (("mean", "std"), _normal), "uniform": (("low", "high"), _uniform),
                 "lognormal": (("mean", "std"), _lognormal)}


def _values(value, unit, size: int, *, base_seed, source: str, field: str):
    """SI value of a constant quantity, or ``size`` seeded draws of a distribution table."""
    if not isinstance(value, Section):
        return to_si(value, unit=unit, source=source, field=field)
    keys, draw = DISTRIBUTIONS[value.distribution]
    params = {key: to_si(getattr(value, key), unit=unit, source=source, field=f"{field}.{key}") for key in keys}
    if params.get("std", 0.0) < 0:
        raise NetworkFileError("must be >= 0", source, f"{field}.std")
    try:
        draws = draw(_rng(value.seed, base_seed, source, field), params, size)
    except ValueError as exc:
        raise NetworkFileError(str(exc), source, field) from None
    if value.distribution == "normal" and params["mean"] != 0:  # keep the sign of the mean: clip at 0
        draws = np.maximum(draws, 0.0) if params["mean"] > 0 else np.minimum(draws, 0.0)
    return draws


def _unit_of(dimensions) -> brian2.Quantity:
    return brian2.Quantity(1.0, dim=dimensions)


# ----------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------

def _times(section: SpikeTimesSection, source: str, field: str) -> np.ndarray:
    """Spike times (s): quantity strings, or numbers with ``time_unit``."""
    if section.time_unit is not None:
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in section.times):
            raise NetworkFileError("with time_unit, times must be plain numbers", source, f"{field}.times")
        return np.asarray(section.times, dtype=float) * section.time_unit
    return np.array([to_si(t, unit=brian2.second, source=source, field=f"{field}.times[{k}]")
                     for k, t in enumerate(section.times)], dtype=float)


def _source(name: str, section: PoissonSection | SpikeTimesSection, source: str):
    """A Poisson source (one rate, or one per train) or explicit spike times."""
    field = f"sources.{name}"
    if isinstance(section, PoissonSection):
        rates = section.rate[0] if isinstance(section.rate, list) and len(section.rate) == 1 else section.rate
        with within(field):
            return PoissonSource(name=name, size=section.size, rates_hz=rates)
    times = _times(section, source, field)
    with within(field):
        return SpikeTimesSource(name=name, size=section.size, indices=section.indices, times_s=times)


def _current(name: str, section: CurrentSection, populations: dict, simulation, source: str) -> CurrentSource:
    """A sampled input: the stimulus drawn for every neuron of its target, in SI units of its variable."""
    field = f"sources.{name}"
    if section.target not in populations:
        raise NetworkFileError(f"unknown target '{section.target}'; populations: {sorted(populations)}", source,
                               f"{field}.target")
    population = populations[section.target]
    parameters = {n: eq.dim for n, eq in parse_equations(population.model.equations).items() if eq.type == PARAMETER}
    if section.variable not in parameters:
        raise NetworkFileError(f"'{section.variable}' is not a parameter declared in the equations of "
                               f"'{section.target}'; parameters: {sorted(parameters)}", source, f"{field}.variable")
    dimensions = parameters[section.variable]
    config = stimulus_config(section.stimulus, source, brian2.Quantity(1.0, dim=dimensions), f"{field}.stimulus")
    run = SimulationConfig(dt=simulation.dt, duration=simulation.duration, neurons=population.size)
    with within(field):
        return CurrentSource(name=name, target=section.target, variable=section.variable,
                             values=sample_stimulus(config, run), unit=unit_string(dimensions))


# ----------------------------------------------------------------------------------------
# Populations: the neuron gets a model file's checks
# ----------------------------------------------------------------------------------------

class Given(NamedTuple):
    """A value and where it is written (file and dotted field)."""

    value: Any
    source: str
    field: str


def _model_file(path_text: str, base_dir: Path, source: str, field: str) -> PopulationModel:
    """The model file a population names (relative to the network file), validated as a model file."""
    path = base_dir / path_text
    if path.exists() and not path.is_file():
        raise NetworkFileError(f"model file '{path_text}' is not a regular file (a directory, device or pipe); give "
                               "a model file (TOML)", source, field)
    if not path.is_file():
        raise NetworkFileError(f"model file '{path_text}' not found (paths are relative to the network file)",
                               source, field)
    return load_population_model(path)


def _neuron(section: PopulationSection, base_dir: Path, source: str, field: str) -> tuple[dict, dict, dict]:
    """The neuron keys (the population's override the model file's) and the initial values, each
    :class:`Given`, and the model file's parameters (Brian2 quantities)."""
    keys, inherited, initial = {}, {}, {}
    if section.model is not None:
        model = _model_file(section.model, base_dir, source, f"{field}.model")
        keys = {key: Given(value, model.path, "simulation.method" if key == "method" else f"neuron.{key}")
                for key, value in model.neuron.items()}
        inherited = dict(model.parameters)
        initial = {name: Given(value, model.path, f"initial.{name}") for name, value in model.initial.items()}
    for key in NEURON_KEYS:
        if key in section.model_fields_set:
            keys[key] = Given(getattr(section, key), source, f"{field}.{key}")
    if "equations" not in keys:
        raise NetworkFileError("missing: give equations here or a model file", source, f"{field}.equations")
    keys.setdefault("voltage", Given("v", source, f"{field}.voltage"))
    initial.update({name: Given(value, source, f"{field}.initial.{name}") for name, value in section.initial.items()})
    return keys, inherited, initial


def _codes(keys: dict) -> dict[str, Given]:
    """The Brian2 code of a neuron (equations, threshold, reset, a refractory condition or duration)."""
    return {key: keys[key] for key in ("equations", "threshold", "reset", "refractory")
            if key in keys and isinstance(keys[key].value, str)}


def _used_names(equations: brian2.Equations, code: Given) -> set[str]:
    """External names of one piece of a neuron's code."""
    names = set(equations.identifiers) if code.field.endswith("equations") else get_identifiers(code.value)
    return names - set(equations.names) - set(equations.stochastic_variables)


def _parameters(equations: brian2.Equations, keys: dict, inherited: dict, own: dict, field: str,
                source: str) -> dict:
    """The parameters the neuron's code uses (Brian2 quantities; the population's win), every name defined.

    A parameter the population gives must be used and must not be a state variable; the model
    file's unused ones are dropped.
    """
    codes = _codes(keys)
    used = set().union(*(_used_names(equations, code) for code in codes.values()))
    states = {name for name, eq in equations.items() if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER)}
    for name in own:
        if name in states:
            raise NetworkFileError(f"'{name}' is a state variable of the equations; set it in initial", source,
                                   f"{field}.parameters.{name}")
        if name not in used:
            raise NetworkFileError("not used by the equations, threshold, reset or refractory", source,
                                   f"{field}.parameters.{name}")
    parameters = {name: q for name, q in {**inherited, **own}.items() if name in used and name not in equations.names}
    known = builtin_names() | set(parameters)
    for code in codes.values():
        unknown = sorted(_used_names(equations, code) - known)
        if unknown:
            raise NetworkFileError(f"uses {unknown}, which are neither state variables, parameters nor Brian2 "
                                   "units, constants or functions; define them in parameters", code.source, code.field)
    return parameters


def _state_units(equations: brian2.Equations, voltage: str) -> dict:
    """Unit of every differential equation's variable, as the lowering's reset sees them."""
    return {name: 1 if eq.dim.is_dimensionless else brian2.get_unit(eq.dim)
            for name, eq in equations.items() if eq.type == DIFFERENTIAL_EQUATION} | {voltage: brian2.volt}


def _check_code(equations: brian2.Equations, keys: dict, parameters: dict) -> float | str | None:
    """Check the equations (size, units), threshold and reset as a model file's; the refractoriness
    as the model file parses it: a duration (s), a condition (kept as Brian2 code) or None."""
    code, voltage = keys["equations"], keys["voltage"]
    check_equations(code.value, parameters, code.source, code.field)
    check_units(code.value, parameters, code.source, code.field)
    if equations.get(voltage.value) is None or equations[voltage.value].type != DIFFERENTIAL_EQUATION:
        raise NetworkFileError(f"'{voltage.value}' is not a differential equation of the model", voltage.source,
                               voltage.field)
    if "threshold" in keys:
        threshold = keys["threshold"]
        parse_condition(threshold.value, voltage.value, threshold.source, threshold.field, parameters)
    if "reset" in keys:
        reset = keys["reset"]
        parse_reset(reset.value, _state_units(equations, voltage.value), reset.source, parameters, field=reset.field)
    if "refractory" not in keys:
        return None
    refractory = keys["refractory"]
    parsed = parse_refractory(refractory.value, voltage.value, refractory.source, parameters, field=refractory.field)
    if parsed is None:
        return None
    return parsed.text if parsed.condition is not None else parsed.duration


def _steady_state(equations: brian2.Equations, name: str, voltage: str, v0, parameters: dict):
    """``x_inf(v0)`` when ``dx/dt = A(v) - B(v) x`` with ``B != 0`` (gates, synaptic variables), else None."""
    symbol = sympy.Symbol(name, real=True)
    values = numeric_values({k: float(q.value) for k, q in parameters.items()})
    code = dict(equations.get_substituted_expressions())[name].code
    try:
        rhs = to_ir_expression(code, {voltage: V, name: symbol}, values, name, None)
    except LoweringError:  # depends on other state variables
        return None
    slope, offset = sympy.diff(rhs, symbol), rhs.subs(symbol, 0)
    if not (slope.free_symbols <= {V} and offset.free_symbols <= {V}) or slope == 0:
        return None
    x_inf = compile_expression(-offset / slope)(np.atleast_1d(np.asarray(v0, dtype=float)))
    if not np.all(np.isfinite(x_inf)):
        return None
    return x_inf if np.ndim(v0) else float(x_inf[0])


def _initial(equations: brian2.Equations, given: dict[str, Given], voltage: Given, size: int, parameters: dict,
             base_seed, field: str) -> dict[str, SIQuantity]:
    """Initial value of every state: given (constant or drawn), else the steady state at v0, else 0."""
    states = {name: eq for name, eq in equations.items() if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER)}
    for name, value in given.items():
        if name not in states:
            raise NetworkFileError(f"not a state variable; states: {sorted(states)}", value.source, value.field)
    if voltage.value not in given:
        raise NetworkFileError("the initial membrane potential is required", voltage.source,
                               f"{field}.initial.{voltage.value}")
    values = {name: _values(value.value, _unit_of(states[name].dim), size, base_seed=base_seed, source=value.source,
                            field=value.field)
              for name, value in given.items()}
    for name, eq in states.items():
        if name not in values:
            steady = _steady_state(equations, name, voltage.value, values[voltage.value], parameters) \
                if eq.type == DIFFERENTIAL_EQUATION else None
            values[name] = 0.0 if steady is None else steady
    return {name: SIQuantity(values[name], unit_string(eq.dim)) for name, eq in states.items()}


def _population(name: str, section: PopulationSection, base_dir: Path, base_seed, source: str) -> Population:
    """One population: its neuron checked as a model file's, its initial values given or drawn."""
    field = f"populations.{name}"
    keys, inherited, given = _neuron(section, base_dir, source, field)
    code = keys["equations"]
    equations = parse_equations(code.value, code.source, code.field, NetworkFileError)
    quantities = _parameters(equations, keys, inherited, dict(section.parameters), field, source)
    refractory = _check_code(equations, keys, quantities)
    method = keys.get("method") or Given("exponential_euler", source, f"{field}.method")
    check_method(equations, method.value, method.source, method.field, NetworkFileError)
    parameters = {k: SIQuantity(float(q), unit_string(get_dimensions(q))) for k, q in quantities.items()}
    voltage = keys["voltage"]
    initial = _initial(equations, given, Given(voltage.value, source, field), section.size, parameters, base_seed,
                       field)
    value = {key: keys[key].value if key in keys else None for key in NEURON_KEYS}
    with within(field):
        neuron_model = NeuronModel(
            name=value["name"] or name, equations=equations_text(equations), parameters=parameters,
            threshold=value["threshold"], reset=value["reset"], refractory=refractory,
            method=value["method"] or "exponential_euler", voltage=voltage.value, initial=initial)
        return Population(name=name, size=section.size, model=neuron_model)


# ----------------------------------------------------------------------------------------
# Projections
# ----------------------------------------------------------------------------------------

def _probability(c: ProbabilityConnect, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each pair independently with probability p (pre-major order, as Brian2's connect(p=...))."""
    return np.nonzero(rng().random((n_pre, n_post)) < c.p)


def _all_to_all(c: AllToAllConnect, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)


def _one_to_one(c: OneToOneConnect, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if n_pre != n_post:
        raise ValueError(f"one_to_one needs groups of equal size, got {n_pre} and {n_post}")
    return np.arange(n_pre), np.arange(n_post)


def _explicit(c: ExplicitConnect, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if len(c.i) != len(c.j):
        raise ValueError(f"the explicit rule needs lists i and j of equal length, got {len(c.i)} and {len(c.j)}")
    return np.asarray(c.i, dtype=np.int64), np.asarray(c.j, dtype=np.int64)


#: connection rule -> builder(section, n_pre, n_post, rng factory) -> (i, j)
CONNECT_RULES = {"probability": _probability, "all_to_all": _all_to_all, "one_to_one": _one_to_one,
                 "explicit": _explicit}


#: Bytes per pair of neurons a rule allocates while drawing: probability (a float64 draw, the pair
#: mask and up to two int64 indices), all_to_all (two int64 indices).
PAIR_BYTES = {"probability": 8 + 1 + 16, "all_to_all": 16}


def _check_pairs(c, sizes: tuple[int, int], source: str, field: str) -> None:
    """Refuse, before drawing, a rule over every pair of neurons that would not fit in memory."""
    from ..resources_check import USABLE_FRACTION, available_memory

    needed = PAIR_BYTES.get(c.rule, 0) * float(sizes[0]) * float(sizes[1])
    available = available_memory()
    if needed > USABLE_FRACTION * available:
        raise NetworkFileError(f"{c.rule} over {sizes[0]:,} x {sizes[1]:,} pairs needs about {needed / 1e9:.3g} GB "
                               f"while connecting, but {available / 1e9:.3g} GB are available; use smaller groups "
                               "or an explicit rule", source, f"{field}.rule")


def _connect(c, sizes: tuple[int, int], recurrent: bool, base_seed, source: str, field: str):
    """``(i, j)`` of a connection rule; autapses (i == j within one group) removed when asked."""
    _check_pairs(c, sizes, source, field)
    try:
        i, j = CONNECT_RULES[c.rule](c, *sizes, lambda: _rng(c.seed, base_seed, source, field))
    except ValueError as exc:
        raise NetworkFileError(str(exc), source, field) from None
    if recurrent and not getattr(c, "autapses", True):
        keep = i != j
        i, j = i[keep], j[keep]
    return np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)


def _projection(name: str, section: ProjectionSection, groups: dict, populations: dict, base_seed,
                source: str, dt: float) -> Projection:
    """Connectivity, weights, delays and effect of one projection."""
    field = f"projections.{name}"
    if section.source not in groups:
        raise NetworkFileError(f"unknown population or source '{section.source}'; defined: {sorted(groups)}",
                               source, f"{field}.source")
    if section.target not in populations:
        raise NetworkFileError(f"unknown population '{section.target}'; populations: {sorted(populations)}",
                               source, f"{field}.target")
    states = populations[section.target].model.state_dimensions()
    match = EFFECT.match(section.effect)
    if match is None or match.group(1) not in states:
        raise NetworkFileError(f"'{section.effect}' is not supported; write 'VARIABLE += w' or 'VARIABLE -= w' with "
                               f"VARIABLE one of {sorted(states)} (state variables of '{section.target}')",
                               source, f"{field}.effect")
    variable, operation = match.groups()
    sizes = (groups[section.source].size, populations[section.target].size)
    i, j = _connect(section.connect, sizes, section.source == section.target, base_seed, source, f"{field}.connect")
    weights = _values(section.weight, _unit_of(states[variable]), i.size, base_seed=base_seed, source=source,
                      field=f"{field}.weight")
    delays = _values(section.delay, brian2.second, i.size, base_seed=base_seed, source=source, field=f"{field}.delay")
    if np.min(delays, initial=0.0) < 0:
        raise NetworkFileError("delays must be >= 0", source, f"{field}.delay")
    longest = float(np.max(delays, initial=0.0))
    if longest / dt >= MAX_STEPS:
        raise NetworkFileError(f"a delay of {longest:g} s is {longest / dt:.3g} steps of dt = {dt:g} s; "
                               f"Brian2 counts steps in int32: at most {MAX_STEPS:,}", source, f"{field}.delay")
    with within(field):
        return Projection(name=name, source=section.source, target=section.target, i=i, j=j,
                          weights=np.broadcast_to(weights, i.shape), weight_unit=unit_string(states[variable]),
                          delays_s=np.broadcast_to(delays, i.shape), target_variable=variable, operation=operation)


def check_effects(spec: NetworkSpec, source: str) -> None:
    """Refuse, before any run, a population whose equations the lowering cannot hold and a projection
    whose effect increments what the lowering cannot: a gate or any state other than the voltage and
    the linear states of the target's neuron.

    Raises
    ------
    NetworkFileError
        Naming ``source:projections.NAME.effect`` and the states allowed.
    """
    from .lower import population_spec, sampled_inputs

    allowed = {}
    for population in spec.populations:
        try:
            neuron = population_spec(population, source, sampled=tuple(sampled_inputs(spec, population.name)))[0]
        except LoweringError as exc:  # the lowering would refuse it after the reference: refuse it now
            raise LoweringError(exc.message, source, f"populations.{population.name}.equations") from None
        allowed[population.name] = sorted({e.name for e in neuron.equations_of})
    for projection in spec.projections:
        states = allowed.get(projection.target)
        if states is not None and projection.target_variable not in states:
            raise NetworkFileError(f"'{projection.target_variable}' of '{projection.target}' is a gate or a nonlinear "
                                   f"state; a synapse may increment the voltage or a linear state: {states}", source,
                                   f"projections.{projection.name}.effect")


def is_network_file(path: str | Path) -> bool:
    """Whether ``path`` is a network file (it has ``[populations]``) rather than a model file."""
    return "populations" in read_toml_file(path, error=NetworkFileError)


def load_network_file(path: str | Path, *, seed: int | None = None, noise: str | None = None) -> NetworkSpec:
    """Load and validate a network file into a :class:`NetworkSpec`.

    ``seed`` replaces ``[simulation] seed``: every draw without its own seed (connectivity,
    weights, delays, initial values) and the run's random numbers change with it.
    ``noise`` replaces ``[simulation] noise`` (:func:`~neuromorph.network.noise.replay_noise`).

    Raises
    ------
    InputError
        (:class:`NetworkFileError`, :class:`~neuromorph.errors.UnitError`,
        :class:`~neuromorph.errors.ModelFileError`) naming the file and field.
    """
    source = str(path)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or not 0 <= seed <= MAX_SEED):
        raise NetworkFileError(f"must be a seed from 0 to {MAX_SEED}, got {seed!r}", source, "--network-seed")
    schema = validate_file(NetworkFileSchema, read_toml_file(path, error=NetworkFileError), source, NetworkFileError)
    simulation = schema.simulation
    base_dir, seed = Path(path).parent, simulation.seed if seed is None else seed
    populations = {n: _population(n, s, base_dir, seed, source) for n, s in schema.populations.items()}
    sources = {n: _current(n, s, populations, simulation, source) if isinstance(s, CurrentSection)
               else _source(n, s, source) for n, s in schema.sources.items()}
    groups = {**populations, **sources}
    projections = [_projection(n, s, groups, populations, seed, source, simulation.dt)
                   for n, s in schema.projections.items()]
    try:
        spec = NetworkSpec(populations=tuple(populations.values()), sources=tuple(sources.values()),
                           projections=tuple(projections), dt=simulation.dt, duration=simulation.duration, seed=seed)
        return replay_noise(spec, noise or simulation.noise, simulation.noise_seed, source)
    except InputError as exc:
        raise exc.located(source=source) from None
