"""The time loop shared by the emulators: a kernel's fused multi-step ``run`` (or its ``step``, repeated)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KernelRun:
    """States after every step, spikes and overflow counts of a kernel run.

    Attributes
    ----------
    states : ndarray (T, n_state, N) or None
        State matrix after step ``k`` (None when not recorded).
    spikes : ndarray (T, N) bool
        Spikes emitted in step ``k``.
    overflows : ndarray (n_counters,)
        Number of values that did not fit, per counter of the kernel (per operation of the
        integer program) over the run.
    initial : ndarray (n_state, N)
        State before the first step.
    """

    states: np.ndarray | None
    spikes: np.ndarray
    overflows: np.ndarray
    initial: np.ndarray


def run_steps(kernel, state: np.ndarray, drive: np.ndarray, step0: int = 0, record: bool = True):
    """``kernel.step`` once per row of ``drive``: (final state, states (T, n_state, N) or None, spikes (T, N),
    summed overflow counters)."""
    n_steps, n_neurons = drive.shape[0], drive.shape[-1]
    states = np.empty((n_steps,) + state.shape, dtype=state.dtype) if record else None
    spikes = np.zeros((n_steps, n_neurons), dtype=bool)
    overflows = np.zeros(kernel.n_counters, dtype=np.int64)
    for k in range(n_steps):
        state, spikes[k], overflow = kernel.step(state, drive[k], step0 + k)
        overflows += overflow
        if record:
            states[k] = state
    return state, states, spikes, overflows


def run_kernel(kernel, drive: np.ndarray, record: bool = True) -> KernelRun:
    """Run ``kernel`` for ``len(drive)`` steps with ``drive`` (T, N) as input of step ``k``.

    Kernels with a ``run`` method advance all steps in one call (the compiled kernels keep
    each neuron's state in registers across steps); others get ``step`` once per step.
    """
    initial = kernel.initial_state(drive.shape[-1])
    if hasattr(kernel, "run"):
        _, states, spikes, overflows = kernel.run(initial.copy(), drive, 0, record)
    else:
        _, states, spikes, overflows = run_steps(kernel, initial.copy(), drive, 0, record)
    return KernelRun(states=states, spikes=spikes, overflows=overflows, initial=initial)
