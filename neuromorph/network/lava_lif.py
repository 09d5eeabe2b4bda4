"""Numpy reproduction, exact to the bit, of Lava 0.10's fixed_pt ``LIF`` (``PyLifModelBitAcc``).

One step of Lava's model (lava/proc/lif/models.py:138-216; ``docs/lava_semantics.md``
quotes each line), all integers, ``u`` and ``v`` held in int32 Vars:

* ``a = a_in`` summed over the connected ports in int32 (ports.py:346-350);
* ``u = wrap24(trunc(u * (4096 - (du + 1)) / 4096) + (a << 6))``: the decay rounds toward
  zero (``sign(x) * (|x| >> 12)``), ``du`` gets a hidden ``+1`` (``ds_offset = 1``, so
  ``du = 0`` still decays by 1/4096 per step), and the 24-bit wrap is a single
  correction: ``u > 2**23`` becomes ``u - 2**24``, ``u <= -2**23`` becomes ``u + 2**24``
  (so ``+2**23`` is kept and ``-2**23`` becomes ``+2**23``);
* ``v = clip(trunc(v * (4096 - dv) / 4096) + u + (bias_mant << bias_exp), -(2**23 - 1), 2**23 - 1)``
  (``bias_exp < 0`` shifts right, floor; ``dm_offset = 0``);
* spike where ``v > vth << 6``, then ``v = 0`` there (``u`` is not reset).

The int32 arithmetic of Lava (``a << 6`` and the sums are int32 arrays) is reproduced by
wrapping, and every wrap or clip is counted. Lava 0.10 has no fixed_pt model of
``LIFRefractory`` (only ``floating_pt``), so it is not reproduced.

The input is assumed to come from int32 senders (``Dense``, ``Sparse``, their Delay
variants, a fixed_pt ``RingBuffer``), as in every graph neuromorph builds: an int16
sender would make ``a << 6`` wrap at 16 bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .lava_semantics import wrap

#: ``self.uv_bitwidth = 24`` (lava/proc/lif/models.py:101).
LIF_UV_BITS = 24
#: ``self.decay_shift = 12`` (lava/proc/lif/models.py:104).
LIF_DECAY_SHIFT = 12
#: ``self.vth_shift = 6``, ``self.act_shift = 6`` (lava/proc/lif/models.py:107-108).
LIF_VTH_SHIFT = 6
LIF_ACT_SHIFT = 6
#: ``self.ds_offset = 1``, ``self.dm_offset = 0`` (lava/proc/lif/models.py:94-95).
LIF_DS_OFFSET = 1
LIF_DM_OFFSET = 0
#: int32 Vars and ports (lava/proc/lif/models.py:80-81); bias_mant/bias_exp are int16 Vars (84-85).
LIF_REGISTER_BITS = 32
LIF_BIAS_STORAGE_BITS = 16


def _ints(values, n: int, bits: int, source: str, field: str) -> np.ndarray:
    values = np.broadcast_to(np.asarray(values), (n,))
    if values.dtype.kind not in "iu" and not (values.dtype.kind == "f" and np.array_equal(values, np.round(values))):
        raise InputError("must be integers (Lava's fixed_pt Var would truncate other numbers)", source, field)
    values = values.astype(np.int64)
    if np.any(values != wrap(values, bits)):
        raise InputError(f"must fit Lava's int{bits} Var", source, field)
    return values.copy()


@dataclass(frozen=True, eq=False)
class LavaLif:
    """Parameters and initial state of a Lava ``LIF`` population (fixed_pt), validated.

    Same names and meaning as ``lava.proc.lif.process.LIF``: ``du``, ``dv`` (12-bit decay
    constants, 0..4095), ``vth`` (threshold before its ``<< 6``), ``bias_mant``,
    ``bias_exp`` (per neuron), initial ``u`` and ``v``. Use :func:`lava_lif` to build one.
    """

    n: int
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    u: np.ndarray
    v: np.ndarray
    name: str = "lif"

    @property
    def effective_bias(self) -> np.ndarray:
        """``bias_mant << bias_exp`` (right shift, floor, for negative exponents), lif/models.py:116-121."""
        return np.where(self.bias_exp >= 0, self.bias_mant << np.maximum(self.bias_exp, 0),
                        self.bias_mant >> np.maximum(-self.bias_exp, 0))


def lava_lif(n: int, *, du: int = 0, dv: int = 0, vth: int = 10, bias_mant=0, bias_exp=0, u=0, v=0,
             name: str = "lif") -> LavaLif:
    """Validate LIF arguments as Lava's fixed_pt model will hold them; refuse what it would change."""
    source = f"LIF {name!r}"
    for field, value in (("du", du), ("dv", dv)):
        if not isinstance(value, (int, np.integer)) or not 0 <= value < 1 << 12:
            raise InputError(f"must be an integer in [0, 4095], got {value!r}", source, field)
    if not isinstance(vth, (int, np.integer)):
        raise InputError(f"must be an integer, got {vth!r}", source, "vth")
    lif = LavaLif(n=int(n), du=int(du), dv=int(dv), vth=int(vth),
                  bias_mant=_ints(bias_mant, n, LIF_BIAS_STORAGE_BITS, source, "bias_mant"),
                  bias_exp=_ints(bias_exp, n, LIF_BIAS_STORAGE_BITS, source, "bias_exp"),
                  u=_ints(u, n, LIF_REGISTER_BITS, source, "u"), v=_ints(v, n, LIF_REGISTER_BITS, source, "v"),
                  name=name)
    if np.any(np.abs(lif.bias_exp) > 16) or np.any(lif.effective_bias != wrap(lif.effective_bias, 32)):
        raise InputError("bias_mant << bias_exp must fit int32 (|bias_exp| <= 16)", source, "bias_exp")
    return lif


