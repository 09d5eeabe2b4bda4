"""The streaming readout of a Lava ``LIF`` population: ``u``, ``v``, spikes and summed input, every step.

Lava's ``LIF`` records nothing. Lava's ``VarWire`` processes tap its ``u`` and ``v`` after
every step, an ``Extractor`` receives ``s_out``, and a second ``Extractor`` connected to the
``a_out`` of every synapse process into it receives their sum, as ``a_in`` does. They stream
one vector per step to the host while the run goes on
(:func:`~neuromorph.lava.graph.run_graph` runs non-blocking and receives).

Why not ``Monitor`` or a ``RingBuffer`` sink: both work (``tests/test_network_lif.py`` uses
them), but Lava 0.10 reads a Var back one element per message (``PyLoihiProcessModel._get_var``,
``lava/magma/core/model/py/model.py:124``: ``# FIXME: send a whole vector``), about 35 us per
value here: the ``u``, ``v``, spikes and input of ``lif_net`` over 1 s (4 x 10^6 values) took
160 s to read after a 126 s run. A ``Monitor`` also holds one probe only (its model declares
``ref_port_0`` alone; a second ``probe`` fails to compile).
"""
from __future__ import annotations

from dataclasses import dataclass

from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel, PyLoihiVarWireModel, VarWire

#: Vectors a readout channel holds before the run waits for the host to receive.
READOUT_BUFFER = 64


@dataclass
class LifProbes:
    """The readout of a LIF population: ``u``, ``v`` (VarWire), ``s_out`` and the summed input (Extractor).

    ``a_in`` is None when no synapse reaches the population (an unconnected Extractor would
    not be part of the graph Lava compiles); its input is then 0.
    """

    u: VarWire
    v: VarWire
    spikes: Extractor
    a_in: Extractor | None

    def receivers(self) -> dict:
        """The readout processes by key (``u``, ``v``, ``spikes`` and, when connected, ``a_in``)."""
        receivers = {"u": self.u, "v": self.v, "spikes": self.spikes, "a_in": self.a_in}
        return {key: receiver for key, receiver in receivers.items() if receiver is not None}


def probe_lif(process, feeds: list, models: dict) -> LifProbes:
    """Attach the readout of a LIF ``process`` fed by the synapse processes ``feeds``.

    The readout processes' models are named in ``models`` (the graph's
    ``exception_proc_model_map``).
    """
    wires = {}
    for name in ("u", "v"):
        wires[name] = VarWire(buffer_size=READOUT_BUFFER)
        wires[name].connect_var(getattr(process, name))
        models[wires[name]] = PyLoihiVarWireModel
    spikes = Extractor(shape=process.s_out.shape, buffer_size=READOUT_BUFFER)
    process.s_out.connect(spikes.in_port)
    a_in = Extractor(shape=process.s_out.shape, buffer_size=READOUT_BUFFER) if feeds else None
    for synapse in feeds:
        synapse.a_out.connect(a_in.in_port)
    models.update({extractor: PyLoihiExtractorModel for extractor in (spikes, a_in) if extractor is not None})
    return LifProbes(u=wires["u"], v=wires["v"], spikes=spikes, a_in=a_in)
