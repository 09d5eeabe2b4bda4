"""Network IR: populations of neurons as written, spike sources and projections.

Small frozen dataclasses in the style of NIR (``nir/ir/*.py``), each with ``to_dict`` /
``from_dict`` for a round trip through plain JSON-able data (arrays as lists, quantities as
an SI value plus a unit string that :func:`neuromorph.units.parse_quantity` reads back with
scale 1, e.g. ``{"value": -0.065, "unit": "volt"}``). Nothing here is lowered: a
population keeps its Brian2 equations text and parameter values.

Semantics of a projection (as Brian2 runs it, see :mod:`neuromorph.network.reference`):
synapse ``k`` connects neuron ``i[k]`` of ``source`` to neuron ``j[k]`` of ``target``
(indices into the full groups); a spike of ``i[k]`` detected in step ``n`` applies
``target_variable[j[k]] (operation) weights[k]`` in step ``n + round(delays_s[k] / dt)``,
after the threshold of that step, so the state update of the next step sees it.
``weights`` are the increments themselves, in SI units of the target variable
(``weight_unit``).

Every check raises :class:`~neuromorph.errors.InputError` with the field as a dotted path
(``projections.exc.delays_s``); a loader fills in its file name (``InputError.located``).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Mapping

import brian2
import numpy as np
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
from brian2.units.fundamentalunits import get_dimensions, get_unit

from ..errors import InputError, UnitError
from ..model.from_brian2 import parse_equations
from ..schema import MAX_SEED
from ..units import parse_quantity

#: Brian2's refractoriness variables a refractory model's ``initial`` may set (a run that continues
#: one before it): the time of each neuron's last spike (s, from the run's start, so negative) and
#: whether it is out of its refractory period.
REFRACTORY_VARIABLES = {"lastspike": get_dimensions(brian2.second), "not_refractory": get_dimensions(1)}

#: Operations a projection may apply to its postsynaptic variable.
OPERATIONS = ("+=", "-=")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: Brian2's base units, in the order of a Dimension's exponents.
BASE_UNITS = ("metre", "kilogram", "second", "amp", "kelvin", "mole", "candle")


def unit_string(dimensions) -> str:
    """Unit string of scale 1 for Brian2 ``dimensions``: ``"volt"``, ``"amp * metre**-2"``, ``"1"``.

    Brian2's own name for the unit when it has one of SI scale 1, else a product of base
    units; never parentheses, so the string is valid both for
    :func:`neuromorph.units.parse_quantity` and as the unit of a Brian2 equation.
    """
    dims = get_dimensions(dimensions)
    if dims.is_dimensionless:
        return "1"
    text = repr(get_unit(dims))
    try:
        parsed = parse_quantity(text)
    except UnitError:
        parsed = None
    if "(" in text or parsed is None or float(parsed) != 1.0 or get_dimensions(parsed) != dims:
        exponents = [dims.get_dimension(name) for name in ("m", "kg", "s", "A", "K", "mol", "cd")]
        text = " * ".join(name if power == 1 else f"{name}**{power:g}"
                          for name, power in zip(BASE_UNITS, exponents) if power)
    return text


def unit_dimensions(unit: str, field: str):
    """Brian2 dimensions of a unit string; refuse strings that are not of SI scale 1."""
    quantity = parse_quantity(unit, field=field)
    if float(quantity) != 1.0:
        raise InputError(f"unit {unit!r} is not an SI unit of scale 1 (write 'volt', not 'mV')", field=field)
    return get_dimensions(quantity)


def state_dimensions(equations: str, field: str = "model.equations") -> dict:
    """Dimensions of the state variables (differential equations and parameters) of ``equations``."""
    eqs = parse_equations(equations, None, field, InputError)
    return {name: eq.dim for name, eq in eqs.items() if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER)}


@contextlib.contextmanager
def within(prefix: str):
    """Prefix the field of an :class:`InputError` raised inside with ``prefix``.

    Errors that already name their source (a file) are located already and pass unchanged.
    """
    try:
        yield
    except InputError as exc:
        if exc.source is not None:
            raise
        field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise type(exc)(exc.message, exc.source, field) from None


def _frozen_array(values, dtype, field: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=dtype).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"must be a list of numbers, got {values!r:.80}", field=field) from None
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise InputError("must be finite (no NaN or infinity)", field=field)
    array.setflags(write=False)
    return array


def _check_name(name: str, field: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(f"name {name!r} must be an identifier (letters, digits, '_', not starting with a digit)",
                         field=field)


def _plain(value: Any) -> Any:
    """JSON-able form of a field value."""
    if isinstance(value, _Node):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


class _Node:
    """Shared ``to_dict`` and equality (by plain data, so arrays compare element-wise)."""

    __hash__ = None

    def to_dict(self) -> dict:
        """Plain JSON-able data; ``from_dict`` of the result rebuilds an equal object."""
        return {"type": type(self).__name__, **{f.name: _plain(getattr(self, f.name)) for f in fields(self)}}

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    @classmethod
    def _fields_of(cls, data: Mapping) -> dict:
        if data.get("type", cls.__name__) != cls.__name__:
            raise InputError(f"expected a {cls.__name__}, got type {data.get('type')!r}", field="type")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names - {"type"}
        if unknown:
            raise InputError(f"unknown keys {sorted(unknown)}; allowed: {sorted(names)}", field=cls.__name__)
        return {key: value for key, value in data.items() if key != "type"}


@dataclass(frozen=True, eq=False)
class SIQuantity(_Node):
    """A value (scalar or per-element array) in SI units, with the unit as a string of scale 1.

    An array whose elements are all equal is stored as that scalar (one canonical form).
    """

    value: Any
    unit: str = "1"

    def __post_init__(self):
        if np.ndim(self.value) == 0:
            value = float(self.value)
            if not np.isfinite(value):
                raise InputError(f"must be finite, got {value}", field="value")
        else:
            value = _frozen_array(self.value, float, "value")
            if value.size and np.all(value == value[0]):
                value = float(value[0])  # canonical form: a uniform array is its scalar
        object.__setattr__(self, "value", value)
        if not isinstance(self.unit, str):
            raise InputError(f"unit must be a string, got {self.unit!r}", field="unit")

    @property
    def dimensions(self):
        """Brian2 dimensions of :attr:`unit`."""
        return unit_dimensions(self.unit, "unit")

    def to_brian2(self) -> brian2.Quantity:
        """The value as a Brian2 quantity (for building Brian2 objects)."""
        return brian2.Quantity(self.value, dim=self.dimensions)

    @classmethod
    def from_dict(cls, data: Mapping) -> "SIQuantity":
        return cls(**cls._fields_of(data))


def _quantities(mapping: Mapping, field: str) -> Mapping[str, SIQuantity]:
    result = {}
    for name, value in dict(mapping).items():
        if not isinstance(value, SIQuantity):
            raise InputError(f"must be an SIQuantity, got {type(value).__name__}", field=f"{field}.{name}")
        result[name] = value
    return MappingProxyType(result)


@dataclass(frozen=True, eq=False)
class NeuronModel(_Node):
    """A population's neuron as the user wrote it (not lowered).

    Attributes
    ----------
    name : str
        Model name.
    equations : str
        Brian2 equations text.
    parameters : Mapping[str, SIQuantity]
        External constants the equations, threshold, reset and refractoriness use.
    threshold, reset : str or None
        Brian2 code, e.g. ``"v > -20*mV"``, ``"v = -65*mV"``.
    refractory : float, str or None
        A duration (s), or Brian2 code (a condition such as ``"v > -20*mV"`` or an
        expression of time such as a per-neuron parameter), or None.
    method : str
        Brian2 integration method (``"exponential_euler"``, ``"euler"``, ``"exact"``...).
    voltage : str
        The membrane-potential variable.
    initial : Mapping[str, SIQuantity]
        Initial value of state variables, scalar or one per neuron; others start at 0. A
        refractory model may also set :data:`REFRACTORY_VARIABLES` (by default no neuron is
        refractory at the start).
    noise : str or None
        ``"target"``: the equations keep their noise variables (``xi``), which Brian2 draws
        itself and the lowered program draws from the target's generator
        (:mod:`neuromorph.network.noise`); None otherwise (replayed noise is a sampled input).
    """

    name: str
    equations: str
    parameters: Mapping[str, SIQuantity]
    threshold: str | None
    reset: str | None
    refractory: float | str | None
    method: str
    voltage: str
    initial: Mapping[str, SIQuantity]
    noise: str | None = None

    def __post_init__(self):
        if self.noise not in (None, "target"):
            raise InputError(f"must be 'target' or None, got {self.noise!r}", field="noise")
        object.__setattr__(self, "parameters", _quantities(self.parameters, "parameters"))
        object.__setattr__(self, "initial", _quantities(self.initial, "initial"))
        if isinstance(self.refractory, (int, float)) and not isinstance(self.refractory, bool):
            if not (np.isfinite(self.refractory) and self.refractory >= 0):
                raise InputError(f"a refractory duration must be >= 0 s, got {self.refractory}", field="refractory")
            object.__setattr__(self, "refractory", float(self.refractory))
        elif self.refractory is not None and not isinstance(self.refractory, str):
            raise InputError(f"must be a duration (s), Brian2 code or None, got {self.refractory!r}",
                             field="refractory")
        states = self.state_dimensions()
        if self.voltage not in states:
            raise InputError(f"the voltage '{self.voltage}' is not a state variable; states: {sorted(states)}",
                             field="voltage")
        if self.refractory is not None and self.threshold is not None:
            states = {**states, **REFRACTORY_VARIABLES}
        for name, value in self.initial.items():
            if name not in states:
                raise InputError(f"not a state variable; states: {sorted(states)}", field=f"initial.{name}")
            if value.dimensions != states[name]:
                raise InputError(f"unit {value.unit!r} does not match the variable's ({unit_string(states[name])})",
                                 field=f"initial.{name}")
        for name, value in self.parameters.items():
            if name in states:
                raise InputError("is a state variable of the equations; give it in initial", field=f"parameters.{name}")
            value.dimensions  # noqa: B018 -- checks the unit string
            if np.ndim(value.value) != 0:
                raise InputError("a parameter must be a scalar; per-neuron values are state variables",
                                 field=f"parameters.{name}")

    def state_dimensions(self) -> dict:
        """Dimensions of every state variable (differential equations and parameters)."""
        return state_dimensions(self.equations)

    @classmethod
    def from_dict(cls, data: Mapping) -> "NeuronModel":
        kwargs = cls._fields_of(data)
        kwargs["parameters"] = {k: SIQuantity.from_dict(v) for k, v in kwargs.get("parameters", {}).items()}
        kwargs["initial"] = {k: SIQuantity.from_dict(v) for k, v in kwargs.get("initial", {}).items()}
        return cls(**kwargs)


def _check_size(size, field: str) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise InputError(f"must be a positive integer, got {size!r}", field=field)
    return int(size)


@dataclass(frozen=True, eq=False)
class Population(_Node):
    """``size`` neurons obeying ``model``."""

    name: str
    size: int
    model: NeuronModel

    def __post_init__(self):
        _check_name(self.name, "name")
        object.__setattr__(self, "size", _check_size(self.size, "size"))
        for name, value in self.model.initial.items():
            if np.ndim(value.value) != 0 and value.value.size != self.size:
                raise InputError(f"has {value.value.size} values for {self.size} neurons",
                                 field=f"model.initial.{name}")

    @classmethod
    def from_dict(cls, data: Mapping) -> "Population":
        kwargs = cls._fields_of(data)
        with within("model"):
            model = NeuronModel.from_dict(kwargs.get("model", {}))
        return cls(**{**kwargs, "model": model})


@dataclass(frozen=True, eq=False)
class PoissonSource(_Node):
    """``size`` independent Poisson spike trains with constant rates (Hz, one per train).

    Brian2's ``PoissonGroup``: in each step, train ``k`` spikes with probability
    ``rates_hz[k] * dt``.
    """

    name: str
    size: int
    rates_hz: np.ndarray

    def __post_init__(self):
        _check_name(self.name, "name")
        object.__setattr__(self, "size", _check_size(self.size, "size"))
        rates = _frozen_array(np.broadcast_to(np.asarray(self.rates_hz, dtype=float), (self.size,))
                              if np.ndim(self.rates_hz) == 0 else self.rates_hz, float, "rates_hz")
        if rates.size != self.size or np.any(rates < 0):
            raise InputError(f"needs {self.size} rates >= 0 Hz, got {rates.size} values (min {rates.min():g})",
                             field="rates_hz")
        object.__setattr__(self, "rates_hz", rates)

    @classmethod
    def from_dict(cls, data: Mapping) -> "PoissonSource":
        return cls(**cls._fields_of(data))


@dataclass(frozen=True, eq=False)
class SpikeTimesSource(_Node):
    """Explicit spikes: train ``indices[k]`` spikes at ``times_s[k]`` (sorted by time, then index).

    Brian2's ``SpikeGeneratorGroup``: a spike at time ``t`` is emitted in step
    ``floor(t / dt + 1e-3)``.
    """

    name: str
    size: int
    indices: np.ndarray
    times_s: np.ndarray

    def __post_init__(self):
        _check_name(self.name, "name")
        object.__setattr__(self, "size", _check_size(self.size, "size"))
        indices = _frozen_array(self.indices, np.int64, "indices")
        times = _frozen_array(self.times_s, float, "times_s")
        if indices.size != times.size:
            raise InputError(f"{indices.size} indices but {times.size} times", field="times_s")
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            raise InputError(f"indices must be in [0, {self.size}), got {indices.min()}..{indices.max()}",
                             field="indices")
        if times.size and times.min() < 0:
            raise InputError(f"spike times must be >= 0 s, got {times.min():g}", field="times_s")
        order = np.lexsort((indices, times))
        object.__setattr__(self, "indices", _frozen_array(indices[order], np.int64, "indices"))
        object.__setattr__(self, "times_s", _frozen_array(times[order], float, "times_s"))

    def steps(self, dt: float) -> np.ndarray:
        """Step in which each spike is emitted, as Brian2 bins it: ``floor(t / dt + 1e-3)``."""
        return np.floor(self.times_s / dt + 1e-3).astype(np.int64)

    @classmethod
    def from_dict(cls, data: Mapping) -> "SpikeTimesSource":
        return cls(**cls._fields_of(data))


@dataclass(frozen=True, eq=False)
class CurrentSource(_Node):
    """A sampled input: in step ``t``, ``variable`` of neuron ``k`` of ``target`` holds ``values[t, k]``.

    Brian2: a 2-D ``TimedArray`` written into the variable (a parameter of the target's
    equations, e.g. ``I_inj : amp/meter**2``) at the start of every step, before the state
    update (``run_regularly(..., when="start")``), so every backend sees the same sampled
    input. A model file's stimulus is one (:func:`neuromorph.network.model_network.network_of_model`).

    Attributes
    ----------
    name : str
        Source name.
    target : str
        The population it drives.
    variable : str
        The parameter of the target's equations it sets.
    values : ndarray (n_steps, size)
        The input of every step and neuron, in SI units of ``unit``.
    unit : str
        Unit string (scale 1) of ``variable``, e.g. ``"amp * metre**-2"``.
    """

    name: str
    target: str
    variable: str
    values: np.ndarray
    unit: str

    def __post_init__(self):
        _check_name(self.name, "name")
        values = np.array(self.values, dtype=float)
        if values.ndim != 2 or 0 in values.shape:
            raise InputError(f"must be a non-empty (steps, neurons) array, got shape {values.shape}", field="values")
        if not np.all(np.isfinite(values)):
            raise InputError("must be finite (no NaN or infinity)", field="values")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        unit_dimensions(self.unit, "unit")

    @property
    def size(self) -> int:
        """Number of neurons driven."""
        return int(self.values.shape[1])

    @classmethod
    def from_dict(cls, data: Mapping) -> "CurrentSource":
        return cls(**cls._fields_of(data))


#: Source node types by name (registry for ``from_dict``).
SOURCE_TYPES = {cls.__name__: cls for cls in (PoissonSource, SpikeTimesSource, CurrentSource)}
#: Sources that emit spikes (projections start from them); a :class:`CurrentSource` sets a variable.
SPIKE_SOURCE_TYPES = (PoissonSource, SpikeTimesSource)


@dataclass(frozen=True, eq=False)
class Projection(_Node):
    """Synapses from ``source`` to ``target``: ``target_variable[j] (operation) weights`` per spike of ``i``.

    Attributes
    ----------
    name : str
        Projection name.
    source, target : str
        Names of the presynaptic population or source, and of the postsynaptic population.
    i, j : ndarray of int
        Pre- and postsynaptic neuron of each synapse (indices into the full groups).
    weights : ndarray of float
        Increment of the target variable per spike, SI units of ``weight_unit``.
    weight_unit : str
        Unit string of the target variable (scale 1, e.g. ``"siemens"``).
    delays_s : ndarray of float
        Transmission delay of each synapse (s, >= 0).
    target_variable : str
        The postsynaptic state variable changed (e.g. ``g_e``, ``I_syn``, ``v``).
    operation : str
        ``"+="`` or ``"-="``.
    """

    name: str
    source: str
    target: str
    i: np.ndarray
    j: np.ndarray
    weights: np.ndarray
    weight_unit: str
    delays_s: np.ndarray
    target_variable: str
    operation: str = "+="

    def __post_init__(self):
        _check_name(self.name, "name")
        arrays = {"i": np.int64, "j": np.int64, "weights": float, "delays_s": float}
        for field_name, dtype in arrays.items():
            object.__setattr__(self, field_name, _frozen_array(getattr(self, field_name), dtype, field_name))
        n = self.i.size
        for field_name in ("j", "weights", "delays_s"):
            if getattr(self, field_name).size != n:
                raise InputError(f"has {getattr(self, field_name).size} values for {n} synapses", field=field_name)
        if n and (self.i.min() < 0 or self.j.min() < 0):
            raise InputError("neuron indices must be >= 0", field="i" if self.i.min() < 0 else "j")
        if n and self.delays_s.min() < 0:
            raise InputError(f"delays must be >= 0 s, got {self.delays_s.min():g}", field="delays_s")
        if self.operation not in OPERATIONS:
            raise InputError(f"operation {self.operation!r} is not one of {list(OPERATIONS)}", field="operation")
        unit_dimensions(self.weight_unit, "weight_unit")

    def delay_steps(self, dt: float) -> np.ndarray:
        """Delay of each synapse in steps as Brian2's (C++) spike queue rounds it: ``floor(d / dt + 0.5)``."""
        return np.floor(self.delays_s / dt + 0.5).astype(np.int64)

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return int(self.i.size)

    @classmethod
    def from_dict(cls, data: Mapping) -> "Projection":
        return cls(**cls._fields_of(data))


