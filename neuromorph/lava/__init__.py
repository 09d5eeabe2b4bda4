"""Everything that imports Lava: processes, ProcessModels and the network graph builder.

* :mod:`.processes`: :class:`~.processes.LoweredNeuron`, the Lava Process of a lowered
  population (ports and Vars only);
* :mod:`.models`: its ``fixed_pt`` ProcessModel (Lava finds it by scanning this module;
  :func:`~.models.fixed_model` adds input ports), :func:`~.models.prepare` (compile before
  Lava forks) and ``PySendModelInt64`` (a 64-bit ``RingBuffer`` source);
* :mod:`.build`: Lava's synapse processes, spike sources and ``LIF`` from neuromorph's data;
* :mod:`.readout`: the streaming readout of a Lava ``LIF`` population (``VarWire``, ``Extractor``);
* :mod:`.graph`: a :class:`~neuromorph.network.lower.LoweredNetwork` as connected Lava
  processes, and running it (:func:`~.graph.run_graph`).

Nothing outside this package imports Lava at module level: the lowering and the tuning path
must not (a Dask worker unpickling a task would import Lava, which sets the multiprocessing
start method). Lava's arithmetic emulated in numpy lives in
:mod:`neuromorph.network.lava_semantics` and :mod:`neuromorph.network.lava_lif`.
"""
from __future__ import annotations

import multiprocessing
import platform
import sys


def _let_lava_choose_fork() -> None:
    """Lava's runtime calls ``multiprocessing.set_start_method('fork')`` when first imported, which raises
    "context has already been set" once anything has fixed the context (``get_start_method()``
    does, e.g. inside Dask). When the context is already ``fork`` (Linux's default), clearing it
    changes nothing but lets Lava's own call succeed; any other method is left for Lava to refuse."""
    if platform.system() != "Windows" and multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)


if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules:
    _let_lava_choose_fork()

