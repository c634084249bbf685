"""``cnnlab gan``: train a DCGAN and use it (parsing only; the work is in
:mod:`cnnlab.gan.command` and :mod:`cnnlab.gan.tools`)."""

from __future__ import annotations

import argparse

from cnnlab.cli.args import non_negative_int, positive_float, positive_int

HELP = "train a DCGAN, sample it, interpolate, find neighbours, evaluate its samples"

EPILOG = """examples:
  cnnlab gan train --epochs 10 --classifier runs/clf/last.safetensors --out runs/gan
  cnnlab gan train --conditional --out runs/cgan
  cnnlab gan train --resume runs/gan                  # continue an interrupted run
  cnnlab gan sample runs/gan -n 64 --out samples.png
  cnnlab gan sample runs/cgan --class Sneaker --out sneakers.png
  cnnlab gan interpolate runs/gan --steps 10 --slerp --out interp.png
  cnnlab gan neighbours runs/gan --classifier runs/clf --out neighbours.png
  cnnlab gan evaluate runs/gan --classifier runs/clf -n 10000
"""


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "gan",
        help=HELP,
        description=HELP,
        parents=parents,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="gan_command", metavar="ACTION", required=True)
    t = sub.add_parser("train", help="train a DCGAN (Radford et al. 2016)", parents=parents)
    t.add_argument("--data", help="fashion-mnist (default), mnist, mnist-subset, cifar10, PATH")
    t.add_argument("--root", help="where the data set's files are")
    t.add_argument("--epochs", type=positive_int, help="epochs (default: 10)")
    t.add_argument("--latent", type=positive_int, help="latent size nz (default: 100)")
    t.add_argument("--batch-size", type=positive_int, help="batch size (default: 128)")
    t.add_argument(
        "--image-size", type=int, choices=(28, 32, 64), help="default: 28 for 28x28 data, else 32"
    )
    t.add_argument("--conditional", action="store_true", default=None, help="class-conditional")
    t.add_argument(
        "--conditioning",
        choices=("concat", "projection"),
        help="how the conditional discriminator reads the class: a projection onto its "
        "features (Miyato and Koyama 2018; default) or one-hot maps beside the image (concat)",
    )
    t.add_argument("--ngf", type=positive_int, help="generator width (default: 64)")
    t.add_argument("--ndf", type=positive_int, help="discriminator width (default: 64)")
    t.add_argument("--lr", type=positive_float, help="Adam learning rate of both (default: 2e-4)")
    t.add_argument("--limit", type=positive_int, help="use only the first N training images")
    t.add_argument(
        "--classifier",
        metavar="CKPT",
        help="a classifier of the same data (cnnlab train): Fréchet distance per epoch and "
        "the class-entropy collapse check",
    )
    t.add_argument("--out", help="run directory (default: runs/gan/<timestamp>)")
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR (or a checkpoint)")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an --out folder that already holds a run (deleting its "
        "checkpoint and metrics); without it such a folder is refused",
    )
    t.add_argument("--seed", type=non_negative_int, help="random seed (default: 0)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=run_train)
    from cnnlab.cli import gan_tools

    gan_tools.add_parsers(sub, parents)


def run_train(args) -> int:
    from cnnlab.gan.command import train_gan

    settings = {
        "data": args.data,
        "epochs": args.epochs,
        "latent": args.latent,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "conditional": args.conditional,
        "conditioning": args.conditioning,
        "ngf": args.ngf,
        "ndf": args.ndf,
        "lr": args.lr,
        "limit": args.limit,
        "seed": args.seed,
    }
    s = train_gan(
        settings,
        out_dir=args.out,
        resume=args.resume,
        progress=not args.no_progress,
        root=args.root,
        classifier=args.classifier,
        overwrite=args.overwrite,
    )
    final = s["final"]
    line = f"{s['epochs']} epochs of {s['data']} in {s['total_train_time_s']:.0f}s"
    if final.get("fid") is not None:
        line += f", Fréchet distance {final['fid']:.3f}"
    print(line)
    for w in s["health_warnings"]:
        print(f"warning [{w['check']}] epoch {w['epoch']}: {w['message']}; try: {w['try']}")
    if s["stopped"]:
        print(f"stopped: {s['stopped']} (last good checkpoint kept)")
    print(f"run directory {s['out_dir']}")
    return 0 if s["stopped"] is None else 1