@dataclass(frozen=True, eq=False)
class NetworkSpec(_Node):
    """A whole network: populations, spike sources, projections, time step, duration (s) and seed.

    Populations, sources and projections are kept sorted by name (a canonical order, so
    that equal networks compare equal however they were built).

    ``seed`` seeds the random numbers of a run (Poisson sources, ``rand()`` in equations);
    None leaves them unseeded.
    """

    populations: tuple
    sources: tuple
    projections: tuple
    dt: float
    duration: float
    seed: int | None = None

    def __post_init__(self):
        for field_name in ("populations", "sources", "projections"):
            nodes = tuple(getattr(self, field_name))
            object.__setattr__(self, field_name, tuple(sorted(nodes, key=lambda node: getattr(node, "name", ""))))
        for field_name in ("dt", "duration"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (np.isfinite(value) and value > 0):
                raise InputError(f"must be a positive number of seconds, got {value!r}", field=field_name)
            object.__setattr__(self, field_name, float(value))
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))):
            raise InputError(f"must be an integer or None, got {self.seed!r}", field="seed")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise InputError(f"must be a seed from 0 to {MAX_SEED} (Brian2's and numpy's range), got {self.seed}",
                             field="seed")
        _check_steps(self)
        _check_types(self)
        _check_names(self)
        for source in self.sources:
            _check_one_spike_per_step(source, self.dt)
        for projection in self.projections:
            _check_projection(self, projection)
        for current in self.current_sources:
            _check_current(self, current)

    @property
    def spike_sources(self) -> tuple:
        """The sources that emit spikes (Poisson, spike times)."""
        return tuple(s for s in self.sources if isinstance(s, SPIKE_SOURCE_TYPES))

    @property
    def current_sources(self) -> tuple:
        """The sampled inputs (:class:`CurrentSource`)."""
        return tuple(s for s in self.sources if isinstance(s, CurrentSource))

    @property
    def groups(self) -> dict:
        """Populations and spike sources by name (what a projection may start from)."""
        return {node.name: node for node in self.populations + self.spike_sources}

    @property
    def n_steps(self) -> int:
        """Number of time steps in the run."""
        return int(round(self.duration / self.dt))

    def summary(self) -> str:
        """A few lines describing the network, for people."""
        lines = [f"network: dt {self.dt * 1e3:g} ms, duration {self.duration:g} s, seed {self.seed}"]
        lines += [f"  population {p.name}: {p.size} x {p.model.name} ({p.model.method}, "
                  f"states {sorted(p.model.state_dimensions())})" for p in self.populations]
        lines += [f"  source {s.name}: {s.size} x {type(s).__name__}" for s in self.spike_sources]
        lines += [f"  source {s.name}: sampled {s.variable} of {s.target} ({s.values.shape[0]} steps)"
                  for s in self.current_sources]
        lines += [f"  projection {p.name}: {p.source} -> {p.target}.{p.target_variable} {p.operation} w, "
                  f"{p.n_synapses} synapses, w {np.mean(p.weights) if p.n_synapses else 0:.3g} {p.weight_unit} "
                  f"(mean), delays {_span_ms(p.delays_s)} ms" for p in self.projections]
        return "\n".join(lines)

    def population(self, name: str) -> Population:
        """The population called ``name``."""
        return {p.name: p for p in self.populations}[name]

    @classmethod
    def from_dict(cls, data: Mapping) -> "NetworkSpec":
        kwargs = cls._fields_of(data)
        nodes = {}
        for field_name in ("populations", "sources", "projections"):
            nodes[field_name] = []
            for index, item in enumerate(kwargs.get(field_name, [])):
                with within(f"{field_name}[{index}]"):
                    nodes[field_name].append(_node_from_dict(field_name, item))
        return cls(**{k: tuple(v) for k, v in nodes.items()}, dt=kwargs.get("dt"), duration=kwargs.get("duration"),
                   seed=kwargs.get("seed"))


