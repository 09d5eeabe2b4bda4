"""Populations whose neuron is Lava's LIF: recognise them and convert them to Lava's ``LIF`` process.

Lava's fixed-point ``LIF`` (``lava.proc.lif``, ``PyLifModelBitAcc``) is the neuron that runs on
Loihi 2. A population goes to it when its neuron *is* that neuron (:func:`match_lif`):

* a synaptic current ``I`` (any name) with ``dI/dt = -I / tau_I``, changed only by
  projections (``I += w``);
* a membrane ``dv/dt = a v + c I + b`` with constants ``a <= 0`` (a leak, ``a = -1/tau_v``),
  ``c != 0`` and ``b`` (rest, bias; per-neuron drive parameters entering ``dv/dt`` add to it);
* threshold ``v > v_th``, reset ``v = v_reset`` (below ``v_th``), no refractory period (Lava
  0.10's ``LIFRefractory`` has no fixed-point model), no other state.

**The step maps exactly.** Brian2 applies a spike's ``I += w`` after the threshold of step
``n``, so the integration of step ``n + 1`` starts from the new ``I``; Lava adds ``a_in`` of
step ``n + 1`` (the synapse's one-step latency) to ``u`` and lets that ``u`` enter ``v`` in the
same step. With ``u[n] <-> I(t_n)`` (after the jump) and ``v[n] <-> v(t_{n+1})`` (after the
integration of step ``n``, where Brian2 tests its threshold), Lava's update

    u[n] = (1 - du') u[n-1] + a_in[n] << 6,    v[n] = (1 - dv') v[n-1] + u[n] + bias

is each of Brian2's linear schemes for ``v(t_{n+1}) = alpha v(t_n) + K c I(t_n) + h B`` and
``I(t_{n+1}) = beta I(t_n)``, with (:data:`DISCRETISATIONS`; ``lambda = 1/tau_I``):

=================  ===============  ====================  ===================================  ===================
method             ``alpha``        ``beta``              ``K`` (s)                            ``h`` (s)
=================  ===============  ====================  ===================================  ===================
exact, linear      ``exp(a dt)``    ``exp(-lambda dt)``   ``alpha dt exprel(-(a+lambda) dt)``  ``dt exprel(a dt)``
exponential_euler  ``exp(a dt)``    ``exp(-lambda dt)``   ``dt exprel(a dt)`` (``I`` held)     ``dt exprel(a dt)``
euler              ``1 + a dt``     ``1 - lambda dt``     ``dt``                               ``dt``
=================  ===============  ====================  ===================================  ===================

so ``u`` holds ``K c I / v_lsb`` and the bias is ``h B' / v_lsb`` per step, ``B' = b + a v_reset``
(Lava resets ``v`` to 0: the voltage origin moves to ``v_reset`` and the rest goes into the
bias). Spikes fall in the same step as in Brian2. The float form of this mapping reproduces
Brian2's ``exact`` run to rounding error (``tests/test_network_lif_population.py``): there is
no latency to compensate.

**What is quantised** (:func:`convert_lif`): the decays, ``du = round(4096 (1 - beta)) - 1``
(Lava adds a hidden ``+1``) and ``dv = round(4096 (1 - alpha))``, so ``tau`` changes by up to
half a 12-bit step (``tau_v = 20 ms`` at ``dt = 0.1 ms``: ``dv = 20`` for ``20.43``, ``tau_v``
2.1 % long); the voltage (24 bits, LSB ``v_lsb`` chosen so that ``headroom`` times the largest
of threshold, profiled voltage range and per-step current fits, with the threshold exact:
``v_th - v_reset = (vth << 6) v_lsb``); the bias (13-bit mantissa, exponent 0..7); the
weights (8-bit mantissa and exponent, in units of ``2**6`` LSB of ``u``: Lava shifts ``a_in``
left by 6). Lava rounds its decays toward zero (negligible at 22-bit resolution).

**What is compensated** (:data:`COMPENSATIONS`, :class:`LifOptions`): a constant bias reaches
the steady state ``h B / (1 - alpha)`` in Brian2 and ``bias / (1 - alpha_q)`` in Lava, so the
bias is scaled by ``(1 - alpha_q)/(1 - alpha)`` (``"mean"`` and ``"moments"``). By Campbell's
theorem, Poisson input gives the free membrane potential the mean ``nu w S1`` and the variance
``nu w^2 S2`` of the PSP sums (:func:`psp_sums`). ``"mean"`` scales ``u`` so that ``S1`` is
Brian2's (the mean voltage for any input); ``"moments"`` (default) also picks ``du`` among all
4096 values so that, with ``S1`` matched, ``S2`` is nearest Brian2's: mean and variance of the
free membrane potential are Brian2's for any Poisson input, at the price of a different ``tau_I``
(``lif_net``: ``du`` 88 for 80, ``tau_I`` 9 % short, offsetting ``tau_v`` 2.15 % long).
Not compensated: the shape of the PSP (the time constants themselves), weight and bias rounding.
Measured on ``lif_net`` (1 s, seeds 1-3; rate error against Brian2 / mean per-neuron Gamma at
2 ms): ``none`` +2.3..+2.5 % / 0.900-0.915, ``mean`` -2.0..-2.5 % / 0.908-0.929, ``moments``
-0.7..-1.4 % / 0.922-0.941. The same network with Brian2's exact decays and everything else
quantised (a float experiment, seed 1, with and without the recurrent projection) reaches
Gamma 0.993-0.995: the 12-bit ``dv`` is what limits the fidelity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..errors import InputError
from ..model.neuron_spec import NeuronSpec, exprel
from .lava_lif import (LIF_ACT_SHIFT, LIF_DECAY_SHIFT, LIF_DS_OFFSET, LIF_UV_BITS, LIF_VTH_SHIFT, LavaLif,
                       lava_lif)
from .lava_semantics import LAVA_MAX_WEIGHT_BITS

#: Population kinds chosen by ``lower_network(lif=...)``.
LIF_MODES = ("auto", "never", "require")
#: Largest magnitude of Lava's 24-bit ``v`` (it clips to ``+-(2**23 - 1)``, lif/models.py:176-186).
V_LIMIT = (1 << (LIF_UV_BITS - 1)) - 1
#: Declared widths of Lava's LIF bias (lif/models.py:84-85): 13-bit signed mantissa, 3-bit exponent.
BIAS_MANTISSA_BITS = 13
BIAS_EXPONENT_MAX = 7
DECAY_ONE = 1 << LIF_DECAY_SHIFT


@dataclass(frozen=True)
class LifMatch:
    """A neuron that is Lava's LIF, in its own units (SI).

    ``dv/dt = leak * v + gain * I + bias`` (``bias`` per neuron, V/s), ``dI/dt = -decay * I``;
    spike when ``v > threshold`` (``>=`` when ``inclusive``), then ``v = reset``.
    """

    voltage: str
    current: str
    leak: float
    gain: float
    decay: float
    bias: np.ndarray
    threshold: float
    reset: float
    method: str
    inclusive: bool = False


@dataclass(frozen=True)
class LifDecision:
    """Whether a population goes to Lava's LIF: ``code`` ``"lif"``, or the refusal's code and reason."""

    code: str
    reason: str
    match: LifMatch | None = None

    @property
    def is_lif(self) -> bool:
        return self.match is not None


@dataclass(frozen=True)
class Discretisation:
    """One Brian2 step of the LIF: ``v' = alpha v + K c I + h B``, ``I' = beta I`` (see the module docstring)."""

    alpha: float
    beta: float
    current_step: float
    bias_step: float


def _exact(leak: float, decay: float, dt: float) -> Discretisation:
    alpha = float(np.exp(leak * dt))
    return Discretisation(alpha=alpha, beta=float(np.exp(-decay * dt)),
                          current_step=float(alpha * dt * exprel(-(leak + decay) * dt)),
                          bias_step=float(dt * exprel(leak * dt)))


def _exponential_euler(leak: float, decay: float, dt: float) -> Discretisation:
    step = float(dt * exprel(leak * dt))
    return Discretisation(alpha=float(np.exp(leak * dt)), beta=float(np.exp(-decay * dt)), current_step=step,
                          bias_step=step)


def _euler(leak: float, decay: float, dt: float) -> Discretisation:
    return Discretisation(alpha=1.0 + leak * dt, beta=1.0 - decay * dt, current_step=dt, bias_step=dt)


#: Brian2 method -> the LIF step it takes (``linear`` is Brian2's alias of ``exact``).
DISCRETISATIONS: Mapping[str, Callable[[float, float, float], Discretisation]] = {
    "exact": _exact, "linear": _exact, "exponential_euler": _exponential_euler, "euler": _euler}


# ----------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Candidate:
    """What the checks look at."""

    spec: NeuronSpec
    method: str
    incremented: frozenset


def _check_method(c: _Candidate) -> str | None:
    if c.method not in DISCRETISATIONS:
        return f"Brian2 method {c.method!r} has no exact LIF step; supported: {sorted(DISCRETISATIONS)}"
    return None


def _check_refractory(c: _Candidate) -> str | None:
    refractory = c.spec.refractory
    if refractory is None or (refractory.condition is None and refractory.duration == 0.0):
        return None
    return (f"refractory period '{refractory.text}': Lava 0.10's LIFRefractory has no fixed-point model "
            "(lava/proc/lif/models.py:452-454)")


def _check_gates(c: _Candidate) -> str | None:
    if c.spec.gates:
        return f"gating variables {[g.name for g in c.spec.gates]}: Lava's LIF has only u and v"
    return None


def _check_states(c: _Candidate) -> str | None:
    names = [s.name for s in c.spec.linear_states]
    if len(names) != 1:
        return (f"{len(names)} states besides the voltage ({names}); Lava's LIF has exactly one, "
                "the synaptic current u")
    return None


def _current_decay(c: _Candidate) -> float | None:
    """``lambda`` of ``dI/dt = -lambda I`` with ``lambda > 0``, else None."""
    equation = c.spec.linear_states[0]
    terms = equation.terms
    if len(terms) != 1 or terms[0].monomial != ((equation.name, 1),) or terms[0].constant is None:
        return None
    return -terms[0].constant if terms[0].constant < 0 else None


def _check_current(c: _Candidate) -> str | None:
    equation = c.spec.linear_states[0]
    if _current_decay(c) is None:
        return f"'{equation.equation}' is not dI/dt = -I/tau_I with a constant tau_I > 0 (Lava's u decays so)"
    if any(i.state == equation.name for i in c.spec.inputs):
        return f"a per-neuron drive enters '{equation.equation}'; Lava's u has no bias"
    return None


def _membrane_terms(c: _Candidate) -> tuple[float, float, float] | None:
    """``(leak, gain, b)`` of ``dv/dt = leak v + gain I + b`` with constants, else None."""
    current = c.spec.linear_states[0].name
    leak = gain = b = 0.0
    for term in c.spec.voltage_equation.terms:
        if term.monomial == () and term.affine is not None:
            b, leak = b + term.affine[0], leak + term.affine[1]
        elif term.monomial == ((current, 1),) and term.constant is not None:
            gain += term.constant
        else:
            return None
    return leak, gain, b


def _check_membrane(c: _Candidate) -> str | None:
    equation = c.spec.voltage_equation.equation
    parts = _membrane_terms(c)
    if parts is None:
        return (f"'{equation}' is not dv/dt = a v + c I + b with constants (a conductance, a voltage-dependent "
                "term or a product of states); Lava's v is linear")
    leak, gain, _ = parts
    if leak > 0 or gain == 0:
        return f"'{equation}': needs a leak a <= 0 and a current gain c != 0, got a = {leak:g}/s, c = {gain:g}"
    if any(i.state != c.spec.voltage for i in c.spec.inputs):
        return "a per-neuron drive enters an equation other than the voltage's"
    return None


def _check_reset(c: _Candidate) -> str | None:
    if c.spec.threshold is None:
        return "no threshold (the neuron never spikes); Lava's LIF always has one"
    reset = c.spec.reset
    if len(reset) != 1 or reset[0].name != c.spec.voltage or reset[0].op != "=":
        text = "; ".join(r.text for r in reset) or "none"
        return f"reset '{text}': Lava's LIF only sets {c.spec.voltage} = constant (and leaves u)"
    if not reset[0].value < c.spec.threshold.value:
        return f"reset {reset[0].value:g} V is not below the threshold {c.spec.threshold.value:g} V"
    return None


def _check_projections(c: _Candidate) -> str | None:
    current = c.spec.linear_states[0].name
    others = sorted(c.incremented - {current})
    if others:
        return f"projections change {others}; Lava's LIF takes input only into its current u ('{current}')"
    return None


#: The checks in order: code -> check (None when it passes, else the reason).
LIF_CHECKS: Mapping[str, Callable[[_Candidate], str | None]] = {
    "method": _check_method, "refractory": _check_refractory, "gates": _check_gates, "states": _check_states,
    "current": _check_current, "membrane": _check_membrane, "reset": _check_reset,
    "projections": _check_projections}


def target_refusal(target) -> str | None:
    """Why ``target`` does not run Lava's LIF (its datapath is not Lava's LIF's), or None.

    Lava's LIF needs 24-bit state (``state_bits``), ``v`` saturating and ``u`` wrapping
    (``overflow.voltage``, ``overflow.linear``), decays rounded ``toward_zero`` and 8-bit weights.
    """
    wanted = {"datapath.state_bits": (target.state_bits, LIF_UV_BITS),
              "overflow.voltage": (target.overflow_voltage, "saturate"),
              "overflow.linear": (target.overflow_linear, "wrap"),
              "network.weight_bits": (target.weight_bits, LAVA_MAX_WEIGHT_BITS)}
    wrong = [f"{key} = {have!r} (Lava's LIF: {need!r})" for key, (have, need) in wanted.items() if have != need]
    if "toward_zero" not in target.rounding_modes:
        wrong.append("datapath.rounding_modes lacks 'toward_zero' (Lava's LIF decays)")
    return f"target {target.name} does not hold Lava's LIF: {', '.join(wrong)}" if wrong else None


def match_lif(spec: NeuronSpec, drives: Mapping[str, np.ndarray], *, method: str, incremented=(),
              size: int = 1) -> LifDecision:
    """Decide whether a neuron is Lava's LIF (module docstring); the first failing check names why not.

    Parameters
    ----------
    spec : NeuronSpec
        The population's neuron (:func:`neuromorph.network.lower.population_spec`).
    drives : mapping of str to ndarray
        Per-neuron values (SI) of the spec's inputs (constant drives such as a bias current).
    method : str
        The Brian2 integration method of the reference.
    incremented : iterable of str
        Variables that projections change.
    size : int
        Number of neurons.
    """
    candidate = _Candidate(spec=spec, method=method, incremented=frozenset(incremented))
    for code, check in LIF_CHECKS.items():
        reason = check(candidate)
        if reason is not None:
            return LifDecision(code=code, reason=reason)
    leak, gain, b = _membrane_terms(candidate)
    bias = np.full(size, b, dtype=float)
    for item in spec.inputs:
        bias = bias + item.gain * np.broadcast_to(np.asarray(drives[item.name], dtype=float), (size,))
    match = LifMatch(voltage=spec.voltage, current=spec.linear_states[0].name, leak=leak, gain=gain,
                     decay=_current_decay(candidate), bias=bias, threshold=spec.threshold.value,
                     reset=spec.reset[0].value, method=method, inclusive=spec.threshold.op == ">=")
    return LifDecision(code="lif", reason="matches Lava's LIF", match=match)


def decide(spec: NeuronSpec, drives: Mapping[str, np.ndarray], *, method: str, incremented, size: int, target,
           mode: str = "auto", name: str = "population") -> LifDecision:
    """The kind of a population: Lava's LIF when it matches and ``target`` runs Lava's LIF (``mode="auto"``).

    ``mode="never"`` keeps the lowered program; ``mode="require"`` raises
    :class:`~neuromorph.errors.InputError` with the reason when the population cannot be Lava's LIF.
    """
    if mode not in LIF_MODES:
        raise InputError(f"must be one of {list(LIF_MODES)}, got {mode!r}", "lower_network", "lif")
    if mode == "never":
        return LifDecision(code="never", reason="lif='never' asks for the lowered program")
    if spec.per_neuron:
        decision = LifDecision(code="per_neuron", reason=f"the per-neuron parameters {list(spec.per_neuron)} (Lava's "
                               "LIF has one du, dv and vth per process)")
    else:
        decision = match_lif(spec, drives, method=method, incremented=incremented, size=size)
    refusal = target_refusal(target)
    if decision.is_lif and refusal is not None:
        decision = LifDecision(code="target", reason=refusal)
    if mode == "require" and not decision.is_lif:
        raise InputError(f"cannot be Lava's LIF ({decision.code}): {decision.reason}", f"population {name!r}", "lif")
    return decision


# --------------------------------------------------------------------------------------------- conversion


@dataclass(frozen=True)
class LifProfile:
    """Ranges (SI) the conversion must hold: the voltage's and the largest ``|I|``."""

    v_min: float
    v_max: float
    current_max: float

    @classmethod
    def from_states(cls, v: np.ndarray, current: np.ndarray) -> "LifProfile":
        """From sampled voltages and currents (any shape, not empty)."""
        v, current = np.asarray(v, dtype=float), np.asarray(current, dtype=float)
        return cls(v_min=float(v.min()), v_max=float(v.max()), current_max=float(np.abs(current).max()))


