"""The time loop shared by the emulators: repeated calls of a kernel's ``step``."""
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


def run_kernel(kernel, drive: np.ndarray, record: bool = True, progress=None) -> KernelRun:
    """Run ``kernel`` for ``len(drive)`` steps with ``drive`` (T, N) as input of step ``k``.

    ``progress``, if given, is called with ``k`` after step ``k``.
    """
    n_steps, n_neurons = drive.shape
    state = kernel.initial_state(n_neurons)
    initial = state.copy()
    states = np.empty((n_steps,) + state.shape, dtype=state.dtype) if record else None
    spikes = np.zeros((n_steps, n_neurons), dtype=bool)
    overflows = np.zeros(kernel.n_counters, dtype=np.int64)
    for k in range(n_steps):
        state, spikes[k], overflow = kernel.step(state, drive[k], k)
        overflows += overflow
        if record:
            states[k] = state
        if progress is not None:
            progress(k)
    return KernelRun(states=states, spikes=spikes, overflows=overflows, initial=initial)
