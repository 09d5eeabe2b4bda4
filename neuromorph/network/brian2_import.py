"""Read a network a Brian2 script built (its objects, not its text) into a :class:`NetworkSpec`.

An existing script converts with three added lines::

    from neuromorph.network import from_brian2      # import
    spec = from_brian2(net, duration=1 * second)                 # call (or from_brian2(G, S, P, ...))
    print(spec.summary())                                        # use (or spec.to_dict(), ...)

Brian2's runtime device creates synapses when ``connect()`` is called, so nothing has to
run first (standalone devices are refused; so are objects that have already run). Everything
is read from the built objects: equations, per-neuron initial values, connectivity (``i``,
``j`` into the full groups: a subgroup ``P[:3200]`` becomes its parent plus an offset),
per-synapse weights (the increments themselves, SI units of the changed variable) and
delays, and the ``on_pre`` statement. External
names are resolved exactly as Brian2 resolves them (``Group.resolve_all``): Brian2's
constants, units and functions first, then the group's explicit ``namespace``, then the
namespace of the calling frame (the one ``run()`` would use; ``level`` walks further up).

Supported: ``NeuronGroup`` (threshold on the ``spike`` event, reset, refractoriness),
``PoissonGroup`` with constant rates, ``SpikeGeneratorGroup``, subgroups, ``Synapses`` whose
model only declares parameters and whose single ``on_pre`` statement increments (``+=``) or
decrements (``-=``) one postsynaptic variable by a synaptic variable, a constant, or a
constant times a synaptic variable (``g_e_post += w``, ``ge += w*nS``, ``v_post += 0.2*mV``).
Monitors are ignored. Anything else raises :class:`InputError` naming the object.
"""
from __future__ import annotations

import re
import weakref
from typing import Mapping

import brian2
import numpy as np
import sympy
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS, get_local_namespace
from brian2.core.variables import Constant, Subexpression
from brian2.devices.device import RuntimeDevice, get_device
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION
from brian2.groups.neurongroup import Resetter, StateUpdater, SubexpressionUpdater, Thresholder
from brian2.groups.subgroup import Subgroup
from brian2.input.poissoninput import PoissonInput
from brian2.monitors import EventMonitor, PopulationRateMonitor, SpikeMonitor, StateMonitor
from brian2.parsing.expressions import is_boolean_expression, parse_expression_dimensions
from brian2.parsing.sympytools import str_to_sympy
from brian2.spatialneuron import SpatialNeuron
from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException
from brian2.utils.stringtools import get_identifiers

from ..errors import InputError
from ..model.from_brian2 import check_method
from ..model.noise import DEFAULT_NOISE
from ..reference.brian2_functions import BRIAN2_FUNCTIONS
from .ir import (NetworkSpec, NeuronModel, PoissonSource, Population, Projection, SIQuantity, SpikeTimesSource,
                 unit_string)
from .noise import replay_noise

SUPPORTED = ("supported: NeuronGroup, PoissonGroup (constant rates), SpikeGeneratorGroup, subgroups, "
             "Synapses with one on_pre increment ('g_e_post += w', 'ge += w*nS', 'v_post += 0.2*mV') "
             "and monitors (ignored)")
STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=)\s*(.+?)\s*$")
NEURON_PARTS = (StateUpdater, Thresholder, Resetter, SubexpressionUpdater)
IGNORED = (SpikeMonitor, StateMonitor, PopulationRateMonitor, EventMonitor)


def _where(obj) -> str:
    return f"{type(obj).__name__} '{getattr(obj, 'name', '?')}'"


def _refuse(obj, what: str) -> InputError:
    return InputError(f"{what} is not supported; {SUPPORTED}", _where(obj))


def _refuse_poisson_input(obj, namespace, context):
    raise InputError("PoissonInput is not supported (its spikes are not events of a source); replace it by a "
                     f"PoissonGroup and Synapses; {SUPPORTED}", _where(obj))


def _refuse_spatial(obj, namespace, context):
    raise _refuse(obj, "a multi-compartment neuron (SpatialNeuron)")


def _ignore(obj, namespace, context):
    return None


def _clock_value(obj, name: str) -> float:
    """Current time or time step (s) of an object's clock."""
    return float(np.asarray(obj.clock.variables[name].get_value()).reshape(-1)[0])


