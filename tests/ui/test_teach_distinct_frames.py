"""The Teach page counts a photo once: an unchanged camera frame taken 10 times is one good photo, not ten (Teach
then refused "9 duplicate"), by the same test Teach uses (kiosk.gallery.enroll.same_photo)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PySide6.QtWidgets import QWidget

from kiosk.gallery import EnrollPolicy, PhotoVerdict
from kiosk.gallery.enroll import fingerprint, same_photo
from kiosk.ui.teach import TeachController


class Window(QWidget):
    staff_open = True  # signed in: the page takes photos only then

    def show_page(self, name: str) -> None:
        self.page = name

    def back_to_staff(self) -> None:
        self.show_page("staff")


def test_an_unchanged_frame_is_one_photo(qtbot):
    window = Window()
    qtbot.addWidget(window)
    policy = EnrollPolicy()
    desk = SimpleNamespace(policy=policy, check_frame=lambda image: PhotoVerdict(0, True), fingerprint=fingerprint,
                           same_photo=lambda a, b: same_photo(a, b, policy))
    rng = np.random.default_rng(3)
    still = rng.integers(0, 255, (120, 160, 3), np.uint8)
    frames = iter([still] * 10 + [rng.integers(0, 255, (120, 160, 3), np.uint8) for _ in range(3)])
    teach = TeachController(window, desk, lambda: next(frames))
    teach._pending = 13
    for _ in range(13):
        teach._take_one()
    assert len(teach.photos) == 4 and teach.refused == {"duplicate": 9}
    assert not teach.panel.teach_button.isEnabled()