def decay_toward_zero(x: np.ndarray, factor: int) -> np.ndarray:
    """``sign(x * factor) * (|x * factor| >> 12)``: Lava's decay, rounded toward zero."""
    product = np.asarray(x, dtype=np.int64) * np.int64(factor)
    return np.sign(product) * (np.abs(product) >> np.int64(LIF_DECAY_SHIFT))


@dataclass(frozen=True)
class LifStep:
    """State after one LIF step, its spikes, and what did not fit (counts over neurons)."""

    u: np.ndarray
    v: np.ndarray
    spikes: np.ndarray
    n_input_wrapped: int
    n_u_wrapped: int
    n_v_clipped: int


def lif_step(lif: LavaLif, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> LifStep:
    """One step of Lava's fixed_pt LIF from state (u, v) with the summed input ``a_in``."""
    limit = np.int64(1) << np.int64(LIF_UV_BITS - 1)
    total_in = np.asarray(a_in, dtype=np.int64)
    a = wrap(total_in, LIF_REGISTER_BITS)
    shifted = a << np.int64(LIF_ACT_SHIFT)
    decayed = decay_toward_zero(u, (1 << LIF_DECAY_SHIFT) - (lif.du + LIF_DS_OFFSET))
    raw = decayed + wrap(shifted, LIF_REGISTER_BITS)
    current = wrap(raw, LIF_REGISTER_BITS)
    high, low = current > limit, current <= -limit
    u_new = np.where(high, current - 2 * limit, np.where(low, current + 2 * limit, current))
    decayed_v = decay_toward_zero(v, (1 << LIF_DECAY_SHIFT) - (lif.dv + LIF_DM_OFFSET))
    updated = wrap(decayed_v + u_new + lif.effective_bias, LIF_REGISTER_BITS)
    v_new = np.clip(updated, -limit + 1, limit - 1)
    spikes = v_new > (np.int64(lif.vth) << np.int64(LIF_VTH_SHIFT))
    v_new = np.where(spikes, 0, v_new)
    input_wrapped = (a != total_in) | (shifted != wrap(shifted, LIF_REGISTER_BITS)) | (raw != current)
    clipped = (updated >= limit) | (updated <= -limit)
    return LifStep(u=u_new, v=v_new, spikes=spikes, n_input_wrapped=int(input_wrapped.sum()),
                   n_u_wrapped=int((high | low).sum()), n_v_clipped=int(clipped.sum()))


@dataclass(frozen=True)
class LifRun:
    """A LIF run: state after every step (T, N), spikes (T, N) and wrap/clip counts over the run."""

    u: np.ndarray
    v: np.ndarray
    spikes: np.ndarray
    n_input_wrapped: int
    n_u_wrapped: int
    n_v_clipped: int


def run_lif(lif: LavaLif, a_in: np.ndarray) -> LifRun:
    """Run ``lif`` on the input ``a_in`` (T, N): row ``t`` is what ``a_in`` receives in step ``t``."""
    a_in = np.asarray(a_in)
    n_steps = a_in.shape[0]
    us, vs = np.zeros((n_steps, lif.n), np.int64), np.zeros((n_steps, lif.n), np.int64)
    spikes = np.zeros((n_steps, lif.n), bool)
    u, v, counts = lif.u, lif.v, np.zeros(3, np.int64)
    for t in range(n_steps):
        result = lif_step(lif, u, v, a_in[t])
        u, v = result.u, result.v
        us[t], vs[t] = u, v
        spikes[t] = result.spikes
        counts += (result.n_input_wrapped, result.n_u_wrapped, result.n_v_clipped)
    return LifRun(u=us, v=vs, spikes=spikes, n_input_wrapped=int(counts[0]), n_u_wrapped=int(counts[1]),
                  n_v_clipped=int(counts[2]))