def _source_from_dict(data: Mapping) -> _Node:
    kind = data.get("type")
    if kind not in SOURCE_TYPES:
        raise InputError(f"unknown source type {kind!r}; allowed: {sorted(SOURCE_TYPES)}", field="type")
    return SOURCE_TYPES[kind].from_dict(data)


#: Builder of each list of a NetworkSpec from plain data.
NODE_BUILDERS = {"populations": Population.from_dict, "sources": _source_from_dict,
                 "projections": Projection.from_dict}


def _node_from_dict(field_name: str, data: Mapping) -> _Node:
    """Rebuild one population, source (by its ``type``) or projection."""
    if not isinstance(data, Mapping):
        raise InputError(f"must be a mapping, got {type(data).__name__}")
    return NODE_BUILDERS[field_name](data)


def _span_ms(values: np.ndarray) -> str:
    return f"{values.min() * 1e3:g}-{values.max() * 1e3:g}" if values.size else "-"


def _check_types(spec: NetworkSpec) -> None:
    expected = {"populations": (Population,), "sources": tuple(SOURCE_TYPES.values()), "projections": (Projection,)}
    for field_name, types in expected.items():
        for index, node in enumerate(getattr(spec, field_name)):
            if not isinstance(node, types):
                raise InputError(f"must be one of {[t.__name__ for t in types]}, got {type(node).__name__}",
                                 field=f"{field_name}[{index}]")


