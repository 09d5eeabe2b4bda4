"""``neuromorph network`` and ``neuromorph export``: a network file on a target.

``network`` runs it through Brian2, the lowering, the emulator and/or Lava, prints a table
per population, writes ``report.json``, ``activity.png`` (rasters and population rates,
Brian2 against fixed point) and ``statistics_<population>.png`` into ``--out`` (only those names,
atomically; in a directory that holds any of them, only over an earlier ``network`` run's output:
:func:`~.options.check_output_names`). ``export`` lowers it and
writes it as data (JSON, ``.npy``, SHA-256 manifest) with its resource report.
"""
from __future__ import annotations

import argparse
import re

from ..errors import InputError, NeuromorphError, OverflowDetected
from ..model.noise import NOISE_MODES
from .options import (add_comparison_command, add_codegen_option, add_input_options, check_arguments,
    check_output_names, json_text, log, prepare_output, reference_codegen, resolve_target_config, write_json)

RELAYS_HELP = ("refuse delays longer than the target's synapses hold (its max_delay_steps) instead of carrying them "
               "through relay neurons")
NETWORK_SEED_HELP = ("redraw the network file's connectivity, weights, delays and inputs with this seed "
                     "(default: the file's seed)")
NOISE_HELP = ("how xi in the equations is generated: 'replay' (drawn once, fed to Brian2 and the program as a sampled "
              "input: spike-by-spike comparable) or 'target' (Brian2 draws its own, the program the target's "
              "generator: compared statistically) (default: the file's [simulation] noise, else replay)")


def add_network(subparsers) -> None:
    """Register ``network``."""
    p = add_comparison_command(
        subparsers, "network", "run a network file in Brian2 and in fixed point (emulator and/or Lava graph) and "
                               "report per-population fidelity",
        input_name="network", seed_flag="--network-seed", seed_help=NETWORK_SEED_HELP, handler=run_network_command,
        backend="emulator", out="out/network",
        out_help="output directory: writes report.json, activity.png and statistics_<population>.png there, "
                 "replacing only an earlier network run's files",
        strict_help="fail (exit 3) if any register or intermediate overflowed, any weight was clipped or "
                                "any nonzero weight was quantised to 0")
    p.add_argument("--noise", choices=NOISE_MODES, default=None, help=NOISE_HELP)
    p.add_argument("--no-floor", dest="floor", action="store_false",
                   help="skip the perturbed Brian2 run that measures the float model's own divergence")
    p.add_argument("--no-relays", dest="relays", action="store_false", help=RELAYS_HELP)


def add_export(subparsers) -> None:
    """Register ``export``."""
    p = subparsers.add_parser("export", help="lower a network file for a target, write it as data (JSON, .npy, "
                                             "SHA-256 manifest) and print its resource report")
    add_input_options(p, "network", "network file (TOML)")
    p.add_argument("--out", required=True, help="output directory of the export")
    p.add_argument("--network-seed", type=int, dest="network_seed", help=NETWORK_SEED_HELP)
    add_codegen_option(p)
    p.add_argument("--multichip", action="store_true", help="allow a network that needs several chips")
    p.add_argument("--no-relays", dest="relays", action="store_false", help=RELAYS_HELP)
    p.add_argument("--json", action="store_true", help="print the resource report as JSON")
    p.set_defaults(handler=run_export_command)


#: Sub-command name -> function adding it, in the order ``--help`` lists them.
COMMANDS = {"network": add_network, "export": add_export}


def network_inputs(args: argparse.Namespace, export: bool = False):
    """``(out, spec, target, config)`` of ``network`` and ``export``: arguments checked, output
    directory writable (for ``export``: one it may own, :func:`~neuromorph.network.export.check_export_output`,
    not created yet), the network file, the target and quantisation config
    (:func:`~.options.resolve_target_config`), and what the target refuses whatever the
    reference shows (delays beyond a synapse under ``--no-relays``)."""
    from ..network.export import check_export_output
    from ..network.lower import check_network_fits
    from ..network.network_file import check_effects, load_network_file

    check_arguments(args)
    out = check_export_output(args.out) if export else prepare_output(args.out)
    spec = load_network_file(args.network, seed=args.network_seed, noise=getattr(args, "noise", None))
    target, config = resolve_target_config(args, "exponential_euler")
    check_network_fits(spec, target, args.relays)
    check_effects(spec, args.network)
    if not export:
        check_output_names(out, network_output_names(spec), "network")
    return out, spec, target, config


def network_output_names(spec) -> list[str]:
    """The files ``network`` writes into ``--out``: its report and figures, nothing else."""
    return ["report.json", "activity.png", *(f"statistics_{p.name}.png" for p in spec.populations)]


