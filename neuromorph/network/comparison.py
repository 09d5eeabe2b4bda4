"""What fixed point does to a network: Brian2 reference -> lowered network -> emulator and/or Lava -> report.

:func:`compare` runs the whole pipeline on a :class:`~neuromorph.network.ir.NetworkSpec`:

1. the float reference in Brian2 (Poisson sources sampled once, their spikes recorded);
2. the lowering for the target (profiles from the reference, sources replayed);
3. the numpy network emulator and/or the Lava graph (checked equal, every spike and state);
4. the float model's own divergence floor: Brian2 again with every neuron's voltage kicked
   by up to half a voltage LSB each step (the same input), as ``examples/timing_reliability.py``
   does for one neuron;
5. per population: rates and per-neuron Gamma (meaningful for populations driven
   feed-forward), and for recurrent ones the statistics that survive chaos -- rate, ISI CV
   and correlation distributions (KS distances), the population-rate spectrum's peak,
   Gamma in successive windows -- each beside the floor.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..errors import InputError
from ..execution.emulator import spike_trains_from, trace_from_run
from ..execution.loop import KernelRun
from ..execution.trace import Trace
from ..fidelity import compare as fidelity_compare
from ..progress import BarFactory, no_bars, step_counter
from ..quantization.quantize import QuantConfig
from .emulator import NetworkRun, run_network
from .ir import NetworkSpec
from .lower import LoweredNetwork, check_network_fits, lower_network, recorded_variables
from .reference import NetworkTrace, Recording, replay_sources, run_network_brian2
from .states import state_rmse
from .statistics import PopulationStatistics, StatisticsConfig, population_statistics

BACKENDS = ("emulator", "lava", "both")


@dataclass(frozen=True)
class NetworkOptions:
    """How to compare: backends, the floor run, the coincidence window (s), the statistics settings,
    and whether to keep every register of every step (``record``, e.g. for Brian2 StateMonitors); ``lif``
    and ``relays`` as :func:`~neuromorph.network.lower.lower_network` takes them."""

    backend: str = "emulator"
    floor: bool = True
    window: float = 2e-3
    codegen: str | None = None
    statistics: StatisticsConfig = StatisticsConfig()
    record: bool | None = None
    lif: str = "auto"
    relays: bool = True

    @property
    def records_states(self) -> bool:
        """Whether the candidate keeps every register of every step: ``record``, by default with ``both``
        (for the exact check against Lava and the voltage error)."""
        return self.backend == "both" if self.record is None else self.record

    def __post_init__(self):
        check_run_options(self.backend, self.window)


def check_run_options(backend: str, window: float) -> None:
    """Refuse an unknown backend or a coincidence window (s) that is not positive."""
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {list(BACKENDS)}, got {backend!r}", field="--backend")
    if not window > 0:
        raise InputError(f"the coincidence window must be positive, got {window}", field="--window")


@dataclass(frozen=True)
class LavaNetworkCheck:
    """Exact comparison of the Lava graph with the emulator, per population."""

    match: bool
    steps_compared: int
    populations: dict

    def to_dict(self) -> dict:
        return {"match": self.match, "steps_compared": self.steps_compared, "populations": self.populations}


@dataclass(frozen=True)
class NetworkResult:
    """Everything a network comparison produced."""

    spec: NetworkSpec
    target: object
    lowered: LoweredNetwork
    reference: NetworkTrace
    floor: NetworkTrace | None
    candidate: NetworkRun
    lava_check: LavaNetworkCheck | None
    statistics: dict
    recurrent: dict
    options: NetworkOptions
    wall_time_s: dict
    fidelity: dict = field(default_factory=dict)
    lava: NetworkRun | None = None
    state_errors: dict = field(default_factory=dict)

    def candidate_trace(self, population: str) -> Trace:
        """The candidate's run of ``population`` as a :class:`Trace` (voltage decoded when recorded)."""
        return candidate_trace(self.candidate, self.lowered.population(population), self.spec.dt)


def recurrent_populations(spec: NetworkSpec) -> dict[str, bool]:
    """Whether each population lies on a cycle of projections between populations (itself included)."""
    edges = {p.name: set() for p in spec.populations}
    for projection in spec.projections:
        if projection.source in edges:
            edges[projection.source].add(projection.target)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), list(edges[start])
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        return False

    return {name: reaches(name, name) for name in edges}


