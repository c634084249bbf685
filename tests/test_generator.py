import numpy as np
import pytest

import cnnlab


def test_generator_api_as_torch():
    g = cnnlab.Generator()
    assert g.initial_seed() == 67280421310721  # torch.Generator's default
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    state = g.get_state()
    first = g.generator.random(3)
    g.set_state(state)
    np.testing.assert_array_equal(g.generator.random(3), first)
    assert g.seed() == g.initial_seed()
    with pytest.raises(ValueError, match="only 'cpu'"):
        cnnlab.Generator("cuda")
