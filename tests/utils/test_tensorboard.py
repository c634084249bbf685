"""SummaryWriter's event files read back by Google's protobuf runtime (the messages
declared here from TensorBoard's .proto field numbers), records checked with CRC-32C
test vectors."""

import struct

import numpy as np
import pytest

import cnnlab
from cnnlab.utils.tensorboard import SummaryWriter
from cnnlab.utils.tensorboard.records import crc32c, masked_crc

pb = pytest.importorskip("google.protobuf")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto
MESSAGES = {  # name -> [(field, number, type, label, message type)]
    "Image": [("height", 1, F.TYPE_INT32), ("width", 2, F.TYPE_INT32),
              ("colorspace", 3, F.TYPE_INT32), ("encoded_image_string", 4, F.TYPE_BYTES)],
    "Histo": [("min", 1, F.TYPE_DOUBLE), ("max", 2, F.TYPE_DOUBLE), ("num", 3, F.TYPE_DOUBLE),
              ("sum", 4, F.TYPE_DOUBLE), ("sum_squares", 5, F.TYPE_DOUBLE),
              ("bucket_limit", 6, F.TYPE_DOUBLE, F.LABEL_REPEATED),
              ("bucket", 7, F.TYPE_DOUBLE, F.LABEL_REPEATED)],
    "Plugin": [("plugin_name", 1, F.TYPE_STRING)],
    "Meta": [("plugin_data", 1, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Plugin")],
    "Tensor": [("dtype", 1, F.TYPE_INT32), ("string_val", 8, F.TYPE_BYTES, F.LABEL_REPEATED)],
    "Value": [("tag", 1, F.TYPE_STRING), ("simple_value", 2, F.TYPE_FLOAT),
              ("image", 4, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Image"),
              ("histo", 5, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Histo"),
              ("tensor", 8, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Tensor"),
              ("metadata", 9, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Meta")],
    "Summary": [("value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, "Value")],
    "Event": [("wall_time", 1, F.TYPE_DOUBLE), ("step", 2, F.TYPE_INT64),
              ("file_version", 3, F.TYPE_STRING),
              ("summary", 5, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Summary")],
}  # fmt: skip


def event_class():
    fdp = descriptor_pb2.FileDescriptorProto(name="tb_test.proto", package="tbtest")
    for name, fields in MESSAGES.items():
        m = fdp.message_type.add(name=name)
        for spec in fields:
            field, number, kind = spec[:3]
            label = spec[3] if len(spec) > 3 else F.LABEL_OPTIONAL
            f = m.field.add(name=field, number=number, type=kind, label=label)
            if len(spec) > 4:
                f.type_name = f".tbtest.{spec[4]}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tbtest.Event"))


def read_events(folder):
    (path,) = list(folder.glob("events.out.tfevents.*"))
    data, events, Event = path.read_bytes(), [], event_class()
    while data:
        (n,) = struct.unpack("<Q", data[:8])
        assert struct.unpack("<I", data[8:12])[0] == masked_crc(data[:8])
        body = data[12 : 12 + n]
        assert struct.unpack("<I", data[12 + n : 16 + n])[0] == masked_crc(body)
        events.append(Event.FromString(body))
        data = data[16 + n :]
    return events


def test_crc32c_matches_the_published_check_values():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA


def test_scalars_images_histograms_and_text_read_back(tmp_path):
    values = np.random.default_rng(0).standard_normal(500)
    with SummaryWriter(tmp_path / "run") as w:
        for step in range(3):
            w.add_scalar("Loss/train", cnnlab.tensor(1.0 / (step + 1)), step)
        w.add_image("grid", np.linspace(0, 1, 2 * 3 * 4).reshape(1, 6, 4), 5)
        w.add_histogram("fc.weight", cnnlab.tensor(values), 7, bins=10)
        w.add_text("note", "hello *world*", 1)
        w.add_scalars("acc", {"train": 0.5, "val": 0.25}, 2)
    events = read_events(tmp_path / "run")
    assert events[0].file_version == "brain.Event:2"
    scalars = [(e.step, e.summary.value[0].simple_value) for e in events[1:4]]
    assert scalars == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert events[1].summary.value[0].tag == "Loss/train"
    img = events[4].summary.value[0].image
    assert (img.height, img.width, img.colorspace) == (6, 4, 3)
    assert img.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
    h = events[5].summary.value[0].histo
    counts, edges = np.histogram(values, bins=10)
    assert h.num == 500 and h.min == values.min() and list(h.bucket) == list(counts)
    np.testing.assert_allclose(list(h.bucket_limit), edges[1:])
    np.testing.assert_allclose(h.sum_squares, (values**2).sum())
    t = events[6].summary.value[0]
    assert t.metadata.plugin_data.plugin_name == "text"
    assert list(t.tensor.string_val) == [b"hello *world*"] and t.tensor.dtype == 7
    val = read_events(tmp_path / "run" / "acc_val")[1].summary.value[0]
    assert (val.tag, val.simple_value) == ("acc", 0.25)


def test_refusals_name_the_method(tmp_path):
    w = SummaryWriter(tmp_path / "r")
    with pytest.raises(NotImplementedError, match="SummaryWriter.add_graph: cnnlab writes no"):
        w.add_graph(cnnlab.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"add_image: expected an image laid out as 'CHW'"):
        w.add_image("x", np.zeros((2, 3)))
    w.close()
    with pytest.raises(RuntimeError, match="the writer is closed"):
        w.add_scalar("x", 1.0)
