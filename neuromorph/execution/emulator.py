"""What the emulators share: a run as a :class:`Trace`, its overflow counts, and the float emulator
(the lowered algorithm in float64, which separates algorithm error from quantisation error)."""
from __future__ import annotations

import time

import numpy as np

from ..model.model_file import ModelFile
from ..progress import BarFactory, no_bars, step_counter
from ..quantization.kernel import FloatKernel
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
