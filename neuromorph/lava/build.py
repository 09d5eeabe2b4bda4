"""Build real Lava processes for a network: synapse processes, spike sources and LIF populations.

The same :class:`~neuromorph.network.lava_semantics.LavaProjection` drives
:func:`build_process` (Lava) and :class:`~neuromorph.network.lava_semantics.SynapseEmulator`
(numpy), so both receive identical arguments.

Usage::

    q = quantize_weights(w, target, name="exc->inh")            # weights in LSB units
    projection = lava_projection(pre, post, n_pre, n_post, q, delays, target=target, name="exc->inh")
    process = build_process(projection)                          # Dense/Sparse/DelayDense/DelaySparse
    emulator = SynapseEmulator(projection)                       # the same thing in numpy
"""
from __future__ import annotations

import numpy as np
from lava.proc.dense.process import DelayDense, Dense
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF
from lava.proc.sparse.process import DelaySparse, Sparse
from lava.utils.weightutils import SignMode

from ..errors import InputError, NeuromorphError
from ..network.lava_lif import LavaLif
from ..network.lava_semantics import (LAVA_MAX_DELAY, LAVA_MAX_WEIGHT_BITS, PROCESS_KINDS, LavaProjection,
                                      check_delays, choose_kind, lava_weights, multapse_layers, source_data)
from ..network.weights import QuantizedWeights

#: Lava process class of each synapse kind.
LAVA_CLASSES = {"Dense": Dense, "Sparse": Sparse, "DelayDense": DelayDense, "DelaySparse": DelaySparse}
#: neuromorph sign-mode names -> Lava's enum.
LAVA_SIGN_MODES = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY, "inhibitory": SignMode.INHIBITORY}


def lava_projection(pre, post, n_pre: int, n_post: int, quantized: QuantizedWeights, delays=None, *, target,
                    name: str, dense_min_density: float = 0.25) -> LavaProjection:
    """The Lava synapse process of one projection, from its synapses and quantised weights.

    Parameters
    ----------
    pre, post : array_like of int (S,)
        Source and target neuron of each synapse (each pair at most once, see :func:`multapse_layers`).
    n_pre, n_post : int
        Population sizes.
    quantized : QuantizedWeights
        From :func:`~neuromorph.network.weights.quantize_weights` on the S weights.
    delays : array_like of int (S,), optional
        Delay of each synapse in time steps (Lava's delay: the spike of step ``t``
        arrives in step ``t + delay + 1``); default 0.
    target : HardwareTarget
        Its ``max_delay_steps`` and weight format are enforced.
    name : str
        Projection name, used in every error message.
    dense_min_density : float
        See :func:`choose_kind`.

    Synapses whose quantised weight is 0 are left out (they add nothing in Lava either).
    """
    source = f"projection {name!r}"
    if quantized.weight_bits > LAVA_MAX_WEIGHT_BITS:
        raise InputError(f"Lava's synapses hold at most {LAVA_MAX_WEIGHT_BITS}-bit weights; target {target.name} "
                         f"has {quantized.weight_bits}", source, "weights")
    pre, post = np.asarray(pre), np.asarray(post)
    delays = np.zeros(len(pre), np.int64) if delays is None else np.asarray(delays)
    check_delays(delays, min(target.max_delay_steps, LAVA_MAX_DELAY), f"{source} (target {target.name})")
    weights = np.asarray(quantized.weights).ravel()
    if not np.array_equal(lava_weights(weights, quantized.sign_mode), weights):
        raise NeuromorphError(f"{source}: Lava would change these weights (not in its {quantized.sign_mode} format)")
    keep = weights != 0
    kind = choose_kind(int(keep.sum()), n_pre, n_post, bool(np.any(delays[keep] > 0)), dense_min_density)
    return LavaProjection(name=name, kind=kind, n_pre=n_pre, n_post=n_post, pre=pre[keep], post=post[keep],
                          weights=weights[keep], delays=delays[keep].astype(np.int64),
                          weight_exp=quantized.weight_exp, num_weight_bits=LAVA_MAX_WEIGHT_BITS,
                          sign_mode=quantized.sign_mode)


def build_process(projection: LavaProjection):
    """The Lava process (``Dense``, ``Sparse``, ``DelayDense`` or ``DelaySparse``) of ``projection``."""
    kwargs = dict(weights=projection.weight_matrix(), weight_exp=projection.weight_exp,
                  num_weight_bits=projection.num_weight_bits, name=projection.name)
    if projection.sign_mode is not None:
        kwargs["sign_mode"] = LAVA_SIGN_MODES[projection.sign_mode]
    if PROCESS_KINDS[projection.kind].delayed:
        kwargs.update(delays=projection.delay_matrix(), max_delay=projection.max_delay)
    return LAVA_CLASSES[projection.kind](**kwargs)


def spike_source(spikes: np.ndarray) -> SourceBuffer:
    """A Lava ``RingBuffer`` source sending row ``t`` of ``spikes`` (T, N) in step ``t``.

    Run it for at most T steps: after that it replays from the start
    (:func:`~neuromorph.network.lava_semantics.replay_source`).
    """
    return SourceBuffer(data=source_data(spikes))


def build_lif(lif: LavaLif) -> LIF:
    """Lava's ``LIF`` process with the validated parameters of ``lif``."""
    return LIF(shape=(lif.n,), u=lif.u.astype(np.int32), v=lif.v.astype(np.int32), du=lif.du, dv=lif.dv,
               bias_mant=lif.bias_mant.astype(np.int16), bias_exp=lif.bias_exp.astype(np.int16), vth=lif.vth,
               name=lif.name)
