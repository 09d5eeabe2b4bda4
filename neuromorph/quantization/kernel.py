"""The per-time-step update of a lowered neuron, shared by every backend.

:class:`FixedPointKernel` runs the integer program (emulator and Lava ``fixed_pt``);
:class:`FloatKernel` runs the same algorithm in float64 with exact functions instead of
tables (the float emulator), which separates algorithm error from
quantisation error. Both follow the neuron's :class:`~.step_plan.StepPlan`, Brian2's
order within a step: refractory bookkeeping from the old voltage, state update from the
old state (``(unless refractory)`` states held), threshold on the new voltage (only when
not refractory), then reset.

Each kernel has two backends: ``"numba"`` (a loop generated from the program or the
equations and compiled, :mod:`.compiled`; the default when numba is importable) and
``"numpy"`` (the readable reference: the numpy interpreter, the lambdified equations).
They agree bit for bit (integers) or to rounding (float). ``run`` advances many steps in
one call, ``step`` one.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..execution.loop import run_steps
from ..model.functions import exprel
from ..model.neuron_spec import NeuronSpec, compile_expression
from .compiled import (FLOAT_INTERPRETER_SECONDS, INTERPRETER_SECONDS, CompiledFloat, CompiledProgram,
                       NotWorthCompiling, UncompilableProgram, resolve_backend)
from .interpreter import Interpreter
from .quantize import QuantizedNeuron
from .step_plan import (Commit, GateUpdate, RefractoryEnd, RefractoryStart, Reset, StateUpdate, Threshold, follow,
                        gate_rate, refractory_steps, step_plan)


def _as_inputs(drive: np.ndarray, n_ports: int) -> np.ndarray:
    """A step's input as (ports, N): a 1-D drive feeds the first port, the others get 0."""
    drive = np.asarray(drive)
    if drive.ndim == 2:
        return drive
    inputs = np.zeros((max(n_ports, 1), drive.shape[0]), dtype=drive.dtype)
    inputs[0] = drive
    return inputs


def _as_run_inputs(drive: np.ndarray) -> np.ndarray:
    """A run's input as (T, ports, N) int64: a (T, N) drive feeds the first port."""
    drive = np.asarray(drive)
    return (drive[:, None, :] if drive.ndim == 2 else drive).astype(np.int64, copy=False)


def interpreter_seconds(n_ops: int, steps: int, neurons: int) -> float:
    """Estimated wall time (s) of the numpy interpreter for ``steps`` steps of ``neurons`` neurons,
    ``n_ops`` operations each: ``steps * n_ops * (a + b * neurons)`` with ``(a, b)`` = :data:`INTERPRETER_SECONDS`."""
    per_call, per_neuron = INTERPRETER_SECONDS
    return steps * n_ops * (per_call + per_neuron * neurons)


def float_interpreter_seconds(steps: int, neurons: int) -> float:
    """Estimated wall time (s) of the numpy float kernel: ``steps * (a + b * neurons)``, :data:`FLOAT_INTERPRETER_SECONDS`."""
    per_step, per_neuron = FLOAT_INTERPRETER_SECONDS
    return steps * (per_step + per_neuron * neurons)


def _compile_or_none(build, fallback: str):
    """``build()``, or None when the kernel runs in numpy instead: a program the compiled code cannot
    run exactly (after a warning ``"<fallback>: <reason>"``), or a run shorter than compiling."""
    try:
        return build()
    except UncompilableProgram as exc:
        warnings.warn(f"{fallback}: {exc}", RuntimeWarning, stacklevel=4)
    except NotWorthCompiling:
        pass
    return None


