"""Delays longer than the target's synapses hold, served by chains of relay neurons.

A synapse of a Lava process holds a delay ``d`` of at most ``M`` steps, with
``M = min(max_delay_steps of the target, 63)`` (:func:`hop_limit`: the target file's
``[network] max_delay_steps``, and Lava's ``DelayDense``/``DelaySparse`` refuse more than 63).
Timing (``docs/lava_semantics.md``; :mod:`neuromorph.network.lava_semantics`): a spike
emitted in step ``t`` through delay ``d`` reaches the target's input in step ``t + d + 1``,
which is where Brian2's delay ``D = d`` steps leaves its increment. A relay
(:mod:`neuromorph.network.kinds.relay`) fires in the step its input arrives. So a spike of
step ``t`` that goes through ``n`` relays, with delays ``d_1 .. d_n`` into them and ``d`` from
the last one, reaches the target in step

    t + (d_1 + 1) + ... + (d_n + 1) + d + 1,

i.e. the chain acts as one synapse of delay ``D = sum_k (d_k + 1) + d``. Every hop into a
relay here has ``d_k = M`` (a relay stage adds ``M + 1`` steps), so a synapse of delay ``D``
goes through

    n(D) = 0 if D <= M, else ceil((D - M) / (M + 1))

relays (:func:`relay_stages`) and its last hop has ``d = D - n (M + 1)`` (:func:`last_delays`),
which lies in ``[0, M]``: ``n`` is the smallest count with ``D - n (M + 1) <= M``, and
``D - n (M + 1) >= 0`` because ``(n - 1)(M + 1) < D - M``. Example (loihi2, ``M = 63``):
``D = 200`` steps (10 ms at ``dt = 0.05 ms``) goes through ``n = ceil(137 / 64) = 3`` relays
and a last delay of ``200 - 192 = 8``.

Relays belong to a presynaptic neuron and a stage, shared by every synapse of that neuron
(in every projection from its group) that needs that stage: neuron ``i`` of group ``S`` has
relays in stages ``1 .. K_i``, ``K_i`` the largest ``n`` of its synapses; stage ``k`` of ``S``
is one relay population (:class:`RelayChain`, named ``S.relay<k>``) holding the neurons with
``K_i >= k``. Its relay of ``i`` spikes exactly ``k (M + 1)`` steps after ``i`` does: no spike
is merged or lost, since ``i`` fires at most once per step and its relay sees only ``i``'s
spikes. Relays in total: ``sum_i K_i``; synapses into relays: the same number.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lava_semantics import LAVA_MAX_DELAY


def hop_limit(target) -> int:
    """The longest delay (steps) one synapse holds: the target's ``max_delay_steps``, at most Lava's 63."""
    return min(int(target.max_delay_steps), LAVA_MAX_DELAY)


def relay_stages(delays: np.ndarray, limit: int) -> np.ndarray:
    """Relays each synapse of delay ``delays`` (steps) goes through: ``ceil((D - M) / (M + 1))``, 0 if ``D <= M``."""
    delays = np.asarray(delays, dtype=np.int64)
    return np.where(delays > limit, -(-(delays - limit) // (limit + 1)), 0)


def last_delays(delays: np.ndarray, stages: np.ndarray, limit: int) -> np.ndarray:
    """Delay (steps, ``0 .. M``) of the last hop of each synapse: ``D - n (M + 1)``."""
    return np.asarray(delays, dtype=np.int64) - np.asarray(stages, dtype=np.int64) * (limit + 1)


def relay_name(source: str, stage: int) -> str:
    """The relay population of stage ``stage`` (1, 2, ...) of group ``source`` (never a valid user name);
    ``source`` itself for stage 0."""
    return f"{source}.relay{stage}" if stage else source


@dataclass(frozen=True)
class RelayChain:
    """The relay stages of one presynaptic group.

    Attributes
    ----------
    source : str
        The group (population or spike source) whose spikes the relays carry.
    members : tuple of ndarray
        ``members[k - 1]``: the sorted neurons of ``source`` with a relay in stage ``k``
        (relay ``m`` of stage ``k`` carries neuron ``members[k - 1][m]``).
    """

    source: str
    members: tuple[np.ndarray, ...]

    @property
    def n_stages(self) -> int:
        """Stages of the chain."""
        return len(self.members)

    @property
    def n_relays(self) -> int:
        """Relay neurons over all stages."""
        return int(sum(m.size for m in self.members))

    def size(self, stage: int, n_source: int) -> int:
        """Neurons of stage ``stage`` (0: the source group itself, of ``n_source`` neurons)."""
        return n_source if stage == 0 else int(self.members[stage - 1].size)

    def index(self, stage: int, neurons: np.ndarray) -> np.ndarray:
        """Index within stage ``stage`` (0: the source itself) of the relay of each of ``neurons`` (all have one)."""
        neurons = np.asarray(neurons, dtype=np.int64)
        return neurons if stage == 0 else np.searchsorted(self.members[stage - 1], neurons)


def plan_relays(synapses) -> dict[str, RelayChain]:
    """The relay chains of the groups whose synapses need them.

    ``synapses``: ``(source, pre, stages)`` per projection (presynaptic neuron and
    :func:`relay_stages` of each synapse). Returns the chain of each source with a stage.
    """
    deepest: dict[str, dict[int, int]] = {}
    for source, pre, stages in synapses:
        stages = np.asarray(stages, dtype=np.int64)
        if not stages.any():
            continue
        own = deepest.setdefault(source, {})
        for neuron, depth in zip(np.asarray(pre)[stages > 0].tolist(), stages[stages > 0].tolist()):
            own[neuron] = max(own.get(neuron, 0), depth)
    chains = {}
    for source, depths in deepest.items():
        neurons = np.array(sorted(depths), dtype=np.int64)
        depth = np.array([depths[n] for n in neurons.tolist()], dtype=np.int64)
        chains[source] = RelayChain(source, tuple(neurons[depth >= k] for k in range(1, int(depth.max()) + 1)))
    return chains
