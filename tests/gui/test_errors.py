"""No silent failures: an exception in a slot is logged and shown in the status bar."""

from __future__ import annotations

import sys

from swmrview.gui import errors


def test_slot_exception_is_shown_with_details(make_window, qtbot, caplog, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)   # restored after the test
    errors.install_exception_hook()
    window = make_window(None)

    try:
        raise RuntimeError("a broken slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())   # what Qt does with an exception from a slot
    assert "a broken slot" in window.status_bar.label.text()
    assert window.status_bar.details_button.isVisibleTo(window)
    assert "Traceback" in window.status_bar.details
    assert any("a broken slot" in r.getMessage() for r in caplog.records)
    box = errors.show_details(window, "summary", window.status_bar.details)
    assert "a broken slot" in box.detailedText()
    box.close()
