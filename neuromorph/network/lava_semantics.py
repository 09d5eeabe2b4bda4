"""Numpy reproductions, exact to the bit, of Lava 0.10's fixed_pt synapse and I/O models.

Lava's synapse code is not ours, so "network emulator == Lava graph" is only a real check
if the emulator does what Lava's ``fixed_pt`` ProcessModels do, bit for bit. This module
reproduces them; every rule cites the Lava source it copies (``lava-nc`` 0.10 as
installed; ``docs/lava_semantics.md`` quotes each line). The numbers below are constants
of Lava's *code*, not of a hardware target: the emulator must use them whatever target
file is loaded.

One synapse process (``Dense``, ``Sparse``, ``DelayDense``, ``DelaySparse``) in one step
``t`` (Lava's ``run_spk``, ``time_step = t + 1``):

1. send ``a_out[t] = a_buff[:, 0]`` (the buffer filled in earlier steps);
2. receive the spikes ``s[t]`` (any nonzero entry is a spike);
3. per postsynaptic neuron ``i`` and delay ``k``:
   ``acc[k, i] = sum_{j active, delay_ij = k} W_ij`` with ``W`` the weights *as Lava
   holds them* (:func:`lava_weights`), then ``acc << e`` for ``e = weight_exp > 0`` or
   ``acc >> -e`` (arithmetic shift = floor) otherwise -- per delay, before summing;
4. shift the buffer by one step and add: the spike of step ``t`` through a synapse of
   delay ``k`` reaches ``a_out`` in step ``t + k + 1`` (``Dense``/``Sparse``: ``k = 0``).

So ``a_out[t] = sum_k floor_shift(acc_k[t - 1 - k])`` in LSB units of whatever the
receiving process adds it to.

API: describe a projection by :class:`LavaProjection` (what is passed to the Lava
constructor), emulate it with :class:`SynapseEmulator` (``step(spikes) -> a_out``) or
:func:`run_synapse` (a whole spike raster). :func:`replay_source` gives what a
``RingBuffer`` source sends in each step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, NeuromorphError

#: ``clip_weights(self.weights, sign_mode, num_bits=8)`` (lava/proc/dense/models.py:87).
LAVA_WEIGHT_CLIP_BITS = 8
#: ``num_weight_bits`` default and upper limit (lava/proc/dense/models.py:83, weightutils.py:207).
LAVA_MAX_WEIGHT_BITS = 8
#: ``if np.max(self.delays) > 63: raise ValueError`` (lava/proc/dense/models.py:331, sparse/models.py:351).
LAVA_MAX_DELAY = 63
#: Ports and buffers are ``np.int32`` (lava/proc/dense/models.py:64-65); channels copy into
#: arrays of the sender's dtype (lava/magma/compiler/channels/pypychannel.py:142).
LAVA_PORT_BITS = 32
#: ``a_out`` declares ``precision=16`` (lava/proc/dense/models.py:64), which the CPU model
#: does not enforce; values beyond it are counted, since Loihi 2 would not carry them.
LAVA_DECLARED_A_OUT_BITS = 16
#: Synaptic events per buffer entry above which :class:`SynapseEmulator` sums over the whole
#: ``(max_delay + 1, n_post)`` buffer (one ``np.bincount`` pass) rather than over the distinct
#: entries reached (a sort): measured break-even on the development machine.
DENSE_EVENTS_PER_ENTRY = 16
#: Lava's ``SignMode`` values (lava/utils/weightutils.py:15-18).
SIGN_MODES = {"mixed": 1, "excitatory": 2, "inhibitory": 3}


@dataclass(frozen=True)
class ProcessKind:
    """One of Lava's synapse processes: whether it has delays and stores weights sparsely."""

    delayed: bool
    sparse: bool


