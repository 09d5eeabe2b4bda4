"""``neuromorph network NET.toml``: a network through Brian2, the lowering, the emulator and/or Lava.

Prints a table per population, writes ``report.json``, ``activity.png`` (rasters and
population rates, Brian2 against fixed point) and ``statistics_<population>.png``.
"""
from __future__ import annotations

from ..errors import NeuromorphError, OverflowDetected


def add_network_parser(subparsers) -> None:
    """Register the ``network`` subcommand."""
    from ..cli import _add_quantization_options

    p = subparsers.add_parser("network", help="run a network file in Brian2 and in fixed point (emulator and/or "
                                              "Lava graph) and report per-population fidelity")
    p.add_argument("network", help="network file (TOML)")
    p.add_argument("--target", help="hardware target name or file (default: the --config's, else loihi2)")
    _add_quantization_options(p)
    p.add_argument("--backend", choices=("emulator", "lava", "both"), default="emulator")
    p.add_argument("--network-seed", type=int, dest="network_seed",
                   help="redraw the network file's connectivity, weights, delays and inputs with this seed")
    p.add_argument("--no-floor", dest="floor", action="store_false",
                   help="skip the perturbed Brian2 run that measures the float model's own divergence")
    p.add_argument("--codegen", choices=("numpy", "cython"), help="Brian2 code generation (default: cython when it "
                        "compiles and the run has at least 20,000 steps, else numpy)")
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")
    p.add_argument("--out", default="out/network", help="output directory (default out/network)")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--strict", action="store_true", help="fail (exit 3) if any register or intermediate overflowed or any weight was clipped")
    p.set_defaults(handler=run_network_command)


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_network_table(report: dict) -> str:
    """Per population: kind, drive, rates and Gamma, beside the float floor."""
    lines = [f"{report['network'].splitlines()[0]} on {report['target']} ({report['config']['state_bits']}-bit "
             f"state, {report['config']['rounding']} rounding)",
             f"  {'population':<12}{'kind':<9}{'driven':<14}{'rate ref/cand/floor (Hz)':<28}"
             f"{'Gamma mean (worst)':<22}{'floor Gamma':<12}"]
    for name, p in report["populations"].items():
        rates = p["rates_hz"]
        rate_text = "/".join(_fmt(rates[k], 1) for k in ("reference", "candidate", "floor"))
        lines.append(f"  {name:<12}{p['kind']:<9}{p['driven']:<14}{rate_text:<28}"
                     f"{_fmt(p['gamma']['mean'])} ({_fmt(p['gamma']['worst'])}){'':<6}{_fmt(p['gamma']['floor'])}")
    lines += [f"  {what}: {detail}" for what, detail in _problems(report).items()]
    totals = report.get("resources", {}).get("totals")
    if totals:
        lines.append(f"  resources: {totals['neurons']} neurons ({totals['hardware_neurons']} on Lava processes "
                     f"Loihi 2 runs), {totals['synapses']} synapses, {totals['cores']} cores, {totals['chips']} chip(s)")
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        lines.append(f"  Lava graph == emulator: {'exact' if lava['match'] else 'MISMATCH'} over "
                     f"{lava['steps_compared']} steps")
    return "\n".join(lines)


def _problems(report: dict) -> dict[str, str]:
    """What went beyond a format: overflows per population, clipped weights per projection (empty if none)."""
    found = {}
    for name, p in report["populations"].items():
        registers = {k: v for k, v in p["overflows"].get("registers", {}).items() if v}
        operations = p["overflows"].get("operations", {})
        if registers or operations:
            found[f"population {name}"] = f"overflows {({**registers, **operations})}"
    for name, p in report["projections"].items():
        if p["weights_clipped"]:
            found[f"projection {name}"] = (f"{p['weights_clipped']} weights clipped to the {p['sign_mode']} weight "
                                           f"range (largest relative weight error {p['weight_error']['max_rel']:.2%})")
    return found


def run_network_command(args) -> int:
    """Run the pipeline, print the table, write the report and figures."""
    from ..cli import _log, _write_json, network_inputs
    from .compare import NetworkOptions, build_report, compare
    from .plots import plot_activity, plot_statistics

    out, spec, target, config = network_inputs(args)
    options = NetworkOptions(backend=args.backend, floor=args.floor, window=args.window * 1e-3, codegen=args.codegen)
    result = compare(spec, target, config, options, progress=_log, method=args.method)
    report = build_report(result)
    text = _write_json(out / "report.json", report)
    names = [p.name for p in spec.populations]
    plot_activity([(result.statistics[n], result.reference.populations[n].spike_trains, _trains(result, n))
                   for n in names], out / "activity.png", title=f"Brian2 vs {result.candidate.label} on {target.name}")
    for name in names:
        plot_statistics(result.statistics[name], out / f"statistics_{name}.png", title=f"{name} on {target.name}")
    print(text if args.json else format_network_table(report))
    _log(f"wrote {out / 'report.json'}, {out / 'activity.png'} and statistics_<population>.png")
    problems = _problems(report)
    if args.strict and problems:
        raise OverflowDetected("; ".join(f"{what}: {detail}" for what, detail in problems.items()))
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava graph and emulator disagree: {result.lava_check.populations}")
    return 0


def _trains(result, name: str) -> tuple:
    from ..execution.emulator import spike_trains_from

    return spike_trains_from(result.candidate.populations[name].spikes, result.spec.dt)

