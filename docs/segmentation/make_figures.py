"""The segmentation guide's pictures from a trained run:
``python docs/segmentation/make_figures.py runs/<run>`` writes into docs/segmentation/
the test scenes' true and predicted masks (what ``cnnlab eval`` draws), Grad-CAM of two
classes of one test scene over their predicted pixels, and dilated_fcn's receptive field
against the undilated net (random weights: the field does not depend on them)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main(run: str, scene: int = 9) -> None:
    from cnnlab import models
    from cnnlab.data import FashionScenes
    from cnnlab.explain.receptive import save_receptive_fields
    from cnnlab.explain.render import overlay, save_panels
    from cnnlab.explain.segment_cam import segment_grad_cam
    from cnnlab.models.loading import open_model
    from cnnlab.train.run import evaluate_checkpoint

    result = evaluate_checkpoint(run, out_dir=HERE / "tmp")
    shutil.move(result["examples_png"], HERE / "examples.png")
    shutil.rmtree(HERE / "tmp", ignore_errors=True)
    print(f"mean IoU {result['miou']:.4f} on {result['n']} test scenes")

    info = open_model(Path(run) / "best.safetensors")
    test = FashionScenes(train=False, progress=False)
    x = test.data[scene][None].astype(np.float32) / 255.0
    pictures, titles = [x[0]], [" ".join(test.caption(scene))]
    for name in test.caption(scene)[1:3]:
        e = segment_grad_cam(info.model, x, info.class_index(name), normalize=info.normalize)
        shown = np.repeat(x[0][..., None], 3, axis=2)
        shown[e.extra["region"]] = 0.5 * shown[e.extra["region"]] + [0.0, 0.5, 0.0]
        pictures += [shown, overlay(x, e.map)]
        titles += [f"{name}: its pixels", f"Grad-CAM of {name}"]
    save_panels(HERE / "gradcam_region.png", pictures, titles, height=2.0, dpi=90)
    png, js = save_receptive_fields(models.create("dilated_fcn"), (1, 64, 64), HERE)
    png.rename(HERE / "dilated_receptive_field.png")
    js.unlink()


if __name__ == "__main__":
    main(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3]))
