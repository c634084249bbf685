"""``cnnlab attack``: adversarial examples, universal perturbations, fooling images and a
robustness report for a checkpoint or a zoo model."""

from __future__ import annotations

import json

HELP = "attack a model: FGSM, PGD, minimal, DeepFool, universal, one-pixel, fooling, report"

DESCRIPTION = (
    HELP
    + """.

The model is a CHECKPOINT from `cnnlab train` or --model NAME (with --pretrained for published
weights). Inputs are IMAGE files (labels: the model's own predictions; read as predict and
explain read them: shorter side resized, centre cropped) or the first -n test images of
--data. Images are in [0, 1] and eps is measured there. Results go to --out:
summary.json, examples.png (clean / perturbed / difference), adversarial.npz, and per method
robustness.png + robustness.md (report), perturbation.png (universal), fooling.png (fooling)."""
)


def add_parser(subparsers, parents) -> None:
    from cnnlab.attacks.run import METHODS
    from cnnlab.cli.args import (
        intermixed,
        non_negative_float,
        non_negative_int,
        positive_float,
        positive_int,
    )

    p = subparsers.add_parser("attack", help=HELP, description=DESCRIPTION, parents=parents)
    intermixed(p)
    p.add_argument("method", choices=METHODS, metavar="METHOD", help=", ".join(METHODS))
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="CHECKPOINT|IMAGE",
        help="a checkpoint (unless --model) followed by image files",
    )
    p.add_argument("--model", help="a zoo model name instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument("--data", help="attack the test images of this data set (name or folder)")
    p.add_argument("--root", help="where the data set's files are")
    p.add_argument(
        "-n", "--num-images", type=positive_int, default=16, help="test images (default: 16)"
    )
    p.add_argument(
        "--eps", type=non_negative_float, help="perturbation size (default 0.1 L∞, 1.0 L2)"
    )
    p.add_argument("--eps-values", type=non_negative_float, nargs="+", help="report: the ε grid")
    p.add_argument(
        "--norm", choices=("inf", "2"), help="L∞ or L2 (default: L2 for deepfool, else L∞)"
    )
    p.add_argument("--steps", type=positive_int, default=10, help="PGD steps (default: 10)")
    p.add_argument("--alpha", type=positive_float, help="PGD step size (default: 2.5 eps / steps)")
    p.add_argument("--target", help="target class (index or name) for a targeted attack")
    p.add_argument("--pixels", type=int, choices=(1, 3, 5), default=1, help="one-pixel: pixels")
    p.add_argument(
        "--xi", type=positive_float, help="universal: radius of v (default 0.2 L∞, 4.0 L2)"
    )
    p.add_argument("--fooling-method", choices=("gradient", "evolution"), default="gradient")
    p.add_argument(
        "--start", choices=("noise", "blank"), default="noise", help="fooling: start image"
    )
    p.add_argument(
        "--iterations",
        type=positive_int,
        help="iterations of minimal/deepfool/one-pixel/universal/fooling",
    )
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--out", required=True, help="folder for the results")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.attacks.run import load_inputs, run_attack
    from cnnlab.models.loading import open_model, resolve_class

    inputs = list(args.inputs)
    checkpoint = None if args.model else (inputs.pop(0) if inputs else None)
    if checkpoint is None and args.model is None:
        raise ValueError("attack: give a CHECKPOINT or --model NAME")
    info = open_model(checkpoint, args.model, args.pretrained)
    model, shape, classes, ckpt_data = info.pixel_model(), info.shape, info.classes, info.data
    x = labels = None
    if args.method != "fooling":
        x, labels, data_classes = load_inputs(
            shape, inputs, args.data or (None if inputs else ckpt_data), args.num_images, args.root
        )
        classes = classes or data_classes
    summary = run_attack(
        args.method,
        model,
        x,
        labels,
        args.out,
        class_names=classes,
        shape=shape,
        eps=args.eps,
        norm=args.norm,
        steps=args.steps,
        alpha=args.alpha,
        target=resolve_class(args.target, classes),
        pixels=args.pixels,
        xi=args.xi,
        eps_values=args.eps_values,
        fooling_method=args.fooling_method,
        start=args.start,
        iterations=args.iterations,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps({k: v for k, v in summary.items()}, default=str))
        return 0
    for k, v in summary.items():
        if k != "rows":
            print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    if "rows" in summary:
        from cnnlab.attacks.report import markdown_table

        print(markdown_table(summary["rows"]), end="")
    print(f"results in {args.out}")
    return 0
