"""A model file as a network: one population fed by a sampled current source.

Everything a model file runs (``neuromorph compare``) goes through the network pipeline:
the Brian2 reference (:func:`~neuromorph.network.reference.run_network_brian2`), the
lowering (:func:`~neuromorph.network.lower.lower_network`), the emulator
(:func:`~neuromorph.network.emulator.run_network`) and the Lava graph
(:func:`~neuromorph.network.lava_graph.run_graph`). The population is the model's neuron as
written (equations, parameters, threshold, reset, refractoriness, Brian2 method, initial
state); the model file's stimulus, sampled once, is a
:class:`~neuromorph.network.ir.CurrentSource` that sets the model's input parameter at the
start of every step, as the model file's own reference always did.
"""
from __future__ import annotations

import numpy as np

from ..model.model_file import ModelFile
from .ir import NAME_PATTERN, CurrentSource, NetworkSpec, NeuronModel, Population, SIQuantity, state_dimensions, \
    unit_string

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
                       threshold=spec.threshold.text, reset=reset,
                       refractory=spec.refractory.text if spec.refractory else None,
                       method=model.simulation.method, voltage=spec.voltage, initial=initial)


def network_of_model(model: ModelFile, stimulus: np.ndarray) -> NetworkSpec:
    """One population of ``stimulus.shape[1]`` neurons of ``model``, its input set to ``stimulus`` (T, N, SI)."""
    name = population_name(model)
    neuron = neuron_model(model)
    unit = unit_string(state_dimensions(model.spec.equations)[model.spec.input])
    source = CurrentSource(name=STIMULUS_SOURCE, target=name, variable=model.spec.input, values=stimulus, unit=unit)
    dt = model.simulation.dt
    return NetworkSpec(populations=(Population(name=name, size=int(stimulus.shape[1]), model=neuron),),
                       sources=(source,), projections=(), dt=dt, duration=stimulus.shape[0] * dt)
