"""The threads of a fused network loop: they meet at a real barrier, and one failing never leaves the others waiting.

That the threads compute every spike and register of the stepped emulator is checked on whole networks
in ``tests/test_network_compare.py`` (``fused_on_threads``); here the meeting itself, and how the
synapses are divided among the threads.
"""
import threading

import numpy as np

from neuromorph.network.barrier_kernels import COUNT, GENERATION, SYNC_SIZE, barrier
from neuromorph.network.fused import PROBE_EVERY, ThreadChoice, run_on_threads, target_splits


def run_bounded(target, seconds: float = 30.0):
    """``target()`` on a daemon thread; fails the test if it has not returned after ``seconds``."""
    outcome = {}

    def call():
        try:
            outcome["value"] = target()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the threads are still waiting for each other"
    return outcome


def test_threads_meet_at_every_barrier_and_see_each_others_writes():
    """Three threads (more than the two cores of CI: the waiting ones yield) write their slot, meet, and
    each reads every slot of the round: 2,000 rounds, no stale value, and the barrier ends reset."""
    threads, rounds = 3, 2000
    sync, slots, stale = np.zeros(SYNC_SIZE, dtype=np.int64), np.zeros(threads, dtype=np.int64), []

    def rounds_of(start, stop, tid, threads, sync):
        for r in range(start, stop):
            slots[tid] = r
            assert barrier(sync, threads)
            stale.extend(int(v) for v in slots if v != r)
            assert barrier(sync, threads)

    outcome = run_bounded(lambda: run_on_threads(rounds_of, threads, sync, (0, rounds), (threads, sync)))
    assert "error" not in outcome and stale == []
    assert sync[COUNT] == 0 and sync[GENERATION] == 2 * rounds


def test_a_thread_that_fails_releases_the_others_and_its_error_is_raised():
    """Thread 1 fails before it reaches the barrier thread 0 waits at: thread 0 leaves (the barrier
    returns False) and the failure reaches the caller, instead of a run that never ends."""
    sync = np.zeros(SYNC_SIZE, dtype=np.int64)
    left = []

    def steps(start, stop, tid, threads, sync):
        if tid == 1:
            raise RuntimeError("thread 1 failed")
        left.append(barrier(sync, threads))

    outcome = run_bounded(lambda: run_on_threads(steps, 2, sync, (0, 1), (2, sync)))
    assert isinstance(outcome.get("error"), RuntimeError) and left == [False]


def test_the_thread_count_of_each_block_is_the_fastest_one_so_far_and_the_other_is_retried():
    """Both counts once, then the faster per step; the slower again every PROBE_EVERY blocks, and taken
    over once it has become the faster (the machine's load changed)."""
    choice, chosen = ThreadChoice((2, 1)), []
    seconds_per_step = {2: 1.0, 1: 0.5}  # two threads slower at first (a busy machine)
    for block in range(3 * PROBE_EVERY):
        if block == PROBE_EVERY + 1:
            seconds_per_step = {2: 0.2, 1: 0.5}  # the machine became idle
        threads = choice.next()
        chosen.append(threads)
        choice.record(threads, 100, 100 * seconds_per_step[threads])
    assert chosen[:2] == [2, 1]
    assert chosen[2:PROBE_EVERY] == [1] * (PROBE_EVERY - 2) and chosen[PROBE_EVERY] == 2  # the retry
    assert chosen[PROBE_EVERY + 1:2 * PROBE_EVERY] == [1] * (PROBE_EVERY - 1)  # 2 was still slower then
    assert chosen[2 * PROBE_EVERY] == 2 and set(chosen[2 * PROBE_EVERY + 1:]) == {2}  # faster now: kept
    assert choice.steps == {2: 100 * chosen.count(2), 1: 100 * chosen.count(1)}


def test_each_thread_gets_the_synapses_onto_its_own_chunk_of_targets_and_a_stretch_of_touched_as_long():
    """Counted one synapse at a time: thread ``tid`` owns targets ``[tid * chunk, (tid + 1) * chunk)`` with
    ``chunk = ceil(n_post / threads)`` (the loop's neuron chunks); its stretch of each row holds exactly
    those synapses, and its stretch of ``touched`` (which it fills once per synapse at most) starts after
    all the synapses of the threads before it."""
    rng = np.random.default_rng(7)
    n_pre, n_post = 40, 23
    row_sizes = rng.integers(0, 12, n_pre)
    row_sizes[5] = 0  # an empty row
    indptr = np.concatenate(([0], np.cumsum(row_sizes))).astype(np.int64)
    targets = np.concatenate([np.sort(rng.integers(0, n_post, k)) for k in row_sizes]).astype(np.int64)
    for threads in (1, 2, 3, 5, 30):
        split, offset = target_splits(indptr, targets, n_post, threads)
        chunk = -(-n_post // threads)
        assert split.shape == (threads + 1, n_pre) and offset.shape == (threads,)
        before = 0
        for tid in range(threads):
            lo, hi = tid * chunk, (tid + 1) * chunk
            mine = 0
            for i in range(n_pre):
                row = targets[indptr[i]:indptr[i + 1]]
                stretch = targets[split[tid, i]:split[tid + 1, i]]
                np.testing.assert_array_equal(stretch, row[(row >= lo) & (row < hi)])
                mine += stretch.size
            assert offset[tid] == before
            before += mine
        assert before == targets.size
