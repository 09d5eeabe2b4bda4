"""Lower a network for a target: each population an integer program, each projection a Lava synapse process.

Inputs: the :class:`~neuromorph.network.ir.NetworkSpec` and its float reference run (the
range profile of every population comes from it, and Poisson sources are replayed as the
spikes they emitted there, so every backend sees the same input). Output: a
:class:`LoweredNetwork` of plain data that the numpy network emulator
(:mod:`neuromorph.network.emulator`) and the Lava graph (:mod:`neuromorph.lava.graph`)
both run. Each population is one of the kinds of :mod:`neuromorph.network.kinds`.

A population whose neuron is Lava's LIF goes, on a target that holds it, to Lava's own ``LIF``
process (:mod:`neuromorph.network.lif_mapping`; ``lower_network(lif=...)``). Every other
population's neuron is lowered as a single neuron is (:func:`neuromorph.quantization.quantize.quantize`)
with one *increment port* per variable that projections change (``g_e += w``): the
increment is added at the start of a step, which with Lava's one-step synaptic latency is
exactly where Brian2's ``on_pre`` of the previous step left it (delay ``k`` steps in Lava =
delay ``k`` steps in Brian2; ``docs/lava_semantics.md``). Parameters declared in the
equations with per-neuron values (a bias current ``I_bias : amp``) become constant drive
inputs when they enter linearly. Weights are quantised to the target's weight format in
LSB units of the port, with the exponent chosen per projection.

Delays longer than one synapse of the target holds (its ``max_delay_steps``) go through relay
neurons (:mod:`neuromorph.network.relays`, kind ``"relay"``): the lowering adds relay
populations after the network's own (``LoweredNetwork.relays``) and splits such a projection
into parts by relay stage, each an ordinary projection from the source or from a relay stage,
so every backend runs them as it runs any population and projection. ``relays=False``
(``--no-relays``) refuses such delays instead, naming the projection.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
from brian2.equations.equations import PARAMETER

from ..errors import InputError, LoweringError
from ..model.from_brian2 import parse_equations, per_neuron_roles, spec_from_equations
from ..model.neuron_spec import NeuronSpec
from ..model.noise import noise_streams, noise_variables
from ..quantization.formats import RangeProfile
from ..quantization.lowering import initial_register_rows
from ..quantization.quantize import QuantConfig, default_method, quantize
from .ir import REFRACTORY_VARIABLES, NetworkSpec, Population, Projection, SpikeTimesSource
from .kinds import LavaLifPopulation, LoweredPopulation, LoweredProgramPopulation, RelayPopulation
from .kinds.relay import RELAY_INPUT
from .lava_semantics import LAVA_MAX_WEIGHT_BITS, LavaProjection, choose_kind, multapse_layers
from .lif_mapping import LifDecision, LifOptions, LifProfile, convert_lif, decide, describe
from .reference import NetworkTrace
from .relays import RelayChain, hop_limit, last_delays, plan_relays, relay_name, relay_stages
from .weights import QuantizedWeights, quantize_weights, select_weights


@dataclass(frozen=True)
class LoweredProjection:
    """One IR projection as Lava synapse processes (one per layer of repeated (pre, post) pairs)."""

    name: str
    source: str
    target: str
    variable: str
    port: int
    layers: tuple[LavaProjection, ...]
    weights: QuantizedWeights
    delay_steps: np.ndarray


@dataclass(frozen=True)
class LoweredSource:
    """A spike source replayed from a raster: ``spikes[t, i]`` is True if neuron ``i`` spikes in step ``t``."""

    name: str
    size: int
    spikes: np.ndarray


@dataclass(frozen=True)
class LoweredCurrent:
    """A sampled input as the integer drive of one port: ``values[t, k]`` enters neuron ``k`` in step ``t``.

    The input reaches the port in the step it is sampled for (no synaptic latency), as
    Brian2 writes it into the variable at the start of that step.
    """

    name: str
    target: str
    port: int
    values: np.ndarray


@dataclass(frozen=True)
class LoweredNetwork:
    """Everything the network emulator and the Lava graph run."""

    target: str
    dt: float
    n_steps: int
    populations: tuple[LoweredPopulation, ...]
    projections: tuple[LoweredProjection, ...]
    sources: tuple[LoweredSource, ...]
    config: QuantConfig
    notes: tuple[str, ...] = field(default=())
    currents: tuple[LoweredCurrent, ...] = field(default=())

    def population(self, name: str) -> LoweredPopulation:
        """The population called ``name``."""
        return next(p for p in self.populations if p.name == name)

    @property
    def network_populations(self) -> tuple[LoweredPopulation, ...]:
        """The network's own populations, without the relays the lowering added (the fidelity report's)."""
        return tuple(p for p in self.populations if not p.infrastructure)

    @property
    def relays(self) -> tuple[LoweredPopulation, ...]:
        """The relay populations the lowering added for long delays (:mod:`~neuromorph.network.relays`)."""
        return tuple(p for p in self.populations if p.infrastructure)



def _declared(model) -> tuple[dict, list[str]]:
    """Declared parameters of the equations: {name: per-neuron SI values} and the ones that differ per neuron."""
    equations = parse_equations(model.equations, None, "model.equations", InputError)
    values, varying = {}, []
    for name, equation in equations.items():
        if equation.type != PARAMETER or name in model.parameters:
            continue
        given = model.initial.get(name)
        array = np.asarray(given.value, dtype=float) if given is not None else np.zeros(())
        values[name] = array
        if array.ndim and array.size and np.ptp(array) != 0:
            varying.append(name)
    return values, varying


def population_spec(population: Population, source: str = "network", sampled: tuple[str, ...] = (),
                    noise_seed: int = 0) -> tuple[NeuronSpec, dict]:
    """The neuron IR of a population, and the per-neuron values (SI) of its constant drive inputs and
    per-neuron parameters.

    Declared parameters with one value for all neurons become constants; those with
    per-neuron values become drive inputs when they enter one equation linearly with a constant
    factor (:func:`~neuromorph.model.from_brian2.per_neuron_roles`), else per-neuron parameters of
    the IR (:attr:`~neuromorph.model.neuron_spec.NeuronSpec.per_neuron`: a time constant, a
    threshold, a refractory period); one the model never reads is a constant. The parameters
    ``sampled`` (set every step by a :class:`~neuromorph.network.ir.CurrentSource`) are inputs too,
    first, in the order given. A population without a threshold never spikes (no reset, no
    refractoriness: :func:`~neuromorph.model.from_brian2.spec_from_equations`). A population
    whose noise the target draws (``model.noise == "target"``) gets its noise variables as the
    last inputs, each marked ``drawn`` from ``(noise_seed, k)``.
    """
    model = population.model
    equations, drawn = target_noise(population, source)
    parameters = {name: float(q.value) for name, q in model.parameters.items()}
    declared, varying = _declared(model)
    varying = [name for name in varying if name not in sampled]
    refractory = model.refractory
    if isinstance(refractory, float):
        refractory = f"{refractory!r} * second"
    codes = (model.threshold, model.reset, refractory if isinstance(refractory, str) else None)
    constant = {name: float(np.ravel(values)[0]) if values.size else 0.0 for name, values in declared.items()}
    parameters.update({name: value for name, value in constant.items() if name not in varying and name not in sampled})
    inputs, unused = per_neuron_roles(equations, varying, parameters, codes, model.voltage, sampled) \
        if varying else ((), ())
    parameters.update({name: constant[name] for name in unused})  # a per-neuron label the model never reads
    varying = [name for name in varying if name not in unused]
    try:
        spec = spec_from_equations(equations, name=model.name, parameters=parameters, voltage=model.voltage,
                                   input_name=[*sampled, *inputs, *drawn], threshold=model.threshold,
                                   refractory=refractory, reset=model.reset,
                                   source=f"{source}:populations.{population.name}",
                                   per_neuron=[name for name in varying if name not in inputs])
    except LoweringError as exc:
        raise exc.located(source) from None
    drives = {name: np.broadcast_to(declared[name], (population.size,)).astype(float) for name in varying}
    spec_inputs = tuple(replace(i, drawn=(noise_seed, drawn.index(i.name))) if i.name in drawn else i
                        for i in spec.inputs)
    return replace(spec, inputs=spec_inputs), drives  # the drive inputs' and the per-neuron parameters' values


def target_noise(population: Population, source: str = "network") -> tuple[str, list[str]]:
    """The equations to lower and the parameters that replace their noise variables (drawn by the
    target, ``model.noise == "target"``; else the equations unchanged and no parameters)."""
    model = population.model
    if model.noise != "target":
        if noise_variables(model.equations):
            raise InputError(f"the equations use {list(noise_variables(model.equations))} (noise) with no noise mode: "
                             "replay it (neuromorph.network.noise.replay_noise, what every loader does) or mark "
                             "the model noise='target'", source, f"populations.{population.name}.equations")
        return model.equations, []
    equations, streams = noise_streams(model.equations, model.method, "target", 0, InputError, source,
                                       f"populations.{population.name}.equations")
    return equations, list(streams.parameters.values()) if streams else []


def population_noise_seed(spec: NetworkSpec, population: str) -> int:
    """Seed of the target's draws for ``population``: a hash of the network's seed and the population's
    place, so that populations draw independent streams (32 bits, an immediate of the program)."""
    index = [p.name for p in spec.populations].index(population)
    return int(np.random.SeedSequence([spec.seed or 0, index]).generate_state(1)[0])


#: Largest drawn increment (standard deviations) assumed without a target: the sum of 16 uniforms,
#: the most a target file allows (``sqrt(48)``, beyond any inverse-CDF table's outermost quantile).
LARGEST_DRAW = float(np.sqrt(48.0))


def drawn_magnitudes(neuron: NeuronSpec, target, dt: float) -> dict[str, np.ndarray]:
    """Largest magnitude of each drawn noise input (SI: the generator's largest increment in standard
    deviations, :attr:`~neuromorph.targets.hardware_target.NoiseGenerator.largest`, over ``sqrt(dt)``;
    :data:`LARGEST_DRAW` without a target), as a one-value array for the range profile."""
    largest = target.noise.largest if target is not None and target.noise is not None else LARGEST_DRAW
    return {i.name: np.array([largest / np.sqrt(dt)]) for i in neuron.inputs if i.drawn is not None}


def _initial_si(population: Population, spec: NeuronSpec) -> dict[str, np.ndarray]:
    """Initial value of every state of the spec, per neuron (Brian2 starts unset variables at 0), and
    Brian2's refractoriness variables when given (a run continuing another)."""
    initial = {}
    for name in (*spec.state_names, *(n for n in REFRACTORY_VARIABLES if n in population.model.initial)):
        given = population.model.initial.get(name)
        value = np.asarray(given.value, dtype=float) if given is not None else np.zeros(())
        initial[name] = np.broadcast_to(value, (population.size,)).astype(float)
    return initial