def _real(obj):
    """The object behind a weak proxy (Brian2 keeps sources and targets as proxies)."""
    return obj.before_run.__self__ if isinstance(obj, weakref.ProxyTypes) else obj


def _check_not_run(obj) -> None:
    """Refuse objects a run has prepared (their code objects exist): their state is no longer initial.

    (Clock times cannot tell: objects share the default clock with anything run before.)
    """
    if any(getattr(part, "codeobj", None) is not None for part in obj.contained_objects):
        raise InputError("has already run; convert the network before running it", _where(obj))


def _root(group) -> tuple[object, int]:
    """The full group a (possibly nested) subgroup belongs to, and the subgroup's first index."""
    group, offset = _real(group), 0
    while isinstance(group, Subgroup):
        offset += group.start
        group = _real(group.source)
    return group, offset


def _external_constants(group, identifiers, namespace) -> dict[str, SIQuantity]:
    """Values of the external names ``identifiers`` as Brian2 resolves them for ``group``.

    Internal variables and Brian2's constants, units and functions (which Brian2 resolves
    first) are skipped; neuromorph's membrane functions are allowed; other functions
    (including TimedArray) are refused.
    """
    defaults = set(DEFAULT_CONSTANTS) | set(DEFAULT_UNITS) | set(DEFAULT_FUNCTIONS)
    names = sorted(set(identifiers) - defaults - set(group.variables))
    try:
        resolved = group.resolve_all(names, namespace)
    except KeyError as exc:
        raise InputError(f"{exc.args[0]} Define it in the script or in the group's namespace", _where(group)) from None
    values = {}
    for name, item in resolved.items():
        if name in BRIAN2_FUNCTIONS and item is BRIAN2_FUNCTIONS[name]:
            continue
        if not isinstance(item, Constant):
            raise InputError(f"'{name}' is a {type(item).__name__} (code, e.g. a function or TimedArray), "
                             "not a constant value; only constants can be exported", _where(group))
        if np.ndim(item.value) != 0:
            raise InputError(f"'{name}' is an array; use a per-neuron state variable instead", _where(group))
        try:
            values[name] = SIQuantity(float(item.value), unit_string(item.dim))
        except InputError as exc:
            raise InputError(exc.message, _where(group), f"namespace.{name}") from None
    return values


def _numeric_value(code: str, constants: Mapping[str, SIQuantity]) -> float | None:
    """SI value of an expression of constants and units, or None if it uses anything else."""
    expression = str_to_sympy(code)
    values = {name: float(unit) for name, unit in DEFAULT_UNITS.items()}
    values.update({name: float(c.value) for name, c in DEFAULT_CONSTANTS.items()})
    values.update({name: float(q.value) for name, q in constants.items()})
    if any(symbol.name not in values for symbol in expression.free_symbols):
        return None
    result = expression.xreplace({s: sympy.Float(values[s.name]) for s in expression.free_symbols})
    return float(result) if result.is_number else None


def equations_text(equations: brian2.Equations) -> str:
    """Brian2 equations as text that Brian2 parses back (``str(Equations)`` abbreviates units)."""
    lines = []
    for eq in equations.values():
        unit = eq.var_type if eq.var_type in ("boolean", "integer") else unit_string(eq.dim)
        flags = f" ({', '.join(eq.flags)})" if eq.flags else ""
        if eq.type == DIFFERENTIAL_EQUATION:
            lines.append(f"d{eq.varname}/dt = {eq.expr.code} : {unit}{flags}")
        elif eq.type == SUBEXPRESSION:
            lines.append(f"{eq.varname} = {eq.expr.code} : {unit}{flags}")
        else:
            lines.append(f"{eq.varname} : {unit}{flags}")
    return "\n".join(lines)


def _method(group, namespace) -> str:
    """The integration method Brian2 uses for ``group``: the one named, or the first of a list that applies.

    Like ``StateUpdater.update_abstract_code``: the equations with all their names resolved.
    """
    choice = group.method_choice
    candidates = [choice] if isinstance(choice, str) else list(choice)
    for candidate in candidates:
        if not isinstance(candidate, str) or candidate.lower() not in StateUpdateMethod.stateupdaters:
            raise InputError(f"integration method {candidate!r} is not a registered Brian2 method name", _where(group))
    if not group.equations.diff_eq_names:
        return candidates[0].lower()
    equations = group.equations
    variables = group.resolve_all(equations.names | equations.identifiers | {"dt"}, namespace, user_identifiers=set())
    if isinstance(choice, str):
        check_method(equations, choice.lower(), _where(group), "method", InputError)
        return choice.lower()
    for candidate in candidates:
        try:
            StateUpdateMethod.apply_stateupdater(equations, variables, candidate.lower())
        except UnsupportedEquationsException:
            continue
        return candidate.lower()
    raise InputError(f"none of the methods {candidates} can integrate the equations", _where(group))


