"""``cnnlab predict``: top-k classes of image files under a trained checkpoint."""

from __future__ import annotations

import json

HELP = "classify image files with a checkpoint"

DESCRIPTION = (
    HELP
    + """.

Images of any size and mode are converted to the model's channels (greyscale for 1, RGB for
3) and resized to its input size, ignoring the aspect ratio. Fashion-MNIST and MNIST show
light objects on black: pass --invert for dark objects on a light background."""
)


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("predict", help=HELP, description=DESCRIPTION, parents=parents)
    p.add_argument("checkpoint", help="a .safetensors checkpoint or a run directory")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--topk", type=int, default=5, help="classes to show per image (default: 5)")
    p.add_argument("--invert", action="store_true", help="invert brightness before classifying")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.train.run import predict_images

    results = predict_images(args.checkpoint, args.images, args.topk, args.invert)
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        print(r["image"])
        for name, p in r["top"]:
            print(f"  {p:7.2%}  {name}")
    return 0
