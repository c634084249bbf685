"""``cnnlab serve``: the browser lab (parsing only; the work is in :mod:`cnnlab.serve`)."""

from __future__ import annotations

HELP = "a browser lab for your model: layers, feature maps, receptive fields, explanations, attacks"

DESCRIPTION = (
    HELP
    + """.

Serves one page and its JSON API on http://HOST:PORT/ (127.0.0.1 unless --host says otherwise)
and prints the address; it opens no browser. The page offers CHECKPOINT (a .safetensors file or
run directory) or --model NAME (with --pretrained for published weights), every checkpoint in
--runs (each run's best/last.safetensors) and the zoo's models. The server only reads the
checkpoints it lists and writes nothing."""
)


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("serve", help=HELP, description=DESCRIPTION, parents=parents)
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT", help="a checkpoint to open first")
    p.add_argument("--model", help="a zoo model name to open first instead of a checkpoint")
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument("--runs", default="runs", help="folder of training runs to list (default: runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        import flask  # noqa: F401
    except ImportError:
        raise RuntimeError("cnnlab serve needs Flask: pip install 'cnnlab[serve]'") from None
    from cnnlab.serve.api import Lab
    from cnnlab.serve.app import create_app

    if args.checkpoint is not None and args.model is not None:
        raise ValueError("serve: give a CHECKPOINT or --model NAME, not both")
    if args.pretrained and args.model is None:
        raise ValueError("serve: --pretrained needs --model NAME")
    if args.model is not None:
        from cnnlab import models

        models.info(args.model)  # an unknown name fails here, with the known ones
    lab = Lab(args.runs, args.checkpoint, args.model, args.pretrained)
    with lab.use(None):  # load the first model now: a bad checkpoint fails before serving
        pass
    app = create_app(lab)
    print(f"cnnlab serve: http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0