def _refractory(group, constants: Mapping[str, SIQuantity]) -> float | str | None:
    """None, a duration (s) when it is a constant, else the Brian2 code (a condition or expression)."""
    value = group._refractory
    if value is None or value is False:
        return None
    if isinstance(value, brian2.Quantity):
        if np.ndim(value) != 0:
            raise InputError("a per-neuron refractory array is not supported; use a state variable "
                             "and refractory='name'", _where(group))
        return float(value)
    if is_boolean_expression(value, group.variables):
        return value.strip()
    seconds = _numeric_value(value, constants)
    return seconds if seconds is not None else value.strip()


def _voltage(group, threshold: str | None, hint: str | None) -> str:
    """The membrane-potential variable: ``hint``, else the only state in volts, else the threshold's variable."""
    equations = group.user_equations
    states = [n for n, eq in equations.items() if eq.type == DIFFERENTIAL_EQUATION]
    if hint is not None:
        if hint not in states:
            raise InputError(f"voltage '{hint}' is not a differential equation; those are {states}", _where(group))
        return hint
    in_volts = [n for n in states if equations[n].dim == brian2.volt.dim]
    if len(in_volts) == 1:
        return in_volts[0]
    in_threshold = [n for n in get_identifiers(threshold or "") if n in states]
    if in_threshold:
        return in_threshold[0]
    if "v" in states:
        return "v"
    raise InputError(f"cannot tell which of {states} is the membrane potential; pass voltage=...", _where(group))


def _initial_values(group) -> dict[str, SIQuantity]:
    """Current value of every state variable (differential equations and parameters), one per neuron."""
    values = {}
    for name, eq in group.user_equations.items():
        if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER):
            try:
                values[name] = SIQuantity(np.asarray(group.variables[name].get_value(), dtype=float).copy(),
                                          unit_string(eq.dim))
            except InputError as exc:
                raise InputError(exc.message, _where(group), name) from None
    return values


def _check_neuron_group(group) -> None:
    _check_not_run(group)
    if set(group.events) - {"spike"}:
        raise _refuse(group, f"custom events {sorted(set(group.events) - {'spike'})}")
    extra = [obj.name for obj in group.contained_objects if not isinstance(obj, NEURON_PARTS)]
    if extra:
        raise _refuse(group, f"attached operations {extra} (run_regularly or similar)")


#: Brian2's random-number functions: a threshold, reset or refractoriness calling one is refused.
RANDOM_FUNCTIONS = ("rand", "randn", "poisson")


def _check_deterministic(group, codes: Mapping[str, str | None]) -> None:
    """Refuse a threshold, reset or refractoriness that draws random numbers (naming the group and the code)."""
    for what, code in codes.items():
        called = sorted(set(get_identifiers(code or "")) & set(RANDOM_FUNCTIONS))
        if called:
            raise InputError(f"the {what} '{code.strip()}' calls {', '.join(f'{f}()' for f in called)}: random "
                             f"numbers in a {what} are not lowered",
                             _where(group))


def _population(group, namespace, context) -> Population:
    """A NeuronGroup as a population: equations, constants it uses, initial values."""
    _check_neuron_group(group)
    equations = group.user_equations
    threshold = group.events.get("spike")
    reset = group.event_codes.get("spike")
    refractory_code = group._refractory if isinstance(group._refractory, str) else ""
    _check_deterministic(group, {"threshold": threshold, "reset": reset, "refractoriness": refractory_code})
    identifiers = (set(equations.identifiers) - set(equations.stochastic_variables)) | set().union(
        *(get_identifiers(code) for code in (threshold or "", reset or "")))
    parameters = _external_constants(group, identifiers, namespace)
    in_refractory = _external_constants(group, get_identifiers(refractory_code), namespace)
    refractory = _refractory(group, {**parameters, **in_refractory})
    if isinstance(refractory, str):  # kept as code: its constants are parameters too
        parameters.update(in_refractory)
    hint = context["voltage"].get(group.name) if isinstance(context["voltage"], Mapping) else context["voltage"]
    model = NeuronModel(
        name=group.name, equations=equations_text(equations), parameters=parameters, threshold=threshold,
        reset=reset, refractory=refractory, method=_method(group, namespace),
        voltage=_voltage(group, threshold, hint), initial=_initial_values(group))
    return Population(name=group.name, size=int(group.N), model=model)


