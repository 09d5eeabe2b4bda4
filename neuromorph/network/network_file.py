"""Network files: TOML data describing populations, spike sources and projections.

Loading never executes code: TOML through ``tomli``, the structure through pydantic v2
(unknown keys, missing keys and wrong types are refused), quantities through the
whitelist parser :func:`neuromorph.units.parse_quantity`, equations through Brian2's
parser. Every mistake raises one :class:`NetworkFileError` (an ``InputError``) printed as
``file:field: what is wrong; what is allowed``. Loading gives the same
:class:`NetworkSpec` as :func:`~neuromorph.network.from_brian2.from_brian2` gives for the
equivalent Brian2 script.

.. code-block:: toml

    [simulation]
    dt = "0.025 * ms"
    duration = "1 * second"
    seed = 1                        # seeds every random choice below that has no seed

    [populations.E]
    size = 100
    model = "neurons/cobahh.toml"   # optional: [neuron], [parameters], [initial] of a model file,
                                    # relative to this file; keys below override or add to it
    equations = '''...'''           # Brian2 equations (or from the model file)
    threshold = "v > -20*mV"
    refractory = "3*ms"             # a duration, or a condition such as "v > -20*mV"
    reset = "v = -65*mV"            # optional
    method = "exponential_euler"    # default
    voltage = "v"                   # default
    parameters = { g_L = "0.05 * mS/cm**2" }
    initial = { v = { distribution = "uniform", low = "-70*mV", high = "-60*mV" } }

    [sources.noise]
    kind = "poisson"
    size = 200
    rate = "10 * Hz"                # or a list, one rate per train

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
from typing import Any, Literal, Union, get_args, get_origin

import brian2
import numpy as np
import sympy
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
from brian2.units.fundamentalunits import get_dimensions
from brian2.utils.stringtools import get_identifiers
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError, LoweringError, ModelFileError
from ..model.from_brian2 import si_values as _numeric_values, to_ir_expression
from ..model.model_file import file_parameters, read_toml
from ..model.neuron_spec import V, compile_expression
from ..units import parse_quantity, to_si
from .brian2_import import equations_text
from .ir import (NetworkSpec, NeuronModel, PoissonSource, Population, Projection, SIQuantity, SpikeTimesSource,
                 unit_string, within)

EFFECT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=)\s*w\s*$")
COMPARISON = re.compile(r"[<>]|==|!=")
MODEL_NEURON_KEYS = {"name", "equations", "threshold", "input", "voltage", "refractory", "reset"}


class NetworkFileError(InputError):
    """A network file is malformed or refers to something that does not exist."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SimulationSection(_Section):
    dt: Any
    duration: Any
    seed: int | None = None


class PopulationSection(_Section):
    size: int = Field(gt=0)
    model: str | None = None
    name: str | None = None
    equations: str | None = None
    threshold: str | None = None
    reset: str | None = None
    refractory: Union[str, bool, None] = None
    method: str | None = None
    voltage: str | None = None
    parameters: dict[str, Any] = {}
    initial: dict[str, Any] = {}


class SourceSection(_Section):
    kind: Literal["poisson", "spike_times"]
    size: int = Field(gt=0)
    rate: Any = None
    indices: list[int] | None = None
    times: list[Any] | None = None
    time_unit: str | None = None


class ConnectSection(_Section):
    rule: Literal["probability", "one_to_one", "all_to_all", "explicit"]
    p: float | None = Field(None, ge=0, le=1)
    seed: int | None = None
    autapses: bool = True
    i: list[int] | None = None
    j: list[int] | None = None


class ProjectionSection(_Section):
    source: str
    target: str
    connect: ConnectSection
    weight: Any
    delay: Any = "0 * second"
    effect: str


class NetworkFileSchema(_Section):
    simulation: SimulationSection
    populations: dict[str, PopulationSection] = Field(min_length=1)
    sources: dict[str, SourceSection] = {}
    projections: dict[str, ProjectionSection] = {}


def _section_at(model: type, loc: tuple):
    """The pydantic model class found by following ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
        args = [a for a in get_args(current) if a is not type(None)] if get_origin(current) is Union else []
        current = args[0] if len(args) == 1 else current
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _schema_error(exc: ValidationError, source: str) -> NetworkFileError:
    """The first pydantic error as one located message."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains the rest
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        section = _section_at(NetworkFileSchema, loc[:-1])
        allowed = sorted(section.model_fields) if section is not None else []
        return NetworkFileError(f"unknown key; allowed: {allowed}", source, field)
    if error["type"] == "missing":
        return NetworkFileError("missing required key", source, field)
    return NetworkFileError(f"{error['msg']}; got {error['input']!r}", source, field)


