"""``cnnlab summary``: a model's layers with shapes, parameters, multiply-adds, memory and
receptive fields."""

from __future__ import annotations

import json

from cnnlab.cli.args import positive_int

HELP = "show a model's layers: shapes, parameters, multiply-adds, memory, receptive fields"


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("summary", help=HELP, description=HELP, parents=parents)
    p.add_argument(
        "model", help="a registered model name (see --list), a checkpoint or an .onnx file"
    )
    p.add_argument("--input", help="input shape CxHxW (default: the model's nominal input)")
    p.add_argument("--num-classes", type=positive_int, help="classes of the model's head")
    p.add_argument("--list", action="store_true", help="list the registered models and exit")
    p.add_argument("--json", action="store_true", help="print the rows and totals as JSON")
    p.set_defaults(func=run)


def parse_shape(text: str) -> tuple:
    try:
        shape = tuple(int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"--input must look like 3x224x224 (C x H x W), got {text!r}")
    return shape


def run(args) -> int:
    from cnnlab import models
    from cnnlab.inspect import summary

    if args.list:
        for name in models.names():
            info = models.info(name)
            shape = "x".join(map(str, info["input_shape"] or ()))
            print(f"{name:24s} {shape:12s} {info['doc']}")
        return 0
    if args.model.lower().endswith(".onnx"):  # through the model service, as every command
        from cnnlab.models.loading import open_model

        loaded = open_model(args.model)
        model, name, shape = loaded.model, args.model, loaded.shape
    elif args.model.endswith(".safetensors") or "/" in args.model:
        from cnnlab.train.checkpoint import model_from_checkpoint

        model, ckpt = model_from_checkpoint(args.model)
        name = ckpt.config.get("model", args.model)
        shape = models.info(name)["input_shape"] if name in models.names() else ()
        if ckpt.config.get("in_channels") and shape:
            shape = (ckpt.config["in_channels"], *shape[1:])
    else:
        info = models.info(args.model)
        kwargs = {"num_classes": args.num_classes} if args.num_classes else {}
        shape = info["input_shape"]
        if args.input:
            kwargs["in_channels"] = parse_shape(args.input)[0]
        model, name = models.create(args.model, **kwargs), args.model
    if args.input:
        shape = parse_shape(args.input)
    if not shape:
        raise ValueError("summary: give the input shape with --input CxHxW")
    if callable(getattr(model, "step", None)) and hasattr(model, "encoder"):  # a captioner
        model, name = model.encoder, f"{name}.encoder (the decoder also reads words)"
    s = summary(model, shape)
    s.model_name = name
    if args.json:
        print(json.dumps({"rows": s.to_rows(), "totals": s.totals}, default=str))
    else:
        print(s)
    return 0