def _check_only(obj, allowed: tuple) -> None:
    extra = [o.name for o in obj.contained_objects if not isinstance(o, allowed)]
    if extra:
        raise _refuse(obj, f"attached operations {extra} (run_regularly or similar)")


def _poisson(group, namespace, context) -> PoissonSource:
    """A PoissonGroup with constant rates (one per neuron)."""
    rates = group.variables["rates"]
    if isinstance(rates, Subexpression):
        raise _refuse(group, f"rates given as an expression ('{rates.expr}')")
    _check_only(group, (Thresholder,))
    return PoissonSource(name=group.name, size=int(group.N), rates_hz=np.asarray(rates.get_value(), float).copy())


def _spike_times(group, namespace, context) -> SpikeTimesSource:
    """A SpikeGeneratorGroup; a periodic one is unrolled over the run."""
    indices = np.asarray(group.variables["neuron_index"].get_value(), dtype=np.int64)
    times = np.asarray(group.variables["spike_time"].get_value(), dtype=float)
    period = float(np.asarray(group.variables["period"].get_value()).reshape(-1)[0])
    if period > 0:
        repeats = np.arange(int(np.ceil(context["duration"] / period)))
        times = (times[None, :] + period * repeats[:, None]).reshape(-1)
        indices = np.tile(indices, repeats.size)
        keep = times < context["duration"]
        times, indices = times[keep], indices[keep]
    return SpikeTimesSource(name=group.name, size=int(group.N), indices=indices, times_s=times)


def _check_synapses(synapses) -> None:
    if not synapses._connect_called:
        raise InputError("connect() was never called", _where(synapses))
    if synapses.summed_updaters:
        raise _refuse(synapses, f"summed variables {sorted(synapses.summed_updaters)}")
    if synapses.equations.diff_eq_names or synapses.event_driven is not None:
        raise _refuse(synapses, "plasticity (differential equations in the synapse model)")
    pathways = synapses._pathways
    if any(p.prepost == "post" for p in pathways):
        raise _refuse(synapses, "plasticity (an on_post pathway)")
    if len(pathways) != 1:
        raise _refuse(synapses, f"{len(pathways)} synaptic pathways (exactly one on_pre statement is)")
    if pathways[0].event != "spike":
        raise _refuse(synapses, f"the event '{pathways[0].event}'")
    _check_only(synapses, (type(pathways[0]), SubexpressionUpdater))
    _check_not_run(synapses)


def _statement(synapses, code: str) -> tuple[str, str, str]:
    """``(variable, operation, expression)`` of the single ``on_pre`` statement."""
    lines = [line.split("#")[0].strip() for line in code.splitlines()]
    lines = [line for line in lines if line]
    match = STATEMENT.match(lines[0]) if len(lines) == 1 and ";" not in lines[0] else None
    if match is None:
        raise _refuse(synapses, f"the on_pre code {code.strip()!r} (plasticity or anything but one increment)")
    return match.group(1), match.group(2), match.group(3)


def _postsynaptic_variable(synapses, name: str, target) -> str:
    """Name in the target group of the variable the statement changes; refuse anything not postsynaptic."""
    index = synapses.variables.indices[name] if name in synapses.variables else None
    if index != "_postsynaptic_idx":
        kind = {"_idx": "a synaptic variable (plasticity)", "_presynaptic_idx": "a presynaptic variable"}
        raise _refuse(synapses, f"changing {kind.get(index, 'the unknown variable')} '{name}' in on_pre")
    variable = synapses.variables[name].name
    equations = target.user_equations
    if variable not in equations or equations[variable].type not in (DIFFERENTIAL_EQUATION, PARAMETER):
        raise _refuse(synapses, f"changing '{variable}', which is not a state variable of '{target.name}'")
    return variable


