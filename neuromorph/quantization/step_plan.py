"""Brian2's order within one time step, built once from a :class:`~neuromorph.model.neuron_spec.NeuronSpec`.

A :class:`StepPlan` is the ordered list of phases of one step of ``dt``; every backend
follows it (:func:`follow`) with a registry of handlers, one per phase type:

* the integer lowering (:mod:`.lowering`) emits operations of the integer program;
* the numpy float kernel (:class:`~.kernel.FloatKernel`) computes in float64;
* the float code generator (:mod:`.float_codegen`) writes the lines of the numba loop.

So the order is written here and nowhere else:

========================= ============================================================================
phase                     update
========================= ============================================================================
:class:`SynapticIncrement` ``X += input`` from synapses (Brian2 applied it at the end of the previous
                          step); an ``(unless refractory)`` state only when not refractory then
:class:`RefractoryStart`  from the old voltage: ``not_refractory = not_refractory or not condition``,
                          or ``n = min(n + 1, steps)``, ``not_refractory = n >= steps``
:class:`GateUpdate`       ``x' = x + (x_inf(v) - x) * rate(v)``, ``rate = 1 - exp(-dt/tau(v))``
                          (exponential Euler) or ``dt/tau(v)`` (Euler)
:class:`StateUpdate`      ``X' = X + dt f`` (Euler) or ``X' = X + dt f exprel(A dt)`` (exponential
                          Euler, Brian2's split ``f = A X + B``), ``f = sum_k c_k(v) P_k + sum g I``
:class:`Commit`           the new values become the state; ``(unless refractory)`` states keep the
                          old one while refractory (integer: every register fitted to its width)
:class:`Threshold`        ``spike = threshold(v') and not_refractory``; never without a threshold
:class:`Reset`            ``x = c`` or ``x += c`` where the neuron spiked
:class:`RefractoryEnd`    the refractory bookkeeping restarts where the neuron spiked
========================= ============================================================================

Every phase reads the state as it stood after the phases before it (gates and states
read the old state, the threshold the committed one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..errors import ConfigError, LoweringError
from ..model.neuron_spec import (Condition, GateSpec, InputSpec, NeuronSpec, ResetStatement, StateEquation,
                                 per_neuron_values)

#: Integration methods a plan can follow.
METHODS = ("exponential_euler", "euler")


@dataclass(frozen=True)
class SynapticIncrement:
    """``state += input`` through increment port ``port``; ``held``: only when it was not refractory."""

    state: str
    port: int
    held: bool


@dataclass(frozen=True)
class RefractoryStart:
    """Refractoriness from the old voltage: a ``condition`` (V) or a duration of ``steps`` steps."""

    condition: Condition | None
    steps: int | None


@dataclass(frozen=True)
class GateUpdate:
    """``x' = x + (x_inf(v) - x) * rate(v)``; ``method`` chooses ``rate`` (see :func:`gate_rate`)."""

    gate: GateSpec
    method: str


def gate_rate(tau: np.ndarray, dt: float, method: str) -> np.ndarray:
    """Fraction of the way to ``x_inf`` covered in one step: ``1 - exp(-dt/tau)``, or ``dt/tau`` (Euler);
    ``tau`` and ``dt`` in s."""
    return dt / tau if method == "euler" else -np.expm1(-dt / tau)


@dataclass(frozen=True)
class StateUpdate:
    """``X' = X + dt f`` or ``X + dt f exprel(A dt)`` (``exponential``); ``drives``: the inputs entering
    ``f`` as ``gain * I``, each with its index among the spec's inputs (its port), in their order."""

    equation: StateEquation
    drives: tuple[tuple[int, InputSpec], ...]
    exponential: bool


@dataclass(frozen=True)
class Commit:
    """The new values of ``states`` (voltage, gates, linear states) become the state; ``held`` states
    (Brian2's ``(unless refractory)``) keep their old value while refractory."""

    states: tuple[str, ...]
    held: frozenset[str]


@dataclass(frozen=True)
class Threshold:
    """``spike = condition(v')``, and ``not_refractory`` when the model is ``refractory``; no spike
    ever when ``condition`` is None (a neuron without a threshold)."""

    condition: Condition | None
    refractory: bool


@dataclass(frozen=True)
class Reset:
    """``x = c`` or ``x += c`` (SI) where the neuron spiked, statement by statement."""

    statements: tuple[ResetStatement, ...]


@dataclass(frozen=True)
class RefractoryEnd:
    """The refractory bookkeeping after the spike: cleared where the neuron spiked."""


Phase = SynapticIncrement | RefractoryStart | GateUpdate | StateUpdate | Commit | Threshold | Reset | RefractoryEnd


