"""Command-line interface ``neuromorph``.

Errors the user can fix print one line and exit with status 2 (3 for overflow under
``--strict``); ``--debug`` shows the full traceback instead. Every argument, the model,
target and config files, the output directory and the memory a run needs are checked
before any simulation starts. Exceptions never reach Python's (or Brian2's) exception
hook, so Brian2's bug-report banner never appears and its temporary files are removed.

The commands live in :mod:`.neuron` (compare, lower), :mod:`.search` (tune, sweep),
:mod:`.network` (network, export) and :mod:`.biophys`; what they share (option groups, the
one target/config resolver, output) in :mod:`.options`.
"""
from __future__ import annotations

import argparse
import sys
import traceback

from ..errors import NeuromorphError, OverflowDetected
from . import biophys, network, neuron, search
from .options import HelpFormatter

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_OVERFLOW = 3
EXIT_INTERRUPTED = 130
#: Longest error message printed (characters); messages echo at most ~200 characters of a value.
MAX_MESSAGE = 1000
#: The modules adding sub-commands (each a ``COMMANDS`` registry), in the order ``--help`` lists them.
COMMAND_MODULES = (neuron, search, network, biophys)
#: Exception type -> exit status, most specific first (anything else: :data:`EXIT_INTERNAL`).
EXIT_STATUS = {OverflowDetected: EXIT_OVERFLOW, NeuromorphError: EXIT_USAGE}


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text of ``compare`` alone spans several lines)
    and help that states every option's default (:class:`~.options.HelpFormatter`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"neuromorph: error: {message} (see: {self.prog} --help)\n")


def package_version() -> str:
    """neuromorph's version from the installed package's metadata (the source's when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neuromorph")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The ``neuromorph`` argument parser."""
    parser = CommandParser(prog="neuromorph", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neuromorph {package_version()}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        for add_command in module.COMMANDS.values():
            add_command(subparsers)
    return parser


def report_error(exc: BaseException, debug: bool) -> int:
    """Print one line for ``exc`` (the traceback first under ``--debug``) and return its exit status."""
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
    return next((status for kind, status in EXIT_STATUS.items() if isinstance(exc, kind)), EXIT_INTERNAL)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    No exception escapes: errors the user can fix give status 2 (3 for overflow under
    ``--strict``), an interruption 130, anything else (a bug) status 1, each with one line
    on stderr (``--debug`` adds the traceback).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("neuromorph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line (traceback under --debug), never Brian2's banner
        return report_error(exc, args.debug)


__all__ = ["EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OVERFLOW", "EXIT_USAGE", "build_parser", "main"]
