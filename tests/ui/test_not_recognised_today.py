"""Staff label an item the till did not know, as a person does at the real service: the item is placed, "Not
recognised" shows, the shopper takes it away; staff sign in, open "Not recognised today (1)", search for the product
and pick it: the list is empty and the store's feedback row has the staff label."""

from __future__ import annotations

from types import SimpleNamespace

from kiosk.recognition.recognizer import Suggestion
from tests.ui.helpers import tap, tap_list_row, type_keys
from tests.ui.real import PIN, make_real
from tests.ui.test_integration import ScriptedRecognizer, place


class OpenSet(ScriptedRecognizer):
    """Says the item is none it knows (its guess kept for the record)."""

    def recognize(self, image):
        return SimpleNamespace(suggestions=[Suggestion("granny-smith", 0.31)], model_version=self.model_version,
                               timings_ms={"inference": 1.0}, known=False)


def test_staff_label_an_item_not_recognised_from_the_staff_page(qtbot, tmp_path):
    service, window, _recognizer, _scale = make_real(tmp_path, qtbot)
    service.model.swap(OpenSet())
    try:
        place(service, "07_arla-standard-milk.jpg")
        qtbot.waitUntil(lambda: window.suggestions.state == "unknown")  # "Not recognised — search or call staff"
        placement_id = window.suggestions.placement_id
        assert service.store.feedback(placement_id)["chooser"] == "unknown"
        tap(qtbot, window.staff_button)
        type_keys(qtbot, window.pin.keypad, PIN)
        tap(qtbot, window.pin.ok_button)
        qtbot.waitUntil(lambda: window.page == "staff")
        button = window.unlabelled.button
        qtbot.waitUntil(lambda: button.count == 1)
        assert button.text() == "Not recognised today (1)"
        tap(qtbot, button)
        panel = window.unlabelled.panel
        assert window.page == "unlabelled" and panel.placement_ids() == [placement_id]
        assert "Granny Smith Apple" in panel.list.item(0).text() and not panel.pick_button.isEnabled()
        tap_list_row(qtbot, panel.list, 0)
        tap(qtbot, panel.pick_button)
        search = window.unlabelled.search
        assert window.page == "unlabelled_search" and search.photo.has_photo  # the tray crop beside the results
        type_keys(qtbot, search.keyboard, "golden")
        qtbot.waitUntil(lambda: "golden-delicious" in search.result_skus())
        tap_list_row(qtbot, search.list, search.result_skus().index("golden-delicious"))
        qtbot.waitUntil(lambda: window.page == "unlabelled")
        assert panel.placement_ids() == [] and panel.empty.text() == "Nothing left to label today."
        row = service.store.feedback(placement_id)
        assert (row["label_sku"], row["chooser"], row["trust"]) == ("golden-delicious", "staff:staff", "staff")
        assert window.cart_model.rowCount() == 0  # no bill line
        tap(qtbot, panel.back_button)
        assert window.page == "staff" and button.text() == "Not recognised today (0)"
    finally:
        window.close()
        service.close()