def _first_mismatch(run, other, steps: int) -> int | None:
    """The first step whose spikes or (when both recorded them) registers differ, or None."""
    differ = (run.spikes[:steps] != other.spikes[:steps]).any(axis=1)
    if run.states is not None and other.states is not None:
        differ |= (run.states[:steps] != other.states[:steps]).reshape(steps, -1).any(axis=1)
    return int(np.argmax(differ)) if differ.any() else None


def check_lava(emulated: NetworkRun, lava: NetworkRun) -> LavaNetworkCheck:
    """Every spike, every register and every overflow count of every step, exactly."""
    populations = {}
    for name, run in emulated.populations.items():
        other = lava.populations[name]
        steps = min(len(run.spikes), len(other.spikes))
        first = _first_mismatch(run, other, steps)
        equal = first is None and np.array_equal(run.overflows, other.overflows)
        populations[name] = {"match": bool(equal), "first_mismatch_step": first,
                             "spikes_compared": int(run.spikes[:steps].size),
                             "states_compared": int(run.states[:steps].size) if run.states is not None else 0}
    steps = min(len(r.spikes) for r in emulated.populations.values()) if emulated.populations else 0
    return LavaNetworkCheck(match=all(p["match"] for p in populations.values()), steps_compared=steps,
                            populations=populations)


def _floor_amplitude(lowered: LoweredNetwork) -> tuple[str, float]:
    """The voltage variable and half the finest voltage LSB of the lowered populations."""
    lsbs = [p.voltage_lsb for p in lowered.network_populations]
    voltage = next(p.spec.voltage for p in lowered.network_populations)
    return voltage, 0.5 * min(lsbs)


def _candidate_trains(run: NetworkRun, name: str, dt: float) -> tuple:
    return spike_trains_from(run.populations[name].spikes, dt)


def compare(spec: NetworkSpec, target, config: QuantConfig | None = None, options: NetworkOptions = NetworkOptions(),
            progress: Callable[[str], None] = lambda message: None, method: str | None = None,
            reference: NetworkTrace | None = None, bars: BarFactory = no_bars,
            with_candidate: Callable[[LoweredNetwork, NetworkRun], None] | None = None) -> NetworkResult:
    """Run the pipeline of the module docstring and return its results (see :func:`build_report`).

    ``reference``: the Brian2 run of ``spec`` when the caller has it (recording
    :func:`~neuromorph.network.lower.recorded_variables`), else it is run here. ``bars``
    shows progress bars for Brian2 and the emulator. ``with_candidate``, if given, is called with the
    lowered network and the candidate run as soon as the candidate exists: the emulator's run, while Lava
    may still be stepping (``backend="both"``: the device fills Brian2's monitors meanwhile), or Lava's
    (``backend="lava"``) once it finished; before Lava's check, so it also runs when the check then fails.
    """
    walls = {}
    config = config or QuantConfig.for_target(target)
    check_network_fits(spec, target, options.relays)
    if reference is None:
        progress(f"Brian2 reference: {spec.summary()}")
        reference = run_network_brian2(spec, codegen=options.codegen,
                                       record=Recording(variables=recorded_variables(spec)), bars=bars)
    walls["brian2"] = reference.extra.get("wall_time_s")
    replayed = replay_sources(spec, reference)
    progress(f"lowering for {target.name} ({config.state_bits}-bit state, {config.rounding} rounding)")
    lowered = lower_network(replayed, reference, target, config, method, lif=options.lif, relays=options.relays)
    record = options.records_states
    lava_run = _start_lava(lowered, record, progress) if options.backend in ("lava", "both") else None
    with lava_run or nullcontext():  # while Lava steps, the host runs the emulator, the floor and the statistics
        candidate = _run_emulator(lowered, record, progress, bars) if options.backend in ("emulator", "both") else None
        walls["emulator"] = candidate.wall_time_s if candidate is not None else None
        floor = _run_floor(spec, replayed, lowered, options, progress, walls) if options.floor else None
        measured = _measure(spec, lowered, reference, floor, candidate, options) if candidate is not None else None
        if candidate is not None and with_candidate is not None:
            with_candidate(lowered, candidate)
    lava, lava_check = None, None
    if lava_run is not None:
        lava = lava_run.finish()
        walls["lava"] = lava.wall_time_s
        walls.update({f"lava_{stage}": seconds for stage, seconds in lava.timings.items() if stage != "run"})
        if candidate is not None:
            started = time.perf_counter()
            lava_check = check_lava(candidate, lava)
            walls["lava_check"] = time.perf_counter() - started
        else:
            candidate, measured = lava, _measure(spec, lowered, reference, floor, lava, options)
            if with_candidate is not None:
                with_candidate(lowered, candidate)
    statistics, fidelity, state_errors = measured
    return NetworkResult(spec=spec, target=target, lowered=lowered, reference=reference, floor=floor,
                         candidate=candidate, lava_check=lava_check, statistics=statistics,
                         recurrent=recurrent_populations(spec), options=options, wall_time_s=walls,
                         fidelity=fidelity, lava=lava, state_errors=state_errors)


