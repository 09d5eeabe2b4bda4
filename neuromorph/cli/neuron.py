"""``neuromorph compare`` and ``neuromorph lower``: one neuron model (a model file) on a target."""
from __future__ import annotations

import argparse
import dataclasses

from ..errors import NeuromorphError, OverflowDetected
from .options import (add_comparison_command, add_input_options, check_arguments, check_output_names, gamma_text,
    grid_field, json_text, log, prepare_output, reference_codegen, resolve_target_config, write_json)


def add_compare(subparsers) -> None:
    """Register ``compare``."""
    add_comparison_command(
        subparsers, "compare", "run Brian2 and the fixed-point neuron on the same input and compare",
        input_name="model", seed_flag="--stimulus-seed",
        seed_help="override the model file's stimulus seed (default: the file's)",
        codegen_help="Brian2 code generation of the reference (default: the model file's)", handler=run_compare_command,
        backend="both", out="out", out_help="output directory for report.json and compare.png",
        strict_help="fail (exit 3) if any register or intermediate overflowed")


def add_lower(subparsers) -> None:
    """Register ``lower``."""
    p = subparsers.add_parser("lower", help="print the integer program of a model on a target, with widths, "
                                            "operation counts and table memory")
    add_input_options(p, "model", "model file (TOML)")
    p.add_argument("--json", action="store_true", help="print the formats and counts as JSON instead")
    p.set_defaults(handler=run_lower_command)


#: Sub-command name -> function adding it, in the order ``--help`` lists them.
COMMANDS = {"compare": add_compare, "lower": add_lower}


def format_table(report: dict) -> str:
    """Human-readable summary of a compare report."""
    ste = report["spike_time_error_ms"]
    voltage = next(iter(report["formats"]["registers"].values()))
    config = report["config"]
    rows = [
        f"{report['model']}: {report['reference']} vs {report['candidate']} on {report['target']} "
        f"({config['state_bits']}-bit state, {config['rounding']}, "
        f"LUT {config['lut_size']}{' interpolated' if config['interpolate'] else ''})",
        _row("Gamma (mean over neurons)", gamma_text(report["gamma"])),
        _row("Gamma (worst neuron)", gamma_text(report.get("gamma_min"))),
        _row("spike-time error mean/median/max ms",
             "/".join("nan" if ste[k] is None else f"{ste[k]:.4f}" for k in ("mean", "median", "max"))),
        _row("missed / extra spikes", f"{report['missed_spikes']} / {report['extra_spikes']}"),
        _row("firing rate ref / cand (Hz)", f"{report['rates_hz']['reference']:.1f} / "
                                            f"{report['rates_hz']['candidate']:.1f}"),
        _row("v RMSE (mV)", report["v_rmse_mV"]),
        _row("algorithm error Gamma (Brian2 vs float)", gamma_text(report["error_split"]["algorithm"]["gamma"])),
        _row("quantization error Gamma (float vs fixed)", gamma_text(report["error_split"]["quantization"]["gamma"])),
        _row("voltage format", f"{voltage['bits']} bits, LSB {voltage['lsb'] * 1e6:.4g} uV"),
        _row("register overflows", sum(report["saturations"].values())),
        _row("intermediate overflows", sum(report["operation_overflows"].values())),
    ]
    if report.get("gamma_undefined"):
        rows.insert(2, f"  ({report['gamma_undefined']})")
    noise = report.get("noise")
    if noise is not None:
        rows += _noise_rows(noise)
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        rows.append(_row("Lava fixed_pt == emulator", f"{'exact' if lava['match'] else 'MISMATCH'} over "
                                                      f"{lava['steps_compared']} steps x {lava['neurons']} neurons"))
    return "\n".join(rows)