def _increments(synapses, expression: str, dimensions, namespace) -> np.ndarray:
    """Per-synapse SI value of ``expression`` (one value per synapse, a shared parameter broadcast): a constant,
    or a constant times one synaptic parameter; an expression that does not parse is refused naming ``synapses``."""
    try:
        return _increment_values(synapses, expression, dimensions, namespace)
    except (SyntaxError, TypeError, ValueError, sympy.SympifyError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _refuse(synapses, f"the increment {expression!r} ({type(exc).__name__}: {exc})") from None


def _increment_values(synapses, expression: str, dimensions, namespace) -> np.ndarray:
    identifiers = get_identifiers(expression)
    try:
        resolved = synapses.resolve_all(identifiers, namespace)
    except KeyError as exc:
        raise InputError(f"{exc.args[0]} Define it in the script or in the namespace", _where(synapses)) from None
    parameters = [n for n, eq in synapses.equations.items() if eq.type == PARAMETER]
    used = [n for n, item in resolved.items() if not isinstance(item, Constant)]
    if any(n not in parameters for n in used) or len(used) > 1:
        raise _refuse(synapses, f"the increment '{expression}' (it may use one synaptic parameter and constants)")
    found = parse_expression_dimensions(expression, resolved)
    if found != dimensions:
        raise InputError(f"the increment '{expression}' has units {unit_string(found)}, the variable it changes "
                         f"{unit_string(dimensions)}", _where(synapses))
    constants = {n: sympy.Float(float(c.value)) for n, c in resolved.items() if isinstance(c, Constant)}
    expr = str_to_sympy(expression)
    expr = expr.xreplace({s: constants[s.name] for s in expr.free_symbols if s.name in constants})
    n = len(synapses)
    if not used:
        return np.full(n, float(expr))
    symbol = next(s for s in expr.free_symbols if s.name == used[0])
    factor = sympy.diff(expr, symbol)
    if factor.free_symbols or sympy.simplify(expr - factor * symbol) != 0:
        raise _refuse(synapses, f"the increment '{expression}' (not a constant times '{used[0]}')")
    values = float(factor) * np.asarray(synapses.variables[used[0]].get_value(), dtype=float).reshape(-1)
    return np.full(n, values[0]) if values.size == 1 else values  # a (shared) parameter holds one value


def _projection(synapses, namespace, context) -> Projection:
    """Synapses with one ``on_pre`` increment as a projection between full groups."""
    _check_synapses(synapses)
    pathway = synapses._pathways[0]
    name, operation, expression = _statement(synapses, pathway.code)
    source, _ = _root(synapses.source)
    target, _ = _root(synapses.target)
    if type(target) is not brian2.NeuronGroup:
        raise _refuse(synapses, f"a target of type {type(target).__name__}")
    variable = _postsynaptic_variable(synapses, name, target)
    dimensions = synapses.variables[name].dim
    weights = _increments(synapses, expression, dimensions, namespace)
    n = len(synapses)  # not weights.size: a (shared) weight used to turn n synapses into 1
    delays = np.asarray(pathway.variables["delay"].get_value(), dtype=float).reshape(-1)
    try:
        return Projection(
            name=synapses.name, source=source.name, target=target.name,
            i=np.asarray(synapses.variables["_synaptic_pre"].get_value()[:n], dtype=np.int64),
            j=np.asarray(synapses.variables["_synaptic_post"].get_value()[:n], dtype=np.int64),
            weights=weights, weight_unit=unit_string(dimensions),
            delays_s=np.broadcast_to(delays, (n,)) if delays.size == 1 else delays,
            target_variable=variable, operation=operation)
    except InputError as exc:
        raise exc.located(_where(synapses)) from None


#: What each kind of Brian2 object becomes (looked up along the object's class hierarchy).
HANDLERS = {
    SpatialNeuron: _refuse_spatial,
    brian2.NeuronGroup: _population,
    brian2.PoissonGroup: _poisson,
    brian2.SpikeGeneratorGroup: _spike_times,
    brian2.Synapses: _projection,
    PoissonInput: _refuse_poisson_input,
    **{monitor: _ignore for monitor in IGNORED},
}


def _handler(obj):
    for cls in type(obj).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls]
    raise InputError(f"objects of type {type(obj).__name__} are not supported; {SUPPORTED}", _where(obj))


