"""Spike-timing fidelity of a candidate run against a reference run."""
from .metrics import Coincidence, FidelityReport, NeuronFidelity, coincidence, coincidence_factor, compare, neuron_fidelity
from .spike_matching import match_spikes

__all__ = ["Coincidence", "FidelityReport", "coincidence", "NeuronFidelity", "coincidence_factor", "compare", "match_spikes", "neuron_fidelity"]
