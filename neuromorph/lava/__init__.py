"""Everything that imports Lava: processes, ProcessModels and the network graph builder.

* :mod:`.processes`: :class:`~.processes.LoweredNeuron`, the Lava Process of a lowered
  population (ports and Vars only);
* :mod:`.models`: its ``fixed_pt`` and ``floating_pt`` ProcessModels (Lava finds them by
  scanning this module; :func:`~.models.fixed_model` adds input ports);
* :mod:`.run`: ``PySendModelInt64`` (a 64-bit ``RingBuffer`` source), :func:`~.run.prepare`
  and :func:`~.run.run_lava` (one kernel as one Lava process, fed by a ``RingBuffer``);
* :mod:`.build`: Lava's synapse processes, spike sources and ``LIF`` from neuromorph's data;
* :mod:`.readout`: the streaming readout of a Lava ``LIF`` population (``VarWire``, ``Extractor``);
* :mod:`.graph`: a :class:`~neuromorph.network.lower.LoweredNetwork` as connected Lava
  processes, and running it (:func:`~.graph.run_graph`).

Nothing outside this package imports Lava at module level: the lowering and the tuning path
must not (a Dask worker unpickling a task would import Lava, which sets the multiprocessing
start method). Lava's arithmetic emulated in numpy lives in
:mod:`neuromorph.network.lava_semantics` and :mod:`neuromorph.network.lava_lif`.
"""
