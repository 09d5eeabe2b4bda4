"""One-to-one matching of spikes within a coincidence window."""
from __future__ import annotations

import numpy as np


def match_spikes(reference: np.ndarray, candidate: np.ndarray, window: float):
    """Pair reference and candidate spikes that lie within ``window`` (s) of each other.

    Greedy in time order: each reference spike takes the earliest unmatched candidate spike
    with ``|t_c - t_r| <= window``. For points on a line with a symmetric window this yields
    a matching of maximum size (the exchange argument of interval scheduling).

    Returns
    -------
    pairs : ndarray (K, 2) of int
        Indices ``(i_reference, j_candidate)``.
    missed : ndarray of int
        Reference spikes without a partner.
    extra : ndarray of int
        Candidate spikes without a partner.
    """
    reference, candidate = np.asarray(reference, float), np.asarray(candidate, float)
    tolerance = window * (1 + 1e-9)
    pairs, j = [], 0
    for i, t in enumerate(reference):
        while j < candidate.size and candidate[j] < t - tolerance:
            j += 1
        if j < candidate.size and candidate[j] <= t + tolerance:
            pairs.append((i, j))
            j += 1
    pairs = np.array(pairs, dtype=int).reshape(-1, 2)
    missed = np.setdiff1d(np.arange(reference.size), pairs[:, 0])
    extra = np.setdiff1d(np.arange(candidate.size), pairs[:, 1])
    return pairs, missed, extra
