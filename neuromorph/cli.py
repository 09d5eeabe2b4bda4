"""Command-line interface ``neuromorph``.

Errors the user can fix print one line and exit with status 2 (3 for overflow under
``--strict``); ``--debug`` shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import InputError, NeuromorphError, OverflowDetected
from .quantization.fixed_point import ROUNDING_MODES

EXIT_USAGE = 2
EXIT_OVERFLOW = 3


def _log(message: str) -> None:
    print(f"[neuromorph] {message}", file=sys.stderr, flush=True)


def _add_compare(subparsers) -> None:
    p = subparsers.add_parser("compare", help="run Brian2 and the fixed-point neuron on the same input and compare")
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--target", help="hardware target name or file (default: the --config's, else loihi2)")
    _add_quantization_options(p)
    p.add_argument("--stimulus-seed", type=int, help="override the model file's stimulus seed")
    p.add_argument("--codegen", choices=("numpy", "cython"),
                   help="Brian2 code generation of the reference (default: the model file's)")
    p.add_argument("--backend", choices=("emulator", "lava", "both"), default="both")
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")
    p.add_argument("--out", default="out", help="output directory for report.json and compare.png")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--strict", action="store_true", help="fail (exit 3) if any register overflowed")
    p.set_defaults(handler=run_compare_command)


def _add_search_options(p, default_out: str) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--target", default="loihi2", help="hardware target name or file (default: loihi2)")
    p.add_argument("--seeds", type=int, default=5, help="number of held-out stimulus seeds (default 5)")
    p.add_argument("--bits", help="state bits to try, e.g. 8-16 or 10,12,14 (default: 8 to the register width)")
    p.add_argument("--lut-sizes", help="table sizes to try, e.g. 64,256,1024")
    p.add_argument("--roundings", help="rounding modes to try, e.g. nearest,stochastic (default: the target's)")
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    p.add_argument("--out", default=default_out, help=f"output directory (default {default_out})")


def _add_tune(subparsers) -> None:
    p = subparsers.add_parser("tune", help="find the cheapest fixed-point configuration that keeps spike timing")
    _add_search_options(p, "out/tune")
    p.add_argument("--min-gamma", type=float, default=0.99, help="required mean Gamma on held-out seeds")
    p.set_defaults(handler=run_tune_command)


def _add_sweep(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a grid of configurations; write JSON lines and a figure")
    _add_search_options(p, "out/sweep")
    p.set_defaults(handler=run_sweep_command)


def _add_quantization_options(p) -> None:
    p.add_argument("--state-bits", type=int, help="voltage register width (default: the target's)")
    p.add_argument("--gate-bits", type=int, help="gate register and table entry width (default: state bits)")
    p.add_argument("--lut-size", type=int, help="entries per lookup table, a power of two")
    p.add_argument("--interpolate", action=argparse.BooleanOptionalAction, default=None,
                   help="linear interpolation in tables (default: the target's)")
    p.add_argument("--rounding", choices=ROUNDING_MODES,
                   help="rounding of every right shift (default: the target's, for the width asked)")
    p.add_argument("--seed", type=int, help="seed of stochastic rounding and dither phases (default 0)")
    p.add_argument("--config", help="quantization config file (as written by `neuromorph tune`); "
                                    "command-line options override it")
    p.add_argument("--headroom", type=float, help="widen the profiled ranges by this factor (default 1.25)")
    p.add_argument("--method", choices=("exponential_euler", "euler"),
                   help="integration of gates and voltage (default: the model's Brian2 method when it is one of these)")


def _add_lower(subparsers) -> None:
    p = subparsers.add_parser("lower", help="print the integer program of a model on a target, with widths, "
                                            "operation counts and table memory")
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--target", help="hardware target name or file (default: the --config's, else loihi2)")
    _add_quantization_options(p)
    p.add_argument("--json", action="store_true", help="print the formats and counts as JSON instead")
    p.set_defaults(handler=run_lower_command)


def build_parser() -> argparse.ArgumentParser:
    """The ``neuromorph`` argument parser."""
    parser = argparse.ArgumentParser(prog="neuromorph", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_compare(subparsers)
    _add_lower(subparsers)
    _add_tune(subparsers)
    _add_sweep(subparsers)
    try:
        from .biophysics.cli import add_biophys_parser
    except ImportError:  # pragma: no cover - the biophysics CLI is optional at import time
        add_biophys_parser = None
    if add_biophys_parser is not None:
        add_biophys_parser(subparsers)
    return parser


def _format_row(name: str, value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return f"  {name:<34} {value}"


def format_table(report: dict) -> str:
    """Human-readable summary of a compare report."""
    ste = report["spike_time_error_ms"]
    voltage = next(iter(report["formats"]["registers"].values()))
    rows = [
        f"{report['model']}: {report['reference']} vs {report['candidate']} on {report['target']} "
        f"({report['config']['state_bits']}-bit state, {report['config']['rounding']}, "
        f"LUT {report['config']['lut_size']}{' interpolated' if report['config']['interpolate'] else ''})",
        _format_row("Gamma (mean over neurons)", report["gamma"]),
        _format_row("Gamma (worst neuron)", report.get("gamma_min")),
        _format_row("spike-time error mean/median/max ms",
                    "/".join("nan" if ste[k] is None else f"{ste[k]:.4f}" for k in ("mean", "median", "max"))),
        _format_row("missed / extra spikes", f"{report['missed_spikes']} / {report['extra_spikes']}"),
        _format_row("firing rate ref / cand (Hz)",
                    f"{report['rates_hz']['reference']:.1f} / {report['rates_hz']['candidate']:.1f}"),
        _format_row("v RMSE (mV)", report["v_rmse_mV"]),
        _format_row("algorithm error Gamma (Brian2 vs float)", report["error_split"]["algorithm"]["gamma"]),
        _format_row("quantization error Gamma (float vs fixed)", report["error_split"]["quantization"]["gamma"]),
        _format_row("voltage format", f"{voltage['bits']} bits, LSB {voltage['lsb'] * 1e6:.4g} uV"),
        _format_row("register overflows", sum(report["saturations"].values())),
        _format_row("intermediate overflows", sum(report["operation_overflows"].values())),
    ]
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        rows.append(_format_row("Lava fixed_pt == emulator",
                                f"{'exact' if lava['match'] else 'MISMATCH'} over {lava['steps_compared']} steps "
                                f"x {lava['neurons']} neurons"))
    return "\n".join(rows)


def _model_target_config(args):
    """The model, target and quantisation config of a command (file, --config, then flags)."""
    from .model.model_file import load_model
    from .quantization.quantize import QuantConfig, default_method
    from .targets import load_target
    from .tuning import read_config

    model = load_model(args.model)
    settings = read_config(args.config) if args.config else {}
    target = load_target(args.target or settings.get("target", "loihi2"))
    settings.pop("target", None)
    overrides = {"state_bits": args.state_bits, "gate_bits": args.gate_bits, "lut_size": args.lut_size,
                 "interpolate": args.interpolate, "rounding": args.rounding, "seed": args.seed,
                 "headroom": args.headroom, "method": args.method}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.setdefault("method", default_method(model.simulation.method))
    config = QuantConfig.for_target(target, **settings)
    _log(f"rounding: {config.rounding} ({config.rounding_source})")
    return model, target, config


def run_lower_command(args) -> int:
    """``neuromorph lower``: profile the model in Brian2, lower it, print the integer program."""
    import dataclasses

    from .execution.stimulus import sample_stimulus
    from .quantization.formats import RangeProfile
    from .quantization.listing import format_program
    from .quantization.quantize import quantize
    from .reference.brian2_run import run_brian2
    from .tuning import fastest_codegen

    model, target, config = _model_target_config(args)
    model = dataclasses.replace(model, simulation=dataclasses.replace(model.simulation,
                                                                      codegen=fastest_codegen(model)))
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    _log(f"range profile: Brian2 ({model.simulation.codegen}) on the model's own stimulus")
    reference = run_brian2(model, stimulus)
    profile = RangeProfile.from_run(reference.v, stimulus, reference.states)
    neuron = quantize(model.spec, target, config, profile, model.simulation.dt, dict(model.initial))
    print(json.dumps(neuron.formats(), indent=2) if args.json else format_program(neuron))
    return 0


def run_compare_command(args) -> int:
    """``neuromorph compare``: run, print a table, write report.json and compare.png."""
    from .pipeline import CompareOptions, build_report, run_compare
    from .plotting import plot_compare

    model, target, config = _model_target_config(args)
    if args.codegen:
        import dataclasses

        from .reference.brian2_run import usable_codegen
        codegen = usable_codegen(model, args.codegen)
        if codegen != args.codegen:
            _log(f"Brian2 {args.codegen} cannot run this model (neuromorph's membrane functions are numpy only); "
                 f"using {codegen}")
        model = dataclasses.replace(model, simulation=dataclasses.replace(model.simulation, codegen=codegen))
    options = CompareOptions(backend=args.backend, window=args.window * 1e-3, stimulus_seed=args.stimulus_seed)
    result = run_compare(model, target, config, options, progress=_log)
    report = build_report(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    plot_compare(result.reference, result.fixed, out / "compare.png", title=format_table(report).splitlines()[0])
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    _log(f"wrote {out / 'report.json'} and {out / 'compare.png'}")
    overflowed = {k: v for k, v in report["saturations"].items() if v}
    overflowed.update(report["operation_overflows"])
    if args.strict and overflowed:
        raise OverflowDetected(f"overflow during the run: {overflowed}")
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava fixed_pt and emulator disagree from step {result.lava_check.first_mismatch_step}")
    return 0


def _int_list(text: str | None, option: str) -> list[int] | None:
    """Parse ``"8-16"`` (even steps of 1) or ``"10,12,14"``."""
    if not text:
        return None
    try:
        if "-" in text:
            low, high = (int(x) for x in text.split("-"))
            return list(range(low, high + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"expected integers like 8-16 or 10,12,14, got {text!r}", field=option) from None


def _search_setup(args):
    from .model.model_file import load_model
    from .targets import load_target
    from .tuning import held_out_seeds, prepare_benchmark, search_space

    model = load_model(args.model)
    target = load_target(args.target)
    roundings = args.roundings.split(",") if args.roundings else None
    space = search_space(target, _int_list(args.bits, "--bits"), _int_list(args.lut_sizes, "--lut-sizes"), roundings)
    for candidate in {(c.state_bits, c.lut_size, c.rounding): c for c in space}.values():
        candidate.config(target)  # refuse widths, sizes or roundings beyond the target before running anything
    if args.seeds < 1:
        raise InputError("at least one held-out seed is needed", field="--seeds")
    bench = prepare_benchmark(model, target, held_out_seeds(model, args.seeds), args.window * 1e-3, progress=_log)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return model, target, space, bench, out


def format_results_table(records: list[dict], min_gamma: float | None = None) -> str:
    """Everything tried, cheapest first."""
    lines = ["| state bits | LUT | interp | rounding | Gamma mean | Gamma min | spike error ms | table bits |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["state_bits"], r["table_memory_bits"], r["key"])):
        mark = " *" if min_gamma is not None and r["gamma"] >= min_gamma else ""
        error = "-" if r["spike_time_error_ms"] is None else f"{r['spike_time_error_ms']:.3f}"
        lines.append(f"| {r['state_bits']} | {r['lut_size']} | {'yes' if r['interpolate'] else 'no'} | "
                     f"{r['rounding']} | {r['gamma']:.4f}{mark} | {r['gamma_min']:.4f} | {error} | "
                     f"{r['table_memory_bits']} |")
    return "\n".join(lines)


def run_tune_command(args) -> int:
    """``neuromorph tune``: fewest bits, then least table memory; print the table, write the best config."""
    from .tuning import belongs, cheapest, tune_search, write_config

    model, target, space, bench, out = _search_setup(args)
    results = tune_search(bench, space, args.min_gamma, out / "results.jsonl", args.workers, _log)
    tried = [r for r in results.values() if belongs(r, bench)]
    print(format_results_table(tried, args.min_gamma))
    best = cheapest(tried, args.min_gamma)
    if best is None:
        raise NeuromorphError(f"no configuration reached mean Gamma {args.min_gamma} on {target.name}; "
                              "try more bits or a lower --min-gamma")
    write_config(out / "best.toml", target, best, args.min_gamma)
    print(f"\ncheapest: {best['state_bits']} state bits, LUT {best['lut_size']}"
          f"{' interpolated' if best['interpolate'] else ''}, {best['rounding']} rounding: "
          f"Gamma {best['gamma']:.4f} (worst seed {best['gamma_min']:.4f}), {best['table_memory_bits']} table bits")
    _log(f"wrote {out / 'best.toml'} (use: neuromorph compare {args.model} --config {out / 'best.toml'})")
    return 0


def run_sweep_command(args) -> int:
    """``neuromorph sweep``: every point of the grid, JSON lines and a Pareto figure."""
    from .plotting import plot_sweep
    from .tuning import run_points

    model, target, space, bench, out = _search_setup(args)
    results = run_points(bench, space, out / "results.jsonl", args.workers, _log)
    records = [results[c.key()] for c in space]
    print(format_results_table(records))
    plot_sweep(records, out / "sweep.png", title=f"{model.spec.name} on {target.name}")
    _log(f"wrote {out / 'results.jsonl'} and {out / 'sweep.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except OverflowDetected as exc:
        if args.debug:
            raise
        print(f"neuromorph: error: {exc}", file=sys.stderr)
        return EXIT_OVERFLOW
    except NeuromorphError as exc:
        if args.debug:
            raise
        print(f"neuromorph: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
