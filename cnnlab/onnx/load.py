"""``cnnlab.onnx.load``: an ONNX file (a CNN graph) as a differentiable cnnlab Module.

Each node becomes a module (:data:`cnnlab.onnx.ops.IMPORTERS`); weights become Parameters of
cnnlab's own layers, placed under the path their initializer names give (``layer1.0.conv1
.weight`` -> module ``layer1.0.conv1``), so a file cnnlab exported loads with the original
``state_dict`` keys; other nodes are named after the node. :class:`OnnxModel` runs the nodes
in topological order.
"""

from __future__ import annotations

import json
import re

import numpy as np

from cnnlab import nn
from cnnlab.autograd import Tensor, no_grad
from cnnlab.onnx.export import _onnx
from cnnlab.onnx.narrow import NARROW, is_narrow, narrow_readers
from cnnlab.onnx.node import Node, dtype_checked, supported_onnx_dtypes
from cnnlab.onnx.read import MAX_FOLD_ELEMENTS, fold_size, read_model

__all__ = ["OnnxModel", "build_steps", "load", "outer_names", "run_step", "split_nodes"]

_COMPONENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")


class _Group(nn.Module):
    """A container made for a dotted path (``layer1`` in ``layer1.0.conv1``); never called."""


class OnnxModel(nn.Module):
    """An ONNX graph run by cnnlab modules, node by node in topological order.

    ``input_names``/``output_names`` are the graph's and ``input_shapes`` its inputs' shapes
    (None for a symbolic dim); ``metadata`` its ``metadata_props`` and ``class_names`` the
    JSON list cnnlab's exporter writes there (None if absent).

    Shape: the graph's inputs -> its outputs (one Tensor, or a tuple for several outputs).
    """

    def __init__(self, steps, constants, input_names, output_names, opset, metadata) -> None:
        super().__init__()
        self._steps = []  # (module, its path, input names, output names)
        self.constants = constants
        self.input_names, self.output_names = list(input_names), list(output_names)
        self.opset, self.metadata = opset, dict(metadata)
        self.input_shapes: list = []  # set by load
        names = self.metadata.get("class_names")
        self.class_names = json.loads(names) if names else None
        # the paths weights name (and their parents) are kept for the layers holding them
        weights = [s[1] for s in steps if s[1]]
        reserved = {".".join(p.split(".")[:k]) for p in weights for k in range(1, p.count(".") + 2)}
        used: set[str] = set()
        for module, path, fallback, op_type, ins, outs in steps:
            scope = _scope_path(fallback, op_type)
            where = self._place(path, module, used) if path else None
            if where is None and scope and scope not in reserved:
                where = self._place(scope, module, used)
            where = where or self._place(_unique(fallback, used | reserved, self), module, used)
            self._steps.append((module, where, ins, outs))

    def _place(self, path: str, module, used: set):
        parts = path.split(".")
        if path in used or not all(_COMPONENT.fullmatch(p) for p in parts):
            return None
        parent = self
        for p in parts[:-1]:
            child = parent._modules.get(p)
            if child is None:
                if hasattr(parent, p):
                    return None
                child = _Group()
                parent.add_module(p, child)
            elif not isinstance(child, _Group):
                return None
            parent = child
        if parts[-1] in parent._modules or hasattr(parent, parts[-1]):
            return None
        parent.add_module(parts[-1], module)
        used.add(path)
        return path

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(
                f"OnnxModel: expected {len(self.input_names)} inputs "
                f"({', '.join(self.input_names)}), got {len(inputs)}"
            )
        values = dict(self.constants)
        values.update(zip(self.input_names, inputs))
        for module, _, ins, outs in self._steps:
            out = run_step(module, [values[n] if n else None for n in ins])
            if isinstance(out, tuple):  # several outputs (Split, LSTM ...): as many as named
                values.update((name, o) for name, o in zip(outs, out) if name)
            else:
                values[outs[0]] = out
        out = tuple(values[n] for n in self.output_names)
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        lines = [
            f"OnnxModel(opset={self.opset}, inputs={self.input_names}, "
            f"outputs={self.output_names}, nodes={len(self._steps)})"
        ]
        for module, path, ins, outs in self._steps:
            args = ", ".join(n for n in ins if n)
            lines.append(f"  {outs[0]} = {path}: {module._describe()}({args})")
        return "\n".join(lines)