class FixedPointKernel:
    """Integer update of a :class:`QuantizedNeuron`: its program, compiled or interpreted.

    Parameters
    ----------
    neuron : QuantizedNeuron
        The lowered neuron.
    backend : {"numba", "numpy"} or None
        ``None``: numba when importable (else numpy, after a one-line warning), except for a
        run given by ``work`` that the interpreter finishes sooner than numba compiles a kernel
        it has not cached (:func:`.compiled.worth_compiling`). A program the compiled kernel
        cannot run exactly falls back to numpy with a warning. Both give the same integers.
    parallel : bool
        Let compiled runs use several threads.
    work : (steps, neurons) or None
        Size of the run the kernel is made for (None: unknown, compile).
    """

    dtype = np.int64

    def __init__(self, neuron: QuantizedNeuron, backend: str | None = None, parallel: bool = True,
                 work: tuple[int, int] | None = None):
        self.neuron, self.parallel = neuron, parallel
        self.backend = resolve_backend(backend)
        self.interpreter_seconds = None if backend is not None or work is None else \
            interpreter_seconds(len(neuron.program.ops), *work)
        self.interpreter = Interpreter(neuron.program, [t.entries for t in neuron.tables], neuron.constants)
        self._compiled: CompiledProgram | None = None

    def __getstate__(self):
        return {"neuron": self.neuron, "backend": self.backend, "parallel": self.parallel}

    def __setstate__(self, state):
        self.__init__(state["neuron"], state["backend"], state["parallel"])

    @property
    def compiled(self) -> CompiledProgram | None:
        """The compiled program (built on first use), or None for the numpy backend."""
        if self.backend == "numba" and self._compiled is None:
            neuron = self.neuron
            self._compiled = _compile_or_none(
                lambda: CompiledProgram(neuron.program, [t.entries for t in neuron.tables], neuron.constants,
                                        parallel=self.parallel, interpreter_seconds=self.interpreter_seconds,
                                        checks=neuron.shared_checks),
                "running the numpy interpreter")
            self.backend = "numba" if self._compiled is not None else "numpy"
        return self._compiled

    @property
    def n_state(self) -> int:
        """Rows of the state matrix (one per register)."""
        return len(self.neuron.program.registers)

    @property
    def n_counters(self) -> int:
        """Length of the overflow-count vector (one per operation)."""
        return len(self.neuron.program.ops)

    def initial_state(self, n_neurons: int) -> np.ndarray:
        """State matrix (n_state, N) at t = 0."""
        return np.repeat(self.neuron.initial[:, None], n_neurons, axis=1)

    def step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """Advance one step; return (new state, spiked (N,) bool, overflow counts per operation)."""
        inputs = _as_inputs(drive, len(self.neuron.program.ports)).astype(np.int64)
        state = np.asarray(state, dtype=np.int64)
        if self.compiled is not None:
            return self.compiled.step(state, inputs, step_index)
        return self.interpreter.step(state, inputs, step_index)

    def run(self, state: np.ndarray, drive: np.ndarray, step0: int = 0, record: bool = True):
        """Advance ``len(drive)`` steps (drive (T, N) for the first port, or (T, ports, N)).

        Returns (state after the last step, states after every step (T, n_state, N) or None,
        spikes (T, N), overflow counts per operation).
        """
        inputs = _as_run_inputs(drive)
        if self.compiled is not None:
            return self.compiled.run(np.asarray(state, dtype=np.int64), inputs, step0, record)
        return run_steps(self, state, inputs, step0, record)


@dataclass
class FloatStep:
    """One float64 step being computed over N neurons: the arrays each phase leaves for the next.

    ``state`` (n_state, N) is the state at the start of the step, ``new`` the state being
    updated (a copy), ``inputs`` (inputs, N) the drive in SI units, ``row`` the refractory
    bookkeeping after :class:`RefractoryStart` and ``not_refractory`` its flag (all set
    when the model has no refractoriness), ``spiked`` the spikes after :class:`Threshold`.
    """

    kernel: "FloatKernel"
    state: np.ndarray
    inputs: np.ndarray
    new: np.ndarray
    row: np.ndarray
    not_refractory: np.ndarray
    spiked: np.ndarray | None = None

    def values(self, name: str) -> np.ndarray:
        """Old value of state ``name`` (N,)."""
        return self.state[self.kernel.rows[name]]

    def monomial(self, monomial) -> np.ndarray | float:
        """``prod_j s_j ** p_j`` of the old state."""
        product = 1.0
        for name, power in monomial:
            product = product * self.values(name) ** power
        return product

    def terms(self, terms) -> np.ndarray:
        """``sum_k c_k(v) P_k`` over ``terms`` of the old state, in their order."""
        v = self.state[0]
        return sum((self.kernel.function(t.coefficient)(v) * self.monomial(t.monomial) for t in terms),
                   np.zeros_like(v))


