"""Reference run in Brian2 (float64) of the model exactly as the user wrote it.

The stimulus enters as a 2-D ``TimedArray`` written into the input variable at the start
of every time step, so Brian2 sees the same sampled input as every other backend.
Objects are collected in an explicit :class:`brian2.Network` (no implicit magic network)
and the code-generation target is chosen per object (no global preferences).
"""
from __future__ import annotations

import time

import brian2
import numpy as np
from brian2.codegen.runtime.cython_rt import CythonCodeObject
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

from ..errors import ModelFileError
from ..execution.trace import Trace
from ..model.model_file import ModelFile
from ..progress import BarFactory, no_bars
from .brian2_functions import BRIAN2_FUNCTIONS

CODE_OBJECTS = {"numpy": NumpyCodeObject, "cython": CythonCodeObject}
STIMULUS_NAME = "neuromorph_stimulus"


def _root_message(exc: BaseException) -> str:
    """One line from the innermost cause (Brian2 wraps errors in BrianObjectException)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return " ".join(str(exc).split())


def build_network(model: ModelFile, stimulus: np.ndarray, codegen: str, record_v: bool = True):
    """Create the Brian2 network for ``model`` driven by ``stimulus`` (n_steps, N) in A/m^2.

    Returns the network, the neuron group and the spike and state monitors (the latter
    None when ``record_v`` is False).
    """
    spec, sim = model.spec, model.simulation
    codeobj = CODE_OBJECTS[codegen]
    n_neurons = stimulus.shape[1]
    namespace = {**BRIAN2_FUNCTIONS, **model.parameters}
    namespace[STIMULUS_NAME] = brian2.TimedArray(stimulus * brian2.amp / brian2.meter**2, dt=sim.dt * brian2.second)
    refractory = model.spec.refractory.text if model.spec.refractory else False
    reset = "\n".join(f"{n} = {v!r}" + (" * volt" if n == spec.voltage else "") for n, v in spec.reset) or None
    try:
        group = brian2.NeuronGroup(
            n_neurons, spec.equations, threshold=spec.threshold.text, refractory=refractory, reset=reset,
            method=sim.method, namespace=namespace, dt=sim.dt * brian2.second, codeobj_class=codeobj,
            name="neuromorph_neurons",
        )
        group.run_regularly(f"{spec.input} = {STIMULUS_NAME}(t, i)", when="start", codeobj_class=codeobj)
        for name, value in model.initial.items():
            setattr(group, name, value * (brian2.volt if name == spec.voltage else 1))
        spikes = brian2.SpikeMonitor(group, codeobj_class=codeobj)
        state = brian2.StateMonitor(group, spec.voltage, record=True, codeobj_class=codeobj) if record_v else None
        network = brian2.Network(*(obj for obj in (group, spikes, state) if obj is not None))
    except Exception as exc:
        raise ModelFileError(f"Brian2 rejects the model: {_root_message(exc)}", model.path) from None
    return network, group, spikes, state


def _reporter(bar, n_steps: int):
    """Brian2 ``report`` callback advancing ``bar`` to the completed fraction of ``n_steps``."""
    shown = [0]

    def report(elapsed, completed, start, duration):
        steps = int(round(float(completed) * n_steps))
        bar.update(steps - shown[0])
        shown[0] = steps

    return report


def run_brian2(model: ModelFile, stimulus: np.ndarray, *, codegen: str | None = None, record_v: bool = True,
               bars: BarFactory = no_bars) -> Trace:
    """Simulate ``model`` in Brian2 with ``stimulus`` (n_steps, N) A/m^2; return a :class:`Trace`.

    ``Trace.v[k]`` is the membrane potential at ``t = k dt`` (before the update of step
    ``k``); a spike detected in step ``k`` is reported at ``t = k dt``, as Brian2 does.
    ``bars`` shows the progress of the run (none by default).
    """
    sim = model.simulation
    codegen = codegen or sim.codegen
    n_steps = stimulus.shape[0]
    network, group, spikes, state = build_network(model, stimulus, codegen, record_v)
    started = time.perf_counter()
    try:
        with bars(n_steps, f"Brian2 ({codegen})", "step") as bar:
            network.run(n_steps * sim.dt * brian2.second, namespace={}, report=_reporter(bar, n_steps),
                        report_period=0.5 * brian2.second)
    except Exception as exc:
        raise ModelFileError(f"Brian2 run failed: {_root_message(exc)}", model.path) from None
    wall = time.perf_counter() - started
    trains = spikes.spike_trains()
    spike_trains = tuple(np.asarray(trains[i] / brian2.second, dtype=float) for i in range(stimulus.shape[1]))
    v = np.asarray(getattr(state, model.spec.voltage) / brian2.volt).T if record_v else np.empty((0, stimulus.shape[1]))
    return Trace(label=f"brian2 ({codegen})", dt=sim.dt, duration=n_steps * sim.dt, spike_trains=spike_trains,
                 t=np.arange(v.shape[0]) * sim.dt, v=v, extra={"wall_time_s": wall})
