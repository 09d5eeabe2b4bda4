"""``neuromorph tune`` and ``neuromorph sweep``: configurations tried on held-out stimulus seeds."""
from __future__ import annotations

import argparse
import os

from ..errors import InputError, NeuromorphError
from ..files import shorten
from ..quantization.fixed_point import ROUNDING_MODES
from ..quantization.quantize import FEEDBACK_KINDS, MAX_RESIDUAL_BITS
from .options import (
    MAX_LIST,
    add_target_option,
    add_window_option,
    check_arguments,
    feedback_kinds,
    gamma_text,
    grid_field,
    log,
    prepare_output,
    resolve_target,
)


def add_search_options(p: argparse.ArgumentParser, default_out: str) -> None:
    """The options ``tune`` and ``sweep`` share: model, target, grid, workers and output."""
    p.add_argument("model", help="model file or network file (TOML)")
    add_target_option(p, default="loihi2")
    p.add_argument("--seeds", type=int, default=5,
                   help="number of held-out stimulus seeds (of a network file: network seeds) (default 5)")
    p.add_argument("--bits", help="state bits to try, e.g. 8-16 or 10,12,14 (default: 8 to the register width)")
    p.add_argument("--lut-sizes", help="table sizes to try, e.g. 64,256,1024 "
                                       "(default: those of 64, 256 and 1024 the target holds)")
    p.add_argument("--roundings", help="rounding modes to try, e.g. nearest,stochastic (default: the target's)")
    p.add_argument("--residual-bits", help="error_feedback: residual widths to try, e.g. 2,4,6 (default 2,4,6)")
    p.add_argument("--feedback", type=feedback_kinds,
                   help="error_feedback: kinds of state that keep a residual, e.g. voltage,gate "
                        "(default: voltage,gate,linear)")
    add_window_option(p)
    p.add_argument("--workers", type=int,
                   help="local worker processes; 1: this process, no cluster (default: one per core)")
    p.add_argument("--scheduler", help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (see the README; "
                                       "default: a local cluster)")
    p.add_argument("--out", default=default_out, help=f"output directory (default {default_out})")


def add_tune(subparsers) -> None:
    """Register ``tune``."""
    p = subparsers.add_parser("tune", help="find the cheapest fixed-point configuration that keeps spike timing")
    add_search_options(p, "out/tune")
    p.add_argument("--min-gamma", type=float, default=0.99, help="required mean Gamma on held-out seeds")
    p.set_defaults(handler=run_tune_command)


def add_sweep(subparsers) -> None:
    """Register ``sweep``."""
    p = subparsers.add_parser("sweep", help="run a grid of configurations; write JSON lines and a figure")
    add_search_options(p, "out/sweep")
    p.set_defaults(handler=run_sweep_command)


#: Sub-command name -> function adding it, in the order ``--help`` lists them.
COMMANDS = {"tune": add_tune, "sweep": add_sweep}


def int_list(text: str | None, option: str, low: int, high: int) -> list[int] | None:
    """Parse ``"8-16"`` (steps of 1) or ``"10,12,14"``: at most :data:`~.options.MAX_LIST` values in ``[low, high]``.

    Returns None for an empty ``text`` (the option was not given).
    """
    if not text:
        return None
    rule = f"expected integers from {low} to {high} like 8-16 or 10,12,14 (at most {MAX_LIST} values)"
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-"))
            if first > last:
                raise InputError(f"the range {shorten(text)} is empty (its start is above its end); {rule}",
                                 field=option)
            values = range(first, last + 1)
        else:
            values = [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"{rule}, got {shorten(text)}", field=option) from None
    if len(values) > MAX_LIST or not all(low <= v <= high for v in values):
        raise InputError(f"{rule}, got {shorten(text)}", field=option)
    return sorted(set(values))


def rounding_list(text: str | None) -> list[str] | None:
    """Parse ``--roundings`` (``"nearest,stochastic"``): known modes, first occurrence kept."""
    if not text:
        return None
    names = text.split(",")
    unknown = [n for n in names if n not in ROUNDING_MODES]
    if unknown:
        raise InputError(f"unknown rounding {shorten(unknown[0])}; allowed: {list(ROUNDING_MODES)}",
                         field="--roundings")
    return list(dict.fromkeys(names))


def check_search_memory(model, seeds: int, workers: int) -> None:
    """Refuse (before any run) a search whose references would not fit in memory."""
    from ..resources_check import check_memory, search_estimate

    sim = model.simulation
    estimate = search_estimate(sim.n_steps, sim.neurons, seeds, workers)
    check_memory(estimate, model.path, grid_field(sim.n_steps, sim.neurons),
                 "shorten simulation.duration, use fewer simulation.neurons, fewer --seeds or fewer --workers")


def search_benchmark(args: argparse.Namespace, target, workers: int, bars):
    """The benchmark of a model file, or of a network file (one with ``[populations]``)."""
    from ..model.model_file import load_model
    from ..network.network_file import is_network_file
    from ..tuning import held_out_seeds, prepare_benchmark

    if is_network_file(args.model):
        from ..network.benchmark import prepare_network_benchmark

        return prepare_network_benchmark(args.model, target, args.seeds, args.window * 1e-3, progress=log, bars=bars)
    model = load_model(args.model)
    check_search_memory(model, args.seeds, workers)
    return prepare_benchmark(model, target, held_out_seeds(model, args.seeds), args.window * 1e-3, progress=log,
                             bars=bars)


def search_setup(args: argparse.Namespace):
    """Everything a search needs, every input checked before the first simulation:
    ``(target, space, bench, out, evaluator, bars)``."""
    from ..distributed import check_scheduler
    from ..progress import bar_factory
    from ..tuning import Evaluator, search_space, worker_count

    check_arguments(args)
    check_scheduler(args.scheduler)
    out = prepare_output(args.out)
    target = resolve_target(args, {})
    space = search_space(target, int_list(args.bits, "--bits", 2, 64),
                         int_list(args.lut_sizes, "--lut-sizes", 2, 1 << 24), rounding_list(args.roundings),
                         residual_bits=int_list(args.residual_bits, "--residual-bits", 1, MAX_RESIDUAL_BITS),
                         feedback=[",".join(args.feedback or FEEDBACK_KINDS)])
    for candidate in {(c.state_bits, c.lut_size, c.rounding, c.residual_bits): c for c in space}.values():
        candidate.config(target)  # refuse widths, sizes or roundings beyond the target before running anything
    workers = worker_count(args.workers, len(space))
    if args.workers and args.workers > workers:
        log(f"using {workers} workers, not {args.workers}: no more than the cores ({os.cpu_count()}) "
            f"or the {len(space)} configurations")
    bars = bar_factory()
    bench = search_benchmark(args, target, workers, bars)
    log(f"lowering the {len(space)} configurations to find the compiled kernels they can share")
    bench = bench.sharing(space)
    return target, space, bench, out, Evaluator(bench, workers, check_scheduler(args.scheduler)), bars


def format_results_table(records: list[dict], min_gamma: float | None = None) -> str:
    """Everything tried, cheapest first (total state bits per neuron, then table memory), as a Markdown
    table (``*``: meets ``min_gamma``). ``residual``: error feedback's residual width and shaped states."""
    from ..tuning import cost

    lines = ["| state bits | state bits per neuron | LUT | interp | rounding | residual | Gamma mean | Gamma min | "
             "spike error ms | table bits |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=cost):
        mark = " *" if min_gamma is not None and r["gamma"] is not None and r["gamma"] >= min_gamma else ""
        error = "-" if r.get("spike_time_error_ms") is None else f"{r['spike_time_error_ms']:.3f}"
        residual = f"{r['residual_bits']} bits: {r['feedback']}" if r["rounding"] == "error_feedback" else "-"
        lines.append(f"| {r['state_bits']} | {r['state_bits_per_neuron']} | {r['lut_size']} | "
                     f"{'yes' if r['interpolate'] else 'no'} | {r['rounding']} | {residual} | "
                     f"{gamma_text(r['gamma'])}{mark} | {gamma_text(r['gamma_min'])} | {error} | "
                     f"{r['table_memory_bits']} |")
    return "\n".join(lines)


def run_tune_command(args: argparse.Namespace) -> int:
    """``neuromorph tune``: fewest bits, then least table memory; print the table, write the best config."""
    from ..tuning import belongs, cheapest, tune_search, write_config

    target, space, bench, out, evaluator, bars = search_setup(args)
    with evaluator:
        results = tune_search(bench, space, args.min_gamma, out / "results.jsonl", evaluator, log, bars)
    tried = [r for r in results.values() if belongs(r, bench)]
    print(format_results_table(tried, args.min_gamma))
    best = cheapest(tried, args.min_gamma)
    if best is None:
        raise NeuromorphError(f"no configuration reached mean Gamma {args.min_gamma} on {target.name}; "
                              "try more bits or a lower --min-gamma")
    write_config(out / "best.toml", target, best, args.min_gamma)
    shaping = f" ({best['residual_bits']}-bit residuals: {best['feedback']})" \
        if best["rounding"] == "error_feedback" else ""
    print(f"\ncheapest: {best['state_bits_per_neuron']} state bits per neuron ({best['state_bits']}-bit registers), "
          f"LUT {best['lut_size']}{' interpolated' if best['interpolate'] else ''}, {best['rounding']} rounding"
          f"{shaping}: Gamma {gamma_text(best['gamma'])} (worst seed {gamma_text(best['gamma_min'])})"
          + (f", rate error {best['rate_error']:.1%}" if best.get("rate_error") is not None else "")
          + f", {best['table_memory_bits']} table bits")
    log(f"wrote {out / 'best.toml'} (use: neuromorph {bench.command} {args.model} --config {out / 'best.toml'})")
    return 0


def run_sweep_command(args: argparse.Namespace) -> int:
    """``neuromorph sweep``: every point of the grid, JSON lines and a Pareto figure."""
    from ..plotting import plot_sweep
    from ..tuning import run_points

    target, space, bench, out, evaluator, bars = search_setup(args)
    with evaluator:
        results = run_points(bench, space, out / "results.jsonl", evaluator, log, bars)
    records = [results[c.key()] for c in space]
    print(format_results_table(records))
    defined = [r for r in records if r["gamma"] is not None]
    if len(defined) < len(records):
        log(f"Gamma is undefined for {len(records) - len(defined)} configurations; they are left out of the figure")
    if defined:
        plot_sweep(defined, out / "sweep.png", title=f"{bench.name} on {target.name}")
    log(f"wrote {out / 'results.jsonl'} and {out / 'sweep.png'}")
    return 0
