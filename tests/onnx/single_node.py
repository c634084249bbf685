"""One ONNX node as a model, for the import tests: ``run_node(op, inputs, **attrs)``."""

from __future__ import annotations

import numpy as np


def node_model(op: str, inputs: dict, n_out: int = 1, opset: int = 18, inits=None, **attrs):
    """A graph of one node; ``inputs`` maps names to example arrays (graph inputs), ``inits``
    names to arrays made initializers; optional inputs left out are ``None`` values."""
    from onnx import helper, numpy_helper

    inits = inits or {}
    names = list(inputs) + list(inits)
    vi = [
        helper.make_tensor_value_info(
            k, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), np.shape(v)
        )
        for k, v in inputs.items()
        if v is not None
    ]
    outs = [f"y{i}" for i in range(n_out)]
    given = [np.asarray(v) for v in inputs.values() if v is not None]
    floats = [a for a in given if a.dtype.kind == "f"] or given  # the outputs' type, for ORT
    out_type = helper.np_dtype_to_tensor_dtype(floats[0].dtype)
    node = helper.make_node(
        op, [k if (inputs.get(k, inits.get(k)) is not None) else "" for k in names], outs,
        name="n", **attrs,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "g",
        vi,
        [helper.make_tensor_value_info(o, out_type, None) for o in outs],
        initializer=[
            numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items() if v is not None
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run_node(op: str, inputs: dict, n_out: int = 1, opset: int = 18, inits=None, **attrs):
    """Load the one-node model with cnnlab's backend and run it on ``inputs``."""
    from cnnlab.onnx.backend import CnnlabBackend

    proto = node_model(op, inputs, n_out, opset, inits, **attrs)
    out = CnnlabBackend.run_model(proto, [v for v in inputs.values() if v is not None])
    return out if n_out > 1 else out[0]
