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


#: Steps per call of a kernel's fused ``run`` when progress is reported.
PROGRESS_BLOCK = 1024


def run_steps(kernel, state: np.ndarray, drive: np.ndarray, step0: int = 0, record: bool = True, progress=None):
    """``kernel.step`` once per row of ``drive``: (final state, states (T, n_state, N) or None, spikes (T, N),
    summed overflow counters). ``progress``, if given, is called with ``step0 + k`` after step ``k``."""
    n_steps, n_neurons = drive.shape[0], drive.shape[-1]
    states = np.empty((n_steps,) + state.shape, dtype=state.dtype) if record else None
    spikes = np.zeros((n_steps, n_neurons), dtype=bool)
    overflows = np.zeros(kernel.n_counters, dtype=np.int64)
    for k in range(n_steps):
        state, spikes[k], overflow = kernel.step(state, drive[k], step0 + k)
        overflows += overflow
        if record:
            states[k] = state
        if progress is not None:
            progress(step0 + k)
    return state, states, spikes, overflows


def run_blocks(run, state: np.ndarray, n_steps: int, inputs, n_counters: int, record: bool = True,
               progress=None, block: int = PROGRESS_BLOCK):
    """The one fused time loop: ``run(state, inputs(start, stop), start, record)`` over blocks of steps.

    ``run`` is a kernel's fused multi-step run (``state, states, spikes, overflows`` back);
    ``inputs(start, stop)`` gives the input of steps ``start..stop-1`` ((T, N) or (T, ports, N)),
    so a long run never holds all its inputs at once. ``progress``, if given, is called with
    ``k`` after step ``k`` (for every step of a block, once the block is done).

    Returns (state after the last step, states (T, n_state, N) or None, spikes (T, N),
    summed overflow counts).
    """
    states = np.empty((n_steps,) + state.shape, dtype=state.dtype) if record else None
    spikes = np.zeros((n_steps, state.shape[-1]), dtype=bool)
    overflows = np.zeros(n_counters, dtype=np.int64)
    for start in range(0, n_steps, block):
        stop = min(n_steps, start + block)
        state, block_states, spikes[start:stop], counts = run(state, inputs(start, stop), start, record)
        overflows += counts
        if record:
            states[start:stop] = block_states
        for k in range(start, stop) if progress is not None else ():
            progress(k)
    return state, states, spikes, overflows


def run_kernel(kernel, drive: np.ndarray, record: bool = True, progress=None) -> KernelRun:
    """Run ``kernel`` for ``len(drive)`` steps with ``drive`` (T, N) as input of step ``k``.

    Kernels with a ``run`` method advance many steps per call (the compiled kernels keep
    each neuron's state in registers across steps; :func:`run_blocks`); others get ``step``
    once per step. ``progress``, if given, is called with ``k`` after step ``k``.
    """
    initial = kernel.initial_state(drive.shape[-1])
    if not hasattr(kernel, "run"):
        _, states, spikes, overflows = run_steps(kernel, initial.copy(), drive, 0, record, progress)
    else:
        _, states, spikes, overflows = run_blocks(kernel.run, initial.copy(), len(drive),
                                                  lambda start, stop: drive[start:stop], kernel.n_counters, record,
                                                  progress, PROGRESS_BLOCK if progress is not None else len(drive) or 1)
    return KernelRun(states=states, spikes=spikes, overflows=overflows, initial=initial)