@dataclass(frozen=True)
class StepPlan:
    """One step of a neuron as ordered phases (see the module docstring).

    Attributes
    ----------
    phases : tuple of Phase
        In execution order.
    states : tuple of str
        Voltage, gates, linear states (rows and registers in this order).
    dt : float
        Time step (s).
    method : str
        ``"euler"`` or ``"exponential_euler"``.
    """

    phases: tuple[Phase, ...]
    states: tuple[str, ...]
    dt: float
    method: str


def refractory_steps(spec: NeuronSpec, dt: float) -> int | None:
    """Length of a refractory duration in steps (Brian2's ``timestep(refractory, dt)``)."""
    ref = spec.refractory
    return int(ref.duration / dt + 1e-3) if ref is not None and ref.duration is not None else None


def refractory_step_counts(spec: NeuronSpec, dt: float, parameters: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Refractory steps (n,) of each neuron: :func:`refractory_steps`, or per neuron when the period is
    per-neuron (``refractory='tref'``; ``parameters``: the per-neuron values, SI); 0 without a period."""
    ref = spec.refractory
    if ref is not None and ref.per_neuron is not None:
        seconds = per_neuron_values(ref.per_neuron, parameters, n)
        return np.floor(seconds / dt + 1e-3).astype(np.int64)
    return np.full(n, refractory_steps(spec, dt) or 0, dtype=np.int64)


def held_states(spec: NeuronSpec) -> frozenset[str]:
    """States with Brian2's ``(unless refractory)`` flag."""
    return frozenset({g.name for g in spec.gates if g.unless_refractory}
                     | {e.name for e in spec.equations_of if e.unless_refractory})


def _state_update(spec: NeuronSpec, equation: StateEquation, method: str) -> StateUpdate:
    exponential = method == "exponential_euler"
    if exponential and equation.rate_terms is None:
        raise ConfigError(f"Brian2's exponential_euler cannot split '{equation.equation}' into A*{equation.name} + B; "
                          "integrate this model with method = \"euler\"", field="method")
    drives = tuple((k, spec_input) for k, spec_input in enumerate(spec.inputs) if spec_input.state == equation.name)
    return StateUpdate(equation=equation, drives=drives, exponential=exponential)


def _increments(spec: NeuronSpec, incremented: tuple[str, ...]) -> list[SynapticIncrement]:
    """One phase per incremented state (ports after the drive ports), the voltage or a linear state only."""
    allowed = {e.name for e in spec.equations_of}
    held = held_states(spec)
    phases = []
    for k, name in enumerate(incremented):
        if name not in allowed:
            raise LoweringError(f"synapses can increment the voltage or a linear state, not {name!r}",
                                field="projection.target_variable")
        phases.append(SynapticIncrement(state=name, port=len(spec.inputs) + k,
                                        held=name in held and spec.refractory is not None))
    return phases


def step_plan(spec: NeuronSpec, dt: float, method: str, incremented: tuple[str, ...] = ()) -> StepPlan:
    """The step of ``spec`` in Brian2's order (see the module docstring).

    Parameters
    ----------
    spec : NeuronSpec
        The neuron.
    dt : float
        Time step (s).
    method : {"euler", "exponential_euler"}
        Integration method of gates, voltage and linear states.
    incremented : tuple of str
        States that synapses increment, in the order of their ports.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown integration method {method!r}; one of {', '.join(METHODS)}", field="method")
    ref = spec.refractory
    phases: list[Phase] = _increments(spec, tuple(incremented))
    if ref is not None:
        phases.append(RefractoryStart(condition=ref.condition, steps=refractory_steps(spec, dt)))
    phases += [GateUpdate(gate=g, method=method) for g in spec.gates]
    phases += [_state_update(spec, e, method) for e in spec.equations_of]
    phases += [Commit(states=spec.state_names, held=held_states(spec) if ref is not None else frozenset()),
               Threshold(condition=spec.threshold, refractory=ref is not None), Reset(statements=spec.reset)]
    if ref is not None:
        phases.append(RefractoryEnd())
    return StepPlan(phases=tuple(phases), states=spec.state_names, dt=dt, method=method)


def follow(plan: StepPlan, handlers: dict[type, Callable], step, backend: str) -> None:
    """Run ``handlers[type(phase)](step, phase)`` for every phase of ``plan`` in order.

    ``step`` is the backend's working state of the step being built or computed;
    ``backend`` names it in the error for a phase it has no handler for.
    """
    for phase in plan.phases:
        handler = handlers.get(type(phase))
        if handler is None:
            raise LoweringError(f"the {backend} cannot run a step with {type(phase).__name__}")
        handler(step, phase)
