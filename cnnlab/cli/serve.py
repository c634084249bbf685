"""``cnnlab serve``: the browser lab (parsing only; the work is in :mod:`cnnlab.serve`)."""

from __future__ import annotations

import argparse
import socket
import sys

from cnnlab.cli.args import positive_int

HELP = "a browser lab for your model: layers, feature maps, receptive fields, explanations, attacks"

DESCRIPTION = (
    HELP
    + """.

Serves one page and its JSON API on http://HOST:PORT/ (127.0.0.1 unless --host says otherwise)
and prints the address; it opens no browser. The page offers CHECKPOINT (a .safetensors file or
run directory; a bare state_dict saved by a PyTorch script with --script SCRIPT, whose own
model class holds it) or --model NAME (with --pretrained for published weights), every checkpoint in
--runs (each run's best/last.safetensors) and, with --allow-zoo, the zoo's models. The server
only reads the checkpoints it lists and writes nothing.

On 127.0.0.1 it answers only requests addressed to this machine from its own page. Any other
--host (0.0.0.0: every network the machine is on) makes it reachable by others: it then
prints a warning and a generated token, once, in the address to open (as Jupyter does)."""
)


MEMORY_BUDGET_MB = 2048


def port(text: str) -> int:
    """An argparse ``type``: a TCP port, 0 (any free one) to 65535."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port in [0, 65535], got {text}")
    return value


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser("serve", help=HELP, description=DESCRIPTION, parents=parents)
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT", help="a checkpoint to open first")
    p.add_argument("--model", help="a zoo model name to open first instead of a checkpoint")
    p.add_argument(
        "--script",
        help="CHECKPOINT is a bare state_dict (torch.save(model.state_dict(), ...)) of a model "
        "class this PyTorch script defines; only its definitions run",
    )
    p.add_argument("--pretrained", action="store_true", help="load the model's published weights")
    p.add_argument("--runs", default="runs", help="folder of training runs to list (default: runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="port (default: 8000)")
    p.add_argument(
        "--allow-zoo",
        action="store_true",
        help="also offer the zoo's models (each loaded on a request, within --memory-budget)",
    )
    p.add_argument(
        "--memory-budget",
        type=positive_int,
        default=MEMORY_BUDGET_MB,
        metavar="MB",
        help=f"megabytes of weights the loaded models may hold (default: {MEMORY_BUDGET_MB})",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        import flask  # noqa: F401
    except ImportError:
        raise RuntimeError("cnnlab serve needs Flask: pip install 'cnnlab[serve]'") from None
    from cnnlab.serve.app import create_app
    from cnnlab.serve.guard import Guard, is_loopback, new_token
    from cnnlab.serve.lab import Lab

    if args.checkpoint is not None and args.model is not None:
        raise ValueError("serve: give a CHECKPOINT or --model NAME, not both")
    if args.script is not None and args.checkpoint is None:
        raise ValueError("serve: --script needs a CHECKPOINT (the state_dict the script saved)")
    if args.pretrained and args.model is None:
        raise ValueError("serve: --pretrained needs --model NAME")
    if args.model is not None:
        from cnnlab import models

        models.info(args.model)  # an unknown name fails here, with the known ones
    budget = args.memory_budget * 1024**2
    lab = Lab(args.runs, args.checkpoint, args.model, args.pretrained, allow_zoo=args.allow_zoo,
              memory_budget=budget, script=args.script)  # fmt: skip
    with lab.use(None):  # load the first model now: a bad checkpoint fails before serving
        pass
    from werkzeug.serving import make_server

    token = None if is_loopback(args.host) else new_token()
    app = create_app(lab, Guard(args.host, token))
    # bind before printing, so the address printed is the one that answers (--port 0), and
    # bind here, so a port in use is our one-line error (werkzeug's own bind exits the process)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise RuntimeError(
            f"serve: can't listen on {args.host}:{args.port}: {e.strerror}"
        ) from None
    server = make_server(args.host, args.port, app, threaded=True, fd=sock.fileno())
    address = f"http://{args.host}:{sock.getsockname()[1]}/"
    sock.close()  # the server listens on its own duplicate of the descriptor
    if token is None:
        print(f"cnnlab serve: {address}  (Ctrl-C to stop)", flush=True)
    else:
        print(
            f"cnnlab serve: warning: --host {args.host} makes the lab reachable from other "
            "machines; anyone with the token below can run models on this one",
            file=sys.stderr,
            flush=True,
        )
        print(f"cnnlab serve: {address}?token={token}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
