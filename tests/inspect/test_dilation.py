"""The receptive field of a dilated net's output pixel against its undilated twin."""

import numpy as np

import cnnlab
from cnnlab import models
from cnnlab.inspect.dilation import compare_dilation, undilated


def test_the_undilated_twin_keeps_weights_and_sizes_and_matches_the_hand_built_plain_net():
    cnnlab.manual_seed(0)
    model = models.create("dilated_fcn", width=4)
    twin = undilated(model)
    plain = models.create("dilated_fcn", width=4, dilations=(1, 1), rates=(1, 1, 1))
    plain.load_state_dict(model.state_dict())
    x = cnnlab.rand(1, 1, 24, 20)
    model.eval(), twin.eval(), plain.eval()
    with cnnlab.no_grad():
        np.testing.assert_allclose(twin(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-6)
    assert model.body[0][0].dilation == (2, 2)  # the original is left alone


def test_measured_fields_equal_the_analytic_ones_and_dilation_quadruples_the_side():
    result = compare_dilation(models.create("dilated_fcn", width=4), (1, 64, 64))
    assert result["dilated"]["agree"] and result["plain"]["agree"]
    assert result["dilated"]["measured"]["size"] == (41, 41)
    assert result["plain"]["measured"]["size"] == (11, 11)
    assert result["dilated"]["analytic"]["rows"] == (12, 52)  # centred on output pixel 32
