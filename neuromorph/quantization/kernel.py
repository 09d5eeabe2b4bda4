"""The per-time-step update of a lowered neuron, shared by every backend.

:class:`FixedPointKernel` is the integer update (emulator and Lava ``fixed_pt``);
:class:`FloatKernel` runs the same algorithm in float64 with exact functions instead of
tables (float emulator and Lava ``floating_pt``), which separates algorithm error from
quantisation error.

State matrix rows (register contents): ``0`` membrane potential, ``1..G`` gates (offset
binary, see :class:`~neuromorph.quantization.formats.FixedFormat`), ``G+1`` refractory bookkeeping
(``not_refractory`` flag for a refractory condition, steps since the last spike for a
refractory duration). The order of operations in a step follows Brian2: refractory
bookkeeping from the old voltage, state update from the old state, threshold on the new
voltage (only when not refractory), then reset.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.neuron_spec import NeuronSpec, compile_expression, exprel
from .fixed_point import NOISE_SOURCES, lut_lookup, saturate, shift_round
from .quantize import QuantizedNeuron, gate_rate

#: Steps-since-spike counters stop here (any refractory period is far shorter).
COUNTER_CAP = 1 << 20


class Rounder:
    """Rounds right shifts for one time step, giving each rounding site its own noise rows.

    Sites consume rows of the step's noise matrix in program order, which is the same on
    every backend because they all run this code.
    """

    def __init__(self, mode: str, noise: np.ndarray | None):
        self.mode, self.noise, self.cursor = mode, noise, 0

    def rows(self, count: int) -> np.ndarray | None:
        """The next ``count`` noise rows (None unless rounding is stochastic or dither)."""
        if self.noise is None:
            return None
        if self.cursor + count > self.noise.shape[0]:
            raise RuntimeError("more rounding sites than noise rows were allotted")
        rows = self.noise[self.cursor:self.cursor + count]
        self.cursor += count
        return rows

    def __call__(self, x: np.ndarray, shift: int) -> np.ndarray:
        noise = self.rows(1)
        return shift_round(x, shift, self.mode, None if noise is None else noise[0])


def _refractory_start(row: np.ndarray, v: np.ndarray, condition, steps) -> tuple[np.ndarray, np.ndarray]:
    """Brian2's start-of-step refractory bookkeeping; returns (new row, not_refractory)."""
    if condition is not None:
        bound, strict = condition
        holds = v > bound if strict else v >= bound
        row = np.where(holds, row, 1)
        return row, row.astype(bool)
    if steps is not None:
        row = np.minimum(row + 1, COUNTER_CAP)
        return row, row >= steps
    return row, np.ones(row.shape, dtype=bool)


@dataclass(frozen=True)
class FixedPointKernel:
    """Integer update of a :class:`QuantizedNeuron` (the arithmetic of :mod:`.fixed_point`)."""

    neuron: QuantizedNeuron
    dtype: type = np.int64

    @property
    def n_state(self) -> int:
        """Rows of the state matrix."""
        return len(self.neuron.gate_names) + 2

    def initial_state(self, n_neurons: int) -> np.ndarray:
        """State matrix (n_state, N) at t = 0: initial values, not refractory."""
        q = self.neuron
        state = np.empty((self.n_state, n_neurons), dtype=np.int64)
        state[:-1] = q.initial[:, None]
        state[-1] = 1 if q.refractory_condition is not None else COUNTER_CAP
        return state

    @property
    def rounding_sites(self) -> int:
        """Upper bound on the rounding operations in one step (rows of the noise matrix)."""
        q = self.neuron
        per_term = sum(len(t.gates) + 4 for t in q.terms)
        return 4 + 3 * len(q.gate_names) + per_term

    def _tables(self, tables: np.ndarray, x: np.ndarray, grid, rounder: Rounder) -> np.ndarray:
        noise = rounder.rows(tables.shape[0]) if grid.interpolate else None
        return lut_lookup(tables, x, grid.origin, grid.shift, grid.interpolate, rounder.mode, noise)

    def _gate_product(self, gates: np.ndarray, indices: tuple[int, ...], rounder: Rounder) -> np.ndarray:
        """``prod_j x_j`` with ``product_frac`` fractional bits."""
        q = self.neuron
        product = gates[indices[0]] << np.int64(q.product_frac - q.gate.frac_bits)
        for index in indices[1:]:
            product = rounder(product * gates[index], q.gate.frac_bits)
        return product

    def _voltage_change(self, v: np.ndarray, gates: np.ndarray, drive: np.ndarray, rounder: Rounder) -> np.ndarray:
        """``v' - v`` in v LSBs: ``dt * f`` (forward Euler) times ``phi(dt G/C)`` (exponential Euler).

        ``dt * f`` is summed in v LSBs with ``acc_frac`` extra bits; ``x = dt G/C`` in
        ``coef_frac`` bits from the slopes of the affine terms (each in its own format)
        times their gate products.
        """
        q = self.neuron
        total = np.asarray(drive, dtype=np.int64).copy()
        conductance = np.zeros_like(total)
        for term in q.terms:
            product = self._gate_product(gates, term.gates, rounder) if term.gates else None
            if term.table is None:
                coefficient = term.a + rounder(term.b * v, term.b_frac - q.acc_frac)
                if product is None:  # a constant: no rounding noise needed
                    conductance -= shift_round(term.b, term.b_frac - q.coef_frac, "nearest")
                else:
                    conductance -= rounder(term.b * product, term.b_frac - q.coef_frac + q.product_frac)
            else:
                coefficient = self._tables(term.table[None, :], v, q.grid, rounder)[0]
            if product is not None:
                coefficient = rounder(coefficient * product, q.product_frac)
            total += coefficient
        if q.phi_table is None:
            return rounder(total, q.acc_frac)
        phi = self._tables(q.phi_table, conductance, q.phi_grid, rounder)[0]
        return rounder(total * phi, q.acc_frac + q.gate.frac_bits)

    def step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """Advance one time step; return (new state, spiked (N,) bool, overflow counts per row)."""
        q = self.neuron
        v, gates, row = state[0], state[1:-1] + q.gate.offset, state[-1]
        row, not_refractory = _refractory_start(row, v, q.refractory_condition, q.refractory_steps)
        noise = None
        if q.config.rounding in NOISE_SOURCES:
            noise = NOISE_SOURCES[q.config.rounding](q.config.seed, step_index, self.rounding_sites, v.shape[0])
        rounder = Rounder(q.config.rounding, noise)
        x_inf = self._tables(q.x_inf_tables, v, q.grid, rounder)
        rate = self._tables(q.rate_tables, v, q.grid, rounder)
        new_gates = gates.copy()
        for i, fmt in enumerate(q.rates):
            new_gates[i] += rounder((x_inf[i] - gates[i]) * rate[i], fmt.frac_bits)
        new_v = v + self._voltage_change(v, gates, drive, rounder)
        new_v, v_overflow = saturate(new_v, q.voltage.bits, q.overflow)
        new_gates, gate_overflow = saturate(new_gates - q.gate.offset, q.gate.bits, q.overflow)
        spiked = (new_v > q.threshold if q.threshold_strict else new_v >= q.threshold) & not_refractory
        new_state = np.empty_like(state)
        new_state[0], new_state[1:-1] = new_v, new_gates
        new_state[-1] = np.where(spiked, 0, row)
        for index, value in q.reset:
            new_state[index] = np.where(spiked, value, new_state[index])
        overflow = np.concatenate([[v_overflow], np.atleast_1d(gate_overflow), [0]]).astype(np.int64)
        return new_state, spiked, overflow


