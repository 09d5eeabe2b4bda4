"""Reference run in Brian2 (float64) of the model exactly as the user wrote it.

The stimulus enters as a 2-D ``TimedArray`` written into the input variable at the start
of every time step, so Brian2 sees the same sampled input as every other backend.
Objects are collected in an explicit :class:`brian2.Network` (no implicit magic network)
and the code-generation target is set per object (no global preferences); which target,
:func:`neuromorph.reference.codegen.choose_codegen` decides.
"""
from __future__ import annotations

import time

import brian2
import numpy as np

from ..errors import ModelFileError
from ..execution.trace import Trace
from ..model.model_file import ModelFile
from ..progress import BarFactory, no_bars
from .brian2_functions import BRIAN2_FUNCTIONS, numpy_functions_without_unit_checks
from .codegen import CODE_OBJECTS
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
    declared = set(spec.declared_parameters)
    namespace = {**BRIAN2_FUNCTIONS, **{k: v for k, v in model.parameters.items() if k not in declared}}
    input_unit = brian2.get_unit(spec.stimulus.dimension)
    namespace[STIMULUS_NAME] = brian2.TimedArray(stimulus * input_unit, dt=sim.dt * brian2.second,
                                                name=STIMULUS_NAME)
    refractory = model.spec.refractory.text if model.spec.refractory else False
    units = _state_units(spec)
    reset_lines = []
    for k, statement in enumerate(spec.reset):
        namespace[f"neuromorph_reset_{k}"] = statement.value * units[statement.name]
        reset_lines.append(f"{statement.name} {statement.op} neuromorph_reset_{k}")
    try:
        group = brian2.NeuronGroup(
            n_neurons, spec.equations, threshold=spec.threshold.text, refractory=refractory,
            reset="\n".join(reset_lines) or None, method=sim.method, namespace=namespace,
            clock=brian2.Clock(dt=sim.dt * brian2.second, name="neuromorph_clock"),
            codeobj_class=codeobj, name="neuromorph_neurons",
        )
        group.run_regularly(f"{spec.input} = {STIMULUS_NAME}(t, i)", when="start", codeobj_class=codeobj,
                            name="neuromorph_input")
        for name in declared:  # a value given for a declared parameter holds on both sides
            setattr(group, name, model.parameters[name])
        for name, value in model.initial.items():
            setattr(group, name, value * units[name])
        spikes = brian2.SpikeMonitor(group, codeobj_class=codeobj, name="neuromorph_spikes")
        recorded = [spec.voltage] + [s.name for s in spec.linear_states]
        state = brian2.StateMonitor(group, recorded, record=True, codeobj_class=codeobj,
                                   name="neuromorph_states") if record_v else None
        network = brian2.Network(*(obj for obj in (group, spikes, state) if obj is not None))
    except Exception as exc:
        raise ModelFileError(f"Brian2 rejects the model: {_root_message(exc)}", model.path) from None
    return network, group, spikes, state


def _state_units(spec) -> dict:
    """Brian2 unit of every state variable."""
    units = {spec.voltage: brian2.volt, **{g.name: 1 for g in spec.gates}}
    units.update({s.name: brian2.get_unit(s.unit) for s in spec.linear_states})
    return units


def brian2_reporter(bar, n_steps: int):
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
        with bars(n_steps, f"Brian2 ({codegen})", "step") as bar, numpy_functions_without_unit_checks():
            network.run(n_steps * sim.dt * brian2.second, namespace={}, report=brian2_reporter(bar, n_steps),
                        report_period=0.5 * brian2.second)
    except Exception as exc:
        raise ModelFileError(f"Brian2 run failed: {_root_message(exc)}", model.path) from None
    wall = time.perf_counter() - started
    trains = spikes.spike_trains()
    spike_trains = tuple(np.asarray(trains[i] / brian2.second, dtype=float) for i in range(stimulus.shape[1]))
    v = np.asarray(getattr(state, model.spec.voltage) / brian2.volt).T if record_v else np.empty((0, stimulus.shape[1]))
    states = {s.name: np.asarray(getattr(state, s.name)).T for s in model.spec.linear_states} if record_v else {}
    return Trace(label=f"brian2 ({codegen})", dt=sim.dt, duration=n_steps * sim.dt, spike_trains=spike_trains,
                 t=np.arange(v.shape[0]) * sim.dt, v=v, extra={"wall_time_s": wall}, states=states)
