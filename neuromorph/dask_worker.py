"""What every Dask worker of a ``tune`` or ``sweep`` gets before its first task."""
from __future__ import annotations

from distributed import WorkerPlugin


class ImportOnWorkerLoop(WorkerPlugin):
    """Import Brian2 on the worker's event loop (its main thread).

    Brian2's import calls ``signal.signal``, which raises "signal only works in main thread"
    anywhere else; without this plugin the first task unpickled on a worker's task thread
    would be the first to import it.
    """

    name = "neuromorph-imports"

    def setup(self, worker) -> None:
        """Run once per worker, on its event loop, when the plugin is registered."""
        import brian2  # noqa: F401
