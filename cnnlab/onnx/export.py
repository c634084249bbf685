"""``cnnlab.onnx.export``: a model's forward pass, traced op by op, written as an ONNX graph.

The trace (:func:`cnnlab.autograd.trace`) records every op applied, with its inputs, keyword
arguments and result. Tensors are matched to ONNX value names by identity: the example input
is the graph input, every op output reachable from it is a graph value, and anything else an
op reads (parameters, buffers, arrays, Python numbers) is a constant, written as an
initializer under its ``state_dict`` name where it has one. Ops computed from constants alone
(a weight reshaped, say) fold into one constant. Each op becomes ONNX nodes through
:data:`cnnlab.onnx.ops.EXPORTERS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor, no_grad, trace

__all__ = ["export"]

MIN_OPSET = 13  # Softmax over one axis, Squeeze/ReduceSum axes as inputs, Clip bounds as inputs


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "cnnlab.onnx needs the 'onnx' package: pip install onnx (or cnnlab[onnx])"
        ) from None
    return onnx


class GraphBuilder:
    """What an exporter rule writes through: value names, constants and nodes.

    ``dynamic_batch`` says whether dim 0 of the graph values is symbolic; ``batch`` is the
    example input's batch size.
    """

    def __init__(self, onnx, opset: int, dynamic_batch: bool, batch: int, names: dict) -> None:
        self.onnx, self.opset, self.dynamic_batch, self.batch = onnx, opset, dynamic_batch, batch
        self.values: dict[int, str] = {}  # id(Tensor) -> ONNX value name
        self.keep: list = []  # the traced tensors, alive so that their ids stay unique
        self.nodes: list = []
        self.initializers: dict[str, object] = {}
        self._const_ids: dict[int, str] = {}
        self._names = names  # id(array) -> state_dict name of parameters and buffers
        self._count = 0
        self.scope = ""  # the module whose forward ran the op being written
        self._node_names: dict[str, int] = {}

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def is_value(self, x) -> bool:
        return isinstance(x, Tensor) and id(x) in self.values

    def name(self, x, dtype=None) -> str:
        """The ONNX name of ``x``: a graph value, or a constant made an initializer.

        Python numbers take ``dtype`` (the op's output dtype), as NumPy promotion would.
        """
        if x is None:
            return ""
        if self.is_value(x):
            return self.values[id(x)]
        arr = x.array if isinstance(x, Tensor) else x
        key = id(arr)
        if key in self._const_ids:
            return self._const_ids[key]
        if not hasattr(arr, "dtype"):
            arr = np.asarray(arr, dtype=dtype)
        name = self._names.get(key) or self.fresh("const")
        return self.const(backend.to_numpy(arr), name, key=key)

    def const(self, array, name: str | None = None, key=None) -> str:
        """Write ``array`` as an initializer; return its name."""
        name = name or self.fresh("const")
        self.initializers[name] = self.onnx.numpy_helper.from_array(np.asarray(array), name)
        if key is not None:
            self._const_ids[key] = name
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs, outputs=None, **attrs) -> list[str]:
        """Add one node; ``outputs`` is a count or a list of names. Returns the output names."""
        if outputs is None or isinstance(outputs, int):
            outputs = [self.fresh(op.lower()) for _ in range(outputs or 1)]
        # PyTorch's naming, /module.path/OpType(_k), which cnnlab.onnx.load reads back
        name = f"/{self.scope}/{op}" if self.scope else f"/{op}"
        k = self._node_names.get(name, 0)
        self._node_names[name] = k + 1
        name = f"{name}_{k}" if k else name
        self.nodes.append(
            self.onnx.helper.make_node(op, list(inputs), list(outputs), name=name, **attrs)
        )
        return list(outputs)

    def bind(self, tensor: Tensor, name: str) -> None:
        """Record that ``tensor`` is the graph value ``name``."""
        self.values[id(tensor)] = name
        self.keep.append(tensor)


def _param_names(model) -> dict:
    names = {}
    for prefix_fn in (model.named_parameters, model.named_buffers):
        for n, t in prefix_fn():
            names.setdefault(id(t.array), n)
    return names


def _as_inputs(example_input) -> tuple:
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    return tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in items)


def _as_outputs(out) -> tuple:
    items = out if isinstance(out, (tuple, list)) else (out,)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"export: the model must return Tensors, got {type(t).__name__}")
    return tuple(items)


def _record(model, inputs) -> tuple[list, tuple]:
    """Every op the forward pass runs, with the dotted name of the innermost module running
    it (forward hooks keep the stack)."""
    records, scope, handles = [], [], []

    def enter(module, args, name):
        scope.append(name)

    def leave(module, args, out):
        scope.pop()

    for name, m in model.named_modules() if hasattr(model, "named_modules") else ():
        if name:
            handles.append(m.register_forward_pre_hook(lambda mod, a, n=name: enter(mod, a, n)))
            handles.append(m.register_forward_hook(leave))

    def tracer(fn, args, kwargs, out):
        records.append((fn, args, kwargs, out, scope[-1] if scope else ""))

    try:
        with no_grad(), trace(tracer):
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return records, _as_outputs(out)


def _value_info(onnx, name: str, t: Tensor, dynamic_batch: bool):
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype))
    shape = list(t.shape)
    if dynamic_batch and shape:
        shape[0] = "batch"
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _emit(b: GraphBuilder, records: list) -> None:
    from cnnlab.onnx.ops import EXPORTERS

    missing: dict[str, int] = {}
    todo = []
    for fn, args, kwargs, out, scope in records:
        if not any(b.is_value(a) for a in args):
            continue  # computed from constants only: folded, read later as a constant
        b.bind(out, "")  # placeholder so that later ops see it as a graph value
        todo.append((fn, args, kwargs, out, scope))
        if fn.__name__ not in EXPORTERS:
            missing[fn.__name__] = missing.get(fn.__name__, 0) + 1
    if missing:
        ops = ", ".join(f"{k} ({v}x)" for k, v in sorted(missing.items()))
        raise ValueError(
            f"export: cnnlab cannot export these ops to ONNX: {ops}; supported: "
            f"{', '.join(sorted(EXPORTERS))}"
        )
    for fn, args, kwargs, out, scope in todo:
        b.scope = scope
        b.values[id(out)] = EXPORTERS[fn.__name__](b, args, kwargs, out)


def _rename(graph_nodes: list, old: str, new: str) -> None:
    for node in graph_nodes:
        for seq in (node.input, node.output):
            for i, n in enumerate(seq):
                if n == old:
                    seq[i] = new


def export(
    model,
    example_input,
    path,
    opset: int = 17,
    dynamic_batch: bool = True,
    input_names=("input",),
    output_names=("output",),
    class_names=None,
    check: bool = True,
    *,
    opset_version: int | None = None,
    dynamic_axes=None,
    export_params: bool = True,
    do_constant_folding: bool = True,
    verbose: bool = False,
):
    """Write ``model`` (run once on ``example_input`` in eval mode) as an ONNX file.

    ``torch.onnx.export``'s keywords are taken too: ``opset_version`` is ``opset``,
    ``dynamic_axes`` (any) asks for the symbolic batch, ``export_params=False`` is refused
    (the weights are always written), ``do_constant_folding`` and ``verbose`` change nothing.

    Batch norm is written in its inference form (``BatchNormalization`` with the running
    statistics); with ``dynamic_batch`` dim 0 of inputs and outputs is the symbolic ``batch``
    and no batch size is baked into any reshape. ``class_names`` go into the model's
    ``metadata_props`` as a JSON list under ``class_names``. The graph is validated with
    ``onnx.checker`` (with shape inference) when ``check`` is True. Returns the ModelProto.

    Shape: ``example_input`` ``(N, C, H, W)`` (or a tuple of inputs); use ``N >= 2`` with
    ``dynamic_batch`` so that the batch dimension can be told apart from the others.
    """
    if not export_params:
        raise ValueError("export: export_params=False is not supported; weights are always written")
    opset = opset if opset_version is None else int(opset_version)
    dynamic_batch = dynamic_batch if dynamic_axes is None else bool(dynamic_axes)
    onnx = _onnx()
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"export: opset must be between {MIN_OPSET} and "
            f"{onnx.defs.onnx_opset_version()}, got {opset}"
        )
    inputs = _as_inputs(example_input)
    input_names, output_names = list(input_names), list(output_names)
    if len(input_names) != len(inputs):
        raise ValueError(f"export: {len(inputs)} example inputs but {len(input_names)} input_names")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        b = GraphBuilder(onnx, opset, dynamic_batch, inputs[0].shape[0], _param_names(model))
        for t, n in zip(inputs, input_names):
            b.bind(t, n)
        records, outputs = _record(model, inputs)
        _emit(b, records)
    finally:
        if was_training:
            model.train()
    if len(output_names) != len(outputs):
        raise ValueError(f"export: {len(outputs)} model outputs but {len(output_names)} names")
    for t, n in zip(outputs, output_names):
        if not b.is_value(t):
            raise ValueError(f"export: output {n!r} does not depend on the input")
        current = b.values[id(t)]
        if current in input_names:
            b.scope = ""
            b.node("Identity", [current], [n])
        else:
            _rename(b.nodes, current, n)
            b.values[id(t)] = n
    graph = onnx.helper.make_graph(
        b.nodes,
        type(model).__name__,
        [_value_info(onnx, n, t, dynamic_batch) for t, n in zip(inputs, input_names)],
        [_value_info(onnx, n, t, dynamic_batch) for t, n in zip(outputs, output_names)],
        initializer=list(b.initializers.values()),
    )
    proto = onnx.helper.make_model(
        graph,
        producer_name="cnnlab",
        opset_imports=[onnx.helper.make_opsetid("", opset)],
    )
    proto.ir_version = min(proto.ir_version, _max_ir(onnx, opset))
    if class_names is not None:
        entry = proto.metadata_props.add()
        entry.key, entry.value = "class_names", json.dumps([str(c) for c in class_names])
    if check:
        onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        onnx.save(proto, str(path))
    return proto


def _max_ir(onnx, opset: int) -> int:
    """The IR version released with ``opset``, so that older runtimes read the file."""
    for _, ir, op, *_ in onnx.helper.VERSION_TABLE:
        if op == opset:
            return ir
    return onnx.IR_VERSION
