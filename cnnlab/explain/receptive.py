"""The picture of :func:`cnnlab.inspect.dilation.compare_dilation`: for the dilated net and
its undilated twin, the measured input gradient of one output pixel (log scale, so the
faint rim of the field shows) with the analytic field drawn as a green frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab.inspect.dilation import compare_dilation

__all__ = ["receptive_field_figure", "save_receptive_fields"]


def receptive_field_figure(result: dict, path, height: float = 3.0) -> Path:
    """Write ``result`` (:func:`compare_dilation`'s) as a two-panel PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(2 * height, height + 0.5), dpi=90)
    for i, name in enumerate(("dilated", "plain")):
        r = result[name]
        g = np.asarray(r["measured"]["grad"], np.float64)
        shown = np.log10(1 + 1e3 * g / g.max()) if g.max() > 0 else g
        ax = fig.add_subplot(1, 2, i + 1)
        ax.imshow(shown, cmap="inferno", interpolation="nearest")
        a = r["analytic"]
        if a["rows"] is not None:
            (r0, r1), (c0, c1) = a["rows"], a["cols"]
            frame = Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False)
            frame.set_edgecolor("lime")
            ax.add_patch(frame)
        m = r["measured"]["size"]
        ax.set_title(
            f"{name}: analytic {a['size'][0]}x{a['size'][1]}, measured {m[0]}x{m[1]}", fontsize=8
        )
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def save_receptive_fields(model, input_shape, out_dir, unit=None) -> list:
    """``cnnlab explain receptive-field``: compare ``model`` with its undilated twin and write
    ``receptive_field.png`` and ``receptive_field.json`` (the regions, no gradients) into
    ``out_dir``. Returns the two paths."""
    result = compare_dilation(model, input_shape, unit)
    out = Path(out_dir)
    png = receptive_field_figure(result, out / "receptive_field.png")
    plain = {
        name: {
            "analytic": r["analytic"],
            "measured": {k: r["measured"][k] for k in ("rows", "cols", "size")},
            "agree": r["agree"],
        }
        for name, r in result.items()
    }
    js = out / "receptive_field.json"
    js.write_text(json.dumps(plain, indent=2) + "\n")
    return [png, js]
