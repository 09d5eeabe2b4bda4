"""neuromorph: biophysical neuron models on fixed-point neuromorphic hardware.

Importing the package registers the Brian2 device ``'neuromorph'`` (:mod:`neuromorph.device`):
``set_device('neuromorph', target='loihi2')`` runs a Brian2 script in fixed point.
"""
__version__ = "0.1.0"

from .device import last_report, register  # noqa: E402

register()

__all__ = ["last_report"]
