"""The per-time-step update of a lowered neuron, shared by every backend.

:class:`FixedPointKernel` runs the integer program (emulator and Lava ``fixed_pt``);
:class:`FloatKernel` runs the same algorithm in float64 with exact functions instead of
tables (float emulator and Lava ``floating_pt``), which separates algorithm error from
quantisation error. Both follow Brian2's order within a step: refractory bookkeeping
from the old voltage, state update from the old state (``(unless refractory)`` states
held), threshold on the new voltage (only when not refractory), then reset.

Each kernel has two backends: ``"numba"`` (a loop generated from the program or the
equations and compiled, :mod:`.compiled`; the default when numba is importable) and
``"numpy"`` (the readable reference: the numpy interpreter, the lambdified equations).
They agree bit for bit (integers) or to rounding (float). ``run`` advances many steps in
one call, ``step`` one.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..execution.loop import run_steps
from ..model.neuron_spec import NeuronSpec, StateEquation, compile_expression, exprel
from .compiled import (FLOAT_INTERPRETER_SECONDS, INTERPRETER_SECONDS, CompiledFloat, CompiledProgram,
                       NotWorthCompiling, UncompilableProgram, resolve_backend)
from .interpreter import Interpreter
from .lowering import gate_rate, refractory_steps
from .quantize import QuantizedNeuron


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
                                        parallel=self.parallel, interpreter_seconds=self.interpreter_seconds),
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


class FloatKernel:
    """The same algorithm as :class:`FixedPointKernel` in float64, with exact functions.

    State rows: the spec's states, then the refractory bookkeeping (a ``not_refractory``
    flag or steps since the last spike). Drive is the input in SI units. Lambdified
    functions and the compiled loop are built lazily and dropped when pickled, so the
    kernel can be sent to a Lava process. ``backend`` and ``parallel`` as for
    :class:`FixedPointKernel`; the numba loop (:mod:`.float_codegen`) agrees with the
    numpy one to rounding.
    """

    dtype = np.float64

    def __init__(self, spec: NeuronSpec, dt: float, initial: dict[str, float], method: str = "exponential_euler",
                 backend: str | None = None, parallel: bool = True, work: tuple[int, int] | None = None):
        self.spec, self.dt, self.method = spec, dt, method
        self.initial = np.array([initial[name] for name in spec.state_names], dtype=float)
        ref = spec.refractory
        self.refractory_condition = ref.condition if ref and ref.condition else None
        self.refractory_steps = refractory_steps(spec, dt)
        self.rows = {name: i for i, name in enumerate(spec.state_names)}
        self.backend, self.parallel = resolve_backend(backend), parallel
        self.interpreter_seconds = None if backend is not None or work is None else \
            float_interpreter_seconds(*work)
        self._functions = None
        self._loop = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_functions", "_loop")} | \
            {"_functions": None, "_loop": None}

    @property
    def compiled(self) -> CompiledFloat | None:
        """The compiled loop (built on first use), or None for the numpy backend."""
        if self.backend == "numba" and self._loop is None:
            self._loop = _compile_or_none(
                lambda: CompiledFloat(self.spec, self.dt, self.method, self.refractory_steps, self.parallel,
                                      interpreter_seconds=self.interpreter_seconds),
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

    def prepare(self, n_neurons: int) -> None:
        """Build the compiled loop (before Lava forks its processes, which inherit it)."""
        if self.compiled is not None:
            self.run(self.initial_state(n_neurons), np.zeros((1, n_neurons)), 0, False)

    @property
    def n_state(self) -> int:
        """Rows of the state matrix."""
        return len(self.spec.state_names) + 1

    @property
    def n_counters(self) -> int:
        """The float kernel counts no overflows (a single zero counter)."""
        return 1

    def _compiled(self):
        """numpy functions of v: (x_inf, tau) per gate; coefficients of each equation's terms and rate terms."""
        if self._functions is None:
            gates = [(compile_expression(g.x_inf), compile_expression(g.tau)) for g in self.spec.gates]
            equations = [([compile_expression(t.coefficient) for t in e.terms],
                          [compile_expression(t.coefficient) for t in e.rate_terms or ()])
                         for e in self.spec.equations_of]
            self._functions = (gates, equations)
        return self._functions

    def _monomial(self, state: np.ndarray, monomial) -> np.ndarray | float:
        product = 1.0
        for name, power in monomial:
            product = product * state[self.rows[name]] ** power
        return product

    def _update(self, equation: StateEquation, functions, state: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """``X + dt f`` (Euler) or ``X + dt f exprel(A dt)`` (exponential Euler, Brian2's split)."""
        v = state[0]
        coefficients, rates = functions
        f = sum((c(v) * self._monomial(state, t.monomial) for c, t in zip(coefficients, equation.terms)),
                np.zeros_like(v))
        for port, spec_input in enumerate(self.spec.inputs):
            if spec_input.state == equation.name:
                f = f + spec_input.gain * inputs[port]
        own = state[self.rows[equation.name]]
        if self.method == "euler":
            return own + self.dt * f
        rate = sum((d(v) * self._monomial(state, t.monomial) for d, t in zip(rates, equation.rate_terms)),
                   np.zeros_like(v))
        return own + self.dt * f * exprel(rate * self.dt)

    def initial_state(self, n_neurons: int) -> np.ndarray:
        """State matrix (n_state, N) at t = 0."""
        state = np.empty((self.n_state, n_neurons))
        state[:-1] = self.initial[:, None]
        state[-1] = 1.0 if self.refractory_condition is not None else (self.refractory_steps or 0)
        return state

    def _refractory_start(self, row: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.refractory_condition is not None:
            row = np.where(self.refractory_condition.holds(v), row, 1.0)
            return row, row != 0
        if self.refractory_steps is not None:
            row = np.minimum(row + 1, self.refractory_steps)
            return row, row >= self.refractory_steps
        return row, np.ones(v.shape, dtype=bool)

    def step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """Advance one step; return (new state, spiked (N,) bool, zeros). Compiled: on the calling thread."""
        if self.compiled is not None:
            drive = _as_inputs(np.asarray(drive, dtype=float), len(self.spec.inputs))
            new, _, spikes, counters = self.compiled.run(state, drive[None], step_index, False, threads=False)
            return new, spikes[0], counters
        return self.numpy_step(state, drive, step_index)

    def numpy_step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """The reference step in numpy (lambdified functions): (new state, spiked (N,) bool, zeros)."""
        spec, dt = self.spec, self.dt
        inputs = _as_inputs(drive, len(spec.inputs)).astype(float)
        v = state[0]
        row, not_refractory = self._refractory_start(state[-1], v)
        gates, equations = self._compiled()
        new = state.copy()
        for gate, (x_inf_of, tau_of) in zip(spec.gates, gates):
            x = state[self.rows[gate.name]]
            new[self.rows[gate.name]] = x + (x_inf_of(v) - x) * gate_rate(tau_of(v), dt, self.method)
        for equation, functions in zip(spec.equations_of, equations):
            new[self.rows[equation.name]] = self._update(equation, functions, state, inputs)
        held = [g.name for g in spec.gates if g.unless_refractory] + [e.name for e in spec.equations_of
                                                                      if e.unless_refractory]
        for name in held:
            new[self.rows[name]] = np.where(not_refractory, new[self.rows[name]], state[self.rows[name]])
        spiked = spec.threshold.holds(new[0]) & not_refractory
        new[-1] = np.where(spiked, 0, row)
        for statement in spec.reset:
            index = self.rows[statement.name]
            target = statement.value if statement.op == "=" else new[index] + statement.value
            new[index] = np.where(spiked, target, new[index])
        return new, spiked, np.zeros(1, dtype=np.int64)
