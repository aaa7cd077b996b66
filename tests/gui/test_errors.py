"""No silent failures: an exception in a slot is logged and shown in the status bar."""

from __future__ import annotations

import sys

import pytest

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


@pytest.mark.slow
def test_slot_exception_during_a_live_scan_stays_shown(sim_writer, make_window, qtbot,
                                                       monkeypatch):
    """Each live step's status used to replace the message (and hide the button) at once."""
    from swmrview.tools.simulate import SimConfig

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.install_exception_hook()
    path, _proc = sim_writer(SimConfig(shape=(40,), frame=(8, 8), rate=40.0))
    window = make_window(path)
    qtbot.waitUntil(lambda: window.status.kind == "live", timeout=10_000)
    try:
        raise RuntimeError("a broken slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    qtbot.wait(300)  # several status updates
    assert window.status.kind == "live"
    assert "a broken slot" in window.status_bar.label.text()
    assert "Live" in window.status_bar.label.text()
    assert window.status_bar.details_button.isVisibleTo(window)
    assert "Traceback" in window.status_bar.details
    window.status_bar.details_button.click()  # seen: the status alone again
    assert "a broken slot" not in window.status_bar.label.text()
    for box in window.findChildren(errors.QMessageBox):
        box.close()


def test_reference_cycles_are_collected_in_the_gui_thread_only(make_window, qtbot):
    """Python's automatic collector could run in the follower thread and destroy a closed
    window's Qt objects there (a deadlock); the window collects them on a GUI timer."""
    import gc

    window = make_window()
    assert not gc.isenabled()
    from swmrview.gui import errors

    collector = errors._COLLECTOR
    assert collector is not None and collector.timer.isActive()
    assert collector.timer.thread() is window.thread()
