"""Work beyond one process: a Dask distributed client for ``tune`` and ``sweep``.

By default a :class:`distributed.LocalCluster` sized to the cores (one single-threaded
worker process per core); ``--scheduler tcp://HOST:PORT`` uses an existing cluster
instead, whose workers may be on other machines::

    dask scheduler --port 8786                                # on one machine
    dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1     # on each machine
    neuromorph sweep MODEL.toml --scheduler tcp://HOST:8786 ...

Workers must be able to import neuromorph (install it on every machine, same version). On
connecting, neuromorph registers :class:`~.dask_worker.ImportOnWorkerLoop` with every worker: Brian2 calls
``signal.signal`` when first imported, which works only on a process's main thread, and a task
unpickled on a worker's task thread would otherwise be the first to import it. A scheduler
with no worker after :data:`WORKER_WAIT_S` seconds is refused. Tasks never start Lava.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from .errors import InputError

#: Dask settings for every cluster neuromorph starts.
DASK_CONFIG = {"distributed.worker.daemon": False, "distributed.admin.tick.limit": "10s"}

#: Seconds to wait for a scheduler to answer, and then for its first worker.
WORKER_WAIT_S = 10


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 1) -> Iterator:
    """A connected :class:`distributed.Client`: to ``scheduler`` if given, else to a local cluster
    of ``workers`` single-threaded worker processes (closed on exit)."""
    import dask
    from distributed import Client, LocalCluster

    from .dask_worker import ImportOnWorkerLoop

    with dask.config.set(DASK_CONFIG):
        if scheduler is not None:
            with connect(scheduler) as client:
                yield client
            return
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, death_timeout="30s")
        with cluster, Client(cluster) as client:
            # a worker spawned from ``python -m neuromorph.cli`` does not re-import the parent's __main__ (nor
            # Brian2 with it): the first task unpickled on a comm thread would import it there and fail
            client.register_plugin(ImportOnWorkerLoop())
            yield client


def connect(scheduler: str):
    """A client of ``scheduler`` that has at least one worker, each with
    :class:`~.dask_worker.ImportOnWorkerLoop` registered."""
    from distributed import Client
    from distributed.exceptions import WorkerStartTimeoutError

    from .dask_worker import ImportOnWorkerLoop

    try:
        client = Client(scheduler, timeout=f"{WORKER_WAIT_S}s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}", field="--scheduler") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except WorkerStartTimeoutError:
        client.close()
        raise InputError(f"the Dask scheduler {scheduler!r} has no worker after {WORKER_WAIT_S} s; start one with "
                         f"`dask worker {scheduler} --nthreads 1`", field="--scheduler") from None
    client.register_plugin(ImportOnWorkerLoop())
    return client


def check_scheduler(address: str | None) -> str | None:
    """Refuse a scheduler address that is not ``tcp://host:port`` (or ``tls://host:port``)."""
    if address is None:
        return None
    if not address.startswith(("tcp://", "tls://")) or ":" not in address.split("://", 1)[1]:
        raise InputError(f"expected a Dask scheduler address like tcp://HOST:8786, got {address!r}",
                         field="--scheduler")
    return address
