"""The result of one simulation run, whatever ran it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Trace:
    """Spike times and sampled membrane potential of a run. Times in s, voltage in V.

    Attributes
    ----------
    label : str
        What produced it (``"brian2 (numpy)"``, ``"emulator"``, ``"lava fixed_pt"``...).
    dt, duration : float
        Time step and run length (s).
    spike_trains : tuple of ndarray
        Sorted spike times (s) per neuron.
    t : ndarray (T,)
        Sample times (s); ``v[k]`` is the potential at ``t[k] = k dt``.
    v : ndarray (T, N)
        Membrane potential (V); shape (0, N) when not recorded.
    extra : dict
        Counters and timings (``wall_time_s``, ``overflows``).
    states : dict of str to ndarray (T, N)
        Other sampled state variables (SI), e.g. the linear states, for range profiles.
    """

    label: str
    dt: float
    duration: float
    spike_trains: tuple
    t: np.ndarray
    v: np.ndarray
    extra: dict = field(default_factory=dict)
    states: dict = field(default_factory=dict)

    def __post_init__(self):
        for array in (self.t, self.v, *self.spike_trains, *self.states.values()):
            if isinstance(array, np.ndarray):
                array.setflags(write=False)

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return len(self.spike_trains)

    @property
    def mean_rate_hz(self) -> float:
        """Mean firing rate over the neurons (Hz): spikes per neuron / duration."""
        return float(np.mean([len(s) for s in self.spike_trains]) / self.duration)
