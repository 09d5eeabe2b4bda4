"""Lava backend: the lowered neuron as a Lava Process with fixed_pt and floating_pt models."""
from .processes import LoweredNeuron
from .run import LavaRun, run_lava

__all__ = ["LavaRun", "LoweredNeuron", "run_lava"]
