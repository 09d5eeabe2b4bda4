"""A model file as a network: one population fed by a sampled current source.

Everything a model file runs (``neuromorph compare``) goes through the network pipeline:
the Brian2 reference (:func:`~neuromorph.network.reference.run_network_brian2`), the
lowering (:func:`~neuromorph.network.lower.lower_network`), the emulator
(:func:`~neuromorph.network.emulator.run_network`) and the Lava graph
(:func:`~neuromorph.lava.graph.run_graph`). The population is the model's neuron as
written (equations, parameters, threshold, reset, refractoriness, Brian2 method, initial
state); the model file's stimulus, sampled once, is a
:class:`~neuromorph.network.ir.CurrentSource` that sets the model's input parameter at the
start of every step, as the model file's own reference always did.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError, ModelFileError
from ..execution.trace import Trace
from ..model.model_file import ModelFile
from ..progress import BarFactory, no_bars
from .ir import NAME_PATTERN, CurrentSource, NetworkSpec, NeuronModel, Population, SIQuantity, state_dimensions, \
    unit_string
from .lower import recorded_variables
from .noise import noise_sources
from .reference import NetworkTrace, Recording, run_network_brian2

#: Name of the current source that carries a model file's stimulus.
STIMULUS_SOURCE = "stimulus"
#: Population name when the model's own name is not an identifier (or is the stimulus' name).
FALLBACK_POPULATION = "neurons"


def population_name(model: ModelFile) -> str:
    """The model's name when it can name a population, else :data:`FALLBACK_POPULATION`."""
    name = model.spec.name
    return name if NAME_PATTERN.match(name) and name != STIMULUS_SOURCE else FALLBACK_POPULATION


def _quantity(value, dimensions) -> SIQuantity:
    return SIQuantity(value=float(value), unit=unit_string(dimensions))


def neuron_model(model: ModelFile) -> NeuronModel:
    """The model file's neuron as a network :class:`NeuronModel` (SI values with unit strings).

    Parameters declared in the equations with a value in the file become initial values of
    those (per-neuron) variables; the others stay external constants. Reset statements are
    written back as Brian2 code in SI units (``v = -0.065 * volt``).
    """
    spec = model.spec
    states = state_dimensions(spec.equations)
    declared = set(spec.declared_parameters)
    parameters = {name: _quantity(value, getattr(value, "dim", None) or 1)
                  for name, value in model.parameters.items() if name not in declared}
    initial = {name: _quantity(value, states[name]) for name, value in model.initial.items()}
    initial.update({name: _quantity(model.parameters[name], states[name])
                    for name in declared if name in model.parameters})
    reset = "\n".join(f"{s.text} * {unit_string(states[s.name])}" for s in spec.reset) or None
    return NeuronModel(name=spec.name, equations=spec.equations, parameters=parameters,
                       threshold=spec.threshold.text if spec.threshold else None, reset=reset,
                       refractory=spec.refractory.text if spec.refractory else None,
                       method=model.simulation.method, voltage=spec.voltage, initial=initial)


def network_of_model(model: ModelFile, stimulus: np.ndarray) -> NetworkSpec:
    """One population of ``stimulus.shape[1]`` neurons of ``model``, its input set to ``stimulus`` (T, N, SI),
    and its noise variables (if any) set to replayed increments (:func:`~neuromorph.network.noise.noise_sources`)."""
    name = population_name(model)
    neuron = neuron_model(model)
    unit = unit_string(state_dimensions(model.spec.equations)[model.spec.input])
    source = CurrentSource(name=STIMULUS_SOURCE, target=name, variable=model.spec.input, values=stimulus, unit=unit)
    dt = model.simulation.dt
    n_steps, size = stimulus.shape
    noise, seed = model.noise, None
    if noise is not None and noise.mode == "target":  # Brian2 and the program draw their own, from noise_seed
        neuron, seed = replace(neuron, equations=noise.equations, noise="target"), noise.seed
    sources = noise_sources(name, size, noise, dt, n_steps) if noise is not None and noise.mode == "replay" else ()
    return NetworkSpec(populations=(Population(name=name, size=int(size), model=neuron),),
                       sources=(source, *sources), projections=(), dt=dt, duration=n_steps * dt, seed=seed)


def model_inputs(model: ModelFile, spec: NetworkSpec) -> np.ndarray:
    """Every input of the model's neuron per step, (T, inputs, N) SI, in the order of ``model.spec.inputs``
    (the stimulus, then the noise), as the model's network ``spec`` sets them; noise the target draws
    (``noise = "target"``) as one replayed realisation of it (the float emulator's)."""
    values = {s.variable: s.values for s in spec.current_sources}
    if model.noise is not None and model.noise.mode == "target":
        n_steps, size = spec.n_steps, spec.populations[0].size
        values.update({s.variable: s.values for s in noise_sources(spec.populations[0].name, size, model.noise,
                                                                  spec.dt, n_steps)})
    return np.stack([values[i.name] for i in model.spec.inputs], axis=1)


def run_model_reference(model: ModelFile, spec: NetworkSpec, *, codegen: str | None = None, record: bool = True,
                        bars: BarFactory = no_bars) -> NetworkTrace:
    """Brian2 (float64) on the model's network ``spec``: the one network runner; errors name the model file.

    ``record`` samples the voltage and linear states of every neuron at every step (else
    spikes only); ``codegen`` defaults to the model file's own target.
    """
    try:
        return run_network_brian2(spec, codegen=codegen or model.simulation.codegen,
                                  record=Recording(variables=recorded_variables(spec)) if record else None, bars=bars)
    except InputError as exc:  # Brian2 refused or failed: name the model file, not the network
        raise ModelFileError(exc.message.replace("the network", "the model"), model.path,
                             None if exc.source == "reference" else exc.field) from None


def run_model_brian2(model: ModelFile, stimulus: np.ndarray, *, codegen: str | None = None, record_v: bool = True,
                     bars: BarFactory = no_bars) -> Trace:
    """Simulate ``model`` in Brian2 with ``stimulus`` (n_steps, N, SI units of the input); return a :class:`Trace`.

    ``Trace.v[k]`` is the membrane potential at ``t = k dt`` (before the update of step ``k``);
    a spike detected in step ``k`` is reported at ``t = k dt``, as Brian2 does.
    """
    spec = network_of_model(model, stimulus)
    run = run_model_reference(model, spec, codegen=codegen, record=record_v, bars=bars)
    return run.trace(spec.populations[0].name)
