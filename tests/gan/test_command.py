"""Every ``cnnlab gan`` command end to end on tiny settings (a two-class image folder)."""

import json

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.main import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder data set, a classifier of it (cnnlab train) and a 2-epoch GAN of it."""
    root = tmp_path_factory.mktemp("gan_cli")
    rng = np.random.default_rng(0)
    for c, name in enumerate(("left", "right")):
        (root / "data" / name).mkdir(parents=True)
        for i in range(24):
            a = (rng.random((16, 16, 3)) * 40).astype(np.uint8)
            a[4:11, 1 + 8 * c : 7 + 8 * c] = 230
            Image.fromarray(a).save(root / "data" / name / f"{i}.png")
    data, clf, gan = root / "data", root / "clf", root / "gan"
    assert main(["train", "--data", str(data), "--epochs", "1", "--batch-size", "16",
                 "--out", str(clf), "--no-progress"]) == 0  # fmt: skip
    tiny = ["--epochs", "2", "--batch-size", "8", "--ngf", "4", "--ndf", "4", "--latent", "8"]
    args = ["gan", "train", "--data", str(data), *tiny, "--no-progress", "--seed", "1"]
    assert main([*args, "--classifier", str(clf / "last.safetensors"), "--out", str(gan)]) == 0
    return {"root": root, "data": data, "clf": clf / "last.safetensors", "gan": gan, "args": args}


def test_gan_train_writes_the_run(runs, capsys):
    gan = runs["gan"]
    for name in ("metrics.csv", "metrics.png", "progress.gif", "fid.png", "last.safetensors"):
        assert (gan / name).stat().st_size > 0, name
    s = json.loads((gan / "summary.json").read_text())
    assert s["epochs"] == 2 and s["image_size"] == 32 and len(s["fid_per_epoch"]) == 2
    assert {"health_warnings", "healthy", "final"} <= set(s)
    assert all("try" in w for w in s["health_warnings"])


def test_gan_train_into_an_existing_run_is_refused_and_the_run_kept(runs, capsys):
    gan = runs["gan"]
    before = (gan / "last.safetensors").read_bytes()
    assert main([*runs["args"], "--out", str(gan)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err
    assert (gan / "last.safetensors").read_bytes() == before


def test_gan_train_resume_continues_to_more_epochs(runs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs["gan"], run)
    assert main(["gan", "train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    assert json.loads((run / "summary.json").read_text())["epochs"] == 3
    assert (run / "samples" / "epoch_003.png").exists()


def test_gan_sample_interpolate_neighbours(runs, tmp_path, capsys):
    gan = str(runs["gan"])
    assert main(["gan", "sample", gan, "-n", "9", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size[0] >= 3 * 32
    out = str(tmp_path / "i.png")
    assert (
        main(["gan", "interpolate", gan, "--steps", "5", "--rows", "2", "--slerp", "--out", out])
        == 0
    )
    out = str(tmp_path / "n.png")
    assert main(["gan", "neighbours", gan, "--classifier", str(runs["clf"]), "-n", "2", "-k", "2",
                 "--out", out]) == 0  # fmt: skip
    assert "nearest training image" in capsys.readouterr().out
    w, h = Image.open(out).size
    assert w > h  # a row per sample: the sample, 2 pixel and 2 feature neighbours


def test_gan_evaluate_reports_samples_and_references(runs, tmp_path, capsys):
    args = ["gan", "evaluate", str(runs["gan"]), "--classifier", str(runs["clf"])]
    assert main([*args, "-n", "20", "--out", str(tmp_path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["references"]) == {"real_train", "blur_sigma1", "blur_sigma2", "uniform_noise"}
    for row in (r["generated"], *r["references"].values()):
        assert row["fid"] >= 0 and 0 <= row["precision"] <= 1 and sum(row["class_counts"]) == 20
    assert (tmp_path / "class_histogram.png").exists() and (tmp_path / "evaluate.json").exists()


def test_gan_evaluate_without_a_classifier_says_how_to_get_one(runs, capsys):
    assert main(["gan", "evaluate", str(runs["gan"])]) == 2
    assert "cnnlab train --data" in capsys.readouterr().err


def test_conditional_gan_samples_a_named_class(runs, tmp_path):
    out = tmp_path / "cgan"
    assert main([*runs["args"], "--conditional", "--epochs", "1", "--out", str(out)]) == 0
    assert main(["gan", "sample", str(out), "--class", "RIGHT", "-n", "4",
                 "--out", str(tmp_path / "r.png")]) == 0  # fmt: skip
    r = main(["gan", "evaluate", str(out), "--classifier", str(runs["clf"]), "-n", "8",
              "--no-references", "--out", str(tmp_path)])  # fmt: skip
    assert r == 0
    r = json.loads((tmp_path / "evaluate.json").read_text())
    assert len(r["conditional_own_class"]) == 2


def test_conditional_evaluate_reports_the_classifiers_ceiling_on_real_images(
    runs, tmp_path, capsys
):
    # the own-class share of samples is printed beside the same classifier's own-class
    # share on the real test images of each class (what it can reach at best)
    from cnnlab.gan.classifier import ClassifierProbe
    from cnnlab.gan.data import load_images

    out = tmp_path / "cgan"
    args = [*runs["args"], "--conditional", "--conditioning", "concat", "--epochs", "1"]
    assert main([*args, "--out", str(out)]) == 0
    from cnnlab.gan import load_gan

    assert load_gan(out)[0].discriminator.conditioning == "concat"
    r = main(["gan", "evaluate", str(out), "--classifier", str(runs["clf"]), "-n", "40",
              "--no-references", "--out", str(tmp_path)])  # fmt: skip
    assert r == 0
    printed = capsys.readouterr().out
    assert "the classifier's ceiling" in printed and "real" in printed
    r = json.loads((tmp_path / "evaluate.json").read_text())
    test = load_images(str(runs["data"]), None, 32, train=False, limit=40)
    pred = ClassifierProbe(runs["clf"]).predict(test["images01"])
    expected = [float((pred[test["labels"] == c] == c).mean()) for c in (0, 1)]
    assert r["real_own_class"] == pytest.approx(expected, abs=1e-4)
    assert r["real_own_class_mean"] == pytest.approx(np.mean(expected), abs=1e-4)
    assert r["real_per_class"] == np.bincount(test["labels"], minlength=2).tolist()


def test_sample_class_on_an_unconditional_gan_is_refused(runs, capsys, tmp_path):
    assert main(["gan", "sample", str(runs["gan"]), "--class", "left",
                 "--out", str(tmp_path / "x.png")]) == 2  # fmt: skip
    assert "not conditional" in capsys.readouterr().err


def test_explain_class_model_through_the_generator_by_class_name(runs, tmp_path):
    args = ["explain", "class-model", str(runs["clf"]), "--generator", str(runs["gan"])]
    assert main([*args, "--target", "righ", "--steps", "5", "--out", str(tmp_path)]) == 0
    for name in ("class_model_1.png", "class_model_1_generator.png"):
        assert (tmp_path / name).exists()
    assert main([*args, "--target", "nothing", "--steps", "2", "--out", str(tmp_path)]) == 2


def test_explain_generator_with_a_unit_drives_it_in_both_panels(runs, tmp_path, capsys):
    # regression: --layer/--channel drove only the generator panel; the pixel-space one
    # beside it maximised the class logit
    from cnnlab.explain.base import last_conv_name
    from cnnlab.explain.command import run
    from cnnlab.models.loading import open_model as load_model

    info = load_model(runs["clf"])
    layer = last_conv_name(info.model)
    paths = run("class-model", info, [], tmp_path, layer=layer, channel=1, steps=4,
                generator=str(runs["gan"]))  # fmt: skip
    names = sorted(p.name for p in paths)
    assert names == [f"class_model_{layer}_1.png", f"class_model_{layer}_1_generator.png",
                     f"class_model_{layer}_1_generator_batch.png"]  # fmt: skip
    args = ["explain", "class-model", str(runs["clf"]), "--generator", str(runs["gan"])]
    assert main([*args, "--layer", layer, "--channel", "0", "--steps", "3",
                 "--out", str(tmp_path / "cli")]) == 0  # fmt: skip
    assert (tmp_path / "cli" / f"class_model_{layer}_0_generator.png").exists()
    assert main([*args, "--layer", layer, "--steps", "2", "--out", str(tmp_path)]) == 2
    assert "together" in capsys.readouterr().err
