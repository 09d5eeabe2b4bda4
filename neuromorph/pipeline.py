"""The compare pipeline: model -> reference -> quantised neuron -> runs -> fidelity report.

Each stage is a pure function of frozen values; :func:`run_compare` strings them together
and :func:`build_report` turns the result into plain data for JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError
from .execution.emulator import emulate_float, overflow_summary, trace_from_run
from .execution.loop import KernelRun
from .execution.stimulus import sample_stimulus
from .execution.trace import Trace
from .fidelity import compare
from .model.model_file import ModelFile
from .network.compare import check_lava
from .network.emulator import NetworkRun, run_network
from .network.ir import NetworkSpec
from .network.lower import LoweredNetwork, LoweredPopulation, lower_network
from .network.model_network import network_of_model, run_model_reference
from .network.reference import NetworkTrace
from .progress import BarFactory, no_bars, step_counter
from .quantization.quantize import QuantConfig, QuantizedNeuron
from .targets import HardwareTarget

BACKENDS = ("emulator", "lava", "both")


@dataclass(frozen=True)
class CompareOptions:
    """How to run a comparison: which backends and the coincidence window (s)."""

    backend: str = "both"
    window: float = 2e-3
    stimulus_seed: int | None = None

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise InputError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}", field="--backend")
        if not self.window > 0:
            raise InputError(f"the coincidence window must be positive, got {self.window}", field="--window")


@dataclass(frozen=True)
class LavaCheck:
    """Exact comparison of the Lava fixed_pt run with the emulator (every register, spike and overflow count)."""

    match: bool
    steps_compared: int
    neurons: int
    state_values_compared: int
    spikes_compared: int
    first_mismatch_step: int | None

    def to_dict(self) -> dict:
        """Plain data for reports."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CompareResult:
    """Everything a comparison produced."""

    model: ModelFile
    target: HardwareTarget
    neuron: QuantizedNeuron
    stimulus: np.ndarray
    reference: Trace
    float_emulator: Trace
    fixed: Trace
    lava: Trace | None
    lava_check: LavaCheck | None
    options: CompareOptions


def _candidate_trace(run: NetworkRun, population: LoweredPopulation, dt: float) -> Trace:
    """A population of an emulator or Lava run as a :class:`Trace` (voltage decoded, overflows summarised)."""
    neuron = population.neuron
    result = run.populations[population.name]
    kernel_run = KernelRun(states=result.states, spikes=result.spikes, overflows=result.overflows,
                           initial=population.initial)
    return trace_from_run(kernel_run, run.label, dt, neuron.voltage_lsb, overflow_summary(neuron, result.overflows),
                          run.wall_time_s)


def _lava_check(check, population: str, neurons: int) -> LavaCheck:
    """The network check of Lava against the emulator, for the one population of a model file."""
    entry = check.populations[population]
    return LavaCheck(match=entry["match"], steps_compared=check.steps_compared, neurons=neurons,
                     state_values_compared=entry["states_compared"], spikes_compared=entry["spikes_compared"],
                     first_mismatch_step=entry["first_mismatch_step"])


def lower_model(model: ModelFile, stimulus: np.ndarray, target: HardwareTarget, config: QuantConfig,
                progress: Callable[[str], None] = lambda message: None, bars: BarFactory = no_bars
                ) -> tuple[NetworkSpec, NetworkTrace, LoweredNetwork]:
    """The model driven by ``stimulus`` as a one-population network, its Brian2 reference and its lowering.

    The population is always the integer program (never Lava's LIF), integrated by ``config.method``.
    """
    spec = network_of_model(model, stimulus)
    progress(f"Brian2 reference: {stimulus.shape[1]} neurons x {stimulus.shape[0]} steps")
    reference = run_model_reference(model, spec, bars=bars)
    return spec, reference, lower_network(spec, reference, target, config, method=config.method, lif="never")


