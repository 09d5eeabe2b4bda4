"""What the ``neuromorph`` commands share: option groups, argument checks, the one
target/config resolver, the Brian2 code target, the output directory and JSON/log output.

Heavy modules (Brian2, Lava, numba) are imported inside the functions that need them, so
``neuromorph --help`` and a refused argument answer at once.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..files import replace_file, shorten
from ..quantization.fixed_point import ROUNDING_MODES
from ..schema import MAX_SEED

#: Most values a --bits or --lut-sizes list may hold.
MAX_LIST = 64
#: Most held-out seeds of a search.
MAX_SEEDS = 100
#: Target of a command given neither --target nor a --config naming one.
DEFAULT_TARGET = "loihi2"
TARGET_HELP = f"hardware target name or file (default: the --config's, else {DEFAULT_TARGET})"
CODEGEN_HELP = ("Brian2 code generation (default: cython when it can run and the run has at least 20,000 steps, "
                "else numpy)")


def log(message: str) -> None:
    """Print a progress or status line on stderr, prefixed ``[neuromorph]``."""
    print(f"[neuromorph] {message}", file=sys.stderr, flush=True)


class HelpFormatter(argparse.HelpFormatter):
    """Help that states every option's default: texts naming their default are kept, required
    options say so, flags default to off, and any other non-None default is appended."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS or "default" in text:
            return text
        if action.required:
            return f"{text} (required)"
        if action.nargs == 0 and isinstance(action.default, bool):  # store_true / store_false
            return f"{text} (default: off)"
        if action.default is None:
            return text  # tests/test_cli_help.py refuses an option whose text does not give its default
        return f"{text} (default: {str(action.default).replace('%', '%%')})"


def _in(low: float, high: float):
    return lambda value: math.isfinite(value) and low <= value <= high