def psp_sums(alpha: float, beta) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares over steps of the voltage kernel ``k_n = sum_{j<=n} alpha^(n-j) beta^j``.

    ``k`` is the voltage after step ``n`` per unit of current that jumped in at step 0 (the
    PSP of Lava's LIF, and of Brian2's discrete step, up to the factor ``K c``):
    ``S1 = 1/((1 - alpha)(1 - beta))``, ``S2 = [alpha^2/(1 - alpha^2) - 2 alpha beta/(1 - alpha beta)
    + beta^2/(1 - beta^2)] / (alpha - beta)^2`` (``(1 + a^2)/(1 - a^2)^3`` when ``alpha = beta = a``).
    By Campbell's theorem, Poisson input of rate ``nu`` through weight ``w`` gives the free
    membrane potential the mean ``nu w S1`` and the variance ``nu w^2 S2`` (per step).
    """
    beta = np.asarray(beta, dtype=float)
    s1 = 1.0 / ((1.0 - alpha) * (1.0 - beta))
    close = np.abs(alpha - beta) < 1e-9
    gap = np.where(close, 1.0, alpha - beta)
    s2 = alpha ** 2 / (1 - alpha ** 2) - 2 * alpha * beta / (1 - alpha * beta) + beta ** 2 / (1 - beta ** 2)
    s2 = s2 / gap ** 2
    s2 = np.where(close, (1 + alpha ** 2) / (1 - alpha ** 2) ** 3, s2)
    return s1, s2


@dataclass(frozen=True)
class Compensation:
    """The current decay ``du`` used, and the gains applied to the bias and to ``u``'s scale."""

    du: int
    bias_gain: float
    current_gain: float