def _check_names(spec: NetworkSpec) -> None:
    seen: dict[str, str] = {}
    for field_name in ("populations", "sources", "projections"):
        for node in getattr(spec, field_name):
            if node.name in seen:
                raise InputError(f"name '{node.name}' is used twice (also in {seen[node.name]}); "
                                 "names must be unique across populations, sources and projections",
                                 field=f"{field_name}.{node.name}")
            seen[node.name] = field_name


#: Brian2 counts time steps (and bins spike times) in int32: a step at or beyond this wraps around.
MAX_STEPS = 2 ** 31 - 1


def _check_steps(spec: "NetworkSpec") -> None:
    """At least one step and fewer than :data:`MAX_STEPS`; every spike time within Brian2's int32 bins
    (a spike at 2^31 steps used to wrap around and be delivered at t = 0)."""
    steps = spec.duration / spec.dt
    if round(steps) < 1:
        raise InputError(f"{spec.duration:g} s is shorter than one time step (dt = {spec.dt:g} s); the run needs at "
                         "least one step", field="simulation.duration")
    if steps >= MAX_STEPS:
        raise InputError(f"{spec.duration:g} s at dt = {spec.dt:g} s is {steps:.3g} steps; Brian2 counts steps in "
                         f"int32: at most {MAX_STEPS:,}", field="simulation.duration")
    for source in spec.sources:
        if isinstance(source, SpikeTimesSource) and source.times_s.size and \
                source.times_s.max() / spec.dt >= MAX_STEPS:
            raise InputError(f"spike time {source.times_s.max():g} s is step {source.times_s.max() / spec.dt:.4g} at "
                             f"dt = {spec.dt:g} s, beyond Brian2's int32 time bins (it would be delivered at a wrong "
                             f"time); spike times must be below {MAX_STEPS} steps", field=f"sources.{source.name}.times_s")