#: dest -> (check, rule): command-line values checked before anything runs.
ARGUMENT_CHECKS = {
    "window": (lambda v: math.isfinite(v) and 0 < v <= 1000, "must be a finite time in ms, > 0 and at most 1000"),
    "headroom": (_in(0.01, 100), "must be a finite factor from 0.01 to 100 (ranges are multiplied by it)"),
    "seed": (_in(0, MAX_SEED), f"must be a seed from 0 to {MAX_SEED}"),
    "network_seed": (_in(0, MAX_SEED), f"must be a seed from 0 to {MAX_SEED}"),
    "stimulus_seed": (_in(0, MAX_SEED), f"must be a seed from 0 to {MAX_SEED}"),
    "workers": (lambda v: v >= 1, "must be at least 1"),
    "seeds": (_in(1, MAX_SEEDS), f"must be from 1 to {MAX_SEEDS}"),
    "min_gamma": (lambda v: math.isfinite(v) and v <= 1, "must be a finite number, at most 1 (Gamma never exceeds 1)"),
    "state_bits": (_in(2, 64), "must be from 2 to 64"),
    "gate_bits": (_in(2, 64), "must be from 2 to 64"),
    "lut_size": (_in(2, 1 << 24), f"must be from 2 to {1 << 24}"),
}


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse command-line values outside :data:`ARGUMENT_CHECKS` before anything runs.

    Raises
    ------
    InputError
        Naming the option (``--state-bits``) and the rule it breaks.
    """
    for dest, (ok, rule) in ARGUMENT_CHECKS.items():
        value = getattr(args, dest, None)
        if value is not None and not ok(value):
            raise InputError(f"{rule}, got {shorten(value)}", field="--" + dest.replace("_", "-"))


def prepare_output(directory: str) -> Path:
    """Create ``--out`` and prove it writable (a file is created and removed) before any run.

    Raises
    ------
    InputError
        When ``directory`` is a file or cannot be written.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise InputError(f"{shorten(directory)} exists and is not a directory", field="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=out, prefix=".neuromorph-write-test-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write to {shorten(directory)}: {exc.strerror or exc}", field="--out") from None
    return out


#: Keys every report of a command has (``compare``, ``network``): an existing ``report.json`` with them
#: is an earlier run's, whose files the command may replace.
REPORT_KEYS = {"compare": ("model", "reference", "candidate", "gamma", "config"),
               "network": ("network", "target", "config", "populations", "projections")}


def check_output_names(out: Path, names: Iterable[str], command: str) -> None:
    """Refuse, before any run, to write ``names`` into ``--out`` where that could clobber what is not ours.

    A command writes only its own names into ``--out`` (``report.json`` and its figures) and
    leaves every other file alone. Each name that exists must be a regular file, never a
    symlink (files are replaced by a rename, :func:`~neuromorph.files.replace_file`, so a
    symlink would not be followed, but it was put there by someone else), and when any exists,
    ``report.json`` must be the report of an earlier run of the same command.

    Raises
    ------
    InputError
        Naming ``--out``, the file and what to do.
    """
    existing = []
    for name in names:
        path = out / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            kind = "a symlink" if path.is_symlink() else "not a regular file"
            raise InputError(f"{shorten(str(path))} is {kind}; `{command}` writes its own regular files only and never "
                             "through a symlink: remove it or choose another directory", field="--out")
        if path.exists():
            existing.append(name)
    if existing and not _is_report(out / "report.json", REPORT_KEYS[command]):
        found = ("its report.json is not the report of an earlier `neuromorph {command}` run" if "report.json" in
                 existing else f"it holds {', '.join(existing[:3])} but no report.json of an earlier "
                               f"`neuromorph {command}` run").format(command=command)
        raise InputError(f"{shorten(str(out))}: {found}; `{command}` replaces only its own earlier output (report.json "
                         "and figures) and never overwrites other files: choose another directory or remove them",
                         field="--out")


def _is_report(path: Path, keys: tuple[str, ...]) -> bool:
    """Whether ``path`` is a regular JSON file of at most 100 MB holding an object with ``keys``."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 100_000_000:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and all(key in data for key in keys)


def json_text(data: dict) -> str:
    """``data`` as strict, indented JSON (non-finite floats become null)."""
    from ..results_file import json_safe

    return json.dumps(json_safe(data), indent=2, allow_nan=False)


def write_json(path: Path, data: dict) -> str:
    """Write ``data`` to ``path`` as :func:`json_text` (atomically, never through a symlink) and return the text."""
    text = json_text(data)
    replace_file(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return text


def gamma_text(value: float | None) -> str:
    """A Gamma value with four decimals, or ``"undefined"``."""
    return "undefined" if value is None else f"{value:.4f}"


def grid_field(steps: int, neurons: int) -> str:
    """The model-file field to shorten when a run of ``steps`` x ``neurons`` needs too much memory."""
    return "simulation.duration" if steps >= neurons else "simulation.neurons"


def add_target_option(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--target``: resolved by :func:`resolve_target` (``default`` None: the --config's, else loihi2)."""
    if default is None:
        p.add_argument("--target", help=TARGET_HELP)
    else:
        p.add_argument("--target", default=default, help=f"hardware target name or file (default: {default})")


def add_quantization_options(p: argparse.ArgumentParser) -> None:
    """The fixed-point options of ``compare``, ``lower``, ``network`` and ``export`` (see :func:`quant_config`)."""
    p.add_argument("--state-bits", type=int, help="voltage register width (default: the target's)")
    p.add_argument("--gate-bits", type=int, help="gate register and table entry width (default: state bits)")
    p.add_argument("--lut-size", type=int, help="entries per lookup table, a power of two (default: the target's)")
    p.add_argument("--interpolate", action=argparse.BooleanOptionalAction, default=None,
                   help="linear interpolation in tables (default: the target's)")
    p.add_argument("--rounding", choices=ROUNDING_MODES,
                   help="rounding of every right shift (default: the target's, for the width asked)")
    p.add_argument("--seed", type=int, help="seed of stochastic rounding and dither phases (default 0)")
    p.add_argument("--residual-bits", type=int,
                   help="error_feedback: width of each residual register (default 4)")
    p.add_argument("--feedback", type=feedback_kinds,
                   help="error_feedback: kinds of state that keep a residual, e.g. voltage,gate "
                        "(default: voltage,gate,linear)")
    p.add_argument("--config", help="quantization config file (as written by `neuromorph tune`); "
                                    "command-line options override it (default: none)")
    p.add_argument("--headroom", type=float, help="widen the profiled ranges by this factor (default 1.25)")
    p.add_argument("--method", choices=("exponential_euler", "euler"),
                   help="integration of gates and voltage (default: the model's Brian2 method when it is one of these)")


def feedback_kinds(text: str) -> tuple[str, ...]:
    """Parse ``--feedback`` (``"voltage,gate"``): the kinds of state that keep an error-feedback residual."""
    from ..quantization.quantize import FEEDBACK_KINDS

    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in FEEDBACK_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"must name one or more of {', '.join(FEEDBACK_KINDS)}")
    return kinds