def _rng(seed, base_seed: int | None, source: str, field: str) -> np.random.Generator:
    """The table's own seed, else a stream derived from [simulation] seed and the field's name."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise NetworkFileError(f"must be an integer, got {seed!r}", source, f"{field}.seed")
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


def _values(value, unit, size: int, *, allowed: tuple[str, ...], base_seed, source: str, field: str):
    """SI value of a constant quantity, or ``size`` seeded draws of a distribution table."""
    if not isinstance(value, dict):
        return to_si(value, unit=unit, source=source, field=field)
    kind = value.get("distribution")
    if kind not in allowed:
        raise NetworkFileError(f"'distribution' must be one of {list(allowed)}, got {kind!r}", source,
                               f"{field}.distribution")
    keys, draw = DISTRIBUTIONS[kind]
    for key in value:
        if key not in {"distribution", "seed", *keys}:
            raise NetworkFileError(f"unknown key; allowed for '{kind}': {sorted({'distribution', 'seed', *keys})}",
                                   source, f"{field}.{key}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise NetworkFileError(f"missing required key for a '{kind}' distribution", source, f"{field}.{missing[0]}")
    params = {key: to_si(value[key], unit=unit, source=source, field=f"{field}.{key}") for key in keys}
    if params.get("std", 0.0) < 0:
        raise NetworkFileError("must be >= 0", source, f"{field}.std")
    try:
        draws = draw(_rng(value.get("seed"), base_seed, source, field), params, size)
    except ValueError as exc:
        raise NetworkFileError(str(exc), source, field) from None
    if kind == "normal" and params["mean"] != 0:  # keep the sign of the mean: clip at 0
        draws = np.maximum(draws, 0.0) if params["mean"] > 0 else np.minimum(draws, 0.0)
    return draws


def _unit_of(dimensions) -> brian2.Quantity:
    return brian2.Quantity(1.0, dim=dimensions)


def _times(section: SourceSection, source: str, field: str) -> np.ndarray:
    """Spike times (s): quantity strings, or numbers with ``time_unit``."""
    if section.time_unit is not None:
        scale = to_si(section.time_unit, unit=brian2.second, source=source, field=f"{field}.time_unit")
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in section.times):
            raise NetworkFileError("with time_unit, times must be plain numbers", source, f"{field}.times")
        return np.asarray(section.times, dtype=float) * scale
    return np.array([to_si(t, unit=brian2.second, source=source, field=f"{field}.times[{k}]")
                     for k, t in enumerate(section.times)], dtype=float)


def _source(name: str, section: SourceSection, source: str):
    """A Poisson source (``rate``: one quantity or one per train) or explicit spike times."""
    field = f"sources.{name}"
    needed = {"poisson": ("rate",), "spike_times": ("indices", "times")}[section.kind]
    for key in ("rate", "indices", "times", "time_unit"):
        value = getattr(section, key)
        if key in needed and value is None:
            raise NetworkFileError(f"missing required key for kind '{section.kind}'", source, f"{field}.{key}")
        if key not in needed and value is not None and not (key == "time_unit" and section.kind == "spike_times"):
            raise NetworkFileError(f"not a key of kind '{section.kind}'; it needs {list(needed)}", source,
                                   f"{field}.{key}")
    if section.kind == "poisson":
        rates = section.rate if isinstance(section.rate, list) else [section.rate]
        hz = [to_si(r, unit=brian2.Hz, source=source, field=f"{field}.rate") for r in rates]
        with within(field):
            return PoissonSource(name=name, size=section.size, rates_hz=hz[0] if len(hz) == 1 else hz)
    times = _times(section, source, field)
    with within(field):
        return SpikeTimesSource(name=name, size=section.size, indices=section.indices, times_s=times)


def _model_file(path_text: str, base_dir: Path, source: str, field: str) -> tuple[dict, dict, dict, str]:
    """[neuron] keys, parameters (Brian2 quantities, derived ones included), raw [initial] and path of a model file."""
    path = base_dir / path_text
    if not path.is_file():
        raise NetworkFileError(f"model file '{path_text}' not found (paths are relative to the network file)",
                               source, field)
    model_source = str(path)
    data = read_toml(path)
    neuron = data.get("neuron")
    if not isinstance(neuron, dict):
        raise ModelFileError("missing section [neuron]", model_source, "neuron")
    for key in neuron:
        if key not in MODEL_NEURON_KEYS:
            raise ModelFileError(f"unknown key; allowed: {sorted(MODEL_NEURON_KEYS)}", model_source, f"neuron.{key}")
    neuron = {k: v for k, v in neuron.items() if k != "input"}  # a stimulus input is a plain state in a network
    method = data.get("simulation", {}).get("method")
    neuron.update({"method": method} if method else {})
    return neuron, file_parameters(data, model_source), dict(data.get("initial", {})), model_source


def _equations(text, source: str, field: str) -> brian2.Equations:
    if not isinstance(text, str):
        raise NetworkFileError(f"must be a string of Brian2 equations, got {text!r}", source, field)
    try:
        return brian2.Equations(text)
    except Exception as exc:  # Brian2 raises several types
        raise NetworkFileError(f"Brian2 cannot parse the equations: {' '.join(str(exc).split())}", source,
                               field) from None


def _used_names(equations: brian2.Equations, neuron: dict) -> set[str]:
    """External names of the equations, threshold, reset and a refractory condition."""
    codes = [neuron.get(key) or "" for key in ("threshold", "reset")]
    refractory = neuron.get("refractory")
    codes.append(refractory if isinstance(refractory, str) else "")
    names = set(equations.identifiers).union(*(get_identifiers(code) for code in codes))
    return names - set(equations.names) - set(equations.stochastic_variables)


def _check_names(equations, neuron: dict, parameters: dict, source: str, field: str) -> None:
    """Every external name is a parameter, a Brian2 unit/constant/function or one of neuromorph's functions."""
    from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS

    from ..reference.brian2_functions import BRIAN2_FUNCTIONS

    known = set(DEFAULT_UNITS) | set(DEFAULT_CONSTANTS) | set(DEFAULT_FUNCTIONS) | set(BRIAN2_FUNCTIONS)
    known |= {"t", "dt", "i", "N", "lastspike", "not_refractory"}
    unknown = sorted(_used_names(equations, neuron) - known - set(parameters))
    if unknown:
        raise NetworkFileError(f"uses {unknown}, which are neither state variables, parameters nor Brian2 "
                               "units or functions; define them in parameters", source, field)


