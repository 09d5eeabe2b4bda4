"""The options of ``set_device('neuromorph', ...)`` and of :func:`neuromorph.network.compare`: the CLI's.

The keyword options are the options of ``neuromorph network`` (``neuromorph network --help``),
with the dashes written as underscores, plus ``reference``. They are checked by the CLI's own
parser actions (types, choices), its argument checks and its one target/config resolver
(:func:`~neuromorph.cli.options.resolve_target_config`), so a value the CLI refuses is refused
here with the same rule. ``window`` is in ms as on the command line (a Brian2 time is accepted
too).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Mapping

from .cli.network import add_network
from .cli.options import check_arguments, reference_codegen, resolve_target_config
from .errors import InputError
from .files import shorten
from .network.comparison import NetworkOptions
from .quantization.quantize import QuantConfig

#: Options of ``neuromorph network`` that a Python run has no use for (files and output).
CLI_ONLY = frozenset({"network", "network_seed", "out", "json", "handler"})
#: Options only a Python run has: name -> (default, help).
PYTHON_ONLY = {"reference": (True, "also run the float Brian2 reference (and the floor) and keep the fidelity "
                                   "report; False: only the fixed-point network (the lowering still takes its "
                                   "ranges from one float run)")}


@dataclass(frozen=True)
class RunOptions:
    """Resolved options of one run.

    Attributes
    ----------
    target : HardwareTarget
    config : QuantConfig
        The quantisation config (target defaults, then ``config=`` file, then the options).
    network : NetworkOptions
        Backend, floor, coincidence window (s), Brian2 code target.
    method : str or None
        Integration of the lowered neurons (None: each population's Brian2 method).
    reference : bool
        Run the float reference and build the report.
    strict : bool
        Raise :class:`~neuromorph.errors.OverflowDetected` on any overflow or clipped weight.
    codegen : str or None
        Brian2 code target asked for (``network.codegen`` is the one chosen by :meth:`for_network`).
    noise : str or None
        How ``xi`` is generated (``replay`` or ``target``; None: replay).
    """

    target: object
    config: QuantConfig
    network: NetworkOptions
    method: str | None
    reference: bool
    strict: bool
    codegen: str | None = None
    noise: str | None = None

    def for_network(self, spec, record: bool = False) -> "RunOptions":
        """These options for ``spec``: Brian2's code target chosen for its run (the CLI's rule), and
        whether every register of every step is kept (``record``)."""
        codegen = reference_codegen(self.codegen, spec.n_steps, [p.model.equations for p in spec.populations])
        return replace(self, network=replace(self.network, codegen=codegen, record=record))


def _network_actions() -> dict[str, argparse.Action]:
    """The parser actions of ``neuromorph network`` by destination."""
    subparsers = argparse.ArgumentParser(prog="neuromorph").add_subparsers(dest="command")
    add_network(subparsers)
    actions = subparsers.choices["network"]._actions  # noqa: SLF001 -- argparse keeps a parser's actions there
    return {action.dest: action for action in actions if action.dest not in CLI_ONLY | {"help"}}


def option_help() -> dict[str, str]:
    """Every option's name and help text (the CLI's, plus :data:`PYTHON_ONLY`)."""
    helps = {}
    for dest, action in _network_actions().items():
        text = action.help or ""
        if action.nargs == 0:  # a flag: the keyword takes True or False
            text = f"{not action.default}: {text} (default: {action.default})"
        elif "default" not in text:
            text = f"{text} (default: {action.default!r})"
        helps[dest] = text
    return {**helps, **{name: f"{text} (default: {default})" for name, (default, text) in PYTHON_ONLY.items()}}


def _value(action: argparse.Action, name: str, value):
    """``value`` as the CLI would parse it for ``action`` (its type and choices)."""
    if action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise InputError(f"must be True or False, got {shorten(value)}", field=name)
        return value
    if name == "window" and hasattr(value, "dim"):
        value = float(value) * 1e3  # a Brian2 time -> ms, the CLI's unit
    if action.type is not None:
        try:
            value = action.type(str(value) if action.type is not float else value)
        except (TypeError, ValueError):
            raise InputError(f"must be a {action.type.__name__}, got {shorten(value)}", field=name) from None
    if action.choices is not None and value not in action.choices:
        raise InputError(f"must be one of {list(action.choices)}, got {shorten(value)}", field=name)
    return value


def cli_arguments(options: Mapping) -> tuple[argparse.Namespace, bool]:
    """``options`` as the namespace ``neuromorph network`` would parse (defaults filled), and ``reference``."""
    actions = _network_actions()
    unknown = sorted(set(options) - set(actions) - set(PYTHON_ONLY))
    if unknown:
        raise InputError(f"unknown option(s) {unknown}; the options are {sorted({*actions, *PYTHON_ONLY})} "
                         "(neuromorph network --help, dashes as underscores)", "neuromorph options")
    args = argparse.Namespace(**{dest: action.default for dest, action in actions.items()})
    for name, value in options.items():
        if name in actions and value is not None:
            setattr(args, name, _value(actions[name], name, value))
    reference = options.get("reference", PYTHON_ONLY["reference"][0])
    if not isinstance(reference, bool):
        raise InputError(f"must be True or False, got {shorten(reference)}", field="reference")
    try:
        check_arguments(args)
    except InputError as exc:  # the CLI names its flag (--state-bits); here it is a keyword
        raise InputError(exc.message, exc.source, (exc.field or "").lstrip("-").replace("-", "_")) from None
    return args, reference


def resolve_options(options: Mapping) -> RunOptions:
    """The :class:`RunOptions` of keyword ``options`` (see the module docstring; then :meth:`RunOptions.for_network`)."""
    args, reference = cli_arguments(options)
    target, config = resolve_target_config(args, "exponential_euler")
    network = NetworkOptions(backend=args.backend, floor=args.floor and reference, window=args.window * 1e-3,
                             relays=args.relays)
    return RunOptions(target=target, config=config, network=network, method=args.method, reference=reference,
                      strict=args.strict, codegen=args.codegen, noise=args.noise)
