"""ONNX's node conformance cases (``onnx.backend.test``) run on cnnlab, counted per op:
each case passes, is refused (a ``ValueError`` at load or run time), gives a wrong result
or crashes (any other exception)::

    python3 -m cnnlab.onnx.conformance            # the ops issue #27 lists
    python3 -m cnnlab.onnx.conformance Resize LSTM
    python3 -m cnnlab.onnx.conformance --failing  # and name each case that does not pass

A case counts for an op when its graph holds a node of that op; the ``*_expanded`` cases
(a function op written out in other ops) count for none, since they test the ops they
expand into. Outputs are compared as ONNX's runner does (the case's rtol and atol).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import os
import warnings

import numpy as np

__all__ = ["ISSUE_OPS", "case_arrays", "case_ops", "node_cases", "run_case", "tally"]

# the ops named in issue #27 (its CNN core, what it found refused, crashing or wrong)
ISSUE_OPS = (
    "Conv Gemm MaxPool AveragePool Reshape Concat LSTM GRU RNN Resize Upsample "
    "LayerNormalization Gelu Erf PRelu Softplus InstanceNormalization LRN BatchNormalization "
    "Split Expand Where ConvTranspose Pad ReduceMax ReduceMean ReduceSum Clip Div Pow Dropout "
    "Cast ConstantOfShape"
).split()


def case_ops(graph) -> set:
    """The op types of a model or graph, those inside control-flow branches too."""
    graph = graph.graph if hasattr(graph, "graph") else graph
    ops = set()
    for node in graph.node:
        ops.add(node.op_type)
        for a in node.attribute:
            if a.HasField("g"):
                ops |= case_ops(a.g)
    return ops


def _complete(case, onnx):
    """The case with its model and data sets: onnx >= 1.18 generates them in memory, older
    versions read them from the files they ship (``model_dir``)."""
    if case.model is not None:
        return case
    from onnx import numpy_helper

    model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
    sets = []
    for folder in sorted(glob.glob(os.path.join(case.model_dir, "test_data_set_*"))):
        read = [
            [numpy_helper.to_array(onnx.load_tensor(f)) for f in sorted(glob.glob(pattern))]
            for pattern in (f"{folder}/input_*.pb", f"{folder}/output_*.pb")
        ]
        sets.append(tuple(read))
    if dataclasses.is_dataclass(case):
        return dataclasses.replace(case, model=model, data_sets=sets)
    return case._replace(model=model, data_sets=sets)  # a namedtuple in older onnx


def node_cases() -> dict:
    """Every node case of the installed ``onnx``, by name, with its model and data."""
    import onnx
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():  # ONNX's case generators overflow casts on purpose
        warnings.simplefilter("ignore")
        return {c.name: _complete(c, onnx) for c in load_model_tests(kind="node")}


def case_arrays(values) -> list:
    """A data set's inputs or outputs as NumPy arrays (older onnx gives TensorProtos)."""
    from onnx import TensorProto, numpy_helper

    return [numpy_helper.to_array(t) if isinstance(t, TensorProto) else t for t in values]


def run_case(case) -> tuple[str, str]:
    """``(status, message)``: status is ``pass``, ``refused``, ``wrong`` or ``crash``."""
    from onnx.backend.test.runner import Runner

    from cnnlab.onnx.backend import CnnlabBackend

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            rep = CnnlabBackend.prepare(case.model)
            for inputs, expected in case.data_sets:
                got = rep.run(case_arrays(inputs))
                try:
                    ref = case_arrays(expected)
                    Runner.assert_similar_outputs(ref, got, rtol=case.rtol, atol=case.atol)
                except AssertionError as e:
                    return "wrong", str(e).strip().splitlines()[0]
    except ValueError as e:
        return "refused", str(e)
    except Exception as e:  # noqa: BLE001 - a crash is what this counts
        return "crash", f"{type(e).__name__}: {e}"
    return "pass", ""


def tally(cases: dict, ops=ISSUE_OPS) -> dict:
    """``{op: {name: (status, message)}}`` for the non-expanded cases that use each op."""
    results, table = {}, {}
    for op in ops:
        table[op] = {}
        for name, case in cases.items():
            if "expanded" in name or op not in case_ops(case.model):
                continue
            if name not in results:
                results[name] = run_case(case)
            table[op][name] = results[name]
    return table


def main(argv=None) -> None:
    import onnx

    parser = argparse.ArgumentParser(prog="python3 -m cnnlab.onnx.conformance")
    parser.add_argument("ops", nargs="*", help="op types (default: the ops of issue #27)")
    parser.add_argument("--failing", action="store_true", help="name every case not passing")
    args = parser.parse_args(argv)
    table = tally(node_cases(), args.ops or ISSUE_OPS)
    print(f"onnx {onnx.__version__}: node cases per op (expanded cases left out)")
    print(f"{'op':22} {'cases':>5} {'pass':>5} {'refused':>7} {'wrong':>5} {'crash':>5}")
    union = {}
    for op, rows in table.items():
        count = collections.Counter(s for s, _ in rows.values())
        union.update(rows)
        print(
            f"{op:22} {len(rows):5} {count['pass']:5} {count['refused']:7} "
            f"{count['wrong']:5} {count['crash']:5}"
        )
    count = collections.Counter(s for s, _ in union.values())
    share = count["pass"] / max(len(union), 1)
    print(
        f"all (each case once): {len(union)} cases, {count['pass']} pass ({share:.1%}), "
        f"{count['refused']} refused, {count['wrong']} wrong, {count['crash']} crash"
    )
    if args.failing:
        for name, (status, message) in sorted(union.items()):
            if status != "pass":
                print(f"  {status:7} {name}: {message[:150]}")


if __name__ == "__main__":
    main()