def _check_units(equations: str, parameters: dict, source: str, field: str) -> None:
    """Let Brian2 check the dimensions of every equation with these parameter values."""
    from ..reference.brian2_functions import BRIAN2_FUNCTIONS

    namespace = {**BRIAN2_FUNCTIONS, **{name: q.to_brian2() for name, q in parameters.items()}}
    try:
        group = brian2.NeuronGroup(1, equations, namespace=namespace, name="neuromorph_unit_check")
        group.equations.check_units(group, run_namespace={})
    except Exception as exc:  # Brian2 raises DimensionMismatchError, KeyError, ...
        message = " ".join(str(exc).replace("%", "").split())
        raise NetworkFileError(f"inconsistent units: {message}", source, field) from None


def _steady_state(equations: brian2.Equations, name: str, voltage: str, v0, parameters: dict):
    """``x_inf(v0)`` when ``dx/dt = A(v) - B(v) x`` with ``B != 0`` (gates, synaptic variables), else None."""
    symbol = sympy.Symbol(name, real=True)
    values = _numeric_values({k: float(q.value) for k, q in parameters.items()})
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


def _initial(states: dict, given: dict, model: dict, size: int, parameters: dict, base_seed, field: str):
    """Initial value of every state: given (constant or drawn), else the steady state at v0, else 0.

    ``given`` maps a name to ``(value, source, field)`` (model-file values come with their file).
    """
    voltage, equations = model["voltage"], model["equations"]
    for name, (_, source, where) in given.items():
        if name not in states:
            raise NetworkFileError(f"not a state variable; states: {sorted(states)}", source, where)
    if voltage not in given:
        raise NetworkFileError("the initial membrane potential is required", model["source"],
                               f"{field}.initial.{voltage}")
    values = {name: _values(value, _unit_of(states[name].dim), size, allowed=("uniform", "normal"),
                            base_seed=base_seed, source=source, field=where)
              for name, (value, source, where) in given.items()}
    for name, eq in states.items():
        if name not in values:
            steady = _steady_state(equations, name, voltage, values[voltage], parameters) \
                if eq.type == DIFFERENTIAL_EQUATION else None
            values[name] = 0.0 if steady is None else steady
    return {name: SIQuantity(values[name], unit_string(eq.dim)) for name, eq in states.items()}