def population_profile(trace, spec: NeuronSpec, drives: dict) -> RangeProfile:
    """Ranges of a population's reference run: voltage, linear states, drive inputs (constant or sampled, SI)."""
    states = trace.states
    if spec.voltage not in states or states[spec.voltage].size == 0:
        raise InputError(f"the reference of population {trace.name!r} recorded no voltage", "reference")
    v = states[spec.voltage]
    linear = {s.name: states[s.name] for s in spec.linear_states if s.name in states}
    inputs = {name: float(np.abs(values).max(initial=0.0)) for name, values in drives.items()}
    profile = RangeProfile.from_run(v, np.zeros((0, v.shape[1])), linear)
    return RangeProfile(v_min=profile.v_min, v_max=profile.v_max, dv_max=profile.dv_max, drive_max=0.0,
                        states=profile.states, inputs=inputs)


def _signed_weights(projection: Projection) -> np.ndarray:
    return projection.weights if projection.operation == "+=" else -projection.weights


def lower_population(population: Population, spec_drives, profile: RangeProfile, target, config: QuantConfig,
                     increments: dict[str, float], dt: float) -> LoweredProgramPopulation:
    """One population's program (formats from ``profile``), initial registers and constant drives.

    Inputs without a constant drive (those a :class:`~neuromorph.network.ir.CurrentSource`
    sets) get drive rows of 0; their values are quantised by :func:`lower_current`.
    """
    spec, drives = spec_drives
    initial = _initial_si(population, spec)
    parameters = {name: drives[name] for name in spec.per_neuron}
    neuron = quantize(spec, target, config, profile, dt,
                      {name: float(np.mean(values)) for name, values in initial.items()}, increments, parameters)
    rows = initial_register_rows(spec, neuron.program.registers, initial, dt, population.size, parameters)
    drive = np.zeros((max([len(spec.inputs), *(k + 1 for k in neuron.parameter_rows)]), population.size),
                     dtype=np.int64)
    for k, spec_input in enumerate(spec.inputs):
        if spec_input.name in drives:
            drive[k] = neuron.quantize_drive(drives[spec_input.name], port=k)
    for k, contents in neuron.parameter_rows.items():
        drive[k] = contents
    ports = {p.state: k for k, p in enumerate(neuron.program.ports) if p.kind == "increment"}
    return LoweredProgramPopulation(name=population.name, size=population.size, spec=spec, neuron=neuron,
                                    initial=rows, drive=drive, increment_ports=ports, initial_si=initial,
                                    drive_si=drives)


