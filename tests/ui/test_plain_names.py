"""A staff name is shown as the text it is, everywhere in the window (probe-staff fault 7): ``<s>Asha</s><u>Ravi</u>``
read "AshaRavi (assistant)" on the staff badge (QLabel's AutoText took it for HTML), and a notice quoting a name
("approved by <s>Asha</s>: go ahead") did the same on the notice strip and in tooltips."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from kiosk.ui.widgets.common import ClampedLabel, ElidedLabel, label, plain_tip
from kiosk.ui.widgets.staff_signin import StaffBadge

NAME = "<s>Asha</s><u>Ravi</u>"


def _tip_reads(tip: str) -> str:
    doc = QTextDocument()
    doc.setHtml(tip) if GuiQt.mightBeRichText(tip) else doc.setPlainText(tip)
    return doc.toPlainText()


def test_the_staff_badge_shows_a_name_as_typed(qtbot):
    badge = StaffBadge()
    qtbot.addWidget(badge)
    badge.resize(900, 30)
    badge.show_member(NAME, "assistant", 120)
    assert badge.textFormat() == Qt.TextFormat.PlainText
    assert QLabel.text(badge).startswith(NAME + " (assistant)")  # drawn as these characters
    assert _tip_reads(badge.toolTip()).startswith(NAME + " (assistant)")


def test_every_label_kind_and_tooltip_is_plain_text(qtbot):
    message = f"approved by {NAME}: go ahead"
    widgets = [ElidedLabel(message), ClampedLabel(message, "x"), label(message, "y")]
    for widget in widgets:
        qtbot.addWidget(widget)
        widget.resize(60, 40)  # too narrow: the whole text becomes the tooltip
        widget.show()
        assert widget.textFormat() == Qt.TextFormat.PlainText, type(widget).__name__
    assert _tip_reads(widgets[0].toolTip()) == message and _tip_reads(widgets[1].toolTip()) == message
    assert plain_tip("Asha Rao") == "Asha Rao"  # plain text stays as it is


def test_no_label_in_the_window_takes_text_for_html(qtbot, window):
    window.banner.show_notice("info", f"approved by {NAME}: go ahead")
    labels = window.findChildren(QLabel)
    assert len(labels) > 30
    rich = [lab.objectName() or type(lab).__name__ for lab in labels if lab.textFormat() != Qt.TextFormat.PlainText]
    assert rich == []
    assert NAME in QLabel.text(window.banner) or window.banner.elided
