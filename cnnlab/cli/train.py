"""``cnnlab train``: train a registered model on a data set."""

from __future__ import annotations

import argparse

from cnnlab.cli.args import fraction, non_negative_int, positive_float, positive_int

HELP = "train a model (default: fashion_cnn on Fashion-MNIST)"

EPILOG = """examples:
  cnnlab train                                   # fashion_cnn on Fashion-MNIST, 7 epochs
  cnnlab train --model fashion_cnn_large --augment --epochs 20   # the stronger recipe
  cnnlab train --model lenet5 --data mnist-subset --epochs 50 --augment
  cnnlab train --model lstm_rows --data mnist-subset   # an LSTM reading rows (adam, clipping)
  cnnlab train --data digits --epochs 1 --limit 300 --out /tmp/run
  cnnlab train --task segment --data fashion-scenes --model unet_small   # per-pixel classes
  cnnlab train --task detect --data fashion-scenes --model centernet_small   # boxes, mAP
  cnnlab train --task caption --data fashion-scenes --model show_attend_tell   # captions
  cnnlab train --val-split 0.1                   # pick best.safetensors on held-out images
  cnnlab train --resume runs/20250101-120000     # continue an interrupted run
  cnnlab train --model efficientnet_lite0 --pretrained --freeze features --image-size 96
                                                 # ImageNet features, train the head only
  cnnlab train --nprocs 2 --batch-size 64        # 2 MPI ranks here: global batch 2 x 64
  mpirun -n 4 -hostfile hosts cnnlab train --distributed   # several machines
"""


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "train",
        help=HELP,
        description=HELP,
        parents=parents,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--task",
        choices=["classify", "segment", "detect", "caption"],
        help="classify (default); segment: per-pixel classes of --data fashion-scenes or "
        "mnist-scenes (default model unet_small, adam, 6 epochs, loss ce+dice; scored by mean "
        "IoU, which also picks best.safetensors); detect: boxes on the same scenes (default "
        "model centernet_small, adam, 30,000 scenes, 4 epochs; scored by mAP@0.5, which also "
        "picks best.safetensors); caption: the scene's items left to right (default model "
        "show_attend_tell, 30,000 scenes, 3 epochs; scored by exact caption accuracy, which "
        "picks best.safetensors, and BLEU)",
    )
    p.add_argument(
        "--attention",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --task caption: soft attention (show_attend_tell, the default) or not "
        "(--no-attention: show_tell); --model names either directly",
    )
    p.add_argument(
        "--beam-size",
        type=positive_int,
        help="with --task caption: the beam of the final test captions (default: 3)",
    )
    p.add_argument(
        "--loss",
        choices=["ce", "dice", "ce+dice"],
        help="with --task segment: per-pixel cross-entropy, soft Dice, or both (default)",
    )
    p.add_argument("--model", help="registered model name (default: fashion_cnn)")
    p.add_argument(
        "--data",
        help="fashion-mnist (default), mnist, mnist-subset, digits, cifar10 "
        "or a folder of class sub-folders",
    )
    p.add_argument("--root", help="where the data set's files are (default: the standard place)")
    p.add_argument("--epochs", type=positive_int, help="epochs (default: 7)")
    p.add_argument("--batch-size", type=positive_int, help="batch size (default: 128)")
    p.add_argument(
        "--lr",
        type=positive_float,
        help="peak learning rate (default: 0.1 for sgd, 0.002 for adam and adamw)",
    )
    p.add_argument(
        "--optimizer",
        choices=["sgd", "adam", "adamw"],
        help="default: sgd (Nesterov); adam: Adam, adamw: AdamW (decoupled weight decay)",
    )
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random shifts and flips (affine for digits; with --task segment the mask "
        "moves with the image; with --task detect left-right flips of whole scenes, boxes "
        "with them); default off, on for the recurrent models",
    )
    p.add_argument("--label-smoothing", type=fraction, help="default: 0.1")
    p.add_argument(
        "--grad-clip",
        type=positive_float,
        help="clip the gradients' global norm to this (default: none; 1.0 for the "
        "recurrent models, which also default to adam, --augment and 30 epochs)",
    )
    p.add_argument(
        "--image-size", type=positive_int, help="resize folder images to this size (default: 32)"
    )
    p.add_argument(
        "--grayscale", action="store_true", default=None, help="load folder images as one channel"
    )
    t = p.add_argument_group("transfer learning (efficientnet_lite0's ImageNet weights)")
    t.add_argument(
        "--pretrained",
        action="store_true",
        default=None,
        help="start from the pretrained weights with a fresh head; pixels go in in [0, 1], "
        "--image-size is then the model's input size (resized inside the model)",
    )
    t.add_argument(
        "--freeze",
        metavar="features|none|LAYER",
        help="with --pretrained: features (train the head only), none (default: fine-tune "
        "everything) or a layer name (freeze up to and including it, e.g. _blocks.14)",
    )
    t.add_argument(
        "--lr-body", type=positive_float, help="learning rate of all but the head (default: --lr)"
    )
    t.add_argument(
        "--grey",
        choices=["repeat", "average"],
        help="with --pretrained on grey images: repeat to RGB (default) or average the stem",
    )
    p.add_argument("--out", help="run directory (default: runs/<timestamp>)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR (or a checkpoint)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        default=None,
        help="start afresh in an --out folder that already holds a run, deleting its "
        "checkpoints and metrics (without it such a folder is refused)",
    )
    p.add_argument("--seed", type=non_negative_int, help="random seed (default: 0)")
    p.add_argument("--limit", type=positive_int, help="use only the first N training images")
    p.add_argument(
        "--scenes",
        type=positive_int,
        help="with --task detect or caption: train on N generated scenes (default: 30,000; "
        "each N is generated once and cached)",
    )
    p.add_argument(
        "--val-split",
        type=fraction,
        help="hold out this fraction of the training images as a validation set: the "
        "per-epoch evaluation and best.safetensors use it, the test set is used once at "
        "the end (default: 0, evaluate on the test set each epoch)",
    )
    p.add_argument("--workers", type=positive_int, help="data-loading threads (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    d = p.add_argument_group("several processes (MPI, cnnlab[mpi])")
    d.add_argument(
        "--distributed",
        action="store_true",
        default=None,
        help="data-parallel over the ranks of mpirun: each rank takes --batch-size images "
        "per step (global batch N x B)",
    )
    d.add_argument(
        "--nprocs",
        type=positive_int,
        help="start mpirun with N local ranks (implies --distributed)",
    )
    d.add_argument(
        "--sync-bn",
        action="store_true",
        default=None,
        help="batch-norm statistics over all ranks' batches (default: each rank's own)",
    )
    d.add_argument(
        "--lr-scaling",
        choices=["none", "linear"],
        help="linear: multiply the learning rate by N (default: none, nothing scaled)",
    )
    p.set_defaults(func=run)


_FLAGS = ("augment", "grayscale", "no_progress", "sync_bn", "pretrained", "overwrite")
_VALUES = (
    "model", "data", "root", "epochs", "batch_size", "lr", "optimizer", "label_smoothing",
    "image_size", "out", "resume", "seed", "limit", "val_split", "workers", "lr_scaling",
    "freeze", "lr_body", "grey",
)  # fmt: skip


def _launch(args) -> int:
    """``--nprocs N``: the same options, with --distributed, on N ranks started by mpirun."""
    from cnnlab.distributed.launch import run_mpirun
    from cnnlab.train.run import check_run_dir, default_run_dir

    if args.out is not None and not args.overwrite:
        check_run_dir(args.out, args.resume)  # one line here, before any rank starts
    argv = ["train", "--distributed"]
    if args.out is None and args.resume is None:  # one directory, chosen once for all ranks
        args.out = str(default_run_dir())
    for dest in _VALUES:
        if getattr(args, dest, None) is not None:
            argv += [f"--{dest.replace('_', '-')}", str(getattr(args, dest))]
    argv += [f"--{d.replace('_', '-')}" for d in _FLAGS if getattr(args, d, None)]
    return run_mpirun(args.nprocs, argv, args.out or args.resume)


def run(args) -> int:
    from cnnlab.train.run import train

    if args.nprocs:
        return _launch(args)
    if not args.distributed:
        return _run(args, train)
    from cnnlab.distributed import launch

    try:
        return _run(args, train)
    except (Exception, KeyboardInterrupt) as exc:
        from cnnlab.distributed import mpi

        if mpi.world_size() > 1:
            launch.fail_rank(exc, args.out or args.resume)
        raise


def _run(args, train) -> int:
    if args.scenes is not None and args.task not in ("detect", "caption"):
        raise ValueError(f"train: --scenes is for --task detect or caption, got --task {args.task}")
    settings = {
        "task": args.task,
        "loss": args.loss,
        "model": args.model,
        "data": args.data,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "augment": args.augment,
        "label_smoothing": args.label_smoothing,
        "grad_clip": args.grad_clip,
        "image_size": args.image_size,
        "grayscale": args.grayscale,
        "seed": args.seed,
        "limit": args.limit,
        "scenes": args.scenes,
        "val_split": args.val_split,
        "workers": args.workers,
        "distributed": args.distributed,
        "sync_bn": args.sync_bn,
        "lr_scaling": args.lr_scaling,
        "pretrained": args.pretrained,
        "freeze": args.freeze,
        "lr_body": args.lr_body,
        "grey": args.grey,
        "beam_size": args.beam_size,
        "attention": args.attention,
    }
    s = train(
        settings,
        out_dir=args.out,
        resume=args.resume,
        progress=not args.no_progress,
        root=args.root,
        overwrite=bool(args.overwrite),
    )
    if s.get("task") == "caption":
        print(
            f"test exact caption accuracy {s['test_exact_acc']:.4f}, BLEU-4 "
            f"{s['test_bleu4']:.4f} (greedy; beam {s['beam_size']}: "
            f"{s['test_exact_acc_beam']:.4f}) ({s['model']} on {s['data']}, {s['epochs']} "
            f"epochs, {s['total_train_time_s']:.0f}s training)\nrun directory {s['out_dir']}"
        )
        return 0
    if s.get("task") == "detect":
        print(
            f"test mAP@0.5 {s['test_map50']:.4f}, mAP@[.5:.95] {s['test_map']:.4f} "
            f"({s['model']} on {s['data']}, {s['epochs']} epochs, {s['steps']} steps, "
            f"{s['total_train_time_s']:.0f}s training)\nrun directory {s['out_dir']}"
        )
        return 0
    if s.get("task") == "segment":
        print(
            f"test mean IoU {s['test_miou']:.4f}, pixel accuracy {s['test_pixel_acc']:.4f} "
            f"({s['model']} on {s['data']}, {s['epochs']} epochs, "
            f"{s['total_train_time_s']:.0f}s training)\nrun directory {s['out_dir']}"
        )
        return 0
    if s.get("world_size", 1) > 1:
        from cnnlab.distributed import mpi

        if mpi.rank() != 0:
            return 0
        print(
            f"{s['world_size']} processes x {s['batch_size_per_rank']} images per step "
            f"(global batch {s['global_batch_size']})"
        )
    print(
        f"test accuracy {s['test_acc']:.4f} ({s['model']} on {s['data']}, {s['epochs']} "
        f"epochs, {s['total_train_time_s']:.0f}s training)"
    )
    if s.get("val_acc") is not None:
        print(
            f"validation accuracy {s['val_acc']:.4f} (best {s['best_val_acc']:.4f}, "
            f"{s['val_images']} held-out training images)"
        )
    print(f"run directory {s['out_dir']}")
    return 0
