"""``cnnlab explain``: pictures of what a CNN has learned (parsing only; the work is in
:mod:`cnnlab.explain.command`)."""

from __future__ import annotations

HELP = "pictures of what a CNN has learned (saliency, Grad-CAM, filters, ...)"

DESCRIPTION = (
    HELP
    + """.

METHOD is one of: filters, activations, topk, saliency, smoothgrad, guided, deconvnet, gradcam,
occlusion, class-model, erf, receptive-field. The model is a CHECKPOINT written by `cnnlab
train` or a registered --model NAME (with --pretrained for published weights). Images are
resized (short side) and centre-cropped to the model's input size. Each method writes PNGs
(input, map, overlay) into --out; the target class defaults to the model's top prediction. For
a segmenter, gradcam explains a class's logits summed over --region (default: the pixels it
labels that class; the class defaults to the one covering most pixels), and receptive-field
draws an output pixel's field beside that of the same net undilated."""
)


def add_parser(subparsers, parents) -> None:
    from cnnlab.cli.args import intermixed, non_negative_int, positive_int
    from cnnlab.explain.command import METHODS

    p = subparsers.add_parser("explain", help=HELP, description=DESCRIPTION, parents=parents)
    intermixed(p)
    p.add_argument("method", choices=METHODS, metavar="METHOD", help="the picture to make")
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="CHECKPOINT|IMAGE",
        help="a checkpoint (.safetensors or run directory) unless --model is given, "
        "then image files",
    )
    p.add_argument("--model", help="a registered model name instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument("--target", help="class index or name to explain (default: the top class)")
    p.add_argument("--layer", help="dotted layer name (gradcam, activations, topk, filters, erf)")
    p.add_argument(
        "--channel",
        type=non_negative_int,
        help="channel of --layer (topk; class-model: the unit both panels maximise)",
    )
    p.add_argument("--k", type=positive_int, default=9, help="images to show (topk; default: 9)")
    p.add_argument("--data", help="data set to search (topk), e.g. fashion-mnist; default: IMAGEs")
    p.add_argument("--limit", type=positive_int, help="search only the first LIMIT images (topk)")
    p.add_argument("--samples", type=positive_int, help="noisy copies (smoothgrad) or images (erf)")
    p.add_argument("--patch", type=positive_int, help="occlusion patch side in pixels")
    p.add_argument("--stride", type=positive_int, help="occlusion stride (default: patch / 2)")
    p.add_argument(
        "--steps", type=positive_int, help="gradient-ascent steps (class-model; default: 200)"
    )
    p.add_argument(
        "--generator",
        metavar="GAN_CKPT",
        help="class-model: also optimise through this generator's latent space (cnnlab gan "
        "train; Nguyen et al. 2016) and show it beside the pixel-space one",
    )
    p.add_argument(
        "--region",
        type=_box,
        metavar="X1,Y1,X2,Y2",
        help="gradcam of a segmenter: the box of output pixels whose class logits are summed "
        "(default: the pixels predicted as the target class)",
    )
    p.add_argument("--out", required=True, help="directory for the PNGs")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def _box(text: str) -> tuple:
    import argparse

    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected four integers X1,Y1,X2,Y2, got {text!r}")
    return tuple(int(p) for p in parts)


def run(args) -> int:
    from cnnlab.explain.command import run as explain
    from cnnlab.models.loading import open_model

    inputs = list(args.inputs)
    if args.model is None and not inputs:
        raise ValueError("explain: give a CHECKPOINT or --model NAME")
    checkpoint = None if args.model is not None else inputs.pop(0)
    images = inputs
    info = open_model(checkpoint, args.model, args.pretrained)
    paths = explain(
        args.method,
        info,
        images,
        args.out,
        target=info.class_index(args.target),
        layer=args.layer,
        progress=not args.no_progress,
        channel=args.channel,
        k=args.k,
        data=args.data,
        limit=args.limit,
        samples=args.samples,
        patch=args.patch,
        stride=args.stride,
        steps=args.steps,
        generator=args.generator,
        region=args.region,
    )
    for path in paths:
        print(path)
    return 0