def _check_one_spike_per_step(source, dt: float) -> None:
    """A train spikes at most once per step (Brian2's SpikeGeneratorGroup bins: floor(t/dt + 1e-3))."""
    if not isinstance(source, SpikeTimesSource) or source.indices.size < 2:
        return
    steps = source.steps(dt)
    order = np.lexsort((steps, source.indices))
    same = (np.diff(source.indices[order]) == 0) & (np.diff(steps[order]) == 0)
    if np.any(same):
        k = order[np.flatnonzero(same)[0]]
        raise InputError(f"train {source.indices[k]} spikes twice in step {steps[k]} (dt = {dt:g} s); at most one "
                         "spike per train and step", field=f"sources.{source.name}.times_s")


def _check_projection(spec: NetworkSpec, projection: Projection) -> None:
    field = f"projections.{projection.name}"
    groups = spec.groups
    populations = {p.name: p for p in spec.populations}
    if projection.source not in groups:
        raise InputError(f"unknown source '{projection.source}'; populations and sources: {sorted(groups)}",
                         field=f"{field}.source")
    if projection.target not in populations:
        raise InputError(f"unknown target '{projection.target}'; populations: {sorted(populations)}",
                         field=f"{field}.target")
    for name, indices, group in (("i", projection.i, groups[projection.source]),
                                 ("j", projection.j, populations[projection.target])):
        if indices.size and indices.max() >= group.size:
            raise InputError(f"index {indices.max()} out of range for '{group.name}' of size {group.size}",
                             field=f"{field}.{name}")
    states = populations[projection.target].model.state_dimensions()
    variable = projection.target_variable
    if variable not in states:
        raise InputError(f"'{variable}' is not a state variable of '{projection.target}'; states: {sorted(states)}",
                         field=f"{field}.target_variable")
    if unit_dimensions(projection.weight_unit, f"{field}.weight_unit") != states[variable]:
        raise InputError(f"weights in {projection.weight_unit!r} cannot change '{variable}' "
                         f"({unit_string(states[variable])})", field=f"{field}.weight_unit")


