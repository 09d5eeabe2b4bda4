"""Replayed noise: the Gaussian increments of ``xi`` drawn once and fed to every backend as sampled inputs.

A population whose equations use ``xi`` (or ``xi_*``) gets, per noise variable, a
:class:`~neuromorph.network.ir.CurrentSource` holding ``z / sqrt(dt)`` (unit
``second**-0.5``, ``z ~ N(0, 1)`` per neuron and step) that sets the parameter replacing
the variable (:func:`neuromorph.model.noise.replay_equations`). The Brian2 reference, the
lowering, the emulator and Lava then treat it as any sampled input: Brian2 writes it
through a 2-D ``TimedArray`` at the start of every step, the lowered program receives it on
an input port (see :mod:`neuromorph.model.noise` for why Euler then computes Brian2's
Euler-Maruyama step ``g * sqrt(dt) * z`` exactly).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..model.noise import DEFAULT_NOISE, NOISE_UNIT, NoiseStreams, noise_streams
from .ir import CurrentSource, NetworkSpec, Population


def standard_normal(seed: int, key: tuple[int, ...], n_steps: int, size: int) -> np.ndarray:
    """(n_steps, size) independent N(0, 1) draws of the stream ``key`` of ``seed`` (numpy's PCG64)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key)).standard_normal((n_steps, size))


def noise_sources(population: str, size: int, streams: NoiseStreams, dt: float, n_steps: int,
                  key: tuple[int, ...] = ()) -> tuple[CurrentSource, ...]:
    """One sampled input per noise variable of ``population``: ``xi = z / sqrt(dt)`` (second**-0.5) per step.

    Stream ``k`` (the ``k``-th noise variable in sorted order) draws from ``(streams.seed, key + (k,))``.
    """
    return tuple(CurrentSource(name=f"noise_{population}_{xi}", target=population, variable=parameter,
                               values=standard_normal(streams.seed, (*key, k), n_steps, size) / np.sqrt(dt),
                               unit=NOISE_UNIT)
                 for k, (xi, parameter) in enumerate(streams.parameters.items()))


def replay_noise(spec: NetworkSpec, mode: str | None = DEFAULT_NOISE, seed: int | None = None,
                 source: str = "network", key: tuple[int, ...] = ()) -> NetworkSpec:
    """``spec`` with the noise of every population replayed (a no-op for a network without ``xi``), or,
    with ``mode="target"``, every population with ``xi`` marked as drawing its own (``NeuronModel.noise``).

    ``seed`` defaults to the spec's seed (0 when unseeded); population ``p`` (in the spec's
    order) draws its streams from ``(seed, *key, p, k)`` (``key`` tells apart the runs of one
    script). ``mode`` None keeps ``xi`` in the equations (a caller that replays later).
    Errors name ``populations.NAME.equations``.
    """
    if mode is None:
        return spec
    seed = seed if seed is not None else (spec.seed or 0)
    populations, sources = [], list(spec.sources)
    for index, population in enumerate(spec.populations):
        model = population.model
        try:
            equations, streams = noise_streams(model.equations, model.method, mode, seed, InputError, source,
                                               f"populations.{population.name}.equations")
        except InputError as exc:
            raise exc.located(source) from None
        if streams is not None and mode == "target":
            population = replace(population, model=replace(model, noise="target"))
        elif streams is not None:
            population = Population(name=population.name, size=population.size,
                                    model=replace(model, equations=equations))
            sources += noise_sources(population.name, population.size, streams, spec.dt, spec.n_steps, (*key, index))
        populations.append(population)
    return replace(spec, populations=tuple(populations), sources=tuple(sources))


#: Resolution (V) at which voltage samples are compared by :func:`voltage_ks`.
VOLTAGE_RESOLUTION = 1e-5


def pooled_isi_cv(trains) -> float | None:
    """Coefficient of variation of all inter-spike intervals of ``trains`` pooled (None below 2 intervals)."""
    intervals = np.concatenate([np.diff(t) for t in trains] or [np.empty(0)])
    return float(intervals.std() / intervals.mean()) if intervals.size > 1 else None


def voltage_ks(reference: np.ndarray, candidate: np.ndarray, skip: int = 0) -> float | None:
    """Two-sample KS distance of two voltage records (V), samples from step ``skip`` on, rounded to
    :data:`VOLTAGE_RESOLUTION` (a fixed-point reset value within an LSB of Brian2's would otherwise be
    a step of the size of the time spent at reset).

    ``D = max_x |F_a(x) - F_b(x)|`` over the rounded values, with the empirical distribution
    functions counted on the grid of :data:`VOLTAGE_RESOLUTION` (scipy's ``ks_2samp`` statistic,
    without sorting millions of samples); a range wider than the samples are many falls back to
    ``ks_2samp``.
    """
    a, b = (np.rint(np.asarray(x)[skip:].ravel() / VOLTAGE_RESOLUTION) for x in (reference, candidate))
    if not (a.size and b.size):
        return None
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    if not np.isfinite(high - low) or high - low >= a.size + b.size:
        from scipy import stats

        return float(stats.ks_2samp(a, b).statistic)
    width = int(high - low) + 1
    cdf_a, cdf_b = (np.cumsum(np.bincount((x - low).astype(np.int64), minlength=width)) / x.size for x in (a, b))
    return float(np.max(np.abs(cdf_a - cdf_b)))


def noise_statistics(reference, candidate, skip: int = 0) -> dict:
    """What a run with ``noise = "target"`` is compared by (two :class:`~neuromorph.execution.trace.Trace`):
    mean rate (Hz), pooled ISI CV, and the KS distance of the voltage distributions."""
    return {"rate_hz": {"reference": reference.mean_rate_hz, "candidate": candidate.mean_rate_hz},
            "isi_cv": {"reference": pooled_isi_cv(reference.spike_trains),
                       "candidate": pooled_isi_cv(candidate.spike_trains)},
            "v_ks": voltage_ks(reference.v, candidate.v, skip)}

