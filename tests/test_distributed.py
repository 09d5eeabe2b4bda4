"""tune / sweep on Dask: an explicit LocalCluster of 2 worker processes, reached by address.

Expected values come from the other code path: every record computed on the cluster must
equal, field for field, the record :func:`neuromorph.tuning.evaluate` computes in this process.
"""
import json

import dask
import pytest

from neuromorph.cli import main
from neuromorph.distributed import DASK_CONFIG
from neuromorph.model.model_file import load_model
from neuromorph.targets import load_target
from neuromorph.tuning import Candidate, Evaluator, evaluate, prepare_benchmark, run_points

CANDIDATES = [Candidate(bits, 256, True, rounding) for bits in (10, 14) for rounding in ("nearest", "dither")]


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded, non-daemonic worker processes, as the README tells users to start them."""
    from distributed import LocalCluster

    with dask.config.set(DASK_CONFIG):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
            yield local


@pytest.fixture(scope="module")
def small_benchmark(tmp_path_factory):
    from .conftest import squid_toml

    path = tmp_path_factory.mktemp("model") / "squid.toml"
    path.write_text(squid_toml(duration="40 * ms", neurons=2))
    return path, prepare_benchmark(load_model(path), load_target("generic16"), seeds=(11, 12))


@pytest.mark.slow
def test_records_from_two_cluster_workers_equal_the_in_process_evaluation(cluster, small_benchmark, tmp_path):
    _, bench = small_benchmark
    with Evaluator(bench, workers=2, scheduler=cluster.scheduler_address) as evaluator:
        assert len(evaluator.client.scheduler_info()["workers"]) == 2
        records = run_points(bench, CANDIDATES, tmp_path / "results.jsonl", workers=evaluator)
    expected = {c.key(): evaluate(bench, c) for c in CANDIDATES}
    assert set(records) == set(expected)
    for key, record in expected.items():
        assert json.loads(json.dumps(records[key])) == json.loads(json.dumps(record)), key
    stored = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in stored) == sorted(expected)


@pytest.mark.slow
def test_sweep_cli_on_an_existing_scheduler_equals_the_local_cluster(cluster, small_benchmark, tmp_path):
    path, _ = small_benchmark
    common = ["sweep", str(path), "--target", "generic16", "--bits", "10,14", "--lut-sizes", "256",
              "--roundings", "nearest,dither", "--seeds", "2"]
    assert main([*common, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "remote")]) == 0
    assert main([*common, "--workers", "1", "--out", str(tmp_path / "local")]) == 0

    def points(name):
        lines = (tmp_path / name / "results.jsonl").read_text().splitlines()
        return {r["key"]: r for r in map(json.loads, lines)}

    remote, local = points("remote"), points("local")
    assert len(remote) == 2 * 2 * 2 and remote == local


@pytest.mark.parametrize("address, message", [("localhost:8786", "tcp://HOST:8786"),
                                              ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler")])
def test_bad_scheduler_is_refused_in_one_line(address, message, squid_file, tmp_path, capsys):
    status = main(["sweep", str(squid_file()), "--target", "generic16", "--bits", "12", "--lut-sizes", "256",
                   "--roundings", "nearest", "--seeds", "1", "--scheduler", address, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "--scheduler" in err and "Traceback" not in err