def network_codegen(args: argparse.Namespace, spec) -> str:
    """Brian2's target for the reference of network ``spec`` (``--codegen`` if it can run)."""
    return reference_codegen(args.codegen, spec.n_steps, [p.model.equations for p in spec.populations])


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_network_table(report: dict) -> str:
    """Per population: kind, drive, rates and Gamma, beside the float floor; the RMSE of the states
    when the run recorded them (a population without a threshold has only those)."""
    lines = [f"{report['network'].splitlines()[0]} on {report['target']} ({report['config']['state_bits']}-bit "
             f"state, {report['config']['rounding']} rounding)",
             f"  {'population':<12}{'kind':<9}{'driven':<14}{'rate ref/cand/floor (Hz)':<28}"
             f"{'Gamma mean (worst)':<22}{'floor Gamma':<12}"]
    for name, p in report["populations"].items():
        rates = p["rates_hz"]
        rate_text = "/".join(_fmt(rates[k], 1) for k in ("reference", "candidate", "floor"))
        lines.append(f"  {name:<12}{p['kind']:<9}{p['driven']:<14}{rate_text:<28}"
                     f"{_fmt(p['gamma']['mean'])} ({_fmt(p['gamma']['worst'])}){'':<6}{_fmt(p['gamma']['floor'])}")
        if p.get("state_rmse"):
            lines.append(f"  {'':<12}state RMSE: " + ", ".join(_state_error(n, x, p) for n, x in p["state_rmse"].items()))
    lines += [f"  {what}: {detail}" for what, detail in network_problems(report).items()]
    totals = report.get("resources", {}).get("totals")
    if totals:
        lines.append(f"  resources: {totals['neurons']} neurons ({totals['hardware_neurons']} on Lava processes "
                     f"Loihi 2 runs), {totals['synapses']} synapses, {totals['cores']} cores, {totals['chips']} chip(s)")
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        lines.append(f"  Lava graph == emulator: {'exact' if lava['match'] else 'MISMATCH'} over "
                     f"{lava['steps_compared']} steps")
    return "\n".join(lines)


def _state_error(name: str, rmse: float, population: dict) -> str:
    """A state's RMSE for the table: the voltage in mV, the others in SI units."""
    if name == population["voltage"]:
        return f"{name} {rmse * 1e3:.3g} mV"
    return f"{name} {rmse:.3g}"


def network_problems(report: dict) -> dict[str, str]:
    """What went beyond a format: overflows per population, clipped weights and nonzero weights quantised to 0
    per projection (empty if none)."""
    found = {}
    for name, p in report["populations"].items():
        registers = {k: v for k, v in p["overflows"].get("registers", {}).items() if v}
        operations = p["overflows"].get("operations", {})
        if registers or operations:
            found[f"population {name}"] = f"overflows {({**registers, **operations})}"
    for name, p in report["projections"].items():
        lost = []
        if p["weights_clipped"]:
            lost.append(f"{p['weights_clipped']} weights clipped to the {p['sign_mode']} weight range")
        if p.get("weights_zeroed"):
            lost.append(f"{p['weights_zeroed']} nonzero weights (of {p['synapses']} synapses) quantised to 0, "
                        f"below half the weight LSB at weight_exp {p['weight_exp']}")
        if lost:
            found[f"projection {name}"] = (f"{' and '.join(lost)} (largest relative weight error "
                                           f"{p['weight_error']['max_rel']:.2%})")
    return found


#: ``KIND 'NAME'`` origins of the lowering's errors -> the network file's section of that object.
OBJECT_SECTIONS = {"projection": "projections", "population": "populations", "LIF": "populations"}
#: Keys of a network file's projection and population tables: an error field that is one stays a field.
SECTION_KEYS = {"projections": {"source", "target", "connect", "weight", "delay", "effect"},
                "populations": {"size", "model", "equations", "threshold", "reset", "refractory", "method",
                                "voltage", "parameters", "initial"}}
#: Settings of the quantisation config that are command-line options.
QUANTISATION_OPTIONS = ("state_bits", "gate_bits", "lut_size", "interpolate", "rounding", "seed", "headroom",
                        "residual_bits", "feedback", "method")
#: The top-level tables of a network file.
FILE_SECTIONS = ("simulation", "populations", "sources", "projections")
#: Origins that are a stage, not a file: their errors are about the network file as a whole.
STAGES = ("network", "reference", "lower_network")
OBJECT = re.compile(r"^(projection|population|LIF) '([A-Za-z_]\w*)'")


def in_network_file(exc: InputError, path: str) -> InputError:
    """``exc`` naming ``path`` and a field of the network file, where it named no file, a stage of the
    pipeline (``reference``) or an object of the lowering (``projection 'x'``, field ``delay``);
    errors that name a file (the network file, a model file, a target) or an option are kept."""
    source, field = exc.source, exc.field
    if source is None:
        if field in QUANTISATION_OPTIONS:  # a quantisation setting: its option (or the --config's key)
            return type(exc)(exc.message, None, "--" + field.replace("_", "-"))
        if field is None or field.split(".")[0] not in FILE_SECTIONS:
            return exc
        return type(exc)(exc.message, path, field)
    if source.startswith("network:"):  # a population's neuron, its field written as a model file's
        section, key = source[len("network:"):], (field or "").removeprefix("neuron.")
        return type(exc)(exc.message, path, f"{section}.{key}" if key else section)
    if source in STAGES:
        return type(exc)(exc.message, path, field if field and field.split(".")[0] in SECTION_KEYS else "populations")
    match = OBJECT.match(source)
    if match is None:
        return exc
    section = f"{OBJECT_SECTIONS[match.group(1)]}.{match.group(2)}"
    key = (field or "").split(".")[0]
    if key in SECTION_KEYS[OBJECT_SECTIONS[match.group(1)]]:
        return type(exc)(exc.message, path, f"{section}.{field}")
    return type(exc)(f"{field}: {exc.message}" if field else exc.message, path, section)


