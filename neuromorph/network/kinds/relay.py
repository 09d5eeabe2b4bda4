"""Kind ``"relay"``: a relay neuron, Lava's own ``LIF`` that fires in the step its one input arrives.

The lowering adds relays when a projection's delays exceed what the target's synapses hold
(:mod:`neuromorph.network.relays`). A relay is Lava's fixed-point ``LIF``
(:func:`~neuromorph.network.lava_lif.lif_step`) with ``du = dv = 4095``, ``vth = 0``, no bias
and ``u = v = 0`` at the start, fed by one synapse of weight 1 (``weight_exp`` 0):

* input ``a`` in a step: ``u = trunc(u (4096 - 4096) / 4096) + (a << 6) = 64 a`` (the hidden
  ``+1`` of ``du`` makes the decay of ``u`` total, so ``u`` holds only this step's input);
* ``v = trunc(v * 1 / 4096) + u = 64 a`` (``v`` is 0 before: a spike reset it, or it never
  left 0, since ``|v| < 4096`` decays to 0 in one step);
* spike iff ``v > vth << 6 = 0``, i.e. iff ``a >= 1``; then ``v = 0``.

So a relay spikes exactly in the steps its input arrives (``a`` is 0 or 1: one presynaptic
neuron, which fires at most once per step) and holds nothing from one step to the next.
A relay is no neuron of the network: it has no SI state (``decode_states`` is empty), is not
in the fidelity report (:attr:`~.base.LoweredPopulation.infrastructure`), but runs on every
backend and is counted by the resource report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..lava_lif import LavaLif, lava_lif
from .lif import LavaLifProcess

#: Lava LIF parameters of a relay (see the module docstring): decays that clear ``u`` and ``v``
#: every step, and a threshold below one input's ``64``.
RELAY_DU, RELAY_DV, RELAY_VTH = 4095, 4095, 0
#: The name of a relay's one input (port 0, Lava's ``a_in``).
RELAY_INPUT = "a_in"


def relay_lif(size: int, name: str, u=0, v=0) -> LavaLif:
    """The Lava ``LIF`` of ``size`` relays (see the module docstring), from ``u``, ``v`` (0: at rest)."""
    return lava_lif(size, du=RELAY_DU, dv=RELAY_DV, vth=RELAY_VTH, u=u, v=v, name=name)


@dataclass(frozen=True, kw_only=True)
class RelayPopulation(LavaLifProcess):
    """Relay neurons (see the module docstring); ``initial`` holds the rows ``u``, ``v`` (zeros)."""

    kind: ClassVar[str] = "relay"
    process_description: ClassVar[str] = "LIF (Lava's own, runs on Loihi 2) as spike relays"
    process_label: ClassVar[str] = "LIF relay (Lava, Loihi 2)"
    hardware_deployable: ClassVar[bool] = True
    export_keys: ClassVar[tuple[str, ...]] = ()
    infrastructure: ClassVar[bool] = True

    @classmethod
    def of_size(cls, name: str, size: int) -> "RelayPopulation":
        """``size`` relays at rest, called ``name``."""
        return cls(name=name, size=size, spec=None, initial=np.zeros((2, size), dtype=np.int64),
                   increment_ports={RELAY_INPUT: 0}, initial_si={}, drive_si={})

    @property
    def lava_lif(self) -> LavaLif:
        """The relay parameters (:func:`relay_lif`) with the initial ``u``, ``v`` of ``initial``."""
        return relay_lif(self.size, self.name, u=self.initial[0], v=self.initial[1])

    @property
    def voltage_lsb(self) -> float:
        """1: a relay's ``v`` counts input units (it has no voltage in volts)."""
        return 1.0

    def port_scale(self, port: int) -> float:
        """1: a relay's weights are ``a_in`` units (weight 1 is one spike)."""
        return 1.0

    def accepts(self, variable: str, port: int) -> bool:
        """Port 0 (``a_in``), the one input."""
        return port == 0

    def export_payload(self, writer, prefix: str) -> dict:
        """Nothing beyond the common keys: the size determines a relay population."""
        return {"neuron": None, "drive": None, "lif": None}

    @classmethod
    def read_payload(cls, data, reader, field: str) -> dict:
        """The initial ``u``, ``v`` (two rows); no drive rows."""
        initial = reader.matrix(data.initial, f"{field}.initial", data.size, rows=2)
        drive = reader.matrix(data.drive, f"{field}.drive", data.size)
        if drive is not None and drive.shape[0]:
            reader.refuse(f"{drive.shape[0]} drive rows: a relay takes no drive", f"{field}.drive")
        return {"initial": initial}

    def decode_states(self, registers: np.ndarray) -> dict[str, np.ndarray]:
        """None: a relay holds no state variable of the network."""
        return {}
