"""Seeing inside a CNN: what a trained network has learned, one call per picture.

Every method puts the model in eval mode, takes images as float ``(C, H, W)`` arrays in [0, 1]
(normalisation inside the model or passed as ``normalize=(mean, std)``), returns arrays (most
as an :class:`Explanation` with ``.save(out_dir, prefix)`` for the PNGs) and changes no
``.grad``. Gradient methods change backward rules with :func:`cnnlab.override_backward`
rather than module hooks, so functional ReLUs are handled like layers.
"""

from cnnlab.explain.activations import activation_grid, activations, top_k_images
from cnnlab.explain.base import Explanation
from cnnlab.explain.class_model import class_model
from cnnlab.explain.erf import effective_receptive_field
from cnnlab.explain.filters import conv_weights, filter_grid, filters
from cnnlab.explain.gradcam import grad_cam
from cnnlab.explain.guided import deconvnet, guided_backprop
from cnnlab.explain.occlusion import occlusion
from cnnlab.explain.render import heatmap, make_grid, overlay, save_panels, save_png
from cnnlab.explain.saliency import input_gradient, saliency, smooth_grad

__all__ = [
    "Explanation",
    "activation_grid",
    "activations",
    "class_model",
    "conv_weights",
    "deconvnet",
    "effective_receptive_field",
    "filter_grid",
    "filters",
    "grad_cam",
    "guided_backprop",
    "heatmap",
    "input_gradient",
    "make_grid",
    "occlusion",
    "overlay",
    "saliency",
    "save_panels",
    "save_png",
    "smooth_grad",
    "top_k_images",
]
