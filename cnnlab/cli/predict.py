"""``cnnlab predict``: top-k classes of image files under a trained checkpoint, or (with
``--task segment``) their predicted masks drawn over them, (``--task detect``) their
detected boxes, or (``--task caption``) their captions."""

from __future__ import annotations

import json

HELP = "classify image files with a checkpoint or a pretrained zoo model"

DESCRIPTION = (
    HELP
    + """.

Images of any size and mode are converted to the model's channels (greyscale for 1, RGB for
3; transparency onto white), the shorter side resized to the model's input size (bilinear,
antialiased) and the centre cropped, as torchvision's Resize + CenterCrop; explain and
attack read images the same way. Fashion-MNIST and MNIST show light objects on black: pass
--invert for dark objects on a light background.

With --model NAME (and --pretrained for published weights, such as efficientnet_lite0's
ImageNet weights) a zoo model is used instead of a checkpoint."""
)


def add_parser(subparsers, parents) -> None:
    from cnnlab.cli.args import intermixed, positive_int

    p = subparsers.add_parser("predict", help=HELP, description=DESCRIPTION, parents=parents)
    intermixed(p)
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="CHECKPOINT|IMAGE",
        help="a .safetensors checkpoint or run directory (unless --model), then image files",
    )
    p.add_argument("--model", help="a zoo model name instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument(
        "--topk", type=positive_int, default=5, help="classes to show per image (default: 5)"
    )
    p.add_argument("--invert", action="store_true", help="invert brightness before classifying")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--task",
        choices=["classify", "segment", "detect", "caption"],
        default="classify",
        help="segment: write IMAGE_segment.png, the predicted mask over the image; detect: "
        "write IMAGE_detect.png, the boxes with class and score; caption: print the caption "
        "(an attention model also writes IMAGE_attention.png, its map per word) (default: "
        "classify)",
    )
    p.add_argument(
        "--out",
        help="with --task segment, detect or caption: folder for the PNGs (default: the image's)",
    )
    p.add_argument(
        "--beam-size",
        type=positive_int,
        help="with --task caption: beam width (default: the run's)",
    )
    p.add_argument(
        "--score-threshold",
        type=float,
        default=0.3,
        help="with --task detect: lowest score of a box shown (default: 0.3)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.train.run import predict_images

    inputs = list(args.inputs)
    checkpoint = None if args.model else inputs.pop(0)
    if not inputs:
        raise ValueError("predict: give at least one IMAGE file")
    if args.task == "segment":
        return _segment(args, checkpoint, inputs)
    if args.task == "detect":
        return _detect(args, checkpoint, inputs)
    if args.task == "caption":
        return _caption(args, checkpoint, inputs)
    results = predict_images(
        checkpoint,
        inputs,
        args.topk,
        args.invert,
        model_name=args.model,
        pretrained=args.pretrained,
    )
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        print(r["image"])
        for name, p in r["top"]:
            print(f"  {p:7.2%}  {name}")
    return 0


def _segment(args, checkpoint, inputs) -> int:
    from cnnlab.train.segment import predict_segmentation

    if checkpoint is None:
        raise ValueError("predict --task segment: give a trained CHECKPOINT, not --model")
    results = predict_segmentation(checkpoint, inputs, args.out, args.invert)
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        found = ", ".join(f"{k} {v:.1%}" for k, v in r["classes"].items()) or "background only"
        print(f"{r['image']}: {found}\n  overlay {r['overlay']}")
    return 0


def _detect(args, checkpoint, inputs) -> int:
    from cnnlab.train.detect_predict import predict_detection

    if checkpoint is None:
        raise ValueError("predict --task detect: give a trained CHECKPOINT, not --model")
    results = predict_detection(checkpoint, inputs, args.out, args.invert, args.score_threshold)
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        print(f"{r['image']}: {len(r['detections'])} objects, picture {r['picture']}")
        for d in r["detections"]:
            box = ", ".join(f"{v:.1f}" for v in d["box"])
            print(f"  {d['score']:6.2%}  {d['label']}  ({box})")
    return 0


def _caption(args, checkpoint, inputs) -> int:
    from cnnlab.train.caption_predict import predict_captions

    if checkpoint is None:
        raise ValueError("predict --task caption: give a trained CHECKPOINT, not --model")
    results = predict_captions(checkpoint, inputs, args.out, args.invert, args.beam_size)
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        where = f"\n  attention {r['attention']}" if r["attention"] else ""
        print(f"{r['image']}: {r['caption'] or '(empty caption)'}{where}")
    return 0
