"""tune / sweep on Dask: real ``dask scheduler`` / ``dask worker`` processes started with the
README's commands (``sweep --workers 2`` without a scheduler, on a LocalCluster of its own, is
tests/test_tuning.py).

Expected values come from the other code path: every record computed on the cluster must
equal, field for field, the record :func:`neuromorph.tuning.evaluate` computes in this process.
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuromorph.cli import main
from neuromorph.model.model_file import load_model
from neuromorph.targets import load_target
from neuromorph.tuning import Candidate, evaluate, held_out_seeds, prepare_benchmark

from .conftest import squid_toml


def readme_cluster_commands(port: int) -> tuple[list[str], list[str]]:
    """The ``dask scheduler`` and ``dask worker`` commands of the README's cluster block, on ``port`` of
    this machine, with the ``dask`` of this environment."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = [line.split("#")[0].split() for line in readme.splitlines() if line.startswith("dask ")]
    (scheduler,) = [words for words in lines if words[1] == "scheduler"]
    (worker,) = [words for words in lines if words[1] == "worker"]
    dask_command = str(Path(sys.executable).with_name("dask"))
    scheduler = [dask_command, *("8786" == w and str(port) or w for w in scheduler[1:])]
    worker = [dask_command, *(w.replace("HOST:8786", f"127.0.0.1:{port}") for w in worker[1:])]
    return scheduler, worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    """Return once something accepts connections on ``port`` of this machine (the scheduler is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def started(command: list[str], log: Path):
    """``command`` running in its own process group, stopped (with its children) on exit."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_sweep_on_a_scheduler_and_workers_started_as_the_readme_says(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("neuromorph.distributed.WORKER_WAIT_S", 3)  # the wait for a first worker, 10 s by default
    path = tmp_path / "squid.toml"
    path.write_text(squid_toml(duration="40 * ms", neurons=2))
    port = free_port()
    scheduler, worker = readme_cluster_commands(port)
    address = f"tcp://127.0.0.1:{port}"
    common = ["sweep", str(path), "--target", "generic16", "--bits", "12", "--lut-sizes", "256",
              "--roundings", "nearest,dither", "--seeds", "2", "--scheduler", address]
    with started(scheduler, tmp_path / "scheduler.log"):
        wait_for_port(port)
        assert main([*common, "--out", str(tmp_path / "none")]) == 2
        err = capsys.readouterr().err
        assert "has no worker" in err and "--scheduler" in err and "Traceback" not in err
        with started(worker, tmp_path / "worker.log"):
            assert main([*common, "--out", str(tmp_path / "remote")]) == 0
    records = {r["key"]: r for r in map(json.loads, (tmp_path / "remote" / "results.jsonl").read_text().splitlines())}
    model = load_model(path)
    bench = prepare_benchmark(model, load_target("generic16"), held_out_seeds(model, 2), 2e-3)
    candidates = [Candidate(12, 256, interpolate, rounding) for interpolate in (False, True)
                  for rounding in ("nearest", "dither")]
    expected = {c.key(): evaluate(bench, c) for c in candidates}
    assert set(records) == set(expected)
    for key, record in expected.items():
        assert records[key] == json.loads(json.dumps(record)), key


@pytest.mark.parametrize("address, message", [("localhost:8786", "tcp://HOST:8786"),
                                              ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler")])
def test_bad_scheduler_is_refused_in_one_line(address, message, squid_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("neuromorph.distributed.WORKER_WAIT_S", 3)  # how long an unreachable one is tried
    status = main(["sweep", str(squid_file()), "--target", "generic16", "--bits", "12", "--lut-sizes", "256",
                   "--roundings", "nearest", "--seeds", "1", "--scheduler", address, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "--scheduler" in err and "Traceback" not in err
