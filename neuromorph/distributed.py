"""Work beyond one process: a Dask distributed client for ``tune`` and ``sweep``.

By default a :class:`distributed.LocalCluster` sized to the cores (one single-threaded
worker process per core); ``--scheduler tcp://HOST:PORT`` uses an existing cluster
instead, whose workers may be on other machines::

    dask scheduler --port 8786                                # on one machine
    dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1 --no-nanny   # on each machine
    neuromorph sweep MODEL.toml --scheduler tcp://HOST:8786 ...

Workers must be able to import neuromorph (install it on every machine, same version).
Lava starts processes of its own, which a daemonic process may not, so neuromorph sets
``distributed.worker.daemon = False`` for the clusters it starts; start external workers
with ``--no-nanny`` (or set that option in their Dask configuration) when they will run Lava.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from .errors import InputError

#: Dask settings for every cluster neuromorph starts.
DASK_CONFIG = {"distributed.worker.daemon": False, "distributed.admin.tick.limit": "10s"}


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 1) -> Iterator:
    """A connected :class:`distributed.Client`: to ``scheduler`` if given, else to a local cluster
    of ``workers`` single-threaded worker processes (closed on exit)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(DASK_CONFIG):
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}", field="--scheduler") from None
            with client:
                yield client
            return
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, death_timeout="30s")
        with cluster, Client(cluster) as client:
            yield client


def check_scheduler(address: str | None) -> str | None:
    """Refuse a scheduler address that is not ``tcp://host:port`` (or ``tls://host:port``)."""
    if address is None:
        return None
    if not address.startswith(("tcp://", "tls://")) or ":" not in address.split("://", 1)[1]:
        raise InputError(f"expected a Dask scheduler address like tcp://HOST:8786, got {address!r}",
                         field="--scheduler")
    return address