def _start_lava(lowered: LoweredNetwork, record: bool, progress):
    """The Lava graph of ``lowered``, started (:func:`~neuromorph.lava.graph.start_graph`)."""
    from ..lava.graph import start_graph  # Lava is imported only when it is used

    progress("Lava graph on Loihi2SimCfg(select_tag='fixed_pt')")
    return start_graph(lowered, record=record)


def _run_floor(spec: NetworkSpec, replayed: NetworkSpec, lowered: LoweredNetwork, options: NetworkOptions, progress,
               walls: dict) -> NetworkTrace:
    """Brian2 again with every neuron's voltage kicked by up to half a voltage LSB each step (step 4)."""
    variable, amplitude = _floor_amplitude(lowered)
    progress(f"float floor: Brian2 with {variable} kicked by up to {amplitude * 1e6:.3g} uV per step")
    floor = run_network_brian2(replayed, codegen=options.codegen, record=None,
                               perturbation=(variable, amplitude, (spec.seed or 0) + 1))
    walls["floor"] = floor.extra.get("wall_time_s")
    return floor


def _measure(spec: NetworkSpec, lowered: LoweredNetwork, reference: NetworkTrace, floor: NetworkTrace | None,
             candidate: NetworkRun, options: NetworkOptions) -> tuple[dict, dict, dict]:
    """Per population: the statistics of the candidate and the floor against the reference (step 5),
    the candidate's spike-timing fidelity and its states' RMSE (:func:`~neuromorph.network.states.state_rmse`)."""
    statistics = {}
    for population in spec.populations:
        name = population.name
        statistics[name] = population_statistics(
            reference.populations[name].spike_trains, _candidate_trains(candidate, name, spec.dt),
            reference.duration, spec.dt, floor=floor.populations[name].spike_trains if floor else None,
            config=replace(options.statistics, coincidence_window_s=options.window), name=name,
            labels=("brian2", candidate.label, "brian2 perturbed"))
    fidelity = {p.name: fidelity_compare(reference.trace(p.name), candidate_trace(candidate, p, spec.dt),
                                         window=options.window) for p in lowered.network_populations}
    state_errors = {p.name: state_rmse(reference.populations[p.name], p, candidate.populations[p.name], spec.dt)
                    for p in lowered.network_populations}
    return statistics, fidelity, state_errors


def _run_emulator(lowered: LoweredNetwork, record: bool, progress, bars: BarFactory) -> NetworkRun:
    progress(f"fixed-point emulator ({lowered.n_steps} steps)")
    with bars(lowered.n_steps, "fixed-point emulator", "step") as bar:
        return run_network(lowered, record=record, progress=step_counter(bar, lowered.n_steps))


def candidate_trace(run: NetworkRun, population, dt: float) -> Trace:
    """One population of an emulator or Lava run as a :class:`Trace`.

    ``v[k]`` is the voltage at ``t = k dt`` (before step ``k``), decoded from the voltage
    register when the run recorded its states (else ``(0, N)``); ``extra`` holds the
    overflow counts per register and per operation (for a lowered program) and the wall time.
    """
    result = run.populations[population.name]
    report = population.overflow_report(result.overflows)
    overflows = {"overflows": report.get("registers", {}), "operation_overflows": report.get("operations", {})}
    kernel_run = KernelRun(states=None if result.states is None else result.states[:, population.voltage_register:],
                           spikes=result.spikes, overflows=result.overflows,
                           initial=population.initial[population.voltage_register:])
    return trace_from_run(kernel_run, run.label, dt, population.voltage_lsb, overflows, run.wall_time_s)


