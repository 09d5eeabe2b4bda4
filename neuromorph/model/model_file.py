"""Model files: TOML data describing a neuron, its parameters, stimulus and simulation.

Loading a model file never executes code: TOML is parsed by ``tomli``, quantities go
through :func:`neuromorph.units.parse_quantity` (a whitelist parser) and equations
through Brian2's equation parser.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import brian2
import tomli

from ..errors import ModelFileError
from ..units import parse_quantity, to_si
from .from_brian2 import spec_from_equations
from .neuron_spec import NeuronSpec, evaluate
from .physiology import derived_parameters

# Groups built only to check units, or refused half-way through building (reported as a
# ModelFileError), are never added to a network; Brian2's warning about that is noise here.
brian2.BrianLogger.suppress_name("unused_brian_object")

SCHEMA: dict[str, dict[str, tuple[type, bool]]] = {
    # section -> key -> (type, required); sections with free keys are listed separately
    "neuron": {
        "name": (str, True), "equations": (str, True), "threshold": (str, True),
        "input": (str, True), "voltage": (str, False), "refractory": (str, False),
        "reset": (str, False),
    },
    "stimulus": {
        "kind": (str, True), "amplitude": (object, False), "start": (object, False),
        "stop": (object, False), "mean": (object, False), "sigma": (object, False),
        "tau": (object, False), "seed": (int, False),
    },
    "simulation": {
        "dt": (object, True), "duration": (object, True), "neurons": (int, True),
        "method": (str, False), "codegen": (str, False),
    },
}
FREE_SECTIONS = ("parameters", "initial", "temperature", "ions", "reversal")
STIMULUS_KEYS = {"step": ("amplitude", "start", "stop"), "ou": ("mean", "sigma", "tau", "seed")}
CODEGEN_TARGETS = ("numpy", "cython")


@dataclass(frozen=True)
class StimulusConfig:
    """Input current density protocol (SI: A/m^2, s).

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

    @property
    def parameters_si(self) -> dict[str, float]:
        """Parameter values as SI floats."""
        return {name: float(value) for name, value in self.parameters.items()}


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file, reporting syntax errors as one-line :class:`ModelFileError`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomli.load(handle)
    except FileNotFoundError:
        raise ModelFileError("file not found", str(path)) from None
    except tomli.TOMLDecodeError as exc:
        raise ModelFileError(f"malformed TOML: {exc}", str(path)) from None


def _check_sections(data: dict, source: str) -> None:
    allowed = set(SCHEMA) | set(FREE_SECTIONS)
    for section, content in data.items():
        if section not in allowed:
            raise ModelFileError(f"unknown section [{section}]; allowed: {sorted(allowed)}", source, section)
        if not isinstance(content, dict):
            raise ModelFileError(f"'{section}' must be a table [{section}]", source, section)
    for section, keys in SCHEMA.items():
        content = data.get(section)
        if content is None:
            raise ModelFileError(f"missing section [{section}]", source, section)
        for key, value in content.items():
            if key not in keys:
                raise ModelFileError(f"unknown key; allowed: {sorted(keys)}", source, f"{section}.{key}")
            expected = keys[key][0]
            if expected is not object and (not isinstance(value, expected) or isinstance(value, bool)):
                raise ModelFileError(f"must be of type {expected.__name__}, got {value!r}", source, f"{section}.{key}")
        for key, (_, required) in keys.items():
            if required and key not in content:
                raise ModelFileError("missing required key", source, f"{section}.{key}")


def _positive(value, unit, source: str, field: str) -> float:
    si = to_si(value, unit=unit, source=source, field=field)
    if not si > 0:
        raise ModelFileError(f"must be positive, got {value!r}", source, field)
    return si


def _simulation(section: dict, source: str) -> SimulationConfig:
    neurons = section["neurons"]
    if neurons < 1:
        raise ModelFileError(f"must be at least 1, got {neurons}", source, "simulation.neurons")
    codegen = section.get("codegen", "numpy")
    if codegen not in CODEGEN_TARGETS:
        raise ModelFileError(f"must be one of {list(CODEGEN_TARGETS)}, got {codegen!r}", source, "simulation.codegen")
    dt = _positive(section["dt"], brian2.second, source, "simulation.dt")
    duration = _positive(section["duration"], brian2.second, source, "simulation.duration")
    if duration < dt:
        raise ModelFileError("must be at least one time step (dt)", source, "simulation.duration")
    return SimulationConfig(dt=dt, duration=duration, neurons=neurons,
                            method=section.get("method", "exponential_euler"), codegen=codegen)


