"""Command-line interface ``neuromorph``.

Errors the user can fix print one line and exit with status 2 (3 for overflow under
``--strict``); ``--debug`` shows the full traceback instead. Every argument, the model,
target and config files, the output directory and the memory a run needs are checked
before any simulation starts. Exceptions never reach Python's (or Brian2's) exception
hook, so Brian2's bug-report banner never appears and its temporary files are removed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

from .errors import InputError, NeuromorphError, OverflowDetected
from .quantization.fixed_point import ROUNDING_MODES
from .schema import MAX_SEED

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_OVERFLOW = 3
EXIT_INTERRUPTED = 130
#: Longest error message printed (characters); messages echo at most ~200 characters of a value.
MAX_MESSAGE = 1000
#: Most values a --bits or --lut-sizes list may hold.
MAX_LIST = 64
#: Most held-out seeds of a search.
MAX_SEEDS = 100


def _log(message: str) -> None:
    print(f"[neuromorph] {message}", file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text of ``compare`` alone spans several lines)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"neuromorph: error: {message} (see: {self.prog} --help)\n")


def _shorten(value) -> str:
    from .files import shorten

    return shorten(value)


def _in(low: float, high: float):
    return lambda value: math.isfinite(value) and low <= value <= high


#: dest -> (check, rule): command-line values checked before anything runs.
ARGUMENT_CHECKS = {
    "window": (lambda v: math.isfinite(v) and 0 < v <= 1000, "must be a finite time in ms, > 0 and at most 1000"),
    "headroom": (lambda v: math.isfinite(v) and 0 < v <= 100, "must be a finite factor, > 0 and at most 100"),
    "seed": (_in(0, MAX_SEED), f"must be a seed from 0 to {MAX_SEED}"),
    "stimulus_seed": (_in(0, MAX_SEED), f"must be a seed from 0 to {MAX_SEED}"),
    "workers": (lambda v: v >= 1, "must be at least 1"),
    "seeds": (_in(1, MAX_SEEDS), f"must be from 1 to {MAX_SEEDS}"),
    "min_gamma": (lambda v: math.isfinite(v) and v <= 1, "must be a finite number, at most 1 (Gamma never exceeds 1)"),
    "state_bits": (_in(2, 64), "must be from 2 to 64"),
    "gate_bits": (_in(2, 64), "must be from 2 to 64"),
    "lut_size": (_in(2, 1 << 24), f"must be from 2 to {1 << 24}"),
}


def check_arguments(args) -> None:
    """Refuse command-line values outside :data:`ARGUMENT_CHECKS` before anything runs."""
    for dest, (ok, rule) in ARGUMENT_CHECKS.items():
        value = getattr(args, dest, None)
        if value is not None and not ok(value):
            raise InputError(f"{rule}, got {_shorten(value)}", field="--" + dest.replace("_", "-"))


def prepare_output(directory: str) -> Path:
    """Create ``--out`` and prove it writable (a file is created and removed) before any run."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise InputError(f"{_shorten(directory)} exists and is not a directory", field="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=out, prefix=".neuromorph-write-test-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write to {_shorten(directory)}: {exc.strerror or exc}", field="--out") from None
    return out


def _load_target(name_or_path: str):
    """A target by name or file; a file is first checked to be bounded UTF-8 text."""
    from .errors import TargetFileError
    from .files import read_text_file
    from .targets import load_target

    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        read_text_file(name_or_path, error=TargetFileError)
    return load_target(name_or_path)


def _json_text(data: dict) -> str:
    """``data`` as strict JSON (non-finite floats become null)."""
    from .results_file import json_safe

    return json.dumps(json_safe(data), indent=2, allow_nan=False)


def _write_json(path: Path, data: dict) -> str:
    """Write ``data`` as strict JSON (non-finite floats become null) and return the text."""
    text = _json_text(data)
    path.write_text(text)
    return text


def _grid_field(steps: int, neurons: int) -> str:
    return "simulation.duration" if steps >= neurons else "simulation.neurons"


