import logging
import re

import cv2
import numpy as np
import pytest

from kiosk.camera import CameraError, SourceLost, SourceUnavailable, create_source, iter_frames, open_source
from kiosk.camera.base import split_uri
from kiosk.errors import UserError


def write_jpeg(path, value, size=(24, 32)):
    image = np.full((*size, 3), value, np.uint8)
    image[0, 0] = (0, 0, 255)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    path.write_bytes(data.tobytes())
    return data.tobytes()


@pytest.fixture
def folder(tmp_path):
    for i, value in enumerate((10, 60, 110)):
        write_jpeg(tmp_path / f"{i:03d}.jpg", value)
    return tmp_path


def brightness(frame):
    return int(round(float(frame.image[4:, 4:].mean())))


def test_split_uri():
    assert split_uri("folder:a/b?fps=5&hold=2") == ("folder", "a/b", {"fps": "5", "hold": "2"})
    assert split_uri("file:///abs/x.mp4") == ("file", "/abs/x.mp4", {})
    assert split_uri("CAMERA:0") == ("camera", "0", {})


@pytest.mark.parametrize(
    "uri, words",
    [
        ("", ["empty"]),
        ("nocolon", ["missing scheme", "nocolon"]),
        ("rtsp://cam/stream", ["unknown scheme", "rtsp", "camera:"]),
        ("folder:/does/not/exist", ["/does/not/exist", "does not exist"]),
        ("file:/does/not/exist.mp4", ["exist.mp4", "does not exist"]),
        ("camera:front", ["device index", "'front'"]),
        ("camera:0?width=-5", ["width", "'-5'", "positive"]),
        ("camera:0?zoom=2", ["unknown option", "zoom", "width"]),
        ("camera:0?fps=fast", ["fps", "'fast'"]),
        ("camera:0?fps=1&fps=2", ["given twice"]),
    ],
)
def test_bad_uris_name_the_uri_and_the_problem(uri, words):
    with pytest.raises(CameraError) as info:
        create_source(uri)
    assert isinstance(info.value, UserError)
    message = str(info.value)
    for word in words:
        assert word in message
    if uri:
        assert repr(uri) in message


def test_a_source_that_is_something_else_says_what_is_there(tmp_path):
    """A folder named like a video, a pipe, a link to a device or to nothing, a file named as the replay folder."""
    import os

    (tmp_path / "dir.mp4").mkdir()
    os.mkfifo(tmp_path / "fifo.mp4")
    (tmp_path / "zero.mp4").symlink_to("/dev/zero")
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "nothing")
    (tmp_path / "frames").write_bytes(b"x")
    for uri, words in ((f"file:{tmp_path}/dir.mp4", "is a folder, not a video file"),
                       (f"file:{tmp_path}/fifo.mp4", "is a named pipe (FIFO), not a video file"),
                       (f"file:{tmp_path}/zero.mp4", "is a device, not a video file"),
                       (f"file:{tmp_path}/gone.mp4", "is a link to nothing, not a video file"),
                       (f"folder:{tmp_path}/frames", "is a file, not a folder")):
        with pytest.raises(CameraError, match=re.escape(words)):
            create_source(uri)


def test_folder_bad_options(folder):
    for query, word in (("hold=0", "hold"), ("loop=maybe", "loop"), ("fps=-1", "fps")):
        with pytest.raises(CameraError, match=word):
            create_source(f"folder:{folder}?{query}")


def test_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CameraError, match="no images"):
        create_source(f"folder:{tmp_path}")


def test_folder_replays_in_sorted_order_with_hold(folder):
    frames = list(iter_frames(f"folder:{folder}?hold=2&fps=4"))
    assert [f.index for f in frames] == list(range(6))
    assert [brightness(f) for f in frames] == [10, 10, 60, 60, 110, 110]
    assert [f.timestamp for f in frames] == [i / 4 for i in range(6)]
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (24, 32, 3)
    assert frames[0].source == f"folder:{folder}?hold=2&fps=4"
    assert frames[0].image is frames[1].image and not frames[0].image.flags.writeable


