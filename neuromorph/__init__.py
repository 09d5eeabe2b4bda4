"""neuromorph: biophysical neuron models on fixed-point neuromorphic hardware."""
__version__ = "0.1.0"
