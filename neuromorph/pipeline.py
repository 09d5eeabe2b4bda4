"""The compare pipeline: model -> reference -> quantised neuron -> runs -> fidelity report.

Each stage is a pure function of frozen values; :func:`run_compare` strings them together
and :func:`build_report` turns the result into plain data for JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError
from .execution.emulator import emulate, emulate_float, overflow_summary, trace_from_run
from .execution.loop import KernelRun
from .execution.stimulus import sample_stimulus
from .execution.trace import Trace
from .fidelity import compare
from .model.model_file import ModelFile
from .progress import BarFactory, no_bars
from .quantization.formats import RangeProfile
from .quantization.kernel import FixedPointKernel
from .quantization.quantize import QuantConfig, QuantizedNeuron, quantize
from .reference.brian2_run import run_brian2
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
    """Exact comparison of the Lava fixed_pt run with the emulator."""

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


def check_lava_against_emulator(emulated: KernelRun, lava_states: np.ndarray, lava_spikes: np.ndarray) -> LavaCheck:
    """Compare every integer state value and every spike of every step, exactly."""
    equal_states = (lava_states == emulated.states).reshape(lava_states.shape[0], -1).all(axis=1)
    equal_spikes = (lava_spikes == emulated.spikes).all(axis=1)
    equal = equal_states & equal_spikes
    first = None if equal.all() else int(np.argmin(equal))
    return LavaCheck(match=bool(equal.all()), steps_compared=int(lava_states.shape[0]),
                     neurons=int(lava_states.shape[-1]), state_values_compared=int(lava_states.size),
                     spikes_compared=int(lava_spikes.size), first_mismatch_step=first)


def _run_lava(neuron: QuantizedNeuron, stimulus: np.ndarray, emulated: KernelRun):
    from .lava_backend import run_lava  # Lava is imported only when it is used

    result = run_lava(FixedPointKernel(neuron), neuron.quantize_drive(stimulus), tag="fixed_pt", record=True)
    run = KernelRun(states=result.states, spikes=result.spikes, overflows=result.saturations, initial=emulated.initial)
    trace = trace_from_run(run, "lava fixed_pt", neuron.dt, neuron.voltage_lsb,
                           overflow_summary(neuron, result.saturations), result.wall_time_s)
    return trace, check_lava_against_emulator(emulated, result.states, result.spikes)


def run_compare(model: ModelFile, target: HardwareTarget, config: QuantConfig, options: CompareOptions = CompareOptions(),
                progress: Callable[[str], None] = lambda message: None, bars: BarFactory = no_bars) -> CompareResult:
    """Run Brian2, the float emulator, the fixed-point emulator and/or Lava on one stimulus.

    ``bars`` shows progress bars for Brian2 and the emulators (none by default).
    """
    stimulus = sample_stimulus(model.stimulus, model.simulation, options.stimulus_seed)
    progress(f"Brian2 reference: {model.simulation.neurons} neurons x {stimulus.shape[0]} steps")
    reference = run_brian2(model, stimulus, bars=bars)
    profile = RangeProfile.from_run(reference.v, stimulus, reference.states)
    neuron = quantize(model.spec, target, config, profile, model.simulation.dt, dict(model.initial))
    progress("float emulator (same algorithm, float64)")
    float_trace = emulate_float(model, stimulus, method=config.method, bars=bars)
    progress(f"fixed-point emulator ({config.state_bits} bits, {config.rounding})")
    fixed, emulated = emulate(neuron, stimulus, bars=bars)
    lava, lava_check = None, None
    if options.backend in ("lava", "both"):
        progress("Lava fixed_pt process on Loihi2SimCfg")
        lava, lava_check = _run_lava(neuron, stimulus, emulated)
    if options.backend == "lava":
        fixed = lava
    return CompareResult(model=model, target=target, neuron=neuron, stimulus=stimulus, reference=reference,
                         float_emulator=float_trace, fixed=fixed, lava=lava, lava_check=lava_check, options=options)


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