def _no_compensation(d: Discretisation, du: int, dv: int) -> Compensation:
    return Compensation(du=du, bias_gain=1.0, current_gain=1.0)


def _bias_gain(d: Discretisation, dv: int) -> float:
    """Steady state of a constant bias: ``h B / (1 - alpha)`` in Brian2, ``bias / (1 - alpha_q)`` in Lava."""
    return (dv / DECAY_ONE) / (1.0 - d.alpha) if d.alpha < 1.0 else 1.0


def _quantised_beta(du) -> np.ndarray:
    return 1.0 - (np.asarray(du) + LIF_DS_OFFSET) / DECAY_ONE


def _mean_compensation(d: Discretisation, du: int, dv: int) -> Compensation:
    """The mean voltage for any input: bias steady state and PSP sum ``S1`` as Brian2's.

    ``S1 / S1_q = (1 - alpha_q)(1 - beta_q) / ((1 - alpha)(1 - beta))`` (:func:`psp_sums`; the
    first factor is 1 without a leak, where ``dv = 0`` is exact).
    """
    beta_q = float(_quantised_beta(du))
    gain = _bias_gain(d, dv) * (1.0 - beta_q) / (1.0 - d.beta)
    return Compensation(du=du, bias_gain=_bias_gain(d, dv), current_gain=gain)


