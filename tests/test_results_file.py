"""Results files: one writer, whole lines, repair, tolerant reading, and sweeps that are
run twice at once or killed with SIGKILL and resumed."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuromorph.errors import NeuromorphError
from neuromorph.results_file import ResultsBusy, append_record, exclusive, read_records, repair
from neuromorph.tuning import load_results

from .conftest import ROOT, squid_toml


def record(key, gamma=0.9):
    return {"key": key, "model": "m", "target": "t", "state_bits": 12, "lut_size": 64, "interpolate": True,
            "rounding": "nearest", "seeds": [1], "gamma": gamma, "gamma_min": gamma, "table_memory_bits": 10,
            "overflows": 0, "state_bits_per_neuron": 40}


def test_a_complete_last_line_without_newline_gets_one(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(record("a")) + "\n" + json.dumps(record("b")))
    repair(path)
    append_record(path, record("c"))
    assert [r["key"] for r in read_records(path)] == ["a", "b", "c"]


def test_a_torn_last_line_is_cut_off_and_reported(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(record("a")) + "\n" + json.dumps(record("b"))[:40])
    messages = []
    repair(path, messages.append)
    assert path.read_text() == json.dumps(record("a")) + "\n"
    assert len(messages) == 1 and "incomplete" in messages[0]
    repair(path, messages.append)  # idempotent
    assert len(messages) == 1


def test_malformed_lines_are_skipped_with_their_line_number(tmp_path):
    path = tmp_path / "results.jsonl"
    lines = [json.dumps(record("a")), "{torn", "garbage \xff", json.dumps({k: v for k, v in record("b").items()
                                                                          if k != "gamma"}),
             "[1, 2]", json.dumps(record("c")), '{"key": "d", "gamma": NaN}', ""]
    path.write_text("\n".join(lines) + "\n")
    messages = []
    results = load_results(path, messages.append)
    assert sorted(results) == ["a", "c"]
    assert [m.split(":")[1] for m in messages] == ["2", "3", "4", "5", "7"]
    assert "'gamma' is missing" in messages[2]


def test_records_are_strict_json_lines(tmp_path):
    path = tmp_path / "results.jsonl"
    append_record(path, {**record("a"), "gamma": float("nan"), "spike": float("inf")})
    text = path.read_text()
    assert text.endswith("\n") and "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["gamma"] is None


def test_a_second_writer_waits_or_refuses(tmp_path):
    path = tmp_path / "results.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from neuromorph.results_file import exclusive\n"
        f"with exclusive(Path({str(path)!r})):\n    print('locked', flush=True); time.sleep(3)")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ResultsBusy, match=f"pid {holder.pid}"):
        with exclusive(path, wait=False):
            pass
    assert issubclass(ResultsBusy, NeuromorphError)
    started = time.perf_counter()
    with exclusive(path, wait=True):
        waited = time.perf_counter() - started
    holder.wait()
    assert waited > 1


# ---------------------------------------------------------------------------------------
# Whole sweeps: two at once into one directory; SIGKILL at random moments, then resume
# ---------------------------------------------------------------------------------------

#: One worker: the sweep process evaluates and writes the file itself (no cluster to start; the
#: workers never touch the file, Dask's own tests are tests/test_distributed.py).
SWEEP = ["--target", "generic16", "--bits", "8-13", "--lut-sizes", "64", "--roundings", "nearest",
         "--seeds", "1", "--workers", "1"]
KEYS = {f"{b}/64/{i}/nearest" for b in range(8, 14) for i in (0, 1)}


def _sweep(model: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "neuromorph.cli", "sweep", str(model), *SWEEP, "--out", str(out)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _check_every_point_once(path: Path) -> None:
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line valid JSON
    assert sorted(r["key"] for r in records) == sorted(KEYS)


@pytest.fixture
def small_model(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text(squid_toml(duration="20 * ms", neurons=2))
    return path


@pytest.mark.slow
def test_two_sweeps_into_one_directory_compute_each_point_once(small_model, tmp_path):
    out = tmp_path / "sweep"
    first, second = _sweep(small_model, out), _sweep(small_model, out)
    for process in (first, second):
        assert process.wait(timeout=600) == 0, process.stderr.read()
    _check_every_point_once(out / "results.jsonl")


@pytest.mark.slow
def test_a_sweep_killed_at_random_moments_loses_and_duplicates_nothing(small_model, tmp_path):
    out = tmp_path / "sweep"
    rng = random.Random(10)
    for attempt in range(4):
        process = _sweep(small_model, out)
        time.sleep(rng.uniform(2.0, 9.0))
        os.killpg(process.pid, signal.SIGKILL)  # the sweep, mid-write or not
        process.wait()
        if attempt == 1 and (out / "results.jsonl").exists():  # and a write torn half-way, as a crash leaves it
            with open(out / "results.jsonl", "a") as handle:
                handle.write('{"key": "8/64/0/nearest", "gam')
    last = _sweep(small_model, out)
    assert last.wait(timeout=600) == 0, last.stderr.read()
    _check_every_point_once(out / "results.jsonl")