def test_folder_loops(folder):
    src = open_source(f"folder:{folder}?loop=1")
    values = [brightness(src.read()) for _ in range(7)]
    assert values == [10, 60, 110, 10, 60, 110, 10]
    assert src.loops == 2
    src.close()


def test_folder_skips_bad_images_and_counts_them(folder, caplog):
    good = (folder / "000.jpg").read_bytes()
    (folder / "000a_empty.jpg").write_bytes(b"")
    (folder / "000b_truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "000c_garbage.png").write_bytes(b"\x89PNG not really a png at all")
    (folder / "000d_cut_end.jpg").write_bytes(good[:-2])  # only the end marker missing
    caplog.set_level(logging.WARNING)
    src = open_source(f"folder:{folder}?loop=1")
    values = [brightness(src.read()) for _ in range(6)]
    assert values == [10, 60, 110, 10, 60, 110]
    assert src.skipped_count == 4  # counted once, not on every loop
    reasons = {path.name: reason for path, reason in src.skipped}
    assert "0 bytes" in reasons["000a_empty.jpg"]
    assert "truncated" in reasons["000b_truncated.jpg"]
    assert "truncated" in reasons["000d_cut_end.jpg"]
    assert "corrupt" in reasons["000c_garbage.png"]
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "000b_truncated.jpg" in warned and "000a_empty.jpg" in warned


def test_folder_of_only_bad_images(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8garbage")
    src = open_source(f"folder:{tmp_path}")
    assert src.read() is None and src.skipped_count == 2
    looping = open_source(f"folder:{tmp_path}?loop=1")
    with pytest.raises(SourceUnavailable, match="no readable image"):
        looping.read()


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (32, 24))
    assert writer.isOpened()
    for i in range(4):
        writer.write(np.full((24, 32, 3), 20 + 50 * i, np.uint8))
    writer.release()
    return path


def test_video_file_plays_to_the_end(video):
    src = open_source(f"file:{video}")
    assert src.pacing_fps == pytest.approx(20)
    frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [brightness(f) for f in frames] == pytest.approx([20, 70, 120, 170], abs=3)
    assert frames[2].timestamp == pytest.approx(0.1)
    assert src.read() is None  # stays ended


def test_video_file_loop_and_fps_override(video):
    src = open_source(f"file:{video}?loop=1&fps=0")
    assert src.pacing_fps is None
    values = [brightness(src.read()) for _ in range(9)]
    assert values == pytest.approx([20, 70, 120, 170, 20, 70, 120, 170, 20], abs=3)
    assert src.loops == 2
    src.close()


def test_undecodable_video_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(SourceUnavailable, match="bad.mp4"):
        open_source(f"file:{bad}")


class FakeCapture:
    """Stands in for cv2.VideoCapture: records settings, fails reads after ``frames``."""

    instances: list = []

    def __init__(self, device, frames=2, opened=True):
        self.device, self.frames, self.opened = device, frames, opened
        self.props: dict = {}
        self.released = False
        FakeCapture.instances.append(self)

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def read(self):
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((4, 6), np.uint8)  # grey frames are converted to BGR

    def release(self):
        self.released = True


def test_camera_device_applies_options_and_reports_loss(monkeypatch):
    FakeCapture.instances.clear()
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    src = open_source("camera:2?width=1280&height=720&fps=30&fourcc=MJPG")
    cap = FakeCapture.instances[0]
    assert cap.device == 2
    assert cap.props[cv2.CAP_PROP_FRAME_WIDTH] == 1280
    assert cap.props[cv2.CAP_PROP_FRAME_HEIGHT] == 720
    assert cap.props[cv2.CAP_PROP_FPS] == 30
    assert cap.props[cv2.CAP_PROP_BUFFERSIZE] == 1
    assert src.live
    assert src.read().image.shape == (4, 6, 3)
    src.read()
    with pytest.raises(SourceLost, match="camera:2"):
        src.read()
    src.close()
    assert cap.released


def test_camera_device_unavailable(monkeypatch):
    monkeypatch.setattr(cv2, "VideoCapture", lambda device: FakeCapture(device, opened=False))
    with pytest.raises(SourceUnavailable, match="cannot open device '/dev/video7'"):
        open_source("camera:/dev/video7")