def _projection_part(name: str, source: str, n_pre: int, pre: np.ndarray, post: np.ndarray,
                     quantized: QuantizedWeights, delays: np.ndarray, population: LoweredPopulation,
                     variable: str) -> LoweredProjection:
    """Synapses ``pre -> post`` (one source group) into ``population``'s port of ``variable`` as Lava
    synapse processes: one per layer of repeated (pre, post) pairs, ``Delay`` kinds when a delay is above 0."""
    port = population.increment_ports[variable]
    layers = multapse_layers(pre, post)
    processes = []
    for layer in range(int(layers.max(initial=-1)) + 1):
        chosen = layers == layer
        kind = choose_kind(int(chosen.sum()), n_pre, population.size, bool(delays[chosen].any()))
        processes.append(LavaProjection(
            name=name if layer == 0 else f"{name}_{layer}", kind=kind, n_pre=n_pre,
            n_post=population.size, pre=pre[chosen], post=post[chosen],
            weights=quantized.weights[chosen], delays=delays[chosen] if kind.startswith("Delay") else
            np.zeros(int(chosen.sum()), dtype=np.int64), weight_exp=quantized.weight_exp,
            sign_mode=quantized.sign_mode))
    return LoweredProjection(name=name, source=source, target=population.name, variable=variable, port=port,
                             layers=tuple(processes), weights=quantized, delay_steps=delays)