def _check_compare_memory(model, config, backend: str) -> None:
    from .resources_check import check_memory, compare_estimate, table_bytes

    spec, sim = model.spec, model.simulation
    tables = table_bytes(config.lut_size, len(spec.gates), sum(len(e.terms) for e in spec.equations_of))
    estimate = compare_estimate(sim.n_steps, sim.neurons, len(spec.state_names) + 1, backend != "emulator", tables)
    check_memory(estimate, model.path, _grid_field(sim.n_steps, sim.neurons),
                 "shorten simulation.duration, use fewer simulation.neurons or a larger simulation.dt"
                 + (", or --backend emulator" if backend != "emulator" else ""))


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
    p.add_argument("--strict", action="store_true", help="fail (exit 3) if any register or intermediate overflowed")
    p.set_defaults(handler=run_compare_command)


def _add_search_options(p, default_out: str) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--target", default="loihi2", help="hardware target name or file (default: loihi2)")
    p.add_argument("--seeds", type=int, default=5, help="number of held-out stimulus seeds (default 5)")
    p.add_argument("--bits", help="state bits to try, e.g. 8-16 or 10,12,14 (default: 8 to the register width)")
    p.add_argument("--lut-sizes", help="table sizes to try, e.g. 64,256,1024")
    p.add_argument("--roundings", help="rounding modes to try, e.g. nearest,stochastic (default: the target's)")
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (see the README)")
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


def _add_export(subparsers) -> None:
    p = subparsers.add_parser("export", help="lower a network file for a target, write it as data (JSON, .npy, "
                                             "SHA-256 manifest) and print its resource report")
    p.add_argument("network", help="network file (TOML)")
    p.add_argument("--target", help="hardware target name or file (default: the --config's, else loihi2)")
    _add_quantization_options(p)
    p.add_argument("--out", required=True, help="output directory of the export")
    p.add_argument("--network-seed", type=int, dest="network_seed",
                   help="redraw the network file's connectivity, weights, delays and inputs with this seed")
    p.add_argument("--codegen", choices=("numpy", "cython"), help="Brian2 code generation (default: cython when it "
                        "compiles and the run has at least 20,000 steps, else numpy)")
    p.add_argument("--multichip", action="store_true", help="allow a network that needs several chips")
    p.add_argument("--json", action="store_true", help="print the resource report as JSON")
    p.set_defaults(handler=run_export_command)