def _located(command):
    """Run ``command(args)`` with every error about the network file naming it (:func:`in_network_file`)."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except InputError as exc:
            raise in_network_file(exc, args.network) from None
    run.__doc__, run.__name__ = command.__doc__, command.__name__
    return run


@_located
def run_network_command(args: argparse.Namespace) -> int:
    """``neuromorph network``: run the pipeline, print the table, write the report and figures."""
    from ..network import comparison as network_compare
    from ..network.plots import plot_activity, plot_statistics

    out, spec, target, config = network_inputs(args)
    check_network_memory(spec, args.network, floor=args.floor, backend=args.backend)
    options = network_compare.NetworkOptions(backend=args.backend, floor=args.floor, window=args.window * 1e-3,
                                             codegen=network_codegen(args, spec), relays=args.relays)
    result = network_compare.compare(spec, target, config, options, progress=log, method=args.method)
    report = network_compare.build_report(result)
    text = write_json(out / "report.json", report)
    names = [p.name for p in spec.populations]
    plot_activity([(result.statistics[n], result.reference.populations[n].spike_trains, _trains(result, n))
                   for n in names], out / "activity.png", title=f"Brian2 vs {result.candidate.label} on {target.name}")
    for name in names:
        plot_statistics(result.statistics[name], out / f"statistics_{name}.png", title=f"{name} on {target.name}")
    print(text if args.json else format_network_table(report))
    log(f"wrote {out / 'report.json'}, {out / 'activity.png'} and statistics_<population>.png")
    problems = network_problems(report)
    if args.strict and problems:
        raise OverflowDetected("; ".join(f"{what}: {detail}" for what, detail in problems.items()))
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava graph and emulator disagree: {result.lava_check.populations}")
    return 0


def _trains(result, name: str) -> tuple:
    from ..execution.emulator import spike_trains_from

    return spike_trains_from(result.candidate.populations[name].spikes, result.spec.dt)


def check_network_memory(spec, path: str, *, floor: bool = False, backend: str = "emulator") -> None:
    """Refuse (before any run) a network whose runs would not fit in memory.

    The Brian2 reference records the voltage and linear states of every neuron in every step
    (``export`` and ``network``); ``network`` also runs the emulator with its recorded states,
    optionally Lava (its trace and runtime) and the perturbed float floor (a second reference).

    Raises
    ------
    InputError
        Naming ``path:simulation.duration`` and the estimate.
    """
    from ..network.lower import recorded_variables
    from ..resources_check import LAVA_OVERHEAD, VALUE_BYTES, Estimate, check_memory

    neurons = sum(p.size for p in spec.populations)
    cell = float(spec.n_steps) * neurons * VALUE_BYTES
    record = 2 * len(recorded_variables(spec)) * cell  # Brian2's monitors grow by doubling
    parts = {"Brian2 state record": record, "emulator": 2 * cell,
             "replayed spike rasters": 2.0 * spec.n_steps * sum(s.size for s in spec.spike_sources)}  # 1 byte each
    if floor:
        parts["float floor (a second Brian2 run)"] = record
    if backend in ("lava", "both"):
        parts["Lava"] = 2 * cell + LAVA_OVERHEAD
    estimate = Estimate(parts, spec.n_steps, neurons, sum(parts.values()) / cell if cell else 0.0)
    check_memory(estimate, path, "simulation.duration", "shorten simulation.duration or use fewer neurons")


@_located
def run_export_command(args: argparse.Namespace) -> int:
    """``neuromorph export``: Brian2 reference (range profiles, Poisson realisations), lowering, export, resources."""
    from ..network.export import export_network
    from ..network.lower import lower_network, recorded_variables
    from ..network.reference import Recording, replay_sources, run_network_brian2
    from ..network.resources import format_report, resource_report

    out, spec, target, config = network_inputs(args, export=True)
    check_network_memory(spec, args.network)
    codegen = network_codegen(args, spec)
    log(f"reference: Brian2 ({codegen}), {spec.n_steps:,} steps, for range profiles and source spikes")
    reference = run_network_brian2(spec, codegen=codegen, record=Recording(variables=recorded_variables(spec)))
    lowered = lower_network(replay_sources(spec, reference), reference, target, config, args.method,
                            relays=args.relays)
    report = resource_report(lowered, target, allow_multichip=args.multichip)
    manifest = export_network(lowered, out, extra={"resources.json": json_text(report.to_dict())})
    print(json_text(report.to_dict()) if args.json else format_report(report))
    size = sum(entry["bytes"] for entry in manifest["files"].values())
    log(f"wrote {out} ({len(manifest['files'])} files, {size / 1e6:.3g} MB, manifest.json) and resources.json")
    return 0
