"""Stimulus sampling: one (T, N) array of input current density (A/m^2) per run.

Every backend (Brian2, the emulators, Lava) receives exactly this array, so differences
between them are never differences in input.
"""
from __future__ import annotations

import numpy as np

from ..model.model_file import SimulationConfig, StimulusConfig


def step_current(config: StimulusConfig, n_steps: int, n_neurons: int, dt: float) -> np.ndarray:
    """``amplitude`` for ``start <= t < stop``, 0 elsewhere, with ``t = k dt``."""
    t = np.arange(n_steps) * dt
    on = (t >= config.start - 1e-12) & (t < config.stop - 1e-12)
    return np.repeat(np.where(on, config.amplitude, 0.0)[:, None], n_neurons, axis=1)


def ornstein_uhlenbeck(config: StimulusConfig, n_steps: int, n_neurons: int, dt: float,
                       seed: int | None = None) -> np.ndarray:
    """Exact discretisation of an Ornstein-Uhlenbeck process, independent per neuron.

    ``I[k+1] = mu + (I[k] - mu) a + sigma sqrt(1 - a**2) xi[k]`` with ``a = exp(-dt/tau)``
    and ``xi`` standard normal; ``I[0]`` is drawn from the stationary distribution
    N(mu, sigma**2), so the process is stationary from the first step.
    """
    rng = np.random.default_rng(config.seed if seed is None else seed)
    a = np.exp(-dt / config.tau)
    noise = rng.standard_normal((n_steps, n_neurons))
    current = np.empty((n_steps, n_neurons))
    current[0] = config.sigma * noise[0]
    innovation = config.sigma * np.sqrt(1.0 - a * a)
    for k in range(1, n_steps):
        current[k] = a * current[k - 1] + innovation * noise[k]
    return current + config.mean


def sample_stimulus(config: StimulusConfig, simulation: SimulationConfig, seed: int | None = None) -> np.ndarray:
    """Sample the stimulus for a run: array (n_steps, neurons) in A/m^2.

    ``seed`` overrides the file's seed (used for held-out stimulus seeds).
    """
    n_steps, n_neurons, dt = simulation.n_steps, simulation.neurons, simulation.dt
    if config.kind == "step":
        return step_current(config, n_steps, n_neurons, dt)
    return ornstein_uhlenbeck(config, n_steps, n_neurons, dt, seed)