def _stimulus(section: dict, source: str, current) -> StimulusConfig:
    """The [stimulus] section; ``current`` is a Brian2 unit of the input's dimension."""
    kind = section["kind"]
    if kind not in STIMULUS_KEYS:
        raise ModelFileError(f"must be one of {list(STIMULUS_KEYS)}, got {kind!r}", source, "stimulus.kind")
    allowed = set(STIMULUS_KEYS[kind]) | {"kind"}
    for key in section:
        if key not in allowed:
            raise ModelFileError(f"not a key of a '{kind}' stimulus; allowed: {sorted(allowed)}", source, f"stimulus.{key}")
    if kind == "step":
        return StimulusConfig(
            kind=kind,
            amplitude=to_si(section.get("amplitude", 0), unit=current, source=source, field="stimulus.amplitude"),
            start=to_si(section.get("start", "0*ms"), unit=brian2.second, source=source, field="stimulus.start"),
            stop=to_si(section["stop"], unit=brian2.second, source=source, field="stimulus.stop")
            if "stop" in section else float("inf"),
        )
    sigma = to_si(section.get("sigma", 0), unit=current, source=source, field="stimulus.sigma")
    if sigma < 0:
        raise ModelFileError("must be >= 0", source, "stimulus.sigma")
    return StimulusConfig(
        kind=kind,
        mean=to_si(section.get("mean", 0), unit=current, source=source, field="stimulus.mean"),
        sigma=sigma,
        tau=_positive(section.get("tau", "1*ms"), brian2.second, source, "stimulus.tau"),
        seed=int(section.get("seed", 0)),
    )


def _parameters(data: dict, source: str) -> dict[str, Any]:
    """[parameters] plus those computed from [temperature], [ions] and [reversal]."""
    given = {name: parse_quantity(value, source=source, field=f"parameters.{name}")
             for name, value in data.get("parameters", {}).items()}
    derived = derived_parameters(data, source)
    for name in set(given) & set(derived):
        raise ModelFileError("is also computed from [temperature]/[ions]/[reversal]; define it once",
                             source, f"parameters.{name}")
    return {**given, **derived}


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
    for state in spec.linear_states:  # Brian2 starts variables at 0
        initial[state.name] = to_si(section[state.name], unit=brian2.get_unit(state.unit), source=source,
                                    field=f"initial.{state.name}") if state.name in section else 0.0
    return initial



def check_units(spec: NeuronSpec, parameters: dict[str, Any], source: str) -> None:
    """Let Brian2 check the dimensions of every equation with the given parameter values."""
    from ..reference.brian2_functions import BRIAN2_FUNCTIONS

    group = brian2.NeuronGroup(1, spec.equations, namespace={**BRIAN2_FUNCTIONS, **parameters},
                               name="neuromorph_unit_check")
    try:
        group.equations.check_units(group, run_namespace={})
    except Exception as exc:
        message = " ".join(str(exc).replace("%", "").split())
        raise ModelFileError(f"inconsistent units: {message}", source, "parameters") from None


def load_model(path: str | Path) -> ModelFile:
    """Load and validate a model file; raise :class:`ModelFileError` naming file and field."""
    source = str(path)
    data = read_toml(path)
    _check_sections(data, source)
    neuron = data["neuron"]
    parameters = _parameters(data, source)
    spec = spec_from_equations(
        neuron["equations"], name=neuron["name"], parameters={k: float(v) for k, v in parameters.items()},
        voltage=neuron.get("voltage", "v"), input_name=neuron["input"], threshold=neuron["threshold"],
        refractory=neuron.get("refractory"), reset=neuron.get("reset"), source=source,
    )
    check_units(spec, parameters, source)
    return ModelFile(
        path=source, spec=spec, parameters=MappingProxyType(parameters),
        initial=MappingProxyType(_initial(data.get("initial", {}), spec, source)),
        stimulus=_stimulus(data["stimulus"], source, brian2.get_unit(spec.stimulus.dimension)),
        simulation=_simulation(data["simulation"], source),
    )