def build_parser() -> argparse.ArgumentParser:
    """The ``neuromorph`` argument parser."""
    parser = _Parser(prog="neuromorph", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_compare(subparsers)
    _add_lower(subparsers)
    _add_tune(subparsers)
    _add_sweep(subparsers)
    from .network.cli import add_network_parser
    add_network_parser(subparsers)
    _add_export(subparsers)
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


def _gamma_text(value) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def format_table(report: dict) -> str:
    """Human-readable summary of a compare report."""
    ste = report["spike_time_error_ms"]
    voltage = next(iter(report["formats"]["registers"].values()))
    rows = [
        f"{report['model']}: {report['reference']} vs {report['candidate']} on {report['target']} "
        f"({report['config']['state_bits']}-bit state, {report['config']['rounding']}, "
        f"LUT {report['config']['lut_size']}{' interpolated' if report['config']['interpolate'] else ''})",
        _format_row("Gamma (mean over neurons)", _gamma_text(report["gamma"])),
        _format_row("Gamma (worst neuron)", _gamma_text(report.get("gamma_min"))),
        _format_row("spike-time error mean/median/max ms",
                    "/".join("nan" if ste[k] is None else f"{ste[k]:.4f}" for k in ("mean", "median", "max"))),
        _format_row("missed / extra spikes", f"{report['missed_spikes']} / {report['extra_spikes']}"),
        _format_row("firing rate ref / cand (Hz)",
                    f"{report['rates_hz']['reference']:.1f} / {report['rates_hz']['candidate']:.1f}"),
        _format_row("v RMSE (mV)", report["v_rmse_mV"]),
        _format_row("algorithm error Gamma (Brian2 vs float)", _gamma_text(report["error_split"]["algorithm"]["gamma"])),
        _format_row("quantization error Gamma (float vs fixed)",
                    _gamma_text(report["error_split"]["quantization"]["gamma"])),
        _format_row("voltage format", f"{voltage['bits']} bits, LSB {voltage['lsb'] * 1e6:.4g} uV"),
        _format_row("register overflows", sum(report["saturations"].values())),
        _format_row("intermediate overflows", sum(report["operation_overflows"].values())),
    ]
    if report.get("gamma_undefined"):
        rows.insert(2, f"  ({report['gamma_undefined']})")
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        rows.append(_format_row("Lava fixed_pt == emulator",
                                f"{'exact' if lava['match'] else 'MISMATCH'} over {lava['steps_compared']} steps "
                                f"x {lava['neurons']} neurons"))
    return "\n".join(rows)


def _quant_config(args, reference_method: str, settings: dict, target):
    """The quantisation config: the target's defaults, then ``settings`` (a --config file), then the flags."""
    from .quantization.quantize import QuantConfig, default_method

    overrides = {"state_bits": args.state_bits, "gate_bits": args.gate_bits, "lut_size": args.lut_size,
                 "interpolate": args.interpolate, "rounding": args.rounding, "seed": args.seed,
                 "headroom": args.headroom, "method": args.method}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.setdefault("method", default_method(reference_method))
    config = QuantConfig.for_target(target, **settings)
    _log(f"rounding: {config.rounding} ({config.rounding_source})")
    return config


def _model_target_config(args):
    """The model, target and quantisation config of a command (file, --config, then flags)."""
    from .model.model_file import load_model
    from .tuning import read_config

    check_arguments(args)
    model = load_model(args.model)
    settings = read_config(args.config) if args.config else {}
    target = _load_target(args.target or settings.pop("target", "loihi2"))
    settings.pop("target", None)
    return model, target, _quant_config(args, model.simulation.method, settings, target)


def run_lower_command(args) -> int:
    """``neuromorph lower``: profile the model in Brian2, lower it, print the integer program."""
    import dataclasses

    from .execution.stimulus import sample_stimulus
    from .quantization.formats import RangeProfile
    from .quantization.listing import format_program
    from .quantization.quantize import quantize
    from .reference.brian2_run import run_brian2
    from .reference.codegen import choose_codegen

    model, target, config = _model_target_config(args)
    sim = model.simulation
    codegen = choose_codegen(sim.n_steps, [model.spec.equations], short_run=sim.codegen)
    model = dataclasses.replace(model, simulation=dataclasses.replace(sim, codegen=codegen))
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    _log(f"range profile: Brian2 ({model.simulation.codegen}) on the model's own stimulus")
    reference = run_brian2(model, stimulus)
    profile = RangeProfile.from_run(reference.v, stimulus, reference.states)
    neuron = quantize(model.spec, target, config, profile, model.simulation.dt, dict(model.initial))
    print(_json_text(neuron.formats()) if args.json else format_program(neuron))
    return 0


def run_compare_command(args) -> int:
    """``neuromorph compare``: run, print a table, write report.json and compare.png."""
    from .pipeline import CompareOptions, build_report, run_compare
    from .plotting import plot_compare
    from .progress import bar_factory

    out = prepare_output(args.out)
    model, target, config = _model_target_config(args)
    if args.codegen:
        import dataclasses

        from .reference.codegen import choose_codegen
        codegen = choose_codegen(requested=args.codegen, equations=[model.spec.equations])
        if codegen != args.codegen:
            _log(f"Brian2 {args.codegen} cannot run this model (neuromorph's membrane functions are numpy only); "
                 f"using {codegen}")
        model = dataclasses.replace(model, simulation=dataclasses.replace(model.simulation, codegen=codegen))
    options = CompareOptions(backend=args.backend, window=args.window * 1e-3, stimulus_seed=args.stimulus_seed)
    _check_compare_memory(model, config, args.backend)
    result = run_compare(model, target, config, options, progress=_log, bars=bar_factory(args.json))
    report = build_report(result)
    text = _write_json(out / "report.json", report)
    plot_compare(result.reference, result.fixed, out / "compare.png", title=format_table(report).splitlines()[0])
    print(text if args.json else format_table(report))
    _log(f"wrote {out / 'report.json'} and {out / 'compare.png'}")
    overflowed = {k: v for k, v in report["saturations"].items() if v}
    overflowed.update(report["operation_overflows"])
    if args.strict and overflowed:
        raise OverflowDetected(f"overflow during the run: {overflowed}")
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava fixed_pt and emulator disagree from step {result.lava_check.first_mismatch_step}")
    return 0


def _check_export_memory(spec, path: str) -> None:
    """The Brian2 reference records the voltage and linear states of every neuron in every step."""
    from .network.lower import recorded_variables
    from .resources_check import VALUE_BYTES, Estimate, check_memory

    neurons = sum(p.size for p in spec.populations)
    cell = float(spec.n_steps) * neurons * VALUE_BYTES
    record = 2 * len(recorded_variables(spec)) * cell  # Brian2's monitors grow by doubling
    estimate = Estimate({"Brian2 state record": record, "emulator": 2 * cell}, spec.n_steps, neurons,
                        record / cell + 2 if cell else 0.0)
    check_memory(estimate, path, "simulation.duration", "shorten simulation.duration or use fewer neurons")


def network_inputs(args):
    """``(out, spec, target, config)`` of ``network`` and ``export``: arguments checked, output
    directory writable, the network file, the target (``--target``, else the ``--config``'s,
    else loihi2) and the quantisation config (``--config``, overridden by the options)."""
    from .network.network_file import load_network
    from .tuning import read_config

    check_arguments(args)
    out = prepare_output(args.out)
    spec = load_network(args.network, seed=args.network_seed)
    settings = read_config(args.config) if args.config else {}
    target = _load_target(args.target or settings.pop("target", "loihi2"))
    settings.pop("target", None)
    return out, spec, target, _quant_config(args, "exponential_euler", settings, target)


def run_export_command(args) -> int:
    """``neuromorph export``: Brian2 reference (range profiles, Poisson realisations), lowering, export, resources."""
    from .network.export import export_network
    from .network.lower import check_network_fits, lower_network, recorded_variables
    from .network.reference import Recording, replay_sources, run_network_brian2
    from .reference.codegen import choose_codegen
    from .network.resources import format_report, resource_report

    out, spec, target, config = network_inputs(args)
    check_network_fits(spec, target)
    _check_export_memory(spec, args.network)
    codegen = args.codegen or choose_codegen(spec.n_steps, [p.model.equations for p in spec.populations])
    _log(f"reference: Brian2 ({codegen}), {spec.n_steps:,} steps, for range profiles and source spikes")
    reference = run_network_brian2(spec, codegen=codegen, record=Recording(variables=recorded_variables(spec)))
    lowered = lower_network(replay_sources(spec, reference), reference, target, config, args.method)
    report = resource_report(lowered, target, allow_multichip=args.multichip)
    manifest = export_network(lowered, out)
    _write_json(out / "resources.json", report.to_dict())
    print(_json_text(report.to_dict()) if args.json else format_report(report))
    size = sum(entry["bytes"] for entry in manifest["files"].values())
    _log(f"wrote {out} ({len(manifest['files'])} files, {size / 1e6:.3g} MB, manifest.json) and resources.json")
    return 0


def _int_list(text: str | None, option: str, low: int, high: int) -> list[int] | None:
    """Parse ``"8-16"`` (steps of 1) or ``"10,12,14"``: at most :data:`MAX_LIST` values in ``[low, high]``."""
    if not text:
        return None
    rule = f"expected integers from {low} to {high} like 8-16 or 10,12,14 (at most {MAX_LIST} values)"
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-"))
            if first > last:
                raise InputError(f"the range {_shorten(text)} is empty (its start is above its end); {rule}",
                                 field=option)
            values = range(first, last + 1)
        else:
            values = [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"{rule}, got {_shorten(text)}", field=option) from None
    if len(values) > MAX_LIST or not all(low <= v <= high for v in values):
        raise InputError(f"{rule}, got {_shorten(text)}", field=option)
    return sorted(set(values))


def _roundings(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = text.split(",")
    unknown = [n for n in names if n not in ROUNDING_MODES]
    if unknown:
        raise InputError(f"unknown rounding {_shorten(unknown[0])}; allowed: {list(ROUNDING_MODES)}",
                         field="--roundings")
    return list(dict.fromkeys(names))


def _check_search_memory(model, args, workers: int) -> None:
    from .resources_check import check_memory, search_estimate

    sim = model.simulation
    estimate = search_estimate(sim.n_steps, sim.neurons, args.seeds, workers)
    check_memory(estimate, model.path, _grid_field(sim.n_steps, sim.neurons),
                 "shorten simulation.duration, use fewer simulation.neurons, fewer --seeds or fewer --workers")


def _search_setup(args):
    from .model.model_file import load_model
    from .progress import bar_factory
    from .distributed import check_scheduler
    from .tuning import Evaluator, held_out_seeds, prepare_benchmark, search_space, worker_count

    check_arguments(args)
    check_scheduler(args.scheduler)
    out = prepare_output(args.out)
    model = load_model(args.model)
    target = _load_target(args.target)
    space = search_space(target, _int_list(args.bits, "--bits", 2, 64),
                         _int_list(args.lut_sizes, "--lut-sizes", 2, 1 << 24), _roundings(args.roundings))
    for candidate in {(c.state_bits, c.lut_size, c.rounding): c for c in space}.values():
        candidate.config(target)  # refuse widths, sizes or roundings beyond the target before running anything
    workers = worker_count(args.workers, len(space))
    if args.workers and args.workers > workers:
        _log(f"using {workers} workers, not {args.workers}: no more than the cores ({os.cpu_count()}) "
             f"or the {len(space)} configurations")
    _check_search_memory(model, args, workers)
    bars = bar_factory()
    bench = prepare_benchmark(model, target, held_out_seeds(model, args.seeds), args.window * 1e-3, progress=_log,
                              bars=bars)
    return model, target, space, bench, out, Evaluator(bench, workers, check_scheduler(args.scheduler)), bars


def format_results_table(records: list[dict], min_gamma: float | None = None) -> str:
    """Everything tried, cheapest first."""
    lines = ["| state bits | LUT | interp | rounding | Gamma mean | Gamma min | spike error ms | table bits |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["state_bits"], r["table_memory_bits"], r["key"])):
        mark = " *" if min_gamma is not None and r["gamma"] is not None and r["gamma"] >= min_gamma else ""
        error = "-" if r.get("spike_time_error_ms") is None else f"{r['spike_time_error_ms']:.3f}"
        lines.append(f"| {r['state_bits']} | {r['lut_size']} | {'yes' if r['interpolate'] else 'no'} | "
                     f"{r['rounding']} | {_gamma_text(r['gamma'])}{mark} | {_gamma_text(r['gamma_min'])} | {error} | "
                     f"{r['table_memory_bits']} |")
    return "\n".join(lines)


def run_tune_command(args) -> int:
    """``neuromorph tune``: fewest bits, then least table memory; print the table, write the best config."""
    from .tuning import belongs, cheapest, tune_search, write_config

    model, target, space, bench, out, evaluator, bars = _search_setup(args)
    with evaluator:
        results = tune_search(bench, space, args.min_gamma, out / "results.jsonl", evaluator, _log, bars)
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

    model, target, space, bench, out, evaluator, bars = _search_setup(args)
    with evaluator:
        results = run_points(bench, space, out / "results.jsonl", evaluator, _log, bars)
    records = [results[c.key()] for c in space]
    print(format_results_table(records))
    defined = [r for r in records if r["gamma"] is not None]
    if len(defined) < len(records):
        _log(f"Gamma is undefined for {len(records) - len(defined)} configurations; they are left out of the figure")
    if defined:
        plot_sweep(defined, out / "sweep.png", title=f"{model.spec.name} on {target.name}")
    _log(f"wrote {out / 'results.jsonl'} and {out / 'sweep.png'}")
    return 0


def _report_error(exc: BaseException, debug: bool, status: int) -> int:
    """Print one line for ``exc`` (the traceback first under ``--debug``) and return ``status``."""
    if debug:
        traceback.print_exc()
    if isinstance(exc, NeuromorphError):
        message = str(exc)
    else:
        message = (f"internal error: {type(exc).__name__}: {exc} (a bug in neuromorph or a library it uses; "
                   "run with --debug for the traceback)")
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    print(f"neuromorph: error: {message}", file=sys.stderr, flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    No exception escapes: errors the user can fix give status 2 (3 for overflow under
    ``--strict``), an interruption 130, anything else (a bug) status 1, each with one line
    on stderr (``--debug`` adds the traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except OverflowDetected as exc:
        return _report_error(exc, args.debug, EXIT_OVERFLOW)
    except NeuromorphError as exc:
        return _report_error(exc, args.debug, EXIT_USAGE)
    except KeyboardInterrupt:
        print("neuromorph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: one line (traceback under --debug), never Brian2's banner
        return _report_error(exc, args.debug, EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
