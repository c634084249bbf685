"""``cnnlab export``: write a checkpoint or a zoo model as an ONNX file (parsing only; the
work is in :mod:`cnnlab.onnx.command`)."""

from __future__ import annotations

import json

HELP = "write a checkpoint or a zoo model as an ONNX file, checked (and run in onnxruntime)"

DESCRIPTION = (
    HELP
    + """.

The graph takes images in [0, 1]: a checkpoint written by `cnnlab train` carries its data
set's normalisation inside the graph and its class names in the metadata (metadata_props key
"class_names", a JSON list). Batch norm is written in its inference form. The batch dimension
is symbolic unless --batch N fixes it. The file is validated with onnx.checker and, when
onnxruntime is installed, run on a random batch and compared with cnnlab."""
)


def add_parser(subparsers, parents) -> None:
    from cnnlab.cli.args import intermixed

    p = subparsers.add_parser("export", help=HELP, description=DESCRIPTION, parents=parents)
    intermixed(p)
    p.add_argument(
        "paths",
        nargs="+",
        metavar="CHECKPOINT|OUT",
        help="a checkpoint (.safetensors or run directory) unless --model, then OUT.onnx",
    )
    p.add_argument("--model", help="a registered model name instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    batch = p.add_mutually_exclusive_group()
    batch.add_argument("--batch", type=int, help="fix the batch size to N")
    batch.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="a symbolic batch dimension (the default)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.onnx.command import export_model

    paths = list(args.paths)
    expected = 1 if args.model else 2
    if len(paths) != expected:
        what = "OUT.onnx" if args.model else "CHECKPOINT and OUT.onnx"
        raise ValueError(f"export: give {what}, got {len(paths)} paths: {' '.join(paths)}")
    checkpoint = None if args.model else paths[0]
    from cnnlab.models.caption_export import export_command

    written = export_command(paths[-1], checkpoint, args.model, args.opset)
    if written is not None:  # a captioner: its encoder and one decoder step, in a folder
        what = "a captioner: the encoder and one decoder step"
        text = f"wrote {written['encoder']} and {written['step']} ({what})"
        print(json.dumps(written) if args.json else text)
        return 0
    report = export_model(
        paths[-1],
        checkpoint=checkpoint,
        name=args.model,
        pretrained=args.pretrained,
        opset=args.opset,
        batch=args.batch,
    )
    if args.json:
        print(json.dumps(report))
        return 0
    shape = "(" + ", ".join(str(d) for d in report["input_shape"]) + ")"
    print(
        f"wrote {report['path']}: {report['model']}, opset {report['opset']}, "
        f"{report['nodes']} nodes, {report['parameters']:,} parameters, input {shape}"
        + (f", {report['classes']} class names" if report["classes"] else "")
    )
    print(f"ops: {', '.join(report['ops'])}")
    print(report["check"])
    ort = report["onnxruntime"]
    if ort is None:
        print("onnxruntime is not installed: no comparison run")
    else:
        print(
            f"onnxruntime {ort[0]}: max |difference| from cnnlab {ort[1]:.2e} on a random "
            f"batch of {report['compare_batch']}"
        )
    return 0