#: Lava synapse process name -> its properties (lava/proc/dense/process.py, lava/proc/sparse/process.py).
PROCESS_KINDS = {
    "Dense": ProcessKind(delayed=False, sparse=False),
    "Sparse": ProcessKind(delayed=False, sparse=True),
    "DelayDense": ProcessKind(delayed=True, sparse=False),
    "DelaySparse": ProcessKind(delayed=True, sparse=True),
}


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of integers to ``bits`` bits (what a numpy ``intB`` array holds)."""
    x = np.asarray(x, dtype=np.int64)
    half = np.int64(1) << np.int64(bits - 1)
    return ((x + half) & ((half << np.int64(1)) - 1)) - half


def lava_int32(values, source: str = "weights") -> np.ndarray:
    """What an ``np.int32`` Lava Var holds for ``values``: floats truncated toward zero.

    The Var is filled by ``var[:] = value`` (lava/magma/compiler/builders/py_builder.py:402-403);
    numpy's float-to-int conversion truncates toward zero (``0.5 -> 0``, ``-0.4 -> 0``).
    Values outside int32 (where numpy's cast is undefined or wraps) are refused.
    """
    values = np.asarray(values)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise InputError("must be finite numbers", source)
        values = np.trunc(values)
    info = np.iinfo(np.int32)
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise InputError(f"must fit Lava's int32 storage [{info.min}, {info.max}]", source)
    return values.astype(np.int64)


def determine_sign_mode(weights: np.ndarray) -> str:
    """Lava's rule: all ``>= 0`` excitatory, else all ``<= 0`` inhibitory, else mixed.

    ``lava/utils/weightutils.py:36-41``; an empty or all-zero set is excitatory.
    """
    weights = np.asarray(weights)
    if weights.size == 0 or weights.min() >= 0:
        return "excitatory"
    if weights.max() <= 0:
        return "inhibitory"
    return "mixed"


def _check_sign_mode(sign_mode: str | None, source: str) -> None:
    if sign_mode is not None and sign_mode not in SIGN_MODES:
        raise InputError(f"unknown sign mode {sign_mode!r}; allowed: {sorted(SIGN_MODES)}", source, "sign_mode")


def lava_weights(weights, sign_mode: str | None = None, num_weight_bits: int = 8, *,
                 sparse: bool = False, source: str = "weights") -> np.ndarray:
    """The integer weights a Lava fixed_pt synapse holds after its first ``run_spk``.

    Reproduces ``lava/proc/dense/models.py:82-91`` (same in sparse/models.py:82-91):
    the int32 cast (:func:`lava_int32`), the sign mode (given, or :func:`determine_sign_mode`:
    on the cast values for Dense kinds, on the raw values for Sparse kinds, whose csr
    weights keep their dtype until ``clip_weights`` casts them), then

    * ``clip_weights(num_bits=8)``: excitatory ``[0, 255]``, inhibitory ``[-255, 0]``,
      mixed ``[-256, 255]`` (weightutils.py:275-293);
    * ``truncate_weights``: drop ``n = 8 - num_weight_bits + mixed`` low bits,
      ``(w >> n) << n`` -- floor for mixed weights, toward zero for inhibitory ones,
      which are negated around the shift (weightutils.py:230-247).

    Returns int64 values of the same shape. None of this warns in Lava.
    """
    _check_sign_mode(sign_mode, source)
    if not 1 <= num_weight_bits <= LAVA_MAX_WEIGHT_BITS:
        raise InputError(f"num_weight_bits must be 1..{LAVA_MAX_WEIGHT_BITS}, got {num_weight_bits}", source,
                         "num_weight_bits")
    held = lava_int32(weights, source)
    mode = sign_mode or determine_sign_mode(np.asarray(weights) if sparse else held)
    mixed = int(mode == "mixed")
    sign = -1 if mode == "inhibitory" else 1
    magnitude = held * sign
    top = (1 << LAVA_WEIGHT_CLIP_BITS) - 1
    magnitude = np.clip(magnitude, -(top + 1) * mixed, top)
    drop = np.int64(LAVA_WEIGHT_CLIP_BITS - num_weight_bits + mixed)
    return ((magnitude >> drop) << drop) * sign


def check_delays(delays, limit: int = LAVA_MAX_DELAY, source: str = "projection") -> np.ndarray:
    """Refuse delays that are not integers in ``[0, limit]``; return them as int64.

    Lava's Delay processes check ``np.max(self.delays) > 63`` only inside the first
    ``run_spk`` of the running process (lava/proc/dense/models.py:331-334); this check
    runs before any Lava process is built. A delay of ``k`` reaches the target ``k + 1``
    steps after the spike.
    """
    delays = np.asarray(delays)
    if delays.size and delays.dtype.kind not in "iu":
        if delays.dtype.kind != "f" or not np.array_equal(delays, np.round(delays)):
            raise InputError("delays must be whole numbers of time steps", source, "delays")
    delays = delays.astype(np.int64)
    if delays.size and delays.min() < 0:
        raise InputError(f"delays must be >= 0 steps, got {delays.min()}", source, "delays")
    if delays.size and delays.max() > limit:
        raise InputError(f"delay of {delays.max()} steps exceeds the limit of {limit} steps "
                         f"({np.count_nonzero(delays > limit)} synapses); Lava's DelayDense/DelaySparse "
                         f"hold delays 0..{LAVA_MAX_DELAY} (a delay k arrives k+1 steps after the spike)",
                         source, "delays")
    return delays


def _int_array(values, source: str, field: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or (values.size and values.dtype.kind not in "iu"):
        raise InputError("must be a 1-D array of integers", source, field)
    return values.astype(np.int64)


@dataclass(frozen=True, eq=False)
class LavaProjection:
    """One Lava synapse process, described by the arguments its constructor receives.

    Synapse ``s`` connects presynaptic neuron ``pre[s]`` to postsynaptic neuron
    ``post[s]`` (Lava's matrices are ``(n_post, n_pre)``, row = post) with weight
    ``weights[s]`` (passed to Lava as given: integers from
    :func:`neuromorph.network.weights.quantize_weights`, or any numbers, which Lava then
    casts, clips and truncates as :func:`lava_weights` reproduces) and delay
    ``delays[s]`` in time steps (0 for ``Dense``/``Sparse``).

    Attributes
    ----------
    name : str
        Projection name, used in error messages.
    kind : str
        One of :data:`PROCESS_KINDS`.
    n_pre, n_post : int
        Sizes of the source and target populations.
    pre, post, weights, delays : ndarray (S,)
        The synapses; each (pre, post) pair at most once (a Lava matrix entry holds one weight).
    weight_exp : int
        Lava's ``weight_exp``: the summed input is shifted by it (floor for negative values).
    num_weight_bits : int
        Lava's ``num_weight_bits`` (8 keeps every 8-bit weight).
    sign_mode : str or None
        ``excitatory``, ``inhibitory`` or ``mixed``; None lets Lava determine it.
    max_delay : int
        Lava's ``max_delay`` (its delay buffer has ``max_delay + 1`` slots); at least the
        largest delay.
    """

    name: str
    kind: str
    n_pre: int
    n_post: int
    pre: np.ndarray
    post: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: str | None = None
    max_delay: int = 0

    def __post_init__(self):
        source = f"projection {self.name!r}"
        if self.kind not in PROCESS_KINDS:
            raise InputError(f"unknown Lava synapse process {self.kind!r}; allowed: {sorted(PROCESS_KINDS)}",
                             source, "kind")
        pre, post = _int_array(self.pre, source, "pre"), _int_array(self.post, source, "post")
        weights, delays = np.asarray(self.weights), check_delays(self.delays, LAVA_MAX_DELAY, source)
        if weights.ndim != 1 or delays.ndim != 1 or not (len(pre) == len(post) == len(weights) == len(delays)):
            raise InputError("pre, post, weights and delays must have one entry per synapse", source)
        _check_indices(pre, self.n_pre, source, "pre")
        _check_indices(post, self.n_post, source, "post")
        _check_unique_pairs(pre, post, self.n_pre, source)
        _check_sign_mode(self.sign_mode, source)
        if not PROCESS_KINDS[self.kind].delayed and delays.any():
            raise InputError(f"{self.kind} has no delays; use Delay{self.kind}", source, "delays")
        if not isinstance(self.weight_exp, (int, np.integer)) or abs(self.weight_exp) >= LAVA_PORT_BITS:
            raise InputError(f"weight_exp must be an integer of magnitude < {LAVA_PORT_BITS}", source, "weight_exp")
        max_delay = max(int(self.max_delay), int(delays.max(initial=0)))
        lava_weights(weights, self.sign_mode, self.num_weight_bits, source=source)  # refuses what Lava cannot hold
        for field, value in (("pre", pre), ("post", post), ("weights", weights), ("delays", delays),
                             ("max_delay", max_delay), ("weight_exp", int(self.weight_exp))):
            object.__setattr__(self, field, value)

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return len(self.pre)

    @property
    def held_weights(self) -> np.ndarray:
        """The integer weights Lava holds after its clip and truncation (:func:`lava_weights`)."""
        return lava_weights(self.weights, self.sign_mode, self.num_weight_bits,
                            sparse=PROCESS_KINDS[self.kind].sparse, source=f"projection {self.name!r}")

    def weight_matrix(self):
        """Lava's ``weights`` argument: ndarray (n_post, n_pre) for Dense kinds, else csr."""
        return self._matrix(self.weights)

    def delay_matrix(self):
        """Lava's ``delays`` argument (int64, as its Delay processes require), or None."""
        if not PROCESS_KINDS[self.kind].delayed:
            return None
        return self._matrix(self.delays.astype(int))

    def _matrix(self, values: np.ndarray):
        shape = (self.n_post, self.n_pre)
        if PROCESS_KINDS[self.kind].sparse:
            return sp.csr_matrix((values, (self.post, self.pre)), shape=shape)
        matrix = np.zeros(shape, dtype=values.dtype)
        matrix[self.post, self.pre] = values
        return matrix

    @classmethod
    def from_matrices(cls, kind: str, weights, delays=0, *, weight_exp: int = 0, num_weight_bits: int = 8,
                      sign_mode: str | None = None, max_delay: int = 0, name: str = "projection") -> "LavaProjection":
        """The projection Lava builds from ``Kind(weights=..., delays=..., ...)`` arguments.

        ``weights`` is an (n_post, n_pre) array or scipy sparse matrix, ``delays`` an
        integer (every synapse) or a matrix of the same shape. Entries with weight 0 are
        not synapses (they add nothing); Lava's ``max_delay`` still counts their delays.
        """
        matrix = sp.coo_matrix(weights)
        matrix.sum_duplicates()
        keep = matrix.data != 0
        post, pre = matrix.row[keep], matrix.col[keep]
        if sp.issparse(delays):
            delay_values = np.asarray(delays.tocsr()[post, pre]).ravel()
        else:
            delay_values = np.broadcast_to(np.asarray(delays), matrix.shape)[post, pre]
        largest = int(delays.max()) if sp.issparse(delays) else int(np.max(delays))
        return cls(name=name, kind=kind, n_pre=matrix.shape[1], n_post=matrix.shape[0], pre=pre, post=post,
                   weights=matrix.data[keep], delays=delay_values, weight_exp=weight_exp,
                   num_weight_bits=num_weight_bits, sign_mode=sign_mode, max_delay=max(max_delay, largest))


def _check_indices(index: np.ndarray, size: int, source: str, field: str) -> None:
    if index.size and (index.min() < 0 or index.max() >= size):
        raise InputError(f"neuron indices must lie in [0, {size})", source, field)


def _check_unique_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int, source: str) -> None:
    pairs = post * np.int64(max(n_pre, 1)) + pre
    if np.unique(pairs).size != pairs.size:
        raise InputError("a (pre, post) pair appears more than once; a Lava weight matrix holds one synapse per "
                         "pair: split the projection (multapse_layers)", source, "pre/post")


def _gather(indptr: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Indices of the synapses of the ``active`` presynaptic neurons (CSC-style ``indptr``)."""
    starts = indptr[active]
    counts = indptr[active + 1] - starts
    total = int(counts.sum())
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return offsets + np.arange(total, dtype=np.int64)


@dataclass(frozen=True)
class SynapseRouting:
    """A synapse layer's routing as :class:`SynapseEmulator` runs it: the synapses of presynaptic neuron
    ``i`` are ``indptr[i]:indptr[i + 1]``, each adding ``weights[s]`` (held weight times ``2**max(e, 0)``)
    to the entry ``key[s] = delay * n_post + post``; per step each entry's sum is shifted right by
    ``shift = max(-e, 0)`` (floor) into ring row ``(t + 1 + delay) mod slots``."""

    indptr: np.ndarray
    key: np.ndarray
    weights: np.ndarray
    shift: int
    slots: int


class SynapseEmulator:
    """Step-by-step numpy emulation of one Lava fixed_pt synapse process.

    ``step(spikes)`` does what one ``run_spk`` of Lava's model does (see the module
    docstring) and returns the ``a_out`` vector sent in that step. The delay buffer is a
    ring of ``max_delay + 1`` rows indexed by the step (row ``t mod L`` is sent in step
    ``t``), which is Lava's ``np.roll`` of ``a_buff`` without moving data. Per step the
    work is proportional to the synapses of the neurons that spiked (gathered by
    presynaptic neuron, summed per (delay, target) over the distinct pairs they reach, by
    ``np.bincount`` -- exact because every weight is an integer of at most 9 bits and every
    sum stays far below 2**53 -- and added into the buffer at those pairs only, or, when the
    events are many per buffer entry, summed over the whole buffer in one pass) plus one pass
    over the row sent. Only the buffer entries a step changes can leave int32, so only they
    are checked, and only when :func:`entry_bound` says some entry could (likewise the count
    of values beyond 16 bits).

    Lava keeps its buffers in int32 (``DelaySparse`` even sums in int32); a value beyond
    int32 would make Lava's process kinds disagree with each other, so it raises
    :class:`NeuromorphError` instead of being emulated. Values beyond ``a_out``'s declared
    16 bits (which the CPU model passes on) are counted in ``n_beyond_declared_bits``.
    """

    def __init__(self, projection: LavaProjection):
        self.projection = projection
        held = projection.held_weights
        keep = held != 0
        order = np.argsort(projection.pre[keep], kind="stable")
        pre = projection.pre[keep][order]
        exponent = projection.weight_exp
        # a non-negative exponent shifts every weight alike (exactly, in float64): applied once, here
        self._weights = held[keep][order].astype(np.float64) * 2.0 ** max(exponent, 0)
        self._shift = min(exponent, 0)
        self._key = (projection.delays[keep][order] * projection.n_post + projection.post[keep][order])
        self._indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=projection.n_pre))])
        self._slots = projection.max_delay + 1
        self.buffer = np.zeros((self._slots, projection.n_post), dtype=np.int64)
        self.time_step = 0
        self.n_beyond_declared_bits = 0
        bound = entry_bound(projection)
        self._checked = bound > (1 << (LAVA_PORT_BITS - 1)) - 1
        self._counted = bound > (1 << (LAVA_DECLARED_A_OUT_BITS - 1)) - 1

    def routing(self) -> SynapseRouting:
        """The layer's routing tables (exact int64 weights) for a compiled loop (:mod:`.fused`)."""
        return SynapseRouting(indptr=self._indptr.astype(np.int64), key=self._key.astype(np.int64),
                              weights=self._weights.astype(np.int64), shift=-self._shift, slots=self._slots)

    def step(self, spikes: np.ndarray) -> np.ndarray:
        """Consume the spikes of this step (n_pre,), return ``a_out`` (n_post,) sent in it."""
        out = self.send()
        self.receive(spikes)
        return out

    def send(self) -> np.ndarray:
        """The first half of a step: ``a_out`` (n_post,) sent in it (Lava sends before it receives)."""
        row = self.time_step % self._slots
        out = self.buffer[row].copy()
        self.buffer[row] = 0
        if self._counted:
            self.n_beyond_declared_bits += _count_beyond(out, LAVA_DECLARED_A_OUT_BITS)
        return out

    def receive(self, spikes: np.ndarray) -> None:
        """The second half of a step: accumulate the spikes (n_pre,) received in it, then advance."""
        spikes = np.asarray(spikes)
        if spikes.shape != (self.projection.n_pre,):
            raise InputError(f"spikes must have shape ({self.projection.n_pre},), got {spikes.shape}",
                             f"projection {self.projection.name!r}")
        active = np.flatnonzero(spikes)
        if active.size:
            self._accumulate(active)
        self.time_step += 1

    def _accumulate(self, active: np.ndarray) -> None:
        index = _gather(self._indptr, active)
        size = self._slots * self.projection.n_post
        if index.size * DENSE_EVENTS_PER_ENTRY >= size:
            self._accumulate_dense(index, size)
        elif index.size:
            self._accumulate_sparse(index)

    def _accumulate_dense(self, index: np.ndarray, size: int) -> None:
        """Sum over every (delay, target) entry (many events per entry: one pass over the buffer is cheapest)."""
        sums = self._sums(np.bincount(self._key[index], weights=self._weights[index], minlength=size))
        if self._slots == 1:
            self.buffer[0] += sums
        else:
            rows = (self.time_step + 1 + np.arange(self._slots)) % self._slots
            self.buffer[rows] += sums.reshape(self._slots, self.projection.n_post)
        if self._checked:
            _check_int32(self.buffer, self.projection.name, "the a_out buffer")

    def _accumulate_sparse(self, index: np.ndarray) -> None:
        """Sum over the distinct (delay, target) pairs the events reach, and add there only."""
        n_post = self.projection.n_post
        keys, position = np.unique(self._key[index], return_inverse=True)
        sums = self._sums(np.bincount(position, weights=self._weights[index]))
        rows = (self.time_step + 1 + keys // n_post) % self._slots
        columns = keys % n_post
        self.buffer[rows, columns] += sums
        if self._checked:
            _check_int32(self.buffer[rows, columns], self.projection.name, "the a_out buffer")

    def _sums(self, sums: np.ndarray) -> np.ndarray:
        """Exact float64 sums -> int64, with a negative ``weight_exp`` applied (floor), checked if they could overflow."""
        sums = sums.astype(np.int64)
        if self._checked:
            _check_int32(sums, self.projection.name, "a summed input")
        if self._shift:
            sums >>= np.int64(-self._shift)
        return sums


def entry_bound(projection: LavaProjection) -> int:
    """Largest magnitude a summed input or an ``a_out`` buffer entry of ``projection`` can reach.

    An entry sent in step ``s`` holds, per delay ``d``, the shifted sum over the synapses of
    delay ``d`` whose presynaptic neuron spiked in step ``s - 1 - d``: each synapse counts at
    most once, so ``|entry| <= sum_i |W_ij| * 2**e`` over the synapses into ``j`` (a negative
    ``e`` floors each delay's sum, adding less than one per delay slot). Below int32 (or the
    declared 16 bits), the corresponding check or count can never fire and is skipped.
    """
    held = np.abs(projection.held_weights)
    per_target = np.bincount(projection.post, weights=held.astype(np.float64), minlength=projection.n_post)
    largest = int(per_target.max(initial=0))
    exponent = projection.weight_exp
    return largest << exponent if exponent >= 0 else max(largest, (largest >> -exponent) + projection.max_delay + 1)


def _count_beyond(values: np.ndarray, bits: int) -> int:
    """How many of the integers ``values`` lie outside the signed ``bits``-bit range (two reductions when none do)."""
    half = 1 << (bits - 1)
    if not values.size or (values.min() >= -half and values.max() < half):
        return 0
    return int(np.count_nonzero((values < -half) | (values >= half)))


def _check_int32(values: np.ndarray, name: str, what: str) -> None:
    if _count_beyond(values, LAVA_PORT_BITS):
        raise NeuromorphError(f"projection {name!r}: {what} exceeds Lava's int32 buffers; Lava would wrap it "
                              "(differently per process kind); lower the weights or weight_exp")


def run_synapse(projection: LavaProjection, spikes: np.ndarray) -> np.ndarray:
    """``a_out`` (T, n_post) of ``projection`` for the spike raster ``spikes`` (T, n_pre).

    Row ``t`` is what Lava's process sends in step ``t`` (Lava ``time_step = t + 1``).
    """
    spikes = np.asarray(spikes)
    emulator = SynapseEmulator(projection)
    out = np.zeros((spikes.shape[0], projection.n_post), dtype=np.int64)
    for t in range(spikes.shape[0]):
        out[t] = emulator.step(spikes[t])
    return out


def source_data(spikes: np.ndarray) -> np.ndarray:
    """The ``data`` of a Lava ``RingBuffer`` source that replays ``spikes`` (T, N) bool: (N, T) int32.

    The fixed_pt source holds ``np.int32`` data and sends int32 (lava/proc/io/source.py:60-61).
    """
    return np.ascontiguousarray(np.asarray(spikes).T, dtype=np.int32)


def replay_source(data: np.ndarray, n_steps: int) -> np.ndarray:
    """What a ``RingBuffer`` source with ``data`` (N, B) sends in steps ``0..n_steps-1``: (n_steps, N).

    Step ``t`` (``time_step = t + 1``) sends column ``t mod B``
    (``self.data[..., (self.time_step - 1) % buffer]``, lava/proc/io/source.py:42-43): the
    data of step ``t`` arrives at the connected process in the same step, and a run
    longer than ``B`` steps replays the buffer from its start.
    """
    data = np.asarray(data)
    return data[..., np.arange(n_steps) % data.shape[-1]].T


def read_sink(data: np.ndarray, n_steps: int) -> np.ndarray:
    """Per-step values from a Lava ``RingBuffer`` sink's ``data`` (N, B) after ``n_steps`` steps.

    Step ``t`` is written to column ``t mod B`` (lava/proc/io/sink.py:50-52), so only the
    last ``B`` steps survive; this returns them in order as (min(n_steps, B), N).
    """
    data = np.asarray(data)
    first = max(0, n_steps - data.shape[-1])
    return data[..., np.arange(first, n_steps) % data.shape[-1]].T


def choose_kind(n_synapses: int, n_pre: int, n_post: int, delayed: bool, dense_min_density: float = 0.25) -> str:
    """``Dense`` when at least ``dense_min_density`` of the ``n_post x n_pre`` pairs are synapses, else ``Sparse``;
    the ``Delay`` variant when any delay is above 0.

    The default 0.25 is where memory breaks even: Lava's ``Dense`` holds an int32 per
    pair, its ``Sparse`` a csr matrix (an int32 value and an int32 column index per
    synapse, plus a second csr matrix for delays).
    """
    density = n_synapses / max(n_pre * n_post, 1)
    kind = "Dense" if density >= dense_min_density else "Sparse"
    return f"Delay{kind}" if delayed else kind


def multapse_layers(pre, post) -> np.ndarray:
    """For each synapse, how many earlier synapses share its (pre, post) pair.

    A Lava weight matrix holds one synapse per pair; a projection with multapses (Brian2
    allows them) becomes one Lava process per layer: ``layer == 0``, ``layer == 1``, ...
    """
    pre, post = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
    order = np.lexsort((pre, post))
    pairs = np.stack([post[order], pre[order]])
    starts = np.flatnonzero(np.r_[True, np.any(pairs[:, 1:] != pairs[:, :-1], axis=0)])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    layers = np.empty(len(order), np.int64)
    layers[order] = np.arange(len(order)) - group_start
    return layers
