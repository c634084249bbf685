"""A script's own model class holding a state_dict it saved (cnnlab/run/classes.py): only
the definitions run, the class is found by its parameters, the input shape is guessed."""

import numpy as np
import pytest

import cnnlab
from cnnlab.models.loading import open_model
from cnnlab.run.classes import ScriptModelError, definitions, model_from_script
from tests.helpers import requires_torch, torch

SCRIPT = """
import torch
from torch import nn
import torch.nn.functional as F

hidden = 16
print("training would start here")
data = open("nowhere").read()


class Helper(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 15 * 15, hidden)
        self.out = nn.Linear(hidden, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.out(F.relu(self.fc(torch.flatten(x, 1))))


if __name__ == "__main__":
    raise SystemExit("not run")
"""


def write(tmp_path, text=SCRIPT):
    path = tmp_path / "tutorial.py"
    path.write_text(text)
    return path


def test_only_imports_definitions_and_literal_constants_are_kept():
    kept = definitions(SCRIPT, "tutorial.py").body
    kinds = [type(n).__name__ for n in kept]
    assert kinds == ["Import", "ImportFrom", "Import", "Assign", "ClassDef", "ClassDef"]


@requires_torch
def test_a_state_dict_saved_by_pytorch_opens_with_its_scripts_class(tmp_path):
    script = write(tmp_path)
    torch.manual_seed(0)
    theirs = torch.nn.Module()
    theirs.conv = torch.nn.Conv2d(3, 4, 3)
    theirs.fc, theirs.out = torch.nn.Linear(900, 16), torch.nn.Linear(16, 10)
    torch.save(theirs.state_dict(), tmp_path / "model.pth")
    loaded = open_model(tmp_path / "model.pth", script=script)
    assert loaded.shape == (3, 32, 32) and "TinyNet" in loaded.source
    x = np.random.default_rng(0).random((2, 3, 32, 32), np.float32)
    with torch.no_grad():
        t = torch.tensor(x)
        t = torch.nn.functional.max_pool2d(torch.relu(theirs.conv(t)), 2)
        want = theirs.out(torch.relu(theirs.fc(t.flatten(1)))).numpy()
    with cnnlab.no_grad():
        got = loaded.model(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_no_matching_class_or_shape_says_what_was_tried(tmp_path):
    script = write(tmp_path)
    state = {"fc.weight": np.zeros((3, 3), np.float32), "fc.bias": np.zeros(3, np.float32)}
    with pytest.raises(ScriptModelError, match=r"tried: Helper \(TypeError.*TinyNet \(other"):
        model_from_script(script, state)
    with pytest.raises(ScriptModelError, match="is not a file"):
        model_from_script(tmp_path / "missing.py", state)
    net, shape = model_from_script(script, tiny_state())
    assert type(net).__name__ == "TinyNet" and shape == (3, 32, 32)
    with pytest.raises(ScriptModelError, match=r"none of the input shapes \[\(1, 28, 28\)\]"):
        model_from_script(script, tiny_state(), input_shape=(1, 28, 28))


def tiny_state():
    shapes = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (16, 900)}
    shapes.update({"fc.bias": (16,), "out.weight": (10, 16), "out.bias": (10,)})
    return {k: np.zeros(v, np.float32) for k, v in shapes.items()}