def _refractory(value, source: str, field: str) -> float | str | None:
    """None, a duration (s), or a condition such as ``"v > -20*mV"`` (kept as Brian2 code)."""
    if value is None or value is False:
        return None
    if value is True:
        raise NetworkFileError("must be a duration such as '3*ms', a condition or false", source, field)
    if isinstance(value, str) and COMPARISON.search(value):
        return value.strip()
    seconds = to_si(value, unit=brian2.second, source=source, field=field)
    if seconds < 0:
        raise NetworkFileError(f"must be >= 0, got {value!r}", source, field)
    return seconds


def _neuron(section: PopulationSection, base_dir: Path, source: str, field: str) -> tuple[dict, dict, dict]:
    """Merged neuron keys (the population's override the model file's), parameters and raw initial values."""
    neuron, parameters, initial, model_source = {}, {}, {}, source
    if section.model is not None:
        neuron, parameters, file_initial, model_source = _model_file(section.model, base_dir, source, f"{field}.model")
        initial = {k: (v, model_source, f"initial.{k}") for k, v in file_initial.items()}
    sources = {key: (model_source, f"neuron.{key}") for key in neuron}
    for key in ("name", "equations", "threshold", "reset", "refractory", "method", "voltage"):
        if getattr(section, key) is not None:
            neuron[key], sources[key] = getattr(section, key), (source, f"{field}.{key}")
    if "equations" not in neuron:
        raise NetworkFileError("missing: give equations here or a model file", source, f"{field}.equations")
    own = {k: parse_quantity(v, source=source, field=f"{field}.parameters.{k}") for k, v in section.parameters.items()}
    initial.update({k: (v, source, f"{field}.initial.{k}") for k, v in section.initial.items()})
    neuron["sources"] = sources
    return neuron, {"model": parameters, "own": own}, initial


def _population(name: str, section: PopulationSection, base_dir: Path, base_seed, source: str) -> Population:
    field = f"populations.{name}"
    neuron, given, initial = _neuron(section, base_dir, source, field)
    equations = _equations(neuron["equations"], *neuron["sources"]["equations"])
    states = {n: eq for n, eq in equations.items() if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER)}
    used = _used_names(equations, neuron)
    for key, value in given["own"].items():
        if key in states:
            raise NetworkFileError(f"'{key}' is a state variable of the equations; set it in initial", source,
                                   f"{field}.parameters.{key}")
        if key not in used:
            raise NetworkFileError("not used by the equations, threshold, reset or refractory", source,
                                   f"{field}.parameters.{key}")
    merged = {**given["model"], **given["own"]}
    parameters = {k: SIQuantity(float(q), unit_string(get_dimensions(q))) for k, q in merged.items()
                  if k in used and k not in states}
    _check_names(equations, neuron, parameters, source, f"{field}.equations")
    text = equations_text(equations)
    _check_units(text, parameters, *neuron["sources"]["equations"])
    model = {"voltage": neuron.get("voltage", "v"), "equations": equations, "source": source}
    if model["voltage"] not in states or states[model["voltage"]].type != DIFFERENTIAL_EQUATION:
        raise NetworkFileError(f"'{model['voltage']}' is not a differential equation of the model", source,
                               f"{field}.voltage")
    refractory = _refractory(neuron.get("refractory"), *neuron["sources"].get("refractory", (source, field)))
    with within(field):
        neuron_model = NeuronModel(
            name=neuron.get("name", name), equations=text, parameters=parameters, threshold=neuron.get("threshold"),
            reset=neuron.get("reset"), refractory=refractory, method=neuron.get("method", "exponential_euler"),
            voltage=model["voltage"],
            initial=_initial(states, initial, model, section.size, parameters, base_seed, field))
        return Population(name=name, size=section.size, model=neuron_model)