def _moment_compensation(d: Discretisation, du: int, dv: int) -> Compensation:
    """Mean and variance for Poisson input (:func:`psp_sums`): ``du`` from all 4096 values so that,
    with the gain matching ``S1``, ``gain^2 S2`` is nearest Brian2's ``S2`` (ties: nearest the plain ``du``)."""
    alpha_q = 1.0 - dv / DECAY_ONE
    if alpha_q >= 1.0 or d.alpha >= 1.0:
        return _mean_compensation(d, du, dv)
    s1, s2 = psp_sums(d.alpha, d.beta)
    candidates = np.arange(DECAY_ONE - LIF_DS_OFFSET)
    q1, q2 = psp_sums(alpha_q, _quantised_beta(candidates))
    gains = s1 / q1
    error = np.abs(np.log(gains ** 2 * q2 / s2))
    best = int(candidates[np.lexsort((np.abs(candidates - du), np.round(error, 12)))[0]])
    return Compensation(du=best, bias_gain=_bias_gain(d, dv), current_gain=float(gains[best]))


#: How the gains (and ``du``) compensate the quantised decays (module docstring).
COMPENSATIONS: Mapping[str, Callable[[Discretisation, int, int], Compensation]] = {
    "none": _no_compensation, "mean": _mean_compensation, "moments": _moment_compensation}