def _scope_path(name: str, op_type: str) -> str | None:
    """PyTorch's node names as module paths: ``/layer1/layer1.0/conv1/Conv`` ->
    ``layer1.0.conv1`` (each scope is its module's full name or its attribute name)."""
    if not name.startswith("/"):
        return None
    parts = name.strip("/").split("/")
    if parts and parts[-1].split("_")[0] == op_type:
        parts = parts[:-1]
    path = ""
    for p in parts:
        path = p if not path or p.startswith(path + ".") else f"{path}.{p}"
    return path or None


def _unique(name: str, used: set, root) -> str:
    base = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "node"
    if base[0].isdigit():
        base = "n_" + base
    cand, i = base, 1
    while cand in used or hasattr(root, cand) or cand in root._modules:
        i += 1
        cand = f"{base}_{i}"
    return cand


def _constant(onnx, proto) -> np.ndarray:
    attr = {a.name: a for a in proto.attribute}
    where = f"node {proto.name or '(unnamed)'!r} (Constant)"
    if "value" in attr:
        return dtype_checked(onnx.numpy_helper.to_array(attr["value"].t), where)
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attr:
            return np.asarray(onnx.helper.get_attribute_value(attr[key]), dtype)
    raise ValueError(f"{where}: unsupported value {'/'.join(sorted(attr)) or '(none)'}")


def run_step(module, values):
    """``module(*values)``, any failure turned into one line naming the node and its op
    (a NumPy error deep in an op says nothing about which node of the graph met it)."""
    try:
        return module(*values)
    except Exception as e:
        node = getattr(module, "onnx_node", None)
        if node is None:
            raise
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if why.startswith(f"node {node}"):
            raise ValueError(why) from e
        raise ValueError(f"node {node}: {why}") from e


def _build(rule, n: Node):
    """``rule(n)``, a malformed node (a missing attribute, a wrong type) reported in one
    line naming it rather than as the Python error it causes."""
    try:
        return rule(n)
    except ValueError:
        raise
    except Exception as e:
        why = (str(e).strip().splitlines() or [""])[0]
        raise ValueError(f"node {n.name!r} ({n.op}): malformed ({type(e).__name__}: {why})") from e


def _fold(module, values) -> np.ndarray | tuple:
    with no_grad():
        out = run_step(module, values)
    if isinstance(out, tuple):
        return tuple(o.numpy() if isinstance(o, Tensor) else np.asarray(o) for o in out)
    return out.numpy() if isinstance(out, Tensor) else np.asarray(out)


def _weight_path(proto, consts: dict) -> str | None:
    """``conv1`` from an initializer input named ``conv1.weight`` (or ``.bias``...)."""
    for name in proto.input[1:]:
        if name in consts and "." in name:
            head, tail = name.rsplit(".", 1)
            if tail in ("weight", "bias"):
                return head
    return None


def _sorted_nodes(nodes: list, known: set, label: str) -> list:
    """``nodes`` in an order where each comes after the nodes its inputs come from."""
    pending, order, ready = list(nodes), [], set(known)
    needs = {id(n): [*n.input, *_node_outer(n)] for n in nodes}  # If's branches read outer values
    while pending:
        rest = [n for n in pending if not all(i in ready or not i for i in needs[id(n)])]
        done = [n for n in pending if n not in rest]
        if not done:
            missing = sorted({i for n in rest for i in needs[id(n)] if i and i not in ready})
            raise ValueError(f"load: {label}: the graph is not a DAG or lacks values {missing[:5]}")
        for n in done:
            order.append(n)
            ready.update(o for o in n.output if o)
        pending = rest
    return order


def split_nodes(onnx, nodes, consts: dict, importers) -> tuple[list, list]:
    """Read Constant nodes into ``consts``; return the other nodes and the unsupported ones."""
    todo, problems = [], []
    for node in nodes:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            try:
                consts[node.output[0]] = _constant(onnx, node)
            except ValueError as e:
                problems.append(str(e))
        elif node.domain not in ("", "ai.onnx") or node.op_type not in importers:
            where = f" in domain {node.domain!r}" if node.domain else ""
            problems.append(f"{node.name or '(unnamed)'} ({node.op_type}{where})")
        else:
            todo.append(node)
    return todo, problems


