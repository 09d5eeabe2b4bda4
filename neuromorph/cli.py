"""Command-line interface ``neuromorph``.

Errors the user can fix print one line and exit with status 2 (3 for overflow under
``--strict``); ``--debug`` shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import NeuromorphError, OverflowDetected

EXIT_USAGE = 2
EXIT_OVERFLOW = 3


def _log(message: str) -> None:
    print(f"[neuromorph] {message}", file=sys.stderr, flush=True)


def _add_compare(subparsers) -> None:
    p = subparsers.add_parser("compare", help="run Brian2 and the fixed-point neuron on the same input and compare")
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--target", default="loihi2", help="hardware target name or file (default: loihi2)")
    p.add_argument("--state-bits", type=int, help="voltage register width (default: the target's)")
    p.add_argument("--gate-bits", type=int, help="gate register and table entry width (default: state bits)")
    p.add_argument("--lut-size", type=int, help="entries per lookup table, a power of two")
    p.add_argument("--interpolate", action="store_true", default=None, help="linear interpolation in tables")
    p.add_argument("--rounding", choices=("nearest", "truncate", "stochastic"))
    p.add_argument("--seed", type=int, help="seed of stochastic rounding (default 0)")
    p.add_argument("--stimulus-seed", type=int, help="override the model file's stimulus seed")
    p.add_argument("--backend", choices=("emulator", "lava", "both"), default="both")
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")
    p.add_argument("--out", default="out", help="output directory for report.json and compare.png")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--strict", action="store_true", help="fail (exit 3) if any register overflowed")
    p.set_defaults(handler=run_compare_command)


def build_parser() -> argparse.ArgumentParser:
    """The ``neuromorph`` argument parser."""
    parser = argparse.ArgumentParser(prog="neuromorph", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_compare(subparsers)
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
        _format_row("voltage format", f"{report['formats']['voltage']['bits']} bits, "
                                      f"LSB {report['formats']['voltage']['lsb'] * 1e6:.4g} uV"),
        _format_row("overflows", sum(report["saturations"].values())),
    ]
    lava = report.get("lava_matches_emulator")
    if lava is not None:
        rows.append(_format_row("Lava fixed_pt == emulator",
                                f"{'exact' if lava['match'] else 'MISMATCH'} over {lava['steps_compared']} steps "
                                f"x {lava['neurons']} neurons"))
    return "\n".join(rows)


def run_compare_command(args) -> int:
    """``neuromorph compare``: run, print a table, write report.json and compare.png."""
    from .model.model_file import load_model
    from .pipeline import CompareOptions, build_report, run_compare
    from .plotting import plot_compare
    from .quantization.quantize import QuantConfig
    from .targets import load_target

    model = load_model(args.model)
    target = load_target(args.target)
    config = QuantConfig.for_target(target, state_bits=args.state_bits, gate_bits=args.gate_bits,
                                    lut_size=args.lut_size, interpolate=args.interpolate, rounding=args.rounding,
                                    seed=args.seed)
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
    if args.strict and overflowed:
        raise OverflowDetected(f"register overflow during the run: {overflowed}")
    if result.lava_check is not None and not result.lava_check.match:
        raise NeuromorphError(f"Lava fixed_pt and emulator disagree from step {result.lava_check.first_mismatch_step}")
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
