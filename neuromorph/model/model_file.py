"""Model files: TOML data describing a neuron, its parameters, stimulus and simulation.

Loading a model file never executes code: the file is read as UTF-8 text of at most 1 MB
(:mod:`neuromorph.files`), parsed by ``tomli`` and validated by one declarative schema
(:class:`ModelFileSchema`, pydantic); quantities go through
:func:`neuromorph.units.parse_quantity` (a whitelist parser, finite values only) and
equations through Brian2's equation parser, with limits on nesting and powers.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping, Union

import brian2
from pydantic import Field, PlainValidator

from ..errors import ModelFileError
from ..files import read_toml_file, shorten
from ..schema import AnyQuantity, Identifier, NumberOrText, Section, Seed, quantity, refuse, text, validate_file
from ..units import expression_depth, to_si
from .from_brian2 import EQUATIONS_FIELD, check_method, parse_equations, spec_from_equations
from .names import ParameterName, parameter_name_problem
from .neuron_spec import NeuronSpec, evaluate
from .noise import DEFAULT_NOISE, NOISE_MODES, NoiseStreams, noise_streams
from .physiology import Ions, ReversalText, TemperatureSection, derived_parameters

# Groups built only to check units, or refused half-way through building (reported as a
# ModelFileError), are never added to a network; Brian2's warning about that is noise here.
brian2.BrianLogger.suppress_name("unused_brian_object")

CODEGEN_TARGETS = ("numpy", "cython")
#: Brian2's integration methods (the reference's ``simulation.method``).
BRIAN2_METHODS = tuple(brian2.StateUpdateMethod.stateupdaters)
#: Longest equation text accepted (characters); real models need a few thousand.
MAX_EQUATIONS_LENGTH = 20_000
#: Deepest expression in an equation (levels of operators, calls and parentheses).
MAX_EQUATION_DEPTH = 64
#: Largest constant power in an equation (gate powers such as ``m**3`` are small integers).
MAX_EXPONENT = 32
#: Most neurons and time steps a model file may ask for (memory is checked before a run too).
MAX_NEURONS = 10_000_000
MAX_STEPS = 10**11

Time = quantity(brian2.second, nonnegative=True)
PositiveTime = quantity(brian2.second, positive=True)
#: Most neurons of a population or a model file.
Size = Annotated[int, Field(ge=1, le=MAX_NEURONS)]
#: The keys of a neuron's definition (model files' [neuron], network files' populations).
ModelName = text(100, min_length=1)
EquationsText = text(MAX_EQUATIONS_LENGTH, min_length=1)
Code = text(1000, min_length=1)
Method = Literal[BRIAN2_METHODS]


def _refractory_value(value):
    if value is False:
        return None
    if not isinstance(value, str):
        raise refuse(f"must be a duration such as '3*ms', a condition such as 'v > -20*mV' or false, "
                     f"got {shorten(value)}")
    if len(value) > 1000:
        raise refuse(f"is at most 1000 characters long, got {shorten(value)}")
    return value.strip() or None


#: Refractoriness as written: a duration or condition (Brian2 code), or false for none.
RefractoryText = Annotated[Any, PlainValidator(_refractory_value)]


class NeuronSection(Section):
    """``[neuron]``: the equations and the roles of their variables."""

    name: ModelName
    equations: EquationsText
    threshold: Code
    input: Identifier
    voltage: Identifier = "v"
    refractory: RefractoryText = None
    reset: text(1000) | None = None


class StepStimulus(Section):
    """``kind = "step"``: ``amplitude`` (the input's unit, e.g. A/m^2 or A) from ``start`` to ``stop``."""

    kind: Literal["step"]
    amplitude: AnyQuantity = 0.0
    start: Time = 0.0
    stop: Time | None = None


class OUStimulus(Section):
    """``kind = "ou"``: Ornstein-Uhlenbeck current with ``mean``, ``sigma``, correlation time ``tau``."""

    kind: Literal["ou"]
    mean: AnyQuantity = 0.0
    sigma: AnyQuantity = 0.0
    tau: PositiveTime = 1e-3
    seed: Seed = 0


#: A stimulus table: a step or an Ornstein-Uhlenbeck current (``kind`` chooses).
StimulusTable = Annotated[Union[StepStimulus, OUStimulus], Field(discriminator="kind")]


class SimulationSection(Section):
    """``[simulation]``: time step, duration, population size, Brian2 method and target."""

    dt: PositiveTime
    duration: PositiveTime
    neurons: Size
    method: Method = "exponential_euler"
    codegen: Literal[CODEGEN_TARGETS] = "numpy"
    noise: Literal[NOISE_MODES] = DEFAULT_NOISE
    noise_seed: Seed = 0


class ModelFileSchema(Section):
    """A whole model file (see the README for every key)."""

    neuron: NeuronSection
    stimulus: StimulusTable
    simulation: SimulationSection
    parameters: dict[ParameterName, AnyQuantity] = {}
    initial: dict[Identifier, NumberOrText] = {}
    temperature: TemperatureSection = TemperatureSection()
    ions: Ions = {}
    reversal: dict[ParameterName, ReversalText] = {}


class PopulationNeuronSection(NeuronSection):
    """``[neuron]`` of a model file a network population uses: no stimulus, so no ``input``."""

    input: Identifier | None = None


class PopulationSimulationSection(SimulationSection):
    """``[simulation]`` of a model file a network population uses: only ``method`` is read."""

    dt: PositiveTime | None = None
    duration: PositiveTime | None = None
    neurons: Size | None = None


class PopulationModelSchema(ModelFileSchema):
    """A model file used by a network population: a model file whose [stimulus],
    [simulation] and ``[neuron] input`` are optional (a network drives it)."""

    neuron: PopulationNeuronSection
    stimulus: StimulusTable | None = None
    simulation: PopulationSimulationSection = PopulationSimulationSection()


@dataclass(frozen=True)
class PopulationModel:
    """A model file read for a network population, checked as a model file's sections are.

    ``neuron`` holds the [neuron] keys the file sets (not ``input``: a stimulus input is a
    plain state in a network) and ``method`` when [simulation] sets it; ``parameters``
    Brian2 quantities (derived ones included); ``initial`` the values as written.
    """

    path: str
    neuron: Mapping[str, Any]
    parameters: Mapping[str, Any]
    initial: Mapping[str, Any]


def load_population_model(path: str | Path) -> PopulationModel:
    """Read and validate a model file used by a network population (:class:`PopulationModelSchema`)."""
    source = str(path)
    schema = validate_file(PopulationModelSchema, read_toml(path), source, ModelFileError)
    neuron = schema.neuron.model_dump(exclude={"input"}, exclude_unset=True)
    if "method" in schema.simulation.model_fields_set:
        neuron["method"] = schema.simulation.method
    return PopulationModel(path=source, neuron=MappingProxyType(neuron),
                           parameters=MappingProxyType(_parameters(schema, source)),
                           initial=MappingProxyType(dict(schema.initial)))


@dataclass(frozen=True)
class StimulusConfig:
    """Input protocol in SI units of the model's input (e.g. A/m^2 or A) and seconds.

    ``kind == "step"``: ``amplitude`` between ``start`` and ``stop``.
    ``kind == "ou"``: Ornstein-Uhlenbeck with ``mean``, ``sigma``, correlation time ``tau``;
    each neuron gets an independent realisation drawn from ``seed``.
    """

    kind: str
    amplitude: float = 0.0
    start: float = 0.0
    stop: float = float("inf")
    mean: float = 0.0
    sigma: float = 0.0
    tau: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class SimulationConfig:
    """Time step and duration (s), number of neurons, Brian2 method and codegen target."""

    dt: float
    duration: float
    neurons: int
    method: str = "exponential_euler"
    codegen: str = "numpy"

    @property
    def n_steps(self) -> int:
        """Number of time steps in the run."""
        return int(round(self.duration / self.dt))


@dataclass(frozen=True)
class ModelFile:
    """A loaded model file: the IR plus everything needed to run it.

    ``parameters`` keeps Brian2 quantities (for the reference run); ``initial`` holds SI
    values for every state variable (gates default to their steady state at the initial
    voltage).
    """

    path: str
    spec: NeuronSpec
    parameters: Mapping[str, Any]
    initial: Mapping[str, float]
    stimulus: StimulusConfig
    simulation: SimulationConfig
    noise: NoiseStreams | None = None

    @property
    def parameters_si(self) -> dict[str, float]:
        """Parameter values as SI floats."""
        return {name: float(value) for name, value in self.parameters.items()}


def read_toml(path: str | Path) -> dict:
    """Parse a TOML data file (regular UTF-8 text, at most 1 MB) with one-line :class:`ModelFileError`."""
    return read_toml_file(path, error=ModelFileError)


def _simulation(section: SimulationSection, source: str) -> SimulationConfig:
    steps = section.duration / section.dt
    if steps < 1:
        raise ModelFileError("must be at least one time step (dt)", source, "simulation.duration")
    if not steps <= MAX_STEPS:
        raise ModelFileError(f"is {steps:.3g} time steps of dt; at most {MAX_STEPS:.0e} are allowed",
                             source, "simulation.duration")
    return SimulationConfig(dt=section.dt, duration=section.duration, neurons=section.neurons,
                            method=section.method, codegen=section.codegen)


def stimulus_config(section: StepStimulus | OUStimulus, source: str, unit, field: str = "stimulus"
                    ) -> StimulusConfig:
    """A stimulus table (a model file's ``[stimulus]``, a network file's current source) in SI units.

    ``unit`` is a Brian2 unit of the driven input's dimension; ``field`` locates errors.
    """
    values = section.model_dump()
    if values.get("stop", 0.0) is None:
        values["stop"] = float("inf")
    for key in ("amplitude", "mean", "sigma"):
        if key in values:
            values[key] = to_si(values[key], unit=unit, source=source, field=f"{field}.{key}")
    if values.get("sigma", 0.0) < 0:
        raise ModelFileError("must be >= 0", source, f"{field}.sigma")
    return StimulusConfig(**values)


def _parameters(schema: ModelFileSchema, source: str) -> dict[str, Any]:
    """[parameters] plus those computed from [temperature], [ions] and [reversal]."""
    derived = derived_parameters(schema.temperature, schema.ions, schema.reversal, source)
    for name in derived:
        if name in schema.parameters:
            raise ModelFileError("is also computed from [temperature]/[ions]/[reversal]; define it once",
                                 source, f"parameters.{name}")
        problem = parameter_name_problem(name)
        if problem:
            raise ModelFileError(f"the derived parameter {problem}", source, "ions")
    return {**schema.parameters, **derived}


def _constant(node: ast.AST, values: dict[str, float]) -> float | None:
    """Value of a constant arithmetic expression of numbers and parameters, else None."""
    try:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values.get(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = _constant(node.operand, values)
            return None if operand is None else (-operand if isinstance(node.op, ast.USub) else operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = _constant(node.left, values), _constant(node.right, values)
            return None if left is None or right is None else _ARITHMETIC[type(node.op)](left, right)
    except (OverflowError, ZeroDivisionError):
        return math.inf
    return None


_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
               ast.Pow: lambda a, b: abs(a) ** b}


def _expression_problem(code: str, values: dict[str, float]) -> str | None:
    """Why an equation's expression is too deep or raises to too high a power, or None."""
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # Brian2 parsed it; its own checks report anything else
    if expression_depth(tree) > MAX_EQUATION_DEPTH:
        return f"is nested deeper than {MAX_EQUATION_DEPTH} levels"
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _constant(node.right, values)
            if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
                return f"raises to the power {exponent:g}; constant powers are limited to +-{MAX_EXPONENT}"
    return None


def check_equations(text_: str, parameters: dict[str, Any], source: str, field: str = EQUATIONS_FIELD) -> None:
    """Refuse what the lowering cannot hold before it starts: deep nesting and huge powers.

    ``parameters`` (SI floats or Brian2 quantities) resolve constant powers such as ``x**p``.
    """
    equations = parse_equations(text_, source, field)
    values = {name: float(value) for name, value in parameters.items()}
    for name, equation in equations.items():
        problem = _expression_problem(equation.expr.code, values) if equation.expr is not None else None
        if problem:
            raise ModelFileError(f"the equation of '{name}' {problem}", source, field)


def _initial(section: dict, spec: NeuronSpec, source: str) -> dict[str, float]:
    states = spec.state_names
    for name in section:
        if name not in states:
            raise ModelFileError(f"not a state variable; allowed: {list(states)}", source, f"initial.{name}")
    if spec.voltage not in section:
        raise ModelFileError("the initial membrane potential is required", source, f"initial.{spec.voltage}")
    v0 = to_si(section[spec.voltage], unit=brian2.volt, source=source, field=f"initial.{spec.voltage}")
    initial = {spec.voltage: v0}
    for gate in spec.gates:
        if gate.name in section:
            initial[gate.name] = to_si(section[gate.name], unit=1, source=source, field=f"initial.{gate.name}")
        else:
            initial[gate.name] = float(evaluate(gate.x_inf, [v0])[0])
        if not math.isfinite(initial[gate.name]):
            raise ModelFileError(f"the steady state of '{gate.name}' at {v0 * 1e3:g} mV is not finite; give it",
                                 source, f"initial.{gate.name}")
    for state in spec.linear_states:  # Brian2 starts variables at 0
        initial[state.name] = to_si(section[state.name], unit=brian2.get_unit(state.unit), source=source,
                                    field=f"initial.{state.name}") if state.name in section else 0.0
    return initial



def check_units(equations: str, parameters: dict[str, Any], source: str, field: str = "parameters") -> None:
    """Let Brian2 check the dimensions of every equation with the given parameter values (Brian2 quantities)."""
    from ..reference.brian2_functions import BRIAN2_FUNCTIONS

    try:
        group = brian2.NeuronGroup(1, equations, namespace={**BRIAN2_FUNCTIONS, **parameters},
                                   name="neuromorph_unit_check")
        group.equations.check_units(group, run_namespace={})
    except Exception as exc:  # Brian2 raises DimensionMismatchError, KeyError, ...
        message = " ".join(str(exc).replace("%", "").split())
        raise ModelFileError(f"inconsistent units: {shorten(message, 300)}", source, field) from None


def _spec(schema: ModelFileSchema, parameters: dict[str, Any], source: str) -> tuple[NeuronSpec, NoiseStreams | None]:
    """The neuron IR; its noise variables (``xi``) replaced by inputs (:mod:`neuromorph.model.noise`)."""
    neuron, simulation = schema.neuron, schema.simulation
    check_equations(neuron.equations, parameters, source)
    equations, noise = noise_streams(neuron.equations, simulation.method, simulation.noise, simulation.noise_seed,
                                     source=source)
    inputs = [neuron.input, *(noise.parameters.values() if noise else ())]
    try:
        return spec_from_equations(
            equations, name=neuron.name, parameters={k: float(v) for k, v in parameters.items()},
            voltage=neuron.voltage, input_name=inputs, threshold=neuron.threshold,
            refractory=neuron.refractory, reset=neuron.reset, source=source,
        ), noise
    except (RecursionError, MemoryError):
        raise ModelFileError("the equations are too large or too deeply nested to lower", source,
                             EQUATIONS_FIELD) from None


def load_model(path: str | Path) -> ModelFile:
    """Load and validate a model file; raise :class:`ModelFileError` naming file and field."""
    source = str(path)
    schema = validate_file(ModelFileSchema, read_toml(path), source, ModelFileError)
    parameters = _parameters(schema, source)
    spec, noise = _spec(schema, parameters, source)
    check_units(spec.equations, parameters, source)
    check_method(parse_equations(spec.equations, source), schema.simulation.method, source, "simulation.method")
    return ModelFile(
        path=source, spec=spec, parameters=MappingProxyType(parameters),
        initial=MappingProxyType(_initial(schema.initial, spec, source)),
        stimulus=stimulus_config(schema.stimulus, source, brian2.get_unit(spec.stimulus.dimension)),
        simulation=_simulation(schema.simulation, source), noise=noise,
    )