def add_window_option(p: argparse.ArgumentParser) -> None:
    """``--window``: the spike-coincidence window of Gamma, in ms."""
    p.add_argument("--window", type=float, default=2.0, help="coincidence window in ms (default 2)")


def add_input_options(p: argparse.ArgumentParser, name: str, help_text: str) -> None:
    """The input file (positional ``name``), ``--target`` and the quantisation options of a lowering command."""
    p.add_argument(name, help=help_text)
    add_target_option(p)
    add_quantization_options(p)


def add_run_options(p: argparse.ArgumentParser, *, backend: str, out: str, out_help: str, strict_help: str) -> None:
    """``--backend``, ``--window``, ``--out``, ``--json`` and ``--strict`` of the commands that compare runs."""
    p.add_argument("--backend", choices=("emulator", "lava", "both"), default=backend,
                   help="fixed-point backends to run (both: Lava checked against the emulator)")
    add_window_option(p)
    p.add_argument("--out", default=out, help=out_help)
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--strict", action="store_true", help=strict_help)


def add_codegen_option(p: argparse.ArgumentParser, help_text: str = CODEGEN_HELP) -> None:
    """``--codegen``: a Brian2 target asked for (see :func:`reference_codegen`)."""
    p.add_argument("--codegen", choices=("numpy", "cython"), help=help_text)


def add_comparison_command(subparsers, name: str, help_text: str, *, input_name: str, seed_flag: str,
                           seed_help: str, codegen_help: str = CODEGEN_HELP, handler, **run) -> argparse.ArgumentParser:
    """A command that runs Brian2 and fixed point on the same input and compares them (``compare``,
    ``network``): the input file with ``--target`` and the quantisation options, a seed override,
    ``--codegen`` and the run options (``run``: :func:`add_run_options`'s keywords)."""
    p = subparsers.add_parser(name, help=help_text)
    add_input_options(p, input_name, f"{input_name} file (TOML)")
    p.add_argument(seed_flag, type=int, help=seed_help)
    add_codegen_option(p, codegen_help)
    add_run_options(p, **run)
    p.set_defaults(handler=handler)
    return p


def resolve_target(args: argparse.Namespace, settings: dict):
    """The target of a command: ``--target``, else the ``--config``'s (popped from ``settings``),
    else :data:`DEFAULT_TARGET`. A file is first checked to be bounded UTF-8 text.

    Returns
    -------
    HardwareTarget
    """
    from ..errors import TargetFileError
    from ..files import read_text_file
    from ..targets import load_target

    name_or_path = args.target or settings.get("target", DEFAULT_TARGET)
    settings.pop("target", None)
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        read_text_file(name_or_path, error=TargetFileError)
    return load_target(name_or_path)


def quant_config(args: argparse.Namespace, reference_method: str, settings: dict, target):
    """The quantisation config: the target's defaults, then ``settings`` (a --config file), then the flags.

    ``reference_method`` is the Brian2 method of the reference, the default ``--method``
    when the lowering implements it.
    """
    from ..quantization.quantize import QuantConfig, default_method

    overrides = {"state_bits": args.state_bits, "gate_bits": args.gate_bits, "lut_size": args.lut_size,
                 "interpolate": args.interpolate, "rounding": args.rounding, "seed": args.seed,
                 "headroom": args.headroom, "method": args.method, "residual_bits": args.residual_bits,
                 "feedback": args.feedback}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.setdefault("method", default_method(reference_method))
    config = QuantConfig.for_target(target, **settings)
    log(f"rounding: {config.rounding} ({config.rounding_source})")
    return config


def resolve_target_config(args: argparse.Namespace, reference_method: str):
    """The one target/config resolver: ``(target, config)`` from ``--config`` (read once),
    ``--target`` (:func:`resolve_target`) and the quantisation options (:func:`quant_config`)."""
    from ..tuning import read_config

    settings = read_config(args.config) if args.config else {}
    target = resolve_target(args, settings)
    return target, quant_config(args, reference_method, settings, target)


def reference_codegen(requested: str | None, n_steps: int | None, equations: Iterable[str],
                      short_run: str = "numpy") -> str:
    """Brian2's target for a command's reference run (:func:`~neuromorph.reference.codegen.choose_codegen`),
    saying on stderr when the target ``requested`` cannot run this model."""
    from ..reference.codegen import choose_codegen

    codegen = choose_codegen(n_steps, equations, requested=requested, short_run=short_run)
    if requested and codegen != requested:
        log(f"Brian2 {requested} cannot run this model (neuromorph's membrane functions are numpy only); "
            f"using {codegen}")
    return codegen