def build_steps(onnx, todo, opset: int, consts: dict, known: set, label: str):
    """``(steps, problems)``: a module per node in run order; nodes computed from constants
    alone are folded into ``consts`` (under :data:`MAX_FOLD_ELEMENTS` values each)."""
    from cnnlab.onnx.ops import IMPORTERS

    steps, problems = [], []
    for node in _sorted_nodes(todo, known | set(consts), label):
        try:
            n = Node(node, opset, consts, onnx)
            module, ins = _build(IMPORTERS[node.op_type], n)
            module.onnx_node = f"{n.name!r} ({n.op})"
            if all(i in consts for i in ins if i) and any(ins):
                values = [consts.get(i) for i in ins]
                size = fold_size(node.op_type, values)
                if size > MAX_FOLD_ELEMENTS:
                    n.fail(
                        f"computing this constant while loading would make {size} values, "
                        f"over the cap of {MAX_FOLD_ELEMENTS}"
                    )
                out = _fold(module, values)
                outs = out if isinstance(out, tuple) else (out,)
                consts.update((name, o) for name, o in zip(node.output, outs) if name)
                continue  # computed from constants only (PyTorch's padding arithmetic, say)
        except ValueError as e:
            problems.append(str(e))
            continue
        name = node.name or node.op_type.lower()
        steps.append((module, _weight_path(node, consts), name, node.op_type, ins, node.output))
    return steps, problems


def outer_names(graph) -> list:
    """The values a subgraph reads from the graph around it (used, not made inside)."""
    made = {i.name for i in graph.initializer} | {v.name for v in graph.input}
    used = []
    for node in graph.node:
        for name in [*node.input, *_node_outer(node)]:
            if name and name not in made and name not in used:
                used.append(name)
        made.update(node.output)
    return used


def _node_outer(node) -> list:
    return [n for a in node.attribute if a.HasField("g") for n in outer_names(a.g)]


def load(path) -> OnnxModel:
    """Load an ONNX file (a path, its bytes, or a ``ModelProto``) as a cnnlab
    :class:`OnnxModel` in eval mode.

    Every unsupported op is reported at once, each with its node name; files from anyone are
    read with the checks of :mod:`cnnlab.onnx.read` (opset range, external data inside the
    model's folder, a cap on constants computed while loading). Supported ops: see
    ``cnnlab.onnx.ops.IMPORTERS``.

    Shape: whatever the graph's inputs and outputs are (``(N, C, H, W) -> (N, classes)`` for
    an image classifier).
    """
    from cnnlab.onnx.ops import IMPORTERS

    onnx = _onnx()
    proto, label = read_model(onnx, path)
    graph = proto.graph
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    problems, consts = [], {}
    for init in graph.initializer:
        try:
            where = f"initializer {init.name!r}"
            value = onnx.numpy_helper.to_array(init)
            consts[init.name] = value if is_narrow(value.dtype) else dtype_checked(value, where)
        except ValueError as e:
            problems.append(str(e))
        except Exception as e:
            problems.append(f"initializer {init.name!r}: unreadable ({type(e).__name__})")
    for v in graph.input:
        kind = v.type.WhichOneof("value")
        if v.name in consts:
            continue
        if kind != "tensor_type":
            problems.append(f"graph input {v.name!r}: a {kind or 'typeless'} value, not a tensor")
        elif v.type.tensor_type.elem_type not in supported_onnx_dtypes(onnx):
            name = onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type)
            if name not in NARROW:
                problems.append(f"graph input {v.name!r}: dtype {name} is not supported")
    problems += narrow_readers(graph, onnx, consts)
    if problems:
        raise ValueError(f"load: {label}: {'; '.join(problems)}")
    todo, problems = split_nodes(onnx, graph.node, consts, IMPORTERS)
    if problems:
        raise ValueError(
            f"load: {label}: unsupported ONNX ops in {len(problems)} nodes: "
            f"{', '.join(problems)}; supported: {', '.join(sorted(IMPORTERS))}"
        )
    inputs = [v.name for v in graph.input if v.name not in consts]
    steps, problems = build_steps(onnx, todo, opset, consts, set(inputs), label)
    if problems:
        raise ValueError(
            f"load: {label}: cannot build {len(problems)} nodes: {'; '.join(problems)}"
        )
    meta = {p.key: p.value for p in proto.metadata_props}
    outputs = [v.name for v in graph.output]
    model = OnnxModel(steps, consts, inputs, outputs, opset, meta)
    model.input_shapes = [_shape_of(v) for v in graph.input if v.name not in consts]
    return model.eval()


def _shape_of(value_info) -> tuple | None:
    """A graph input's shape, None for each symbolic dim (None if no shape is given)."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