def run_compare(model: ModelFile, target: HardwareTarget, config: QuantConfig, options: CompareOptions = CompareOptions(),
                progress: Callable[[str], None] = lambda message: None, bars: BarFactory = no_bars) -> CompareResult:
    """Run Brian2, the float emulator, the fixed-point emulator and/or Lava on one stimulus.

    The model file runs as a network of one population fed by its sampled stimulus
    (:func:`~neuromorph.network.model_network.network_of_model`), through the network
    pipeline's Brian2 runner, lowering, emulator and Lava graph. ``bars`` shows progress
    bars for Brian2 and the emulators (none by default).
    """
    stimulus = sample_stimulus(model.stimulus, model.simulation, options.stimulus_seed)
    spec, reference, lowered = lower_model(model, stimulus, target, config, progress, bars)
    name = spec.populations[0].name
    population = lowered.population(name)
    progress("float emulator (same algorithm, float64)")
    float_trace = emulate_float(model, stimulus, method=config.method, bars=bars)
    progress(f"fixed-point emulator ({config.state_bits} bits, {config.rounding})")
    with bars(len(stimulus), "fixed-point emulator", "step") as bar:
        emulated = run_network(lowered, record=True, progress=step_counter(bar, len(stimulus)))
    fixed = _candidate_trace(emulated, population, model.simulation.dt)
    lava, lava_check = None, None
    if options.backend in ("lava", "both"):
        from .lava.graph import run_graph  # Lava is imported only when it is used

        progress("Lava fixed_pt process on Loihi2SimCfg")
        lava_run = run_graph(lowered, record=True)
        lava = _candidate_trace(lava_run, population, model.simulation.dt)
        lava_check = _lava_check(check_lava(emulated, lava_run), name, population.size)
    if options.backend == "lava":
        fixed = lava
    return CompareResult(model=model, target=target, neuron=population.neuron, stimulus=stimulus,
                         reference=reference.trace(name), float_emulator=float_trace, fixed=fixed,
                         lava=lava, lava_check=lava_check, options=options)


def _rates(trace: Trace) -> float:
    return float(np.mean([len(s) for s in trace.spike_trains]) / trace.duration)


def build_report(result: CompareResult) -> dict:
    """The machine-readable report (documented in the README)."""
    window = result.options.window
    main = compare(result.reference, result.fixed, window=window).to_dict()
    report = {
        "model": result.model.spec.name,
        "model_file": result.model.path,
        "target": result.target.name,
        "backend": result.options.backend,
        "config": result.neuron.config.to_dict(),
        "simulation": {"dt_ms": result.model.simulation.dt * 1e3, "duration_s": result.reference.duration,
                       "neurons": result.model.simulation.neurons, "steps": int(result.stimulus.shape[0])},
        "reference": result.reference.label,
        "candidate": result.fixed.label,
        **{k: v for k, v in main.items() if k not in ("reference", "candidate")},
        "rates_hz": {"reference": _rates(result.reference), "candidate": _rates(result.fixed)},
        "error_split": {
            "algorithm": _summary(compare(result.reference, result.float_emulator, window=window).to_dict()),
            "quantization": _summary(compare(result.float_emulator, result.fixed, window=window).to_dict()),
        },
        "formats": result.neuron.formats(),
        "saturations": result.fixed.extra["overflows"],
        "operation_overflows": result.fixed.extra["operation_overflows"],
        "wall_time_s": {t.label: t.extra.get("wall_time_s") for t in
                        (result.reference, result.float_emulator, result.fixed, result.lava) if t is not None},
    }
    if result.lava_check is not None:
        report["lava_matches_emulator"] = result.lava_check.to_dict()
    return report


def _summary(fidelity: dict) -> dict:
    keys = ("gamma", "spike_time_error_ms", "missed_spikes", "extra_spikes", "v_rmse_mV")
    return {k: fidelity[k] for k in keys}
