import threading
import time

import numpy as np
import pytest

from kiosk.camera import Backoff, CaptureState, CaptureWorker, FrameSource, SourceLost, SourceUnavailable, iter_frames

TINY = Backoff(initial=0.01, factor=2.0, maximum=0.04)


class ScriptedSource(FrameSource):
    """A live fake camera: ``plan`` lists, per open attempt, either "fail" or a number of frames
    after which the device is lost (the last entry ends the stream instead)."""

    scheme = "fake"
    live = True

    def __init__(self, plan, live=True, frame_delay=0.0):
        super().__init__("fake:cam", "cam", {})
        self.plan = list(plan)
        self.live = live
        self.frame_delay = frame_delay
        self.opens = 0
        self._left = 0
        self._last = False

    def _open(self):
        step = self.plan.pop(0)
        self.opens += 1
        if step == "fail":
            raise SourceUnavailable("fake:cam: unplugged")
        self._left = step
        self._last = not self.plan

    def _read(self):
        if self.frame_delay:
            time.sleep(self.frame_delay)
        if self._left <= 0:
            if self._last:
                return None
            raise SourceLost("fake:cam: cable pulled")
        self._left -= 1
        return self._make_frame(np.full((4, 4, 3), self._next_index % 256, np.uint8), time.monotonic())

    def _close(self):
        pass


def collect(worker):
    events = []
    worker.add_observer(events.append)
    return events


def test_backoff_grows_and_is_capped():
    b = Backoff(initial=0.5, factor=2.0, maximum=3.0)
    assert [b.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_lost_camera_is_reopened_with_backoff_and_states_are_reported():
    source = ScriptedSource([3, "fail", "fail", "fail", 2])
    worker = CaptureWorker(source, backoff=TINY)
    events = collect(worker)
    frames = []
    with worker:
        while True:
            frame = worker.get(timeout=2)
            if frame is None:
                break
            frames.append(frame)
            time.sleep(0.002)
    states = [e.state for e in events]
    assert states == [
        CaptureState.CONNECTING,
        CaptureState.LIVE,
        CaptureState.LOST,
        CaptureState.RECONNECTING,
        CaptureState.RECONNECTING,
        CaptureState.RECONNECTING,
        CaptureState.RECONNECTING,
        CaptureState.LIVE,
        CaptureState.ENDED,
    ]
    lost = events[2]
    assert "cable pulled" in lost.error
    retries = [e for e in events if e.state is CaptureState.RECONNECTING]
    assert [e.attempt for e in retries] == [1, 2, 3, 4]
    assert [e.retry_in for e in retries] == [0.01, 0.02, 0.04, 0.04]
    assert "unplugged" in retries[1].error
    assert source.opens == 5 and worker.reconnects == 4
    assert worker.state is CaptureState.ENDED
    assert worker.captured == 5
    assert worker.delivered + worker.dropped == 5
    assert [f.index for f in frames] == sorted(f.index for f in frames)


def test_camera_missing_at_start_keeps_retrying_until_stopped():
    source = ScriptedSource(["fail"] * 1000)
    worker = CaptureWorker(source, backoff=TINY)
    events = collect(worker)
    worker.start()
    time.sleep(0.15)
    assert worker.state is CaptureState.RECONNECTING
    worker.stop()
    assert not worker.running
    assert events[0].state is CaptureState.CONNECTING
    assert len(events) >= 4 and max(e.retry_in or 0 for e in events) == TINY.maximum


def test_replay_that_cannot_open_fails_without_retrying():
    source = ScriptedSource(["fail", 5], live=False)
    worker = CaptureWorker(source, backoff=TINY).start()
    assert worker.get(timeout=2) is None
    worker.stop()
    assert worker.state is CaptureState.FAILED and "unplugged" in worker.status.error
    assert source.opens == 1


def test_end_of_replay_is_ended_not_lost(tmp_path):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    worker = CaptureWorker(f"folder:{tmp_path}?fps=0")
    events = collect(worker)
    with worker:
        got = list(worker)
    assert [e.state for e in events] == [CaptureState.CONNECTING, CaptureState.LIVE, CaptureState.ENDED]
    assert got and got[-1].index <= 2


def test_slow_consumer_causes_counted_drops_and_sees_newest_frames():
    source = ScriptedSource([60], frame_delay=0.001)
    worker = CaptureWorker(source)
    seen = []
    with worker:
        while True:
            frame = worker.get(timeout=2)
            if frame is None:
                break
            seen.append(frame.index)
            time.sleep(0.01)  # busy consumer (recognition)
    assert worker.captured == 60
    assert worker.dropped > 10
    assert worker.delivered == len(seen)
    assert worker.delivered + worker.dropped == 60
    assert seen == sorted(set(seen))
    assert seen[-1] == 59  # the newest frame is never the one dropped


def test_capture_never_blocks_on_a_consumer_that_takes_nothing():
    source = ScriptedSource([200])
    worker = CaptureWorker(source).start()
    worker._thread.join(2)
    assert worker.state is CaptureState.ENDED
    assert worker.captured == 200 and worker.dropped == 199
    assert worker.latest().index == 199 and worker.latest() is None


def test_pacing_follows_the_source_rate(tmp_path):
    import cv2

    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i, np.uint8))
    start = time.monotonic()
    with CaptureWorker(f"folder:{tmp_path}?fps=50") as worker:
        got = [f.index for f in worker]
    elapsed = time.monotonic() - start
    assert got[-1] == 4 and got == sorted(got)
    assert elapsed >= 0.07


def test_observer_errors_do_not_kill_capture():
    def broken(status):
        raise RuntimeError("observer bug")

    worker = CaptureWorker(ScriptedSource([3]), observers=[broken])
    with worker:
        frames = list(worker)
    assert worker.state is CaptureState.ENDED and frames


def test_iter_frames_is_deterministic_with_every_frame(tmp_path):
    import cv2

    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i * 10, np.uint8))
    runs = [[(f.index, int(f.image[0, 0, 0])) for f in iter_frames(f"folder:{tmp_path}?hold=3")] for _ in range(2)]
    assert runs[0] == runs[1]
    assert [v for _, v in runs[0]] == [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]
    assert [i for i, _ in runs[0]] == list(range(12))


def test_iter_frames_raises_when_a_camera_is_lost():
    with pytest.raises(SourceLost):
        list(iter_frames(ScriptedSource([2, 2])))


def test_get_wakes_up_when_stopped():
    worker = CaptureWorker(ScriptedSource(["fail"] * 100), backoff=Backoff(1, 1, 1)).start()
    result = []
    t = threading.Thread(target=lambda: result.append(worker.get()))
    t.start()
    time.sleep(0.05)
    worker.stop()
    t.join(2)
    assert result == [None]