class FloatKernel:
    """The same algorithm as :class:`FixedPointKernel` in float64, with exact functions.

    Drive is the input current density (A/m^2). Lambdified functions are built lazily
    and dropped when pickled, so the kernel can be sent to a Lava process.
    """

    dtype = np.float64

    def __init__(self, spec: NeuronSpec, dt: float, initial: dict[str, float],
                 method: str = "exponential_euler"):
        self.spec = spec
        self.dt = dt
        self.method = method
        self.initial = np.array([initial[name] for name in spec.state_names], dtype=float)
        ref = spec.refractory
        self.refractory_condition = (ref.condition.value, ref.condition.op == ">") if ref and ref.condition else None
        self.refractory_steps = int(ref.duration / dt + 1e-3) if ref and ref.duration is not None else None
        self._functions = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_functions"} | {"_functions": None}

    def _compiled(self):
        """(x_inf, tau) per gate and the coefficient of each membrane term, as numpy functions."""
        if self._functions is None:
            gates = [(compile_expression(g.x_inf), compile_expression(g.tau)) for g in self.spec.gates]
            terms = [(compile_expression(t.coefficient), [(self.spec.gate_index(n), p) for n, p in t.gate_powers])
                     for t in self.spec.terms]
            self._functions = (gates, terms)
        return self._functions

    def _voltage_change(self, v: np.ndarray, gates: np.ndarray, drive: np.ndarray) -> np.ndarray:
        """``v' - v = dt * f * phi(dt G/C)``, as in :meth:`FixedPointKernel._voltage_change`."""
        total = self.spec.input_gain * np.asarray(drive, dtype=float)
        conductance = np.zeros_like(total)
        for (coefficient, powers), term in zip(self._compiled()[1], self.spec.terms):
            product = np.ones_like(v)
            for index, power in powers:
                product = product * gates[index] ** power
            total = total + coefficient(v) * product
            if term.affine is not None:
                conductance = conductance - term.affine[1] * product
        if self.method == "euler":
            return self.dt * total
        return self.dt * total * exprel(-self.dt * conductance)

    @property
    def n_state(self) -> int:
        """Rows of the state matrix."""
        return len(self.spec.gates) + 2

    def initial_state(self, n_neurons: int) -> np.ndarray:
        """State matrix (n_state, N) at t = 0."""
        state = np.empty((self.n_state, n_neurons))
        state[:-1] = self.initial[:, None]
        state[-1] = 1.0 if self.refractory_condition is not None else COUNTER_CAP
        return state

    def step(self, state: np.ndarray, drive: np.ndarray, step_index: int):
        """Advance one time step; return (new state, spiked (N,) bool, zeros)."""
        spec, dt = self.spec, self.dt
        v, gates, row = state[0], state[1:-1], state[-1]
        row, not_refractory = _refractory_start(row, v, self.refractory_condition, self.refractory_steps)
        new_state = np.empty_like(state)
        for i, (x_inf_of, tau_of) in enumerate(self._compiled()[0]):
            x_inf = x_inf_of(v)
            new_state[1 + i] = gates[i] + (x_inf - gates[i]) * gate_rate(tau_of(v), dt, self.method)
        new_v = v + self._voltage_change(v, gates, drive)
        spiked = spec.threshold.holds(new_v) & not_refractory
        new_state[0] = new_v
        new_state[-1] = np.where(spiked, 0, row)
        for name, value in spec.reset:
            index = spec.state_names.index(name)
            new_state[index] = np.where(spiked, value, new_state[index])
        return new_state, spiked, np.zeros(self.n_state, dtype=np.int64)
