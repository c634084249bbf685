"""``cnnlab eval``: accuracy, per-class table and confusion matrix of a checkpoint."""

from __future__ import annotations

import json

from cnnlab.cli.args import positive_int

HELP = "evaluate a checkpoint on a test set"


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("eval", help=HELP, description=HELP, parents=parents)
    p.add_argument("checkpoint", help="a .safetensors checkpoint, a run directory or an .onnx file")
    p.add_argument("--data", help="test data (default: what the model was trained on)")
    p.add_argument("--root", help="where the data set's files are")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--limit", type=positive_int, help="evaluate only the first N test images")
    p.add_argument(
        "--out",
        help="folder for the confusion-matrix PNG (a segmenter: the test scenes' true and "
        "predicted masks; default: beside the checkpoint)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.train.run import evaluate_checkpoint, format_eval_report

    result = evaluate_checkpoint(
        args.checkpoint, args.data, args.out, args.batch_size, args.limit, root=args.root
    )
    print(json.dumps(result) if args.json else format_eval_report(result))
    return 0
