"""``cnnlab run SCRIPT [ARGS]``: run an unmodified PyTorch script on cnnlab."""

from __future__ import annotations

import argparse

HELP = "run an unmodified PyTorch script with torch and torchvision resolved to cnnlab"


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("run", help=HELP, description=HELP, parents=parents)
    p.add_argument("script", help="the Python script (it imports torch / torchvision)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.run import run_script

    return run_script(args.script, args.args)
