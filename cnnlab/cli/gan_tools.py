"""``cnnlab gan sample|interpolate|neighbours|evaluate`` (parsing only; the work is in
:mod:`cnnlab.gan.tools`)."""

from __future__ import annotations

import json


def add_parsers(sub, parents) -> None:
    from cnnlab.cli.args import non_negative_int, positive_int

    s = sub.add_parser("sample", help="a grid of samples", parents=parents)
    s.add_argument("checkpoint", metavar="CKPT", help="a gan train run directory or checkpoint")
    s.add_argument("-n", type=positive_int, default=64, help="samples (default: 64)")
    s.add_argument("--class", dest="class_name", metavar="NAME", help="class (conditional)")
    s.add_argument("--seed", type=non_negative_int, default=0, help="latent seed (default: 0)")
    s.add_argument("--out", default="samples.png", help="PNG to write (default: samples.png)")
    s.set_defaults(func=run_sample)

    i = sub.add_parser("interpolate", help="rows of latent interpolations", parents=parents)
    i.add_argument("checkpoint", metavar="CKPT")
    i.add_argument("--steps", type=positive_int, default=10, help="images per row (default: 10)")
    i.add_argument("--rows", type=positive_int, default=8, help="rows (default: 8)")
    i.add_argument("--slerp", action="store_true", help="spherical instead of linear")
    i.add_argument("--seed", type=non_negative_int, default=0)
    i.add_argument("--out", default="interpolate.png", help="PNG (default: interpolate.png)")
    i.set_defaults(func=run_interpolate)

    nb = sub.add_parser(
        "neighbours", help="samples beside their nearest training images", parents=parents
    )
    nb.add_argument("checkpoint", metavar="CKPT")
    nb.add_argument("--data", help="training data to search (default: the GAN's)")
    nb.add_argument("--root", help="where the data set's files are")
    nb.add_argument("--classifier", metavar="CKPT", help="also search in its feature space")
    nb.add_argument("-n", type=positive_int, default=8, help="samples (default: 8)")
    nb.add_argument("-k", type=positive_int, default=5, help="neighbours each (default: 5)")
    nb.add_argument("--seed", type=non_negative_int, default=0)
    nb.add_argument("--out", default="neighbours.png", help="PNG (default: neighbours.png)")
    nb.set_defaults(func=run_neighbours)

    e = sub.add_parser(
        "evaluate", help="Fréchet distance, score, precision/recall", parents=parents
    )
    e.add_argument("checkpoint", metavar="CKPT")
    e.add_argument(
        "--classifier", metavar="CKPT", help="a classifier of the same data (cnnlab train)"
    )
    e.add_argument("-n", type=positive_int, default=10000, help="samples (default: 10000)")
    e.add_argument("--root", help="where the data set's files are")
    e.add_argument("--no-references", action="store_true", help="skip real/noise/blur rows")
    e.add_argument("--seed", type=non_negative_int, default=0)
    e.add_argument("--out", help="folder for evaluate.json and the histogram (default: run's)")
    e.add_argument("--json", action="store_true", help="print the numbers as JSON")
    e.set_defaults(func=run_evaluate)


def run_sample(args) -> int:
    from cnnlab.gan.tools import sample_grid

    r = sample_grid(args.checkpoint, args.out, args.n, args.class_name, args.seed)
    print(r["path"])
    return 0


def run_interpolate(args) -> int:
    from cnnlab.gan.tools import interpolate_grid

    r = interpolate_grid(args.checkpoint, args.out, args.steps, args.rows, args.slerp, args.seed)
    print(r["path"])
    return 0


def run_neighbours(args) -> int:
    from cnnlab.gan.tools import neighbours_grid

    r = neighbours_grid(
        args.checkpoint, args.out, args.data, args.classifier, args.n, args.k, args.root, args.seed
    )
    near = sum(r["pixel_distance_nearest"]) / len(r["pixel_distance_nearest"])
    real = sum(r["real_test_to_train_pixel_distance"]) / len(r["pixel_distance_nearest"])
    print(
        f"mean pixel distance of a sample to its nearest training image {near:.3f} "
        f"(a real test image to its nearest training image: {real:.3f})"
    )
    print(r["path"])
    return 0


def run_evaluate(args) -> int:
    from cnnlab.gan.tools import evaluate_gan, format_evaluation

    r = evaluate_gan(
        args.checkpoint,
        args.classifier,
        args.n,
        args.out,
        args.root,
        seed=args.seed,
        references=not args.no_references,
    )
    print(json.dumps(r, indent=2) if args.json else format_evaluation(r))
    return 0
