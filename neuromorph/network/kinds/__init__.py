"""Population kinds: how a lowered population runs in the emulator, in Lava, in an export and a report.

Each kind is one frozen dataclass, a subclass of :class:`~.base.LoweredPopulation`
(:mod:`.base` lists what it provides), in its own module:

* ``"lowered"`` -- :class:`~.lowered.LoweredProgramPopulation`: neuromorph's integer program,
  in the custom, simulation-only Lava process ``LoweredNeuron``;
* ``"lif"`` -- :class:`~.lif.LavaLifPopulation`: Lava's own fixed-point ``LIF`` process, which
  runs on Loihi 2;
* ``"relay"`` -- :class:`~.relay.RelayPopulation`: relay neurons (Lava's ``LIF`` as an identity
  neuron) that the lowering adds to carry spikes over delays longer than a synapse holds.

Adding a kind is adding one such class and naming it in :data:`KINDS`.
"""
from __future__ import annotations

from .base import EXPORT_KEYS, LoweredPopulation, Stepper
from .lif import LavaLifPopulation
from .lowered import LoweredProgramPopulation
from .relay import RelayPopulation

#: Every population kind by its name (``LoweredPopulation.kind``).
KINDS: dict[str, type[LoweredPopulation]] = {cls.kind: cls for cls in (LoweredProgramPopulation, LavaLifPopulation,
                                                                    RelayPopulation)}

__all__ = ["EXPORT_KEYS", "KINDS", "LavaLifPopulation", "LoweredPopulation", "LoweredProgramPopulation",
           "RelayPopulation", "Stepper"]