def lower_projection(projection: Projection, population: LoweredPopulation, n_pre: int, target, dt: float,
                     chain: RelayChain | None = None, relays: bool = True) -> tuple[LoweredProjection, ...]:
    """Weights in LSB units of the target's increment port, quantised (one exponent for the whole
    projection); delays in steps; Lava processes.

    Synapses whose delay the target's synapses hold come from the source (the part named as
    the projection); the others from the relays of ``chain``'s stage ``n`` (a part named
    ``<projection>.relay<n>`` per stage, with the last hop's delays; :mod:`.relays`).
    """
    chain = chain or RelayChain(projection.source, ())
    scale = population.port_scale(population.increment_ports[projection.target_variable])
    real = _signed_weights(projection) * scale
    quantized = quantize_weights(real, target, name=projection.name)
    delays = check_delays_fit(projection, target, dt, relays)
    limit = hop_limit(target)
    stages = relay_stages(delays, limit)
    parts = []
    for stage in sorted(set(stages.tolist()) or {0}):
        chosen = stages == stage
        parts.append(_projection_part(
            relay_name(projection.name, stage), relay_name(projection.source, stage), chain.size(stage, n_pre),
            chain.index(stage, projection.i[chosen]), projection.j[chosen], select_weights(quantized, chosen, real),
            last_delays(delays[chosen], stage, limit), population, projection.target_variable))
    return tuple(parts)


