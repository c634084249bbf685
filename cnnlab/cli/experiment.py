"""``cnnlab experiment``: the lectures' experiments (list them, or run one)."""

from __future__ import annotations

import argparse

from cnnlab.cli.args import positive_int

HELP = "run one of the lectures' experiments and report whether its claim reproduces"

EPILOG = """examples:
  cnnlab experiment list                         # the experiments, their claims and sources
  cnnlab experiment init --budget quick          # about a minute on 2 cores
  cnnlab experiment depth --out runs/depth       # standard budget on Fashion-MNIST
  cnnlab experiment depth --out runs/depth       # again: skips the finished sub-runs
  cnnlab experiment batchnorm --data mnist-subset --seeds 3
"""


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "experiment",
        help=HELP,
        description=HELP,
        parents=parents,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", help="an experiment's name, or 'list'")
    p.add_argument(
        "--budget",
        choices=["quick", "standard", "full"],
        default="standard",
        help="quick (a minute or two), standard (default, at most ~30 min on 2 cores) or "
        "full (the paper's schedule where there is one)",
    )
    p.add_argument(
        "--data",
        default="fashion-mnist",
        help="fashion-mnist (default), mnist, mnist-subset, cifar10 or an image folder",
    )
    p.add_argument("--root", help="where the data set's files are (default: the standard place)")
    p.add_argument(
        "--seeds", type=positive_int, help="seeds per configuration (default: per budget)"
    )
    p.add_argument("--out", help="experiment folder (default: runs/experiments/NAME-<timestamp>)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest runs/experiments/NAME-* (or --out), skipping finished "
        "sub-runs (rerunning into the same --out does the same)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _list() -> int:
    from cnnlab import experiments

    for name in experiments.names():
        exp = experiments.get(name)
        print(f"{name:<11} {exp.title}")
        print(f"{'':<11} claim: {exp.claim}")
        print(f"{'':<11} source: {exp.source}")
    return 0


def run(args) -> int:
    from cnnlab import experiments

    if args.name == "list":
        return _list()
    r = experiments.run(
        args.name,
        budget=args.budget,
        data=args.data,
        seeds=args.seeds,
        out=args.out,
        resume=args.resume,
        progress=not args.no_progress,
        root=args.root,
    )
    print(f"{r['experiment']} ({r['budget']} budget): {r['verdict']}")
    for c in r["criteria"]:
        print(f"  {c['status']}: {c['text']}")
    print(f"report {r['out']}/report.md ({r['wall_time_s'] / 60:.1f} min of training)")
    return 0