@dataclass(frozen=True)
class LifOptions:
    """``headroom``: factor between the largest value to hold and Lava's 24-bit limit (>= 1);
    ``compensation``: one of :data:`COMPENSATIONS` (module docstring)."""

    headroom: float = 2.0
    compensation: str = "moments"

    def __post_init__(self):
        if self.compensation not in COMPENSATIONS:
            raise InputError(f"must be one of {sorted(COMPENSATIONS)}, got {self.compensation!r}", "LifOptions",
                             "compensation")
        if not (np.isfinite(self.headroom) and self.headroom >= 1.0):
            raise InputError(f"must be a number >= 1, got {self.headroom!r}", "LifOptions", "headroom")


@dataclass(frozen=True, eq=False)
class LifConversion:
    """A population as Lava's LIF, and how its integers relate to the neuron's SI values.

    ``v = v_origin + v_lif * v_lsb`` (V; Lava's ``v`` after step ``n`` is Brian2's ``v`` at
    ``t_{n+1}``), ``I = u / u_scale`` (Lava's ``u`` after step ``n`` is ``I`` at ``t_n``);
    a weight ``w`` (SI units of ``I``) is ``w * input_scale`` units of ``a_in``.

    Attributes
    ----------
    lava : LavaLif
        The process parameters and initial ``u``, ``v``.
    match : LifMatch
        The neuron it came from.
    discretisation : Discretisation
        Brian2's step (float), which the integers approximate.
    v_lsb, v_origin, u_scale, input_scale : float
        Scales (see above).
    alpha_q, beta_q : float
        Lava's effective decay factors ``1 - dv/4096`` and ``1 - (du + 1)/4096``.
    bias_gain, current_gain : float
        Compensation factors applied to the bias and to ``u``'s scale (1 without compensation).
    compensation : str
        Which compensation was applied (:data:`COMPENSATIONS`).
    """

    lava: LavaLif
    match: LifMatch
    discretisation: Discretisation
    v_lsb: float
    v_origin: float
    u_scale: float
    input_scale: float
    alpha_q: float
    beta_q: float
    bias_gain: float
    current_gain: float
    compensation: str

    def tau_error(self) -> dict[str, float]:
        """Relative error of Lava's effective time constants against Brian2's step (``tau_q / tau - 1``)."""
        d = self.discretisation
        return {"v": _ratio_of_logs(d.alpha, self.alpha_q), "current": _ratio_of_logs(d.beta, self.beta_q)}

    def state_si(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(I, v)`` in SI units from Lava's integers ``u``, ``v``."""
        return np.asarray(u) / self.u_scale, self.v_origin + np.asarray(v) * self.v_lsb


def _ratio_of_logs(exact: float, quantised: float) -> float:
    if exact >= 1.0 or quantised >= 1.0:
        return 0.0 if exact == quantised else float("inf")
    return float(np.log(exact) / np.log(quantised) - 1.0)


def lif_decays(d: Discretisation, source: str) -> tuple[int, int]:
    """Lava's ``du`` (hidden ``+1`` taken off) and ``dv`` nearest Brian2's decays; refuse what 12 bits cannot hold."""
    du = int(round(DECAY_ONE * (1.0 - d.beta))) - LIF_DS_OFFSET
    dv = int(round(DECAY_ONE * (1.0 - d.alpha)))
    if not 0 <= du < DECAY_ONE:
        raise InputError(f"the current's decay per step 1 - beta = {1 - d.beta:.3g} needs du = {du}; Lava holds "
                         f"0..4095 with a hidden +1 (tau_I between about 1/4096 and 8192 steps)", source, "tau_I")
    if not 0 <= dv < DECAY_ONE or (dv == 0 and d.alpha < 1.0):
        raise InputError(f"the membrane's decay per step 1 - alpha = {1 - d.alpha:.3g} rounds to dv = {dv}; Lava "
                         "holds 1..4095 for a leak (tau_v at most about 8192 steps)", source, "tau_v")
    return du, dv


def bias_parts(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mantissa, exponent)`` per neuron with ``mantissa << exponent`` nearest to ``bias`` (LSB/step).

    The smallest exponent in ``0..7`` whose rounded mantissa fits 13 signed bits (Lava's
    declared ``bias_mant`` width); a negative exponent would floor away the fraction anyway.
    """
    bias = np.asarray(bias, dtype=float)
    top = (1 << (BIAS_MANTISSA_BITS - 1)) - 1
    exponent = np.zeros(bias.shape, dtype=np.int64)
    for e in range(BIAS_EXPONENT_MAX, -1, -1):
        exponent = np.where(np.abs(np.rint(bias / 2.0 ** e)) <= top, e, exponent)
    mantissa = np.rint(bias / 2.0 ** exponent).astype(np.int64)
    return mantissa, exponent


def voltage_lsb(threshold: float, needed: float, bias_max: float) -> tuple[float, int]:
    """The LSB of ``v`` (V) and ``vth`` such that ``threshold = (vth << 6) * lsb`` exactly.

    ``vth`` is the largest integer with ``needed`` volts (headroom included) within Lava's
    24-bit ``v`` and the largest bias per step (``bias_max`` V) within 13 bits << 7.
    """
    vth = int(np.floor(V_LIMIT / (1 << LIF_VTH_SHIFT) * threshold / needed))
    if bias_max > 0:
        most = ((1 << (BIAS_MANTISSA_BITS - 1)) - 1) * 2.0 ** BIAS_EXPONENT_MAX
        vth = min(vth, int(np.floor(most * threshold / (bias_max * (1 << LIF_VTH_SHIFT)))))
    return threshold / (vth << LIF_VTH_SHIFT) if vth >= 1 else float("nan"), vth


def convert_lif(match: LifMatch, dt: float, profile: LifProfile, initial: Mapping[str, np.ndarray],
                options: LifOptions = LifOptions(), name: str = "lif") -> LifConversion:
    """Lava ``LIF`` parameters for ``match`` at step ``dt`` (module docstring).

    ``initial`` holds the per-neuron initial ``v`` and ``I`` (SI) under their names.
    """
    source = f"population {name!r} as Lava's LIF"
    d = DISCRETISATIONS[match.method](match.leak, match.decay, dt)
    du, dv = lif_decays(d, source)
    compensation = COMPENSATIONS[options.compensation](d, du, dv)
    du, bias_gain, current_gain = compensation.du, compensation.bias_gain, compensation.current_gain
    alpha_q, beta_q = 1.0 - dv / DECAY_ONE, float(_quantised_beta(du))
    bias_volts = d.bias_step * (match.bias + match.leak * match.reset) * bias_gain
    current_volts = d.current_step * match.gain * current_gain  # volts per step per unit of I
    threshold = match.threshold - match.reset
    span = max(threshold, abs(profile.v_min - match.reset), abs(profile.v_max - match.reset),
               abs(current_volts) * profile.current_max,
               float(np.abs(np.asarray(initial[match.voltage]) - match.reset).max(initial=0.0)))
    lsb, vth = voltage_lsb(threshold, options.headroom * span, float(np.abs(bias_volts).max(initial=0.0)))
    if vth < 1:
        raise InputError(f"threshold {threshold:g} V above reset cannot be resolved within Lava's 24-bit v "
                         f"(range to hold {span:g} V, headroom {options.headroom:g})", source, "threshold")
    u_scale = current_volts / lsb
    mantissa, exponent = bias_parts(bias_volts / lsb)
    size = match.bias.size
    v0 = np.rint((np.broadcast_to(initial[match.voltage], (size,)) - match.reset) / lsb)
    u0 = np.rint(np.broadcast_to(initial[match.current], (size,)) * u_scale / beta_q)
    lava = lava_lif(size, du=du, dv=dv, vth=vth, bias_mant=mantissa, bias_exp=exponent, u=u0, v=v0, name=name)
    return LifConversion(lava=lava, match=match, discretisation=d, v_lsb=lsb, v_origin=match.reset,
                         u_scale=u_scale, input_scale=u_scale / (1 << LIF_ACT_SHIFT), alpha_q=alpha_q,
                         beta_q=beta_q, bias_gain=bias_gain, current_gain=current_gain,
                         compensation=options.compensation)


def describe(conversion: LifConversion) -> str:
    """One line for people: decays, effective time constants, scales, compensation."""
    lava, errors = conversion.lava, conversion.tau_error()
    return (f"Lava LIF: du {lava.du}, dv {lava.dv} (tau_I {errors['current']:+.2%}, tau_v {errors['v']:+.2%}), "
            f"vth {lava.vth} << 6, v LSB {conversion.v_lsb * 1e9:.4g} nV, origin {conversion.v_origin * 1e3:g} mV, "
            f"compensation {conversion.compensation}"
            f" (u x{conversion.current_gain:.4f}, bias x{conversion.bias_gain:.4f})")
