"""Sequential, ModuleList, ModuleDict: registration, indexing and PyTorch key names."""

from collections import OrderedDict

import numpy as np
import pytest

import cnnlab
from cnnlab.nn import Module, ModuleDict, ModuleList, Parameter, Sequential


class Scale(Module):
    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = Parameter(np.array([s], np.float32))

    def forward(self, x):
        return x * self.s


def test_sequential_runs_in_order_and_names_by_index():
    seq = Sequential(Scale(2), Scale(3), Scale(5))
    assert seq(cnnlab.ones(2)).numpy().tolist() == [30, 30]
    assert list(seq.state_dict()) == ["0.s", "1.s", "2.s"]
    assert len(seq) == 3 and [m.s.item() for m in seq] == [2, 3, 5]
    assert seq[-1].s.item() == 5
    with pytest.raises(IndexError):
        seq[3]


def test_sequential_slicing_append_insert_delete():
    a, b, c = Scale(2), Scale(3), Scale(5)
    seq = Sequential(a, b, c)
    head = seq[:2]
    assert isinstance(head, Sequential) and list(head) == [a, b] and head[0] is a
    assert head(cnnlab.ones(1)).item() == 6
    seq.append(Scale(7))
    assert list(seq.state_dict())[-1] == "3.s"
    del seq[0]
    assert list(seq._modules) == ["0", "1", "2"] and seq[0] is b
    seq.insert(0, a)
    assert seq[0] is a and seq[1] is b and len(seq) == 4
    seq[1] = Scale(11)
    assert seq[1].s.item() == 11


def test_sequential_from_ordered_dict():
    seq = Sequential(OrderedDict([("first", Scale(2)), ("second", Scale(3))]))
    assert list(seq.state_dict()) == ["first.s", "second.s"]
    assert seq.first.s.item() == 2
    assert list(seq[1:]._modules) == ["second"]


def test_module_list():
    ml = ModuleList([Scale(1), Scale(2)])
    ml.append(Scale(3))
    ml += [Scale(4)]
    assert len(ml) == 4 and ml[-1].s.item() == 4
    assert [n for n, _ in ml.named_parameters()] == ["0.s", "1.s", "2.s", "3.s"]
    assert isinstance(ml[1:3], ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert ml[0].s.item() == 2 and list(ml._modules) == ["0", "1", "2"]
    ml.insert(1, Scale(9))
    assert [m.s.item() for m in ml] == [2, 9, 3, 4]

    class Holder(Module):
        def __init__(self):
            super().__init__()
            self.layers = ModuleList([Scale(2), Scale(3)])

    assert list(Holder().state_dict()) == ["layers.0.s", "layers.1.s"]


def test_module_dict():
    md = ModuleDict({"a": Scale(1), "b": Scale(2)})
    md["c"] = Scale(3)
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert list(md.state_dict()) == ["a.s", "b.s", "c.s"]
    assert md["b"].s.item() == 2
    assert [k for k, _ in md.items()] == list(md.keys())
    md.pop("a")
    del md["b"]
    assert list(md) == ["c"]
    md.update([("d", Scale(4))])
    assert list(md.values())[-1].s.item() == 4
    md.clear()
    assert len(md) == 0


def test_containers_repr_and_train_mode():
    seq = Sequential(Scale(1), ModuleList([Scale(2)]))
    assert repr(seq) == (
        "Sequential(\n  (0): Scale()\n  (1): ModuleList(\n    (0): Scale()\n  )\n)"
    )
    seq.eval()
    assert not seq[1][0].training