def _check_current(spec: NetworkSpec, current: CurrentSource) -> None:
    """A sampled input sets a parameter of one population, with its unit, for every step and neuron."""
    field = f"sources.{current.name}"
    populations = {p.name: p for p in spec.populations}
    if current.target not in populations:
        raise InputError(f"unknown target '{current.target}'; populations: {sorted(populations)}",
                         field=f"{field}.target")
    population = populations[current.target]
    parameters = {name: eq.dim for name, eq in parse_equations(population.model.equations).items()
                  if eq.type == PARAMETER}
    if current.variable not in parameters:
        raise InputError(f"'{current.variable}' is not a parameter declared in the equations of "
                         f"'{current.target}'; parameters: {sorted(parameters)}", field=f"{field}.variable")
    if unit_dimensions(current.unit, f"{field}.unit") != parameters[current.variable]:
        raise InputError(f"values in {current.unit!r} cannot set '{current.variable}' "
                         f"({unit_string(parameters[current.variable])})", field=f"{field}.unit")
    if current.values.shape != (spec.n_steps, population.size):
        raise InputError(f"has shape {current.values.shape}; needs (steps, neurons) = "
                         f"({spec.n_steps}, {population.size})", field=f"{field}.values")
    if any(s.variable == current.variable for s in spec.current_sources if s.target == current.target
           and s.name < current.name):
        raise InputError(f"'{current.target}.{current.variable}' is set by two sampled inputs", field=f"{field}.variable")
