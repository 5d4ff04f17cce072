"""The ``nanotf`` command line (also ``python -m nanotf``): a dispatcher over the subcommands.

Each subcommand lives in its own ``cmd_*.py`` module with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> exit status``: 0 ok, 1 a problem
with the data (a missing, truncated, corrupted or differing file), 2 a usage
error. nanotf's typed errors and OS errors become one-line messages on
stderr; ``--debug`` prints the traceback as well. Every subcommand takes
``--json`` for a machine-readable result on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from nanotf import errors
from nanotf.tools import (
    cmd_convert,
    cmd_diff,
    cmd_freeze,
    cmd_graph,
    cmd_inspect,
    cmd_meta,
    cmd_rename,
    cmd_verify,
)
from nanotf.tools.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, UsageError

COMMANDS = (cmd_inspect, cmd_meta, cmd_diff, cmd_verify, cmd_convert, cmd_rename, cmd_freeze, cmd_graph)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanotf", description="TensorFlow checkpoints and graphs without TensorFlow.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks along with the one-line errors")
    # The same flags after the subcommand; SUPPRESS keeps a flag given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", help="print one JSON document for scripts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__.split("\n\n")[0],
                                 parents=[common])  # fmt: skip
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _report(error: BaseException, prog: str) -> tuple[int, str]:
    """The exit status and the one-line message for an error a subcommand raised."""
    text = " ".join(str(error).split())
    if isinstance(error, UsageError):
        return EXIT_USAGE, f"{prog}: error: {text}"
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED, f"{prog}: interrupted"
    return EXIT_DATA, f"{prog}: {type(error).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nanotf`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader of stdout went away (`nanotf meta x | head`): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_DATA
    except (UsageError, errors.OpError, OSError, KeyboardInterrupt) as err:
        status, message = _report(err, f"nanotf {args.command}")
        if args.debug:
            traceback.print_exception(err)
        print(message, file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
