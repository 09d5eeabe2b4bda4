"""The compare pipeline: model -> reference -> quantised neuron -> runs -> fidelity report.

Each stage is a pure function of frozen values; :func:`run_compare` strings them together
and :func:`build_report` turns the result into plain data for JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .execution.emulator import emulate_float
from .execution.stimulus import sample_stimulus
from .execution.trace import Trace
from .fidelity import compare
from .model.model_file import ModelFile
from .network.comparison import (LavaNetworkCheck, NetworkOptions, NetworkResult, candidate_trace,
                                 check_run_options, compare as network_compare, population_fidelity)
from .network.ir import NetworkSpec
from .network.lower import LoweredNetwork, lower_network
from .network.model_network import model_inputs, network_of_model, run_model_reference
from .network.noise import noise_statistics
from .network.reference import NetworkTrace
from .progress import BarFactory, no_bars
from .quantization.quantize import QuantConfig, QuantizedNeuron
from .targets import HardwareTarget

#: Start of the voltage samples the noise statistics compare (s): after the initial transient.
NOISE_SETTLING_S = 0.05


@dataclass(frozen=True)
class CompareOptions:
    """How to run a comparison: which backends and the coincidence window (s)."""

    backend: str = "both"
    window: float = 2e-3
    stimulus_seed: int | None = None

    def __post_init__(self):
        check_run_options(self.backend, self.window)


@dataclass(frozen=True)
class CompareResult:
    """Everything a comparison produced: the one-population network run and the model-file views of it."""

    model: ModelFile
    target: HardwareTarget
    neuron: QuantizedNeuron
    stimulus: np.ndarray
    reference: Trace
    float_emulator: Trace
    fixed: Trace
    lava: Trace | None
    lava_check: LavaNetworkCheck | None
    options: CompareOptions
    network: NetworkResult


def _lava_report(check: LavaNetworkCheck, population: str, neurons: int) -> dict:
    """The network check of Lava against the emulator, for the one population of a model file."""
    entry = check.populations[population]
    return {"match": entry["match"], "steps_compared": check.steps_compared, "neurons": neurons,
            "state_values_compared": entry["states_compared"], "spikes_compared": entry["spikes_compared"],
            "first_mismatch_step": entry["first_mismatch_step"]}


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
    """Run Brian2, the fixed-point emulator and/or Lava, and the float emulator on one stimulus.

    The model file runs as a network of one population fed by its sampled stimulus
    (:func:`~neuromorph.network.model_network.network_of_model`) through the network
    comparison (:func:`neuromorph.network.comparison.compare`: the one Brian2 runner,
    lowering, emulator, Lava graph and fidelity), with every register recorded, no float
    floor, and the population always the integer program. The float emulator (the same
    algorithm in float64) splits the error into algorithm and quantisation. With
    ``backend="lava"`` the emulator runs too (for the exact check) and Lava is the candidate.
    ``bars`` shows progress bars for Brian2 and the emulators (none by default).
    """
    stimulus = sample_stimulus(model.stimulus, model.simulation, options.stimulus_seed)
    spec = network_of_model(model, stimulus)
    progress(f"Brian2 reference: {stimulus.shape[1]} neurons x {stimulus.shape[0]} steps")
    reference = run_model_reference(model, spec, bars=bars)
    network_options = NetworkOptions(backend="emulator" if options.backend == "emulator" else "both", floor=False,
                                     window=options.window, record=True, lif="never")
    network = network_compare(spec, target, config, network_options, progress, method=config.method,
                              reference=reference, bars=bars)
    progress("float emulator (same algorithm, float64)")
    float_trace = emulate_float(model, model_inputs(model, spec), method=config.method, bars=bars)
    name = spec.populations[0].name
    population = network.lowered.population(name)
    fixed = network.candidate_trace(name)
    lava = candidate_trace(network.lava, population, spec.dt) if network.lava is not None else None
    return CompareResult(model=model, target=target, neuron=population.neuron, stimulus=stimulus,
                         reference=reference.trace(name), float_emulator=float_trace,
                         fixed=lava if options.backend == "lava" else fixed, lava=lava, lava_check=network.lava_check,
                         options=options, network=network)


def build_report(result: CompareResult) -> dict:
    """The machine-readable report (documented in the README)."""
    window = result.options.window
    name = result.network.spec.populations[0].name
    main = population_fidelity(result.network, name, per_neuron=True) if result.options.backend != "lava" \
        else compare(result.reference, result.fixed, window=window).to_dict()
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
        "rates_hz": {"reference": result.reference.mean_rate_hz, "candidate": result.fixed.mean_rate_hz},
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
        report["lava_matches_emulator"] = _lava_report(result.lava_check, name, result.network.lowered.population(name).size)
    if result.model.noise is not None:
        report["noise"] = _noise_report(result)
    return report


def _noise_report(result: CompareResult) -> dict:
    """Mode, seed and variables of the model's noise, and the statistics a ``target`` run is judged by
    (voltage samples after the first 50 ms)."""
    noise = result.model.noise
    skip = int(round(NOISE_SETTLING_S / result.model.simulation.dt))
    return {"mode": noise.mode, "seed": noise.seed, "variables": list(noise.parameters),
            "statistics": noise_statistics(result.reference, result.fixed, skip)}


def _summary(fidelity: dict) -> dict:
    keys = ("gamma", "spike_time_error_ms", "missed_spikes", "extra_spikes", "v_rmse_mV")
    return {k: fidelity[k] for k in keys}