def _noise_rows(noise: dict) -> list[str]:
    """The noise lines: its mode, and for ``target`` (compared statistically, not spike by spike) the statistics."""
    statistics = noise["statistics"]
    cv = statistics["isi_cv"]
    rows = [_row("noise", f"{noise['mode']} ({', '.join(noise['variables'])}, seed {noise['seed']})"
                          + ("; Gamma compares different draws" if noise["mode"] == "target" else ""))]
    if noise["mode"] == "target":
        rows += [_row("ISI CV ref / cand", "/".join("nan" if cv[k] is None else f"{cv[k]:.4f}"
                                                    for k in ("reference", "candidate"))),
                 _row("v distribution KS distance", statistics["v_ks"])]
    return rows


def _row(name: str, value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return f"  {name:<34} {value}"


def model_target_config(args: argparse.Namespace):
    """``(model, target, config)`` of ``compare`` and ``lower``: arguments checked, the model
    file, then the target and quantisation config (:func:`~.options.resolve_target_config`)."""
    from ..model.model_file import load_model

    check_arguments(args)
    model = load_model(args.model)
    return (model, *resolve_target_config(args, model.simulation.method))


def with_codegen(model, codegen: str):
    """``model`` with its simulation's Brian2 target replaced by ``codegen``."""
    return dataclasses.replace(model, simulation=dataclasses.replace(model.simulation, codegen=codegen))


def check_compare_memory(model, config, backend: str) -> None:
    """Refuse (before any run) a compare whose records would not fit in memory."""
    from ..resources_check import check_memory, compare_estimate, table_bytes

    spec, sim = model.spec, model.simulation
    tables = table_bytes(config.lut_size, len(spec.gates), sum(len(e.terms) for e in spec.equations_of))
    estimate = compare_estimate(sim.n_steps, sim.neurons, len(spec.state_names) + 1, backend != "emulator", tables)
    check_memory(estimate, model.path, grid_field(sim.n_steps, sim.neurons),
                 "shorten simulation.duration, use fewer simulation.neurons or a larger simulation.dt"
                 + (", or --backend emulator" if backend != "emulator" else ""))


def run_lower_command(args: argparse.Namespace) -> int:
    """``neuromorph lower``: profile the model in Brian2, lower it, print the integer program."""
    from ..execution.stimulus import sample_stimulus
    from ..pipeline import lower_model
    from ..quantization.listing import format_program

    model, target, config = model_target_config(args)
    sim = model.simulation
    model = with_codegen(model, reference_codegen(None, sim.n_steps, [model.spec.equations], short_run=sim.codegen))
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    log(f"range profile: Brian2 ({model.simulation.codegen}) on the model's own stimulus")
    spec, _, lowered = lower_model(model, stimulus, target, config)
    neuron = lowered.population(spec.populations[0].name).neuron
    print(json_text(neuron.formats()) if args.json else format_program(neuron))
    return 0


def run_compare_command(args: argparse.Namespace) -> int:
    """``neuromorph compare``: run, print a table, write report.json and compare.png."""
    from ..pipeline import CompareOptions, build_report, run_compare
    from ..plotting import plot_compare
    from ..progress import bar_factory

    out = prepare_output(args.out)
    model, target, config = model_target_config(args)
    check_output_names(out, ["report.json", "compare.png"], "compare")
    if args.codegen:
        model = with_codegen(model, reference_codegen(args.codegen, None, [model.spec.equations]))
    options = CompareOptions(backend=args.backend, window=args.window * 1e-3, stimulus_seed=args.stimulus_seed)
    check_compare_memory(model, config, args.backend)
    result = run_compare(model, target, config, options, progress=log, bars=bar_factory(args.json))
    report = build_report(result)
    text = write_json(out / "report.json", report)
    plot_compare(result.reference, result.fixed, out / "compare.png", title=format_table(report).splitlines()[0])
    print(text if args.json else format_table(report))
    log(f"wrote {out / 'report.json'} and {out / 'compare.png'}")
    overflowed = {k: v for k, v in report["saturations"].items() if v}
    overflowed.update(report["operation_overflows"])
    if args.strict and overflowed:
        raise OverflowDetected(f"overflow during the run: {overflowed}")
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava fixed_pt and emulator disagree: {result.lava_check.populations}")
    return 0
