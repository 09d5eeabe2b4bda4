"""Spike-timing fidelity: coincidence factor, matched spike-time error, voltage error."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError
from ..execution.trace import Trace
from .spike_matching import match_spikes


def coincidence_factor(reference: np.ndarray, candidate: np.ndarray, window: float, duration: float) -> float:
    """Coincidence factor Gamma (Kistler et al. 1997; Jolivet et al. 2008).

    ``Gamma = (N_coinc - 2 nu window N_ref) / (0.5 (N_ref + N_cand)) / (1 - 2 nu window)``
    with ``nu = N_cand / duration`` the candidate (model) rate, ``N_coinc`` the number of
    one-to-one coincidences within ``+-window`` and ``2 nu window N_ref`` the number expected
    by chance from a Poisson train of rate ``nu``. 1 for identical trains, about 0 for
    independent ones. Both trains empty: 1; exactly one empty: 0.
    """
    n_ref, n_cand = len(reference), len(candidate)
    if n_ref == 0 and n_cand == 0:
        return 1.0
    if n_ref == 0 or n_cand == 0:
        return 0.0
    coincidences = len(match_spikes(reference, candidate, window)[0])
    rate = n_cand / duration
    expected = 2 * rate * window * n_ref
    return float((coincidences - expected) / (0.5 * (n_ref + n_cand)) / (1 - 2 * rate * window))


def _error_summary(errors: np.ndarray) -> dict:
    if errors.size == 0:
        return {"mean": None, "median": None, "max": None}
    return {"mean": float(errors.mean()), "median": float(np.median(errors)), "max": float(errors.max())}


@dataclass(frozen=True)
class NeuronFidelity:
    """Fidelity of one neuron; spike-time errors in ms, voltage RMSE in mV."""

    gamma: float
    n_reference: int
    n_candidate: int
    spike_count_difference: int
    missed: int
    extra: int
    spike_time_error_ms: dict
    v_rmse_mV: float | None


def _v_rmse_mV(reference_v: np.ndarray, candidate_v: np.ndarray) -> float | None:
    samples = min(reference_v.shape[0], candidate_v.shape[0])
    if samples == 0:
        return None
    return float(np.sqrt(np.mean((candidate_v[:samples] - reference_v[:samples]) ** 2)) * 1e3)


def neuron_fidelity(ref_times, cand_times, ref_v, cand_v, window: float, duration: float) -> tuple[NeuronFidelity, np.ndarray]:
    """Metrics of one neuron and the absolute errors (s) of its matched spikes."""
    pairs, missed, extra = match_spikes(ref_times, cand_times, window)
    errors = np.abs(np.asarray(cand_times)[pairs[:, 1]] - np.asarray(ref_times)[pairs[:, 0]])
    result = NeuronFidelity(
        gamma=coincidence_factor(ref_times, cand_times, window, duration),
        n_reference=len(ref_times), n_candidate=len(cand_times),
        spike_count_difference=len(cand_times) - len(ref_times), missed=len(missed), extra=len(extra),
        spike_time_error_ms=_error_summary(errors * 1e3), v_rmse_mV=_v_rmse_mV(ref_v, cand_v),
    )
    return result, errors


@dataclass(frozen=True)
class FidelityReport:
    """Candidate against reference over all neurons; ``gamma`` is the mean over neurons."""

    reference: str
    candidate: str
    window_ms: float
    gamma: float
    gamma_min: float
    spike_time_error_ms: dict
    missed_spikes: int
    extra_spikes: int
    spike_count_difference: int
    v_rmse_mV: float | None
    per_neuron: tuple[NeuronFidelity, ...]

    def to_dict(self) -> dict:
        """Plain, JSON-serialisable data."""
        data = asdict(self)
        data["per_neuron"] = [asdict(n) for n in self.per_neuron]
        return data


def compare(reference: Trace, candidate: Trace, window: float = 2e-3) -> FidelityReport:
    """Fidelity of ``candidate`` against ``reference`` (same dt, duration and neurons)."""
    if reference.n_neurons != candidate.n_neurons:
        raise InputError(f"cannot compare {reference.n_neurons} neurons with {candidate.n_neurons}")
    if not np.isclose(reference.dt, candidate.dt) or not np.isclose(reference.duration, candidate.duration):
        raise InputError("cannot compare runs with different time steps or durations")
    if not window > 0:
        raise InputError(f"the coincidence window must be positive, got {window}")
    per_neuron, all_errors = [], []
    for i in range(reference.n_neurons):
        ref_v = reference.v[:, i] if reference.v.size else np.empty(0)
        cand_v = candidate.v[:, i] if candidate.v.size else np.empty(0)
        result, errors = neuron_fidelity(reference.spike_trains[i], candidate.spike_trains[i], ref_v, cand_v,
                                         window, reference.duration)
        per_neuron.append(result)
        all_errors.append(errors)
    gammas = np.array([n.gamma for n in per_neuron])
    return FidelityReport(
        reference=reference.label, candidate=candidate.label, window_ms=window * 1e3,
        gamma=float(gammas.mean()), gamma_min=float(gammas.min()),
        spike_time_error_ms=_error_summary(np.concatenate(all_errors) * 1e3),
        missed_spikes=sum(n.missed for n in per_neuron), extra_spikes=sum(n.extra for n in per_neuron),
        spike_count_difference=sum(n.spike_count_difference for n in per_neuron),
        v_rmse_mV=_v_rmse_mV(reference.v, candidate.v) if reference.v.size and candidate.v.size else None,
        per_neuron=tuple(per_neuron),
    )
