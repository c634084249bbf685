"""``SummaryWriter``, as ``torch.utils.tensorboard``'s: scalars, images, histograms and text
written to a TensorBoard event file under ``log_dir`` (``runs/<date>_<host><comment>`` by
default), so ``tensorboard --logdir runs`` shows a cnnlab run. Each call appends one record;
``flush`` and ``close`` push it to disk. ``add_graph`` is refused in one line: cnnlab writes
no TensorBoard graphs (``cnnlab.summary`` prints the layers, an ONNX export opens in Netron).
"""

from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from cnnlab.utils.tensorboard import records

__all__ = ["SummaryWriter"]


def _array(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach()
    return np.asarray(getattr(x, "array", x))


class SummaryWriter:
    """Write TensorBoard events to ``log_dir``."""

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = "") -> None:  # fmt: skip
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self._suffix = filename_suffix
        self._file = None
        self._children: dict = {}
        self._open()

    def get_logdir(self) -> str:
        return self.log_dir

    def _open(self) -> None:
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
        name += f".{os.getpid()}.{len(os.listdir(self.log_dir))}{self._suffix}"
        self._file = open(os.path.join(self.log_dir, name), "ab")  # noqa: SIM115 (held open)
        self._write(records.event(time.time(), file_version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        if self._file is None:
            raise RuntimeError(f"SummaryWriter({self.log_dir}): the writer is closed")
        self._file.write(records.record(data))

    def _event(self, value: bytes, global_step, walltime) -> None:
        wall = time.time() if walltime is None else float(walltime)
        step = None if global_step is None else int(global_step)
        self._write(records.event(wall, step, values=[value]))

    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None,
                   new_style: bool = False, double_precision: bool = False) -> None:  # fmt: skip
        """One number (a float, or a one-element Tensor) under ``tag`` at ``global_step``."""
        v = float(_array(scalar_value).reshape(()))
        self._event(records.value(tag, simple=v), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None):
        """Several curves on one chart: each ``tag`` in its own run ``log_dir/main_tag_tag``,
        as PyTorch writes them."""
        for tag, v in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            if folder not in self._children:
                self._children[folder] = SummaryWriter(folder, filename_suffix=self._suffix)
            self._children[folder].add_scalar(main_tag, v, global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None,
                  dataformats: str = "CHW") -> None:  # fmt: skip
        """An image (``dataformats`` CHW, HWC, HW); floats are taken as [0, 1], stored as PNG."""
        from PIL import Image

        a = _array(img_tensor)
        fmt = dataformats.upper()
        if sorted(fmt) not in (sorted("CHW"), sorted("HW")) or a.ndim != len(fmt):
            raise ValueError(
                f"SummaryWriter.add_image: expected an image laid out as {dataformats!r}, got "
                f"shape {tuple(a.shape)}"
            )
        a = a[None] if fmt == "HW" else a.transpose([fmt.index(c) for c in "CHW"])
        if a.shape[0] == 1:
            a = np.repeat(a, 3, axis=0)
        scale = 255.0 if np.issubdtype(a.dtype, np.floating) else 1.0
        hwc = np.clip(a.transpose(1, 2, 0) * scale, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(hwc).save(buf, format="PNG")
        msg = records.image(hwc.shape[0], hwc.shape[1], hwc.shape[2], buf.getvalue())
        self._event(records.value(tag, image_msg=msg), global_step, walltime)

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow",
                      walltime=None, max_bins=None) -> None:  # fmt: skip
        """A histogram of ``values``; ``bins`` an int, edges or a NumPy rule ('auto', 'fd' ...;
        'tensorflow' is taken as 'auto')."""
        v = _array(values).astype(np.float64).ravel()
        if v.size == 0:
            raise ValueError(f"SummaryWriter.add_histogram({tag!r}): the values are empty")
        counts, edges = np.histogram(v, bins="auto" if bins == "tensorflow" else bins)
        msg = records.histogram(v.min(), v.max(), v.size, v.sum(), (v * v).sum(), edges[1:], counts)
        self._event(records.value(tag, histo=msg), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """A string (markdown) under ``tag``, for TensorBoard's text tab."""
        self._event(records.value(tag, text_parts=records.text(text_string)), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError(
            "SummaryWriter.add_graph: cnnlab writes no TensorBoard graphs; print the layers "
            "with cnnlab.summary(model, input_size) or export ONNX for Netron"
        )

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        for child in self._children.values():
            child.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for child in self._children.values():
            child.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
