"""``cnnlab features``: features of a data set at a layer of a network, to ``.npz`` (and a
t-SNE / PCA map)."""

from __future__ import annotations

from cnnlab.cli.args import positive_int

HELP = "extract features of a data set at a layer (for a linear probe, kNN, t-SNE)"


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("features", help=HELP, description=HELP, parents=parents)
    p.add_argument("checkpoint", nargs="?", help="a .safetensors checkpoint or a run directory")
    p.add_argument("--model", help="a registered model instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="with --model: its ImageNet weights")
    p.add_argument("--data", default="fashion-mnist", help="data set (default: fashion-mnist)")
    p.add_argument("--root", help="where the data set's files are")
    p.add_argument("--split", choices=["train", "test"], default="test")
    p.add_argument("--layer", help="layer name (default: the classifier's input)")
    p.add_argument(
        "--image-size", type=positive_int, help="with --pretrained: the model's input size"
    )
    p.add_argument("--limit", type=positive_int, help="only the first N images")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--out", default="features.npz", help="output .npz (features, labels)")
    p.add_argument("--tsne", metavar="PNG", help="also draw a t-SNE (or PCA) map of them")
    p.add_argument("--tsne-points", type=positive_int, default=2000, help="points in the map")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from cnnlab.transfer.command import features_command

    r = features_command(
        args.checkpoint,
        args.model,
        args.pretrained,
        args.data,
        args.split,
        args.out,
        args.layer,
        args.image_size,
        args.limit,
        args.batch_size,
        args.tsne,
        args.tsne_points,
        args.root,
        not args.no_progress,
    )
    print(f"features {tuple(r['shape'])} -> {r['out']} ({r['images_per_s']} images/s)")
    if r.get("map"):
        print(f"{r['map_method']} map -> {r['map']}")
    return 0
