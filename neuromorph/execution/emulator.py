"""Emulators: the lowered neuron run compiled (numba) or in numpy, in integers or in float64."""
from __future__ import annotations

import time

import numpy as np

from ..model.model_file import ModelFile
from ..progress import BarFactory, no_bars, step_counter
from ..quantization.kernel import FixedPointKernel, FloatKernel
from ..quantization.quantize import QuantizedNeuron
from .loop import KernelRun, run_kernel
from .trace import Trace


def spike_trains_from(spikes: np.ndarray, dt: float) -> tuple[np.ndarray, ...]:
    """Spike times (s) per neuron from a (T, N) boolean array; step ``k`` is ``t = k dt``."""
    return tuple(np.flatnonzero(spikes[:, i]) * dt for i in range(spikes.shape[1]))


def trace_from_run(run: KernelRun, label: str, dt: float, v_scale: float, overflows: dict, wall: float) -> Trace:
    """A :class:`Trace` whose ``v[k]`` is the voltage at ``t = k dt`` (before step ``k``).

    ``overflows`` holds the report's overflow counts (per register, per operation).
    """
    n_steps = run.spikes.shape[0]
    v = np.concatenate([run.initial[None, 0], run.states[:-1, 0]]) * v_scale if run.states is not None \
        else np.empty((0, run.spikes.shape[1]))
    extra = {"wall_time_s": wall, **overflows}
    return Trace(label=label, dt=dt, duration=n_steps * dt, spike_trains=spike_trains_from(run.spikes, dt),
                 t=np.arange(v.shape[0]) * dt, v=v, extra=extra)


def overflow_summary(neuron: QuantizedNeuron, counts: np.ndarray) -> dict:
    """Overflow counts of a run: per register (``overflows``) and per operation (``operation_overflows``)."""
    program = neuron.program
    return {"overflows": program.register_overflows(counts), "operation_overflows": program.overflow_report(counts)}


def emulate(neuron: QuantizedNeuron, stimulus: np.ndarray, record: bool = True,
            bars: BarFactory = no_bars, backend: str | None = None, parallel: bool = True) -> tuple[Trace, KernelRun]:
    """Integer emulation of ``neuron`` driven by ``stimulus`` (T, N) in the input's SI units.

    ``backend``: ``"numba"`` (compiled), ``"numpy"`` (the interpreter) or None (numba when
    importable, unless the run is shorter than compiling an uncached kernel); both give the
    same integers. ``parallel``: the compiled kernel may use
    every core (False inside a worker process that shares the cores with others).
    """
    started = time.perf_counter()
    with bars(len(stimulus), "fixed-point emulator", "step") as bar:
        kernel = FixedPointKernel(neuron, backend, parallel, work=(len(stimulus), stimulus.shape[-1]))
        run = run_kernel(kernel, neuron.quantize_drive(stimulus), record,
                         step_counter(bar, len(stimulus)))
    trace = trace_from_run(run, "emulator", neuron.dt, neuron.voltage_lsb, overflow_summary(neuron, run.overflows),
                           time.perf_counter() - started)
    return trace, run


def emulate_float(model: ModelFile, stimulus: np.ndarray, record: bool = True,
                  method: str = "exponential_euler", bars: BarFactory = no_bars,
                  backend: str | None = None) -> Trace:
    """The lowered algorithm in float64 with exact functions (separates algorithm error).

    ``stimulus``: (T, N) for the first input, or (T, inputs, N) for every input (SI units).
    """
    kernel = FloatKernel(model.spec, model.simulation.dt, dict(model.initial), method, backend,
                         work=(len(stimulus), stimulus.shape[-1]))
    started = time.perf_counter()
    with bars(len(stimulus), "float emulator", "step") as bar:
        run = run_kernel(kernel, stimulus, record, step_counter(bar, len(stimulus)))
    return trace_from_run(run, "float emulator", model.simulation.dt, 1.0, {"overflows": {}},
                          time.perf_counter() - started)