def _float_refractory_start(step: FloatStep, phase: RefractoryStart) -> None:
    """``not_refractory = not_refractory or not condition(v)``, or ``n = min(n + 1, steps)``, ``n >= steps``."""
    if phase.condition is not None:
        step.row = np.where(phase.condition.holds(step.state[0]), step.row, 1.0)
        step.not_refractory = step.row != 0
        return
    step.row = np.minimum(step.row + 1, phase.steps)
    step.not_refractory = step.row >= phase.steps


def _float_gate(step: FloatStep, phase: GateUpdate) -> None:
    """``x' = x + (x_inf(v) - x) * rate(tau(v))`` (:func:`~.step_plan.gate_rate`)."""
    gate, kernel, v = phase.gate, step.kernel, step.state[0]
    x = step.values(gate.name)
    rate = gate_rate(kernel.function(gate.tau)(v), kernel.dt, phase.method)
    step.new[kernel.rows[gate.name]] = x + (kernel.function(gate.x_inf)(v) - x) * rate


def _float_state(step: FloatStep, phase: StateUpdate) -> None:
    """``X + dt f`` (Euler) or ``X + dt f exprel(A dt)`` (exponential Euler, Brian2's split)."""
    equation, dt = phase.equation, step.kernel.dt
    f = step.terms(equation.terms)
    for port, spec_input in phase.drives:
        f = f + spec_input.gain * step.inputs[port]
    change = dt * f * exprel(step.terms(equation.rate_terms) * dt) if phase.exponential else dt * f
    step.new[step.kernel.rows[equation.name]] = step.values(equation.name) + change


def _float_commit(step: FloatStep, phase: Commit) -> None:
    """Held states keep their old value while refractory."""
    for name in phase.held:
        row = step.kernel.rows[name]
        step.new[row] = np.where(step.not_refractory, step.new[row], step.state[row])


def _float_threshold(step: FloatStep, phase: Threshold) -> None:
    if phase.condition is None:  # no threshold: never spikes
        step.spiked = np.zeros(step.new[0].shape, dtype=bool)
        return
    step.spiked = phase.condition.holds(step.new[0]) & step.not_refractory


def _float_reset(step: FloatStep, phase: Reset) -> None:
    for statement in phase.statements:
        row = step.kernel.rows[statement.name]
        target = statement.value if statement.op == "=" else step.new[row] + statement.value
        step.new[row] = np.where(step.spiked, target, step.new[row])


def _float_refractory_end(step: FloatStep, phase: RefractoryEnd) -> None:
    step.new[-1] = np.where(step.spiked, 0, step.row)


#: How the numpy float kernel runs each phase of the step plan.
FLOAT_PHASES = {RefractoryStart: _float_refractory_start, GateUpdate: _float_gate, StateUpdate: _float_state,
                Commit: _float_commit, Threshold: _float_threshold, Reset: _float_reset,
                RefractoryEnd: _float_refractory_end}