def relay_hops(chain: RelayChain, populations: Mapping[str, LoweredPopulation], n_source: int, target
               ) -> tuple[LoweredProjection, ...]:
    """The synapses into the relays of ``chain``: neuron ``i`` of the source (stage 0) or its relay of stage
    ``k - 1`` into its relay of stage ``k``, weight 1, delay ``M`` (:func:`~.relays.hop_limit`), one
    projection ``<source>.relay<k>.in`` per stage."""
    limit = hop_limit(target)
    hops = []
    for stage, members in enumerate(chain.members, start=1):
        name = relay_name(chain.source, stage)
        hops.append(_projection_part(
            f"{name}.in", relay_name(chain.source, stage - 1), chain.size(stage - 1, n_source),
            chain.index(stage - 1, members), np.arange(members.size),
            quantize_weights(np.ones(members.size), target, name=name), np.full(members.size, limit),
            populations[name], RELAY_INPUT))
    return tuple(hops)


def check_delays_fit(projection: Projection, target, dt: float, relays: bool = False) -> np.ndarray:
    """The projection's delays in steps, refused (naming it) beyond what one synapse of the target holds
    (:func:`~.relays.hop_limit`: its ``max_delay_steps``) unless ``relays`` may carry them."""
    delays = projection.delay_steps(dt)
    limit = hop_limit(target)
    if delays.size and delays.max() > limit and not relays:
        origin = ("network.max_delay_steps" if limit == target.max_delay_steps else
                  f"Lava's Delay processes; network.max_delay_steps is {target.max_delay_steps}")
        raise InputError(f"delays up to {delays.max()} steps ({delays.max() * dt * 1e3:g} ms at dt "
                         f"{dt * 1e3:g} ms); {target.name} holds at most {limit} steps ({origin}) and relays are "
                         "off (--no-relays, relays=False): shorten the delays, use a longer dt or allow relays",
                         f"projection {projection.name!r}", "delay")
    return delays


def check_weights_fit(target) -> None:
    """Refuse a target whose weight mantissa is wider than Lava's synapse processes hold.

    The network's synapses are Lava's ``Dense``/``Sparse``/``Delay*`` processes (and their
    emulation, :mod:`.lava_semantics`), which clip every weight to an 8-bit magnitude: a wider
    weight format would be clipped there without being counted.
    """
    if target.weight_bits > LAVA_MAX_WEIGHT_BITS:
        raise InputError(f"{target.weight_bits}-bit weights, but a network's synapses are Lava's synapse processes, "
                         f"which hold at most {LAVA_MAX_WEIGHT_BITS}-bit weight mantissas (with an exponent): use a "
                         f"target with network.weight_bits <= {LAVA_MAX_WEIGHT_BITS} (loihi2, loihi1)",
                         f"target {target.name}", "network.weight_bits")


def check_network_fits(spec: NetworkSpec, target, relays: bool = True) -> None:
    """What the target refuses whatever the reference run shows (delays beyond a synapse without
    ``relays``, weights wider than Lava's synapses), checked before any simulation."""
    for projection in spec.projections:
        check_delays_fit(projection, target, spec.dt, relays)
    if spec.projections:
        check_weights_fit(target)


def source_raster(source: SpikeTimesSource, n_steps: int, dt: float) -> np.ndarray:
    """(n_steps, size) boolean raster of a spike-times source (Brian2's emission step of each spike)."""
    raster = np.zeros((n_steps, source.size), dtype=bool)
    steps = source.steps(dt)
    keep = steps < n_steps
    raster[steps[keep], source.indices[keep]] = True
    return raster


def _increments(spec: NetworkSpec, population: Population) -> dict[str, float]:
    """Each variable projections change in ``population``, with the largest weight (SI) reaching it."""
    increments: dict[str, float] = {}
    for projection in spec.projections:
        if projection.target == population.name:
            largest = float(np.abs(projection.weights).max(initial=0.0))
            increments[projection.target_variable] = max(increments.get(projection.target_variable, 0.0), largest)
    return increments


