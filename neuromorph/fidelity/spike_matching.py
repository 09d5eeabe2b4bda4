"""One-to-one matching of spikes within a coincidence window."""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def _times(train, name: str) -> np.ndarray:
    times = np.asarray(train, dtype=float).reshape(-1)
    if not np.all(np.isfinite(times)):
        raise InputError(f"the {name} spike train holds non-finite times")
    return times


def match_spikes(reference: np.ndarray, candidate: np.ndarray, window: float):
    """Pair reference and candidate spikes that lie within ``window`` (s) of each other.

    Greedy in time order: each reference spike takes the earliest unmatched candidate spike
    with ``|t_c - t_r| <= window``. For points on a line with a symmetric window this yields
    a matching of maximum size (the exchange argument of interval scheduling). The trains
    need not be sorted: they are matched in time order and the indices refer to the input
    order.

    Returns
    -------
    pairs : ndarray (K, 2) of int
        Indices ``(i_reference, j_candidate)`` into the trains as given.
    missed : ndarray of int
        Reference spikes without a partner.
    extra : ndarray of int
        Candidate spikes without a partner.
    """
    reference, candidate = _times(reference, "reference"), _times(candidate, "candidate")
    ref_order, cand_order = np.argsort(reference, kind="stable"), np.argsort(candidate, kind="stable")
    ref_sorted, cand_sorted = reference[ref_order], candidate[cand_order]
    tolerance = window * (1 + 1e-9)
    pairs, j = [], 0
    for i, t in enumerate(ref_sorted):
        while j < cand_sorted.size and cand_sorted[j] < t - tolerance:
            j += 1
        if j < cand_sorted.size and cand_sorted[j] <= t + tolerance:
            pairs.append((ref_order[i], cand_order[j]))
            j += 1
    pairs = np.array(pairs, dtype=int).reshape(-1, 2)
    return pairs, _unpaired(reference.size, pairs[:, 0]), _unpaired(candidate.size, pairs[:, 1])


def _unpaired(size: int, paired: np.ndarray) -> np.ndarray:
    """The indices below ``size`` not in ``paired``, ascending."""
    unpaired = np.ones(size, dtype=bool)
    unpaired[paired] = False
    return np.flatnonzero(unpaired)
