"""The ``transfer`` experiment's plot and set-up text: accuracy against labelled images per
class, one panel for the experiment's data and one for the reverse transfer's target."""

from __future__ import annotations

import numpy as np

from cnnlab.experiments import report

NAMES = {
    "probe": "linear probe, ImageNet features",
    "knn": "kNN, ImageNet features",
    "top": "fine-tune last stage + head",
    "all": "fine-tune everything (LP-FT)",
    "scratch": "fashion_cnn from scratch",
    "digits": "linear probe, MNIST-digits features",
}
REVERSE = "rev-"  # the groups of the reverse transfer start with it


def label(group: str, source: str | None = None) -> str:
    """A legend label for a group (``probe-96``, ``rev-source``, ...)."""
    g = group[len(REVERSE) :] if group.startswith(REVERSE) else group
    if g == "source":
        return f"linear probe, {source}-trained features"
    base, _, size = g.partition("-")
    return NAMES.get(base, g) + (f" ({size} px)" if size else "")


def _x(n: str, full: int) -> float:
    return float(full if n == "all" else int(n))


def _panel(ax, pts, groups, full, title, source=None, colours=None) -> None:
    for i, g in enumerate(groups):
        ns = sorted(pts[g], key=lambda n: _x(n, full))
        xs = [_x(n, full) for n in ns]
        mean = [np.mean(pts[g][n]) for n in ns]
        lo = [mean[j] - min(pts[g][n]) for j, n in enumerate(ns)]
        hi = [max(pts[g][n]) - mean[j] for j, n in enumerate(ns)]
        colour = (colours or {}).get(g, f"C{i}")
        ax.errorbar(
            xs,
            mean,
            yerr=[lo, hi],
            marker="o",
            ms=4,
            capsize=3,
            label=label(g, source),
            color=colour,
        )
    ax.set_xscale("log")
    ax.set_xlabel(f"labelled training images per class (log; 'all' = {full})")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")


def plot(ctx, pts, groups, full, rev_groups=(), rev_full=None) -> dict:
    """The transfer figure (``transfer.png``): one panel, two with a reverse transfer (a
    method keeps its colour in both)."""
    two = bool(rev_groups)
    fig = report.figure(13 if two else 7.5, 5)
    axes = fig.subplots(1, 2 if two else 1)
    axes = list(axes) if two else [axes]
    colours = {g: f"C{i}" for i, g in enumerate(groups)}
    _panel(axes[0], pts, groups, full, f"{ctx.data}: pretrained features against scratch", None,
           colours)  # fmt: skip
    if two:
        rev = ctx.knobs["reverse"]
        same = {g: colours.get(g[len(REVERSE) :], "C8") for g in rev_groups}
        title = f"reverse: {rev}, features of a {ctx.data}-trained network"
        _panel(axes[1], pts, rev_groups, rev_full, title, ctx.data, same)
    name = report.save(fig, ctx.out / "transfer.png")
    return {
        "file": name,
        "caption": "Test accuracy against labelled images per class (bars: range over seeds)"
        + (f"; right: the reverse transfer to {ctx.knobs['reverse']}" if two else ""),
    }


def setup(ctx, extract, n_rev=None) -> list[str]:
    """The set-up lines of the report."""
    k = ctx.knobs
    s1, s2 = (list(k["sizes"]) + [None])[:2]
    if k["all_lp"]:
        all_line = (
            f"fine-tuning everything: LP-FT (Kumar et al. 2022): the head first fitted as a "
            f"linear probe on the frozen features (C = {k['probe_C']}), then every layer by "
            f"SGD (Nesterov 0.9) at lr {k['all_lr']}, body x{k['all_body_factor']}, batch norm "
            f"in {'eval' if k['all_bn_eval'] else 'training'} mode, at most "
            f"{k['all_max_steps']} steps of {k['ft_batch']}"
        )
    else:
        all_line = (
            f"fine-tuning everything: a fresh head, SGD at lr {k['ft_lr']}, body "
            f"x{k['lr_body_factor']}, batch norm in "
            f"{'eval' if k['all_bn_eval'] else 'training'} mode, at most {k['all_max_steps']} "
            f"steps of {k['ft_batch']}"
        )
    out = [
        f"EfficientNet-Lite0 with its ImageNet weights; grey images repeated to RGB and resized "
        f"(bilinear, antialiased) inside the model to {s1} px"
        + (f" and {s2} px" if s2 else "")
        + "; features: the 1280 numbers before the classifier, extracted once and cached",
        f"linear probe: logistic regression (C = {k['probe_C']}, features normalised "
        f"{k['probe_norm']!r}: chosen among C 0.1-100, standardised or unit length, on a "
        f"split of 4,096 training images at 1, 10, 100 per class), "
        f"{k['probe_steps']} Adam steps; kNN: cosine, k = {k['knn_k']}",
        f"fine-tuning the last stage + head: SGD (Nesterov 0.9), head lr {k['ft_lr']}, body "
        f"lr x{k['lr_body_factor']}, batch norm in eval mode, {k['ft_epochs']} epochs (at "
        f"least {k['ft_min_steps']} and at most {k['top_max_steps']} steps), batch "
        f"{k['ft_batch']}",
        all_line,
        f"from scratch: `{k['scratch_model']}`, lr {k['scratch_lr']}, {k['scratch_epochs']} epochs "
        f"(at least {k['scratch_min_steps']}, at most {k['scratch_max_steps']} steps), batch "
        f"{k['scratch_batch']}, no augmentation (as for every method here)",
        "training images: "
        + (f"the first {k['train_images']}" if k.get("train_images") else f"all {ctx.n_train}")
        + f" of {ctx.data}'s ('all' in the table); labelled subsets drawn per class from them",
        f"test set: {ctx.n_test if not k.get('test_images') else k['test_images']} images"
        + (f" ({k['test_images_size2']} for {s2} px" if s2 and k.get("test_images_size2") else "")
        + (
            f", the last {k['test_images_all']} for fine-tuning everything"
            if k.get("test_images_all")
            else ""
        )
        + (")" if s2 and k.get("test_images_size2") else ""),
    ]
    if n_rev:
        out.append(
            f"reverse transfer (rows `rev-`): `{k['scratch_model']}` trained on {ctx.data}'s "
            f"training images ({k['source_epochs']} epochs), its features probed on "
            f"{k['reverse']} ({n_rev[0]} training, {n_rev[1]} test images) against "
            f"`{k['scratch_model']}` from scratch there"
            + (f" and the ImageNet probe at {s1} px" if k["reverse_imagenet"] else "")
        )
    for name, s in extract.items():
        if s.get("extract_s"):
            out.append(
                f"{name}: {s['images']} images in {s['extract_s']} s (a second: from the cache)"
            )
    return out