def lower_lif_population(population: Population, spec_drives, trace, decision: LifDecision, dt: float,
                         options: LifOptions = LifOptions()) -> LavaLifPopulation:
    """A population as Lava's own LIF (:mod:`~neuromorph.network.lif_mapping`): registers u, v; port 0 a_in."""
    spec, drives = spec_drives
    match = decision.match
    initial = _initial_si(population, spec)
    for name in (spec.voltage, match.current):
        if name not in trace.states or trace.states[name].size == 0:
            raise InputError(f"the reference of population {trace.name!r} recorded no {name!r} (record "
                             "recorded_variables(spec))", "reference")
    profile = LifProfile.from_states(trace.states[spec.voltage], trace.states[match.current])
    conversion = convert_lif(match, dt, profile, initial, options, name=population.name)
    return LavaLifPopulation(name=population.name, size=population.size, spec=spec,
                             initial=np.stack([conversion.lava.u, conversion.lava.v]),
                             increment_ports={match.current: 0}, initial_si=initial, drive_si=drives, lif=conversion)


def reference_profile(spec: NetworkSpec, reference: NetworkTrace, population: str) -> RangeProfile:
    """The ranges the lowering takes from ``reference`` for ``population`` (voltage, linear states, inputs)."""
    sampled = sampled_inputs(spec, population)
    neuron, drives = population_spec(spec.population(population), sampled=tuple(sampled))
    return population_profile(reference.populations[population], neuron,
                              {**drives, **sampled, **drawn_magnitudes(neuron, None, spec.dt)})


def sampled_inputs(spec: NetworkSpec, population: str) -> dict[str, np.ndarray]:
    """The per-step values (SI) of each variable of ``population`` a current source sets, by variable."""
    return {s.variable: s.values for s in spec.current_sources if s.target == population}


def lower_current(current, population: LoweredProgramPopulation) -> LoweredCurrent:
    """A current source as integer drive of its population's port (rounded to the port's LSB)."""
    port = next(k for k, i in enumerate(population.spec.inputs) if i.name == current.variable)
    return LoweredCurrent(name=current.name, target=current.target, port=port,
                          values=population.neuron.quantize_drive(current.values, port=port))


def _lower_one(spec: NetworkSpec, population: Population, reference: NetworkTrace | None, target,
               config: QuantConfig, method: str | None, lif: str, lif_options: LifOptions,
               profile: RangeProfile | None) -> tuple[LoweredPopulation, str]:
    """One population, as Lava's LIF when :func:`~neuromorph.network.lif_mapping.decide` says so; and a note why.

    A population with a sampled input (a current source) is always lowered. ``profile``, when
    given, replaces the ranges of the reference run.
    """
    sampled = sampled_inputs(spec, population.name)
    spec_drives = population_spec(population, sampled=tuple(sampled),
                                  noise_seed=population_noise_seed(spec, population.name))
    increments = _increments(spec, population)
    if sampled or population.model.noise == "target":
        if lif == "require":
            raise InputError("a population driven by a sampled input cannot be Lava's LIF", "network",
                             f"populations.{population.name}")
        lif = "never"
    decision = decide(*spec_drives, method=population.model.method, incremented=increments, size=population.size,
                      target=target, mode=lif, name=population.name)
    trace = reference.populations[population.name] if reference is not None else None
    if decision.is_lif:
        lowered = lower_lif_population(population, spec_drives, trace, decision, spec.dt, lif_options)
        return lowered, f"{population.name}: {describe(lowered.lif)}"
    population_config = replace(config, method=method or default_method(population.model.method))
    if profile is None:
        profile = population_profile(trace, spec_drives[0], {**spec_drives[1], **sampled,
                                                             **drawn_magnitudes(spec_drives[0], target, spec.dt)})
    lowered = lower_population(population, spec_drives, profile, target, population_config.validated(target),
                               increments, spec.dt)
    return lowered, f"{population.name}: lowered program, not Lava's LIF ({decision.code}: {decision.reason})"