def _probability(c: ConnectSection, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each pair independently with probability p (pre-major order, as Brian2's connect(p=...))."""
    return np.nonzero(rng().random((n_pre, n_post)) < c.p)


def _all_to_all(c: ConnectSection, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)


def _one_to_one(c: ConnectSection, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if n_pre != n_post:
        raise ValueError(f"one_to_one needs groups of equal size, got {n_pre} and {n_post}")
    return np.arange(n_pre), np.arange(n_post)


def _explicit(c: ConnectSection, n_pre: int, n_post: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if c.i is None or c.j is None or len(c.i) != len(c.j):
        raise ValueError("the explicit rule needs lists i and j of equal length")
    return np.asarray(c.i, dtype=np.int64), np.asarray(c.j, dtype=np.int64)


#: connection rule -> (builder, keys it accepts besides 'rule')
CONNECT_RULES = {"probability": (_probability, {"p", "seed", "autapses"}), "all_to_all": (_all_to_all, {"autapses"}),
                 "one_to_one": (_one_to_one, set()), "explicit": (_explicit, {"i", "j"})}


def _connect(c: ConnectSection, sizes: tuple[int, int], recurrent: bool, base_seed, source: str, field: str):
    """``(i, j)`` of a connection rule; autapses (i == j within one group) removed when asked."""
    builder, accepted = CONNECT_RULES[c.rule]
    extra = sorted(c.model_fields_set - accepted - {"rule"})
    if extra:
        raise NetworkFileError(f"not a key of rule '{c.rule}'; it accepts {sorted(accepted)}", source,
                               f"{field}.{extra[0]}")
    if c.rule == "probability" and c.p is None:
        raise NetworkFileError("missing required key for rule 'probability'", source, f"{field}.p")
    try:
        i, j = builder(c, *sizes, lambda: _rng(c.seed, base_seed, source, field))
    except ValueError as exc:
        raise NetworkFileError(str(exc), source, field) from None
    if recurrent and not c.autapses:
        keep = i != j
        i, j = i[keep], j[keep]
    return np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)


def _projection(name: str, section: ProjectionSection, groups: dict, populations: dict, base_seed,
                source: str) -> Projection:
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
    weights = _values(section.weight, _unit_of(states[variable]), i.size, allowed=tuple(DISTRIBUTIONS),
                      base_seed=base_seed, source=source, field=f"{field}.weight")
    delays = _values(section.delay, brian2.second, i.size, allowed=("uniform",), base_seed=base_seed, source=source,
                     field=f"{field}.delay")
    if np.min(delays, initial=0.0) < 0:
        raise NetworkFileError("delays must be >= 0", source, f"{field}.delay")
    with within(field):
        return Projection(name=name, source=section.source, target=section.target, i=i, j=j,
                          weights=np.broadcast_to(weights, i.shape), weight_unit=unit_string(states[variable]),
                          delays_s=np.broadcast_to(delays, i.shape), target_variable=variable, operation=operation)


def _simulation(section: SimulationSection, source: str) -> dict:
    values = {}
    for key in ("dt", "duration"):
        values[key] = to_si(getattr(section, key), unit=brian2.second, source=source, field=f"simulation.{key}")
        if not values[key] > 0:
            raise NetworkFileError("must be positive", source, f"simulation.{key}")
    return {**values, "seed": section.seed}


def load_network(path: str | Path, *, seed: int | None = None) -> NetworkSpec:
    """Load and validate a network file into a :class:`NetworkSpec`.

    ``seed`` replaces ``[simulation] seed``: every draw without its own seed (connectivity,
    weights, delays, initial values) and the run's random numbers change with it.

    Raises
    ------
    InputError
        (:class:`NetworkFileError`, :class:`~neuromorph.errors.UnitError`,
        :class:`~neuromorph.errors.ModelFileError`) naming the file and field.
    """
    source = str(path)
    data = read_toml(path)
    try:
        schema = NetworkFileSchema.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(exc, source) from None
    simulation = _simulation(schema.simulation, source)
    simulation["seed"] = simulation["seed"] if seed is None else seed
    base_dir, seed = Path(path).parent, simulation["seed"]
    populations = {n: _population(n, s, base_dir, seed, source) for n, s in schema.populations.items()}
    sources = {n: _source(n, s, source) for n, s in schema.sources.items()}
    groups = {**populations, **sources}
    projections = [_projection(n, s, groups, populations, seed, source) for n, s in schema.projections.items()]
    try:
        return NetworkSpec(populations=tuple(populations.values()), sources=tuple(sources.values()),
                           projections=tuple(projections), **simulation)
    except InputError as exc:
        raise exc.located(source=source) from None
