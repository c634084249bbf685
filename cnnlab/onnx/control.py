"""ONNX's ``If`` as a cnnlab module: each branch (a subgraph) is built like the main graph,
its nodes reading values of the graph around it by name; at run time the condition picks
the branch that runs. A condition known while loading (a constant, or computed from
constants) folds the node into the chosen branch's result. PyTorch writes ``If`` for
shape checks such as ``LocalResponseNorm``'s ``dim == 3``.
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.onnx.node import Node, raw

__all__ = ["CONTROL", "Branch", "If"]


class Branch(nn.Module):
    """One subgraph: its steps run over a dict of the values it can see."""

    def __init__(self, steps, constants: dict, outputs: list) -> None:
        super().__init__()
        self.nodes = nn.ModuleList([s[0] for s in steps])
        self._steps = [(s[0], s[4], s[5]) for s in steps]  # (module, inputs, outputs)
        self.constants, self.outputs = constants, outputs

    def forward(self, values: dict):
        from cnnlab.onnx.load import run_step

        values = {**self.constants, **values}
        for module, ins, outs in self._steps:
            out = run_step(module, [values[n] if n else None for n in ins])
            if isinstance(out, tuple):
                values.update((name, o) for name, o in zip(outs, out) if name)
            else:
                values[outs[0]] = out
        return tuple(values[n] for n in self.outputs)


class If(nn.Module):
    """``then_branch(...) if cond else else_branch(...)``; ``outer`` names the values of the
    surrounding graph the branches read (passed after ``cond``)."""

    def __init__(self, then_branch: Branch, else_branch: Branch, outer: list) -> None:
        super().__init__()
        self.then_branch, self.else_branch, self.outer = then_branch, else_branch, list(outer)

    def forward(self, cond, *outer):
        flag = raw(cond)
        if flag.size != 1:
            raise ValueError(f"the condition must be one value, got shape {flag.shape}")
        branch = self.then_branch if bool(flag.reshape(())) else self.else_branch
        out = branch(dict(zip(self.outer, outer)))
        return out[0] if len(out) == 1 else out


def _branch(n: Node, key: str) -> Branch:
    from cnnlab.onnx.load import build_steps, outer_names, split_nodes
    from cnnlab.onnx.ops import IMPORTERS

    graph = n.attr(key)
    if graph is None:
        n.fail(f"the {key} subgraph is missing")
    consts = dict(n._consts)
    for init in graph.initializer:
        consts[init.name] = n.onnx.numpy_helper.to_array(init)
    todo, problems = split_nodes(n.onnx, graph.node, consts, IMPORTERS)
    if problems:
        n.fail(f"{key} has unsupported ops: {', '.join(problems)}")
    known = set(outer_names(graph))
    steps, problems = build_steps(n.onnx, todo, n.opset, consts, known, f"{n.name} {key}")
    if problems:
        n.fail(f"{key}: {'; '.join(problems)}")
    own = {k: v for k, v in consts.items() if k not in n._consts}
    return Branch(steps, own, [o.name for o in graph.output])


def _if(n: Node):
    then_branch, else_branch = _branch(n, "then_branch"), _branch(n, "else_branch")
    outer = []
    for key in ("then_branch", "else_branch"):
        from cnnlab.onnx.load import outer_names

        outer += [v for v in outer_names(n.attr(key)) if v not in outer and v not in n._consts]
    return If(then_branch, else_branch, outer), [n.inputs[0], *outer]


CONTROL = {"If": _if}
