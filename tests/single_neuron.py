"""One quantized neuron run over a stimulus array: the tests' short way into the emulator's loop.

The package runs a neuron as a one-population network (:func:`neuromorph.network.emulator.run_network`);
these tests check the kernel itself, so they call the same loop (:func:`~neuromorph.execution.loop.run_kernel`)
on a :class:`~neuromorph.quantization.kernel.FixedPointKernel` directly.
"""
from __future__ import annotations

import time

import numpy as np

from neuromorph.execution.emulator import trace_from_run
from neuromorph.execution.loop import KernelRun, run_kernel
from neuromorph.execution.trace import Trace
from neuromorph.progress import BarFactory, no_bars, step_counter
from neuromorph.quantization.kernel import FixedPointKernel
from neuromorph.quantization.quantize import QuantizedNeuron


def emulate(neuron: QuantizedNeuron, stimulus: np.ndarray, record: bool = True,
            bars: BarFactory = no_bars, backend: str | None = None, parallel: bool = True) -> tuple[Trace, KernelRun]:
    """Integer emulation of ``neuron`` driven by ``stimulus`` (T, N) in the input's SI units.

    ``backend``: ``"numba"`` (compiled), ``"numpy"`` (the interpreter) or None (numba when
    importable, unless the run is shorter than compiling an uncached kernel); both give the
    same integers. ``parallel``: the compiled kernel may use every core.
    """
    started = time.perf_counter()
    with bars(len(stimulus), "fixed-point emulator", "step") as bar:
        kernel = FixedPointKernel(neuron, backend, parallel, work=(len(stimulus), stimulus.shape[-1]))
        run = run_kernel(kernel, neuron.quantize_drive(stimulus), record, step_counter(bar, len(stimulus)))
    overflows = {"overflows": neuron.program.register_overflows(run.overflows),
                 "operation_overflows": neuron.program.overflow_report(run.overflows)}
    trace = trace_from_run(run, "emulator", neuron.dt, neuron.voltage_lsb, overflows, time.perf_counter() - started)
    return trace, run
