"""Sweep benchmark: configurations per second of ``tune``/``sweep``, in one process and on Dask.

The squid example on generic16, judged on 5 held-out stimulus seeds (one 50-neuron
population per configuration, as ``neuromorph sweep`` runs it), over the README's 84-point
grid (state bits 10-16, LUT 256/1024, with and without interpolation, nearest, stochastic
and dither rounding). All in one run:

* Brian2 references: the profiling run and the 50-neuron held-out run (Cython), timed once;
* grouping: every configuration lowered once, to find the programs that share a compiled
  kernel (one per structure, its constants passed at run time);
* first pass, one process, with an empty kernel cache (a temporary directory): every
  configuration quantised, its shared kernel compiled the first time, and evaluated: what a
  machine pays the first time (the number of kernels compiled is printed);
* second pass, one process: the same configurations again (kernels in memory);
* Dask: the same configurations on a ``LocalCluster`` of 2 single-threaded workers
  (benchmark sent once, kernels loaded from the cache by each worker), as ``sweep`` runs
  them; the cluster's start is timed apart.

    python bench/bench_sweep.py [--workers 2] [--bits 10-16]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neuromorph.model.model_file import load_model  # noqa: E402
from neuromorph.targets import load_target  # noqa: E402
from neuromorph.tuning import (Evaluator, evaluate, held_out_seeds, prepare_benchmark, run_points,  # noqa: E402
                               search_space)


def bit_range(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bits", default="10-16")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="neuromorph-kernels-")
    os.environ["NEUROMORPH_KERNEL_CACHE"] = cache  # read when a kernel is first loaded; inherited by Dask workers

    model = load_model(ROOT / "examples" / "squid_hh.toml")
    target = load_target("generic16")
    space = search_space(target, bits=bit_range(args.bits), lut_sizes=(256, 1024),
                         roundings=("nearest", "stochastic", "dither"))
    brian2_s, bench = timed(lambda: prepare_benchmark(model, target, held_out_seeds(model, 5)))
    share_s, bench = timed(lambda: bench.sharing(space))
    print(f"squid HH on generic16, {len(space)} configurations x 5 held-out seeds x 10 neurons, "
          f"{bench.stimulus.shape[0]:,} steps each")
    first_s, _ = timed(lambda: [evaluate(bench, c) for c in space])
    compiled = len(list(Path(cache).glob("neuromorph_kernel_program_*.py")))
    second_s, _ = timed(lambda: [evaluate(bench, c) for c in space])
    start_s, evaluator = timed(lambda: Evaluator(bench, args.workers).__enter__())
    try:
        with tempfile.TemporaryDirectory() as out:
            dask_s, records = timed(lambda: run_points(bench, space, Path(out) / "results.jsonl", evaluator))
    finally:
        evaluator.__exit__(None, None, None)
    assert len(records) == len(space)
    n = len(space)
    print("| run | configurations | wall time (s) | configurations/s |")
    print("|---|---|---|---|")
    print(f"| Brian2 references (profiling run + 5 seeds, Cython) | - | {brian2_s:.1f} | - |")
    print(f"| grouping (lower every configuration, find the shared kernels) | {n} | {share_s:.1f} | - |")
    print(f"| one process, first pass (empty cache: {compiled} kernels compiled; evaluate) | {n} | {first_s:.1f} | "
          f"{n / first_s:.2f} |")
    print(f"| one process, second pass (kernels in memory) | {n} | {second_s:.1f} | {n / second_s:.2f} |")
    print(f"| Dask LocalCluster start ({args.workers} workers, benchmark scattered) | - | {start_s:.1f} | - |")
    print(f"| Dask, {args.workers} workers (kernels from the cache) | {n} | {dask_s:.1f} | {n / dask_s:.2f} |")


if __name__ == "__main__":
    main()