def lower_network(spec: NetworkSpec, reference: NetworkTrace | None, target, config: QuantConfig,
                  method: str | None = None, lif: str = "auto", lif_options: LifOptions = LifOptions(),
                  profiles: Mapping[str, RangeProfile] | None = None, relays: bool = True) -> LoweredNetwork:
    """Lower every population and projection of ``spec`` for ``target`` (see the module docstring).

    ``config`` applies to every lowered population; the integration is ``method`` when given, else
    each population's own Brian2 method when neuromorph integrates it (exponential Euler otherwise).
    ``lif``: ``"auto"`` runs a population whose neuron is Lava's LIF on Lava's ``LIF`` process
    when the target holds it (:func:`~neuromorph.network.lif_mapping.decide`; its discretisation
    follows the population's Brian2 method, ``config`` and ``method`` do not apply to it);
    ``"never"`` lowers every population; ``"require"`` refuses a population that cannot be LIF.
    ``notes`` of the result say which kind each population got and why.
    ``profiles`` gives the ranges of some populations instead of the reference (a search
    lowers held-out inputs with the ranges of the model's own input); ``reference`` may be
    None when every population has a profile, none is Lava's LIF and no spike source needs it.
    ``relays``: delays longer than the target's synapses hold go through relay neurons
    (:mod:`~neuromorph.network.relays`; the relay populations follow the network's own); False
    refuses them.
    """
    profiles = profiles or {}
    check_network_fits(spec, target, relays)
    if reference is None and (spec.spike_sources or lif != "never" or set(profiles) < {p.name for p in spec.populations}):
        raise InputError("lowering without a reference run needs a profile for every population, lif='never' and "
                         "no spike source", "lower_network", "reference")
    populations, notes = [], []
    for population in spec.populations:
        lowered, note = _lower_one(spec, population, reference, target, config, method, lif, lif_options,
                                   profiles.get(population.name))
        populations.append(lowered)
        notes.append(note)
    relay_populations, projections, relay_notes = _lower_projections(spec, {p.name: p for p in populations}, target,
                                                                     relays)
    by_name = {p.name: p for p in populations}
    sources = tuple(LoweredSource(name=s.name, size=s.size,
                                  spikes=source_raster(reference.sources[s.name], spec.n_steps, spec.dt))
                    for s in spec.spike_sources)
    currents = tuple(lower_current(c, by_name[c.target]) for c in spec.current_sources)
    return LoweredNetwork(target=target.name, dt=spec.dt, n_steps=spec.n_steps,
                          populations=tuple(populations) + relay_populations, projections=projections,
                          sources=sources, config=config, notes=tuple(notes) + relay_notes, currents=currents)


def _lower_projections(spec: NetworkSpec, populations: Mapping[str, LoweredPopulation], target, relays: bool
                       ) -> tuple[tuple[RelayPopulation, ...], tuple[LoweredProjection, ...], tuple[str, ...]]:
    """The relay populations the delays need; every projection's parts, then the hops into the relays; a
    note per relay population."""
    limit = hop_limit(target)
    delays = {p.name: check_delays_fit(p, target, spec.dt, relays) for p in spec.projections}
    chains = plan_relays([(p.source, p.i, relay_stages(delays[p.name], limit)) for p in spec.projections])
    stages = [(chain.source, stage, members.size) for chain in chains.values()
              for stage, members in enumerate(chain.members, start=1)]
    relay_populations = tuple(RelayPopulation.of_size(relay_name(source, stage), size)
                              for source, stage, size in stages)
    notes = tuple(f"{relay_name(source, stage)}: {size} relays (Lava's LIF) carrying {source}'s spikes "
                  f"{stage * (limit + 1)} steps (delays beyond {limit} steps)" for source, stage, size in stages)
    by_name = {**populations, **{p.name: p for p in relay_populations}}
    sizes = {**{p.name: p.size for p in spec.populations}, **{s.name: s.size for s in spec.spike_sources}}
    parts = tuple(part for p in spec.projections for part in lower_projection(
        p, by_name[p.target], sizes[p.source], target, spec.dt, chains.get(p.source), relays))
    hops = tuple(hop for chain in chains.values() for hop in relay_hops(chain, by_name, sizes[chain.source], target))
    return relay_populations, parts + hops, notes


def recorded_variables(spec: NetworkSpec) -> tuple[str, ...]:
    """Variables the reference must record for the range profiles: voltages and linear states; and the
    gates of a population without a threshold (its states are all the report compares)."""
    names = []
    for population in spec.populations:
        neuron = population_spec(population, sampled=tuple(sampled_inputs(spec, population.name)))[0]
        names += [neuron.voltage, *(s.name for s in neuron.linear_states)]
        names += [g.name for g in neuron.gates] if neuron.threshold is None else []
    return tuple(dict.fromkeys(names))
