"""``cnnlab``: the command-line entry point.

Each subcommand lives in its own module, listed in :data:`COMMANDS`; a module provides
``add_parser(subparsers, parents)`` (which sets ``func``) and ``HELP``. Errors print one line
on stderr and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "build_parser", "main"]

# subcommand -> module; add a row to add a subcommand (summary, explain, attack, ...)
COMMANDS = {
    "train": "cnnlab.cli.train",
    "eval": "cnnlab.cli.eval",
    "predict": "cnnlab.cli.predict",
    "summary": "cnnlab.cli.summary",
    "attack": "cnnlab.cli.attack",
    "explain": "cnnlab.cli.explain",
    "export": "cnnlab.cli.export",
    "serve": "cnnlab.cli.serve",
    "experiment": "cnnlab.cli.experiment",
    "features": "cnnlab.cli.features",
    "gan": "cnnlab.cli.gan",
    "run": "cnnlab.cli.run",
}


class UsageError(Exception):
    """A bad command line (unknown option, bad value)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports usage errors as one line (exit status 2)."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    from cnnlab import __version__

    parser = Parser(prog="cnnlab", description="cnnlab: train, inspect and explain CNNs.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub, [common])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if debug:
            raise
        if isinstance(e, UsageError):
            print(f"error: {e}", file=sys.stderr)
        else:
            msg = " ".join(str(e).split()) or type(e).__name__
            print(f"cnnlab: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