class FloatKernel:
    """The same algorithm as :class:`FixedPointKernel` in float64, with exact functions.

    Both follow the neuron's :class:`~.step_plan.StepPlan`; here every table read is a
    function evaluation (the model functions' numpy implementations,
    :mod:`neuromorph.model.functions`), with no rounding or width. State rows: the spec's
    states, then the refractory bookkeeping (a ``not_refractory`` flag or steps since the
    last spike). Drive is the input in SI units. Lambdified functions and the compiled loop
    are built lazily and dropped when pickled, so the kernel can be sent to a Lava process.
    ``backend`` and ``parallel`` as for :class:`FixedPointKernel`; the numba loop
    (:mod:`.float_codegen`, generated from the same plan) agrees with the numpy one to rounding.
    """

    dtype = np.float64

    def __init__(self, spec: NeuronSpec, dt: float, initial: dict[str, float], method: str = "exponential_euler",
                 backend: str | None = None, parallel: bool = True, work: tuple[int, int] | None = None):
        self.spec, self.dt, self.method = spec, dt, method
        self.plan = step_plan(spec, dt, method)
        self.initial = np.array([initial[name] for name in spec.state_names], dtype=float)
        ref = spec.refractory
        self.refractory_condition = ref.condition if ref and ref.condition else None
        self.refractory_steps = refractory_steps(spec, dt)
        self.rows = {name: i for i, name in enumerate(spec.state_names)}
        self.backend, self.parallel = resolve_backend(backend), parallel
        self.interpreter_seconds = None if backend is not None or work is None else \
            float_interpreter_seconds(*work)
        self._functions: dict = {}
        self._loop = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_functions", "_loop")} | \
            {"_functions": {}, "_loop": None}

    @property
    def compiled(self) -> CompiledFloat | None:
        """The compiled loop (built on first use), or None for the numpy backend."""
        if self.backend == "numba" and self._loop is None:
            self._loop = _compile_or_none(
                lambda: CompiledFloat(self.plan, self.parallel, interpreter_seconds=self.interpreter_seconds),
                "running the float kernel in numpy")
            self.backend = "numba" if self._loop is not None else "numpy"
        return self._loop

    def run(self, state: np.ndarray, drive: np.ndarray, step0: int = 0, record: bool = True):
        """Advance ``len(drive)`` steps (drive (T, N) for the first input, or (T, inputs, N), SI units).

        Returns (state after the last step, states (T, n_state, N) or None, spikes (T, N), zeros(1)).
        """
        drive = np.asarray(drive, dtype=float)
        if self.compiled is None:
            return run_steps(self, state, drive, step0, record)
        inputs = drive[:, None, :] if drive.ndim == 2 else drive
        if inputs.shape[1] < len(self.spec.inputs):
            inputs = np.concatenate([inputs, np.zeros((inputs.shape[0], len(self.spec.inputs) - inputs.shape[1],
                                                       inputs.shape[2]))], axis=1)
        return self.compiled.run(state, inputs, step0, record)

    @property
    def n_state(self) -> int:
        """Rows of the state matrix."""
        return len(self.spec.state_names) + 1

    @property
    def n_counters(self) -> int:
        """The float kernel counts no overflows (a single zero counter)."""
        return 1

    def function(self, expr) -> Callable[[np.ndarray], np.ndarray]:
        """The numpy function of ``v`` (V) computing an IR expression, lambdified once per expression."""
        if expr not in self._functions:
            self._functions[expr] = compile_expression(expr)
        return self._functions[expr]

    def initial_state(self, n_neurons: int) -> np.ndarray:
        """State matrix (n_state, N) at t = 0."""
        state = np.empty((self.n_state, n_neurons))
        state[:-1] = self.initial[:, None]
        state[-1] = 1.0 if self.refractory_condition is not None else (self.refractory_steps or 0)
        return state

    def step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """Advance one step; return (new state, spiked (N,) bool, zeros). Compiled: on the calling thread."""
        if self.compiled is not None:
            drive = _as_inputs(np.asarray(drive, dtype=float), len(self.spec.inputs))
            new, _, spikes, counters = self.compiled.run(state, drive[None], step_index, False, threads=False)
            return new, spikes[0], counters
        return self.numpy_step(state, drive, step_index)

    def numpy_step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """The reference step in numpy, following the plan: (new state, spiked (N,) bool, zeros)."""
        state = np.asarray(state, dtype=float)
        step = FloatStep(kernel=self, state=state, inputs=_as_inputs(drive, len(self.spec.inputs)).astype(float),
                         new=state.copy(), row=state[-1], not_refractory=np.ones(state.shape[1], dtype=bool))
        follow(self.plan, FLOAT_PHASES, step, "float kernel")
        return step.new, step.spiked, np.zeros(1, dtype=np.int64)