def population_fidelity(result: NetworkResult, name: str, per_neuron: bool = False) -> dict:
    """Spike-timing fidelity of one population (:func:`neuromorph.fidelity.compare`): Gamma (mean and
    worst over neurons, or why undefined), spike-time error, missed and extra spikes, voltage RMSE
    (None unless the candidate recorded its states); ``per_neuron`` adds every neuron's entry."""
    fidelity = result.fidelity[name].to_dict(per_neuron=per_neuron)
    for key in ("reference", "candidate"):
        fidelity.pop(key)
    return fidelity


def _population_report(result: NetworkResult, name: str) -> dict:
    population = result.lowered.population(name)
    stats: PopulationStatistics = result.statistics[name]
    run = result.candidate.populations[name]
    comparison = stats.candidate_vs_reference.to_dict()
    return {
        "size": population.size,
        "voltage": population.spec.voltage,
        "kind": population.kind,
        "lowering": dict(zip((p.name for p in result.lowered.populations), result.lowered.notes)).get(name),
        "lava_process": population.process_description,
        "hardware_deployable": population.hardware_deployable,
        "driven": "recurrent" if result.recurrent[name] else "feed-forward",
        "rates_hz": {"reference": stats.reference.mean_rate_hz, "candidate": stats.candidate.mean_rate_hz,
                     "floor": stats.floor.mean_rate_hz if stats.floor else None},
        "gamma": {"mean": comparison["gamma_mean"], "worst": comparison["gamma_min"],
                  "floor": stats.floor_vs_reference.gamma_mean if stats.floor_vs_reference else None},
        "fidelity": population_fidelity(result, name),
        "state_rmse": result.state_errors[name],
        "statistics": stats.to_dict(),
        "overflows": population.overflow_report(run.overflows),
        "formats": population.formats(),
    }


def _projection_report(projection) -> dict:
    weights = projection.weights
    return {"source": projection.source, "target": projection.target, "variable": projection.variable,
            "synapses": int(sum(layer.n_synapses for layer in projection.layers)),
            "lava_processes": [layer.kind for layer in projection.layers],
            "weight_exp": weights.weight_exp, "sign_mode": weights.sign_mode,
            "weights_clipped": weights.n_clipped, "weights_zeroed": weights.n_zeroed,
            "weight_error": {k: float(v) for k, v in weights.error.__dict__.items()},
            "delay_steps": _extent(projection.delay_steps)}


def _extent(values: np.ndarray) -> dict:
    """``{"min", "max"}`` of integer values (both 0 for none)."""
    return {"min": int(values.min()), "max": int(values.max())} if values.size else {"min": 0, "max": 0}


def build_report(result: NetworkResult) -> dict:
    """The machine-readable network report (documented in the README)."""
    spec, lowered = result.spec, result.lowered
    report = {
        "network": spec.summary(),
        "target": result.target.name,
        "backend": result.options.backend,
        "config": lowered.config.to_dict(),
        "simulation": {"dt_ms": spec.dt * 1e3, "duration_s": result.reference.duration, "steps": spec.n_steps,
                       "seed": spec.seed},
        "reference": result.reference.label,
        "candidate": result.candidate.label,
        "floor": result.floor.label if result.floor else None,
        "populations": {p.name: _population_report(result, p.name) for p in spec.populations},
        "projections": {p.name: _projection_report(p) for p in lowered.projections},
        "wall_time_s": result.wall_time_s,
    }
    report["resources"] = _resources(result)
    if result.lava_check is not None:
        report["lava_matches_emulator"] = result.lava_check.to_dict()
    return report


def _resources(result: NetworkResult) -> dict:
    """The resource report (cores and chips under the target's per-core limits), or why there is none."""
    from .resources import ResourceError, resource_report

    try:
        return resource_report(result.lowered, result.target, allow_multichip=True).to_dict()
    except ResourceError as exc:  # e.g. a target without [cores]: the fidelity report stands without it
        return {"unavailable": exc.message}