def _flatten(objects) -> list:
    """Objects of a Network or nested lists, subgroups replaced by their full group, each once."""
    found = {}
    for obj in objects:
        if isinstance(obj, brian2.Network):
            items = _flatten(obj.objects)
        elif isinstance(obj, (list, tuple, set)):
            items = _flatten(obj)
        else:
            items = [_root(obj)[0]]
        for item in items:
            found.setdefault(id(item), item)
    endpoints = [_root(g)[0] for obj in found.values() if isinstance(obj, brian2.Synapses)
                 for g in (obj.source, obj.target)]
    for item in endpoints:
        found.setdefault(id(item), item)
    return list(found.values())


def _seconds(value, name: str) -> float:
    if not isinstance(value, brian2.Quantity) or brian2.get_dimensions(value) != brian2.second.dim:
        raise InputError(f"must be a Brian2 time such as 1*second, got {value!r}", "from_brian2", name)
    return float(value)


def _common_dt(objects) -> float:
    """The time step all objects share; refuse several clocks."""
    steps = {obj.name: _clock_value(obj, "dt") for obj in objects if hasattr(obj, "clock")}
    if not steps:
        raise InputError(f"nothing to read: no NeuronGroup, PoissonGroup, SpikeGeneratorGroup or Synapses among the "
                         f"objects given (monitors are ignored); {SUPPORTED}", "from_brian2", "objects")
    if len(set(steps.values())) > 1:
        raise InputError(f"objects run with different time steps {steps}; a network has one dt", "from_brian2", "dt")
    return next(iter(steps.values()))


def from_brian2(*objects, duration, dt=None, seed: int | None = None, voltage: str | Mapping[str, str] | None = None,
                level: int = 0, namespace: Mapping | None = None, noise: str | None = DEFAULT_NOISE) -> NetworkSpec:
    """Read the Brian2 objects a script built into a :class:`NetworkSpec`.

    Parameters
    ----------
    *objects : brian2.Network, BrianObject or lists of them
        A network, or NeuronGroups, PoissonGroups, SpikeGeneratorGroups, subgroups and
        Synapses (monitors are ignored). The groups a Synapses connects are included even
        when not passed.
    duration : brian2 Quantity
        Length of the run (e.g. ``1*second``).
    dt : brian2 Quantity, optional
        Time step; by default the objects' (they must share one).
    seed : int, optional
        Seed of the run's random numbers (Brian2's global ``seed()`` cannot be read back).
    voltage : str or dict of population name to str, optional
        The membrane-potential variable; by default the only state in volts, else the
        variable of the threshold condition.
    level : int
        How many frames above the caller to take the namespace for names the groups do
        not define (as in ``Network.run(level=...)``).
    namespace : mapping, optional
        That namespace itself (as in ``Network.run(namespace=...)``); ``level`` is then unused.
    noise : str or None
        How ``xi`` in the equations is generated: ``"replay"`` (the default; increments drawn once
        from ``seed``, 0 without one, and fed to every backend as sampled inputs,
        :func:`~neuromorph.network.noise.replay_noise`); None keeps ``xi`` in the equations.

    Returns
    -------
    NetworkSpec
        SI values throughout; ``i``/``j`` index the full groups.

    Raises
    ------
    InputError
        For anything that is not supported, naming the object and what is.
    """
    namespace = get_local_namespace(level + 1) if namespace is None else namespace
    if not isinstance(get_device(), RuntimeDevice):
        raise InputError("only Brian2's runtime device is supported (set_device('runtime'))", "from_brian2", "device")
    context = {"duration": _seconds(duration, "duration"), "voltage": voltage}
    flat = _flatten(objects)
    nodes = [node for node in (_handler(obj)(obj, namespace, context) for obj in flat) if node is not None]
    populations = [n for n in nodes if isinstance(n, Population)]
    if isinstance(voltage, Mapping):
        unknown = sorted(set(voltage) - {p.name for p in populations})
        if unknown:
            raise InputError(f"names {unknown}, which are not NeuronGroups given; groups: "
                             f"{sorted(p.name for p in populations)}", "from_brian2", "voltage")
    try:
        spec = NetworkSpec(
            populations=populations, sources=[n for n in nodes if isinstance(n, (PoissonSource, SpikeTimesSource))],
            projections=[n for n in nodes if isinstance(n, Projection)],
            dt=_seconds(dt, "dt") if dt is not None else _common_dt([o for o in flat if not isinstance(o, IGNORED)]),
            duration=context["duration"], seed=seed)
    except InputError as exc:
        raise exc.located(source="from_brian2") from None
    return replay_noise(spec, noise, source="from_brian2")
