"""The threads of a fused network loop: they meet at a real barrier, and one failing never leaves the others waiting.

That the threads compute every spike and register of the stepped emulator is checked on whole networks
in ``tests/test_network_compare.py`` (``fused_on_threads``); here the meeting itself.
"""
import threading

import numpy as np

from neuromorph.network.barrier_kernels import COUNT, GENERATION, SYNC_SIZE, barrier
from neuromorph.network.fused import run_on_threads


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
