"""View settings files: written, read back, and refused with a reason when they are wrong."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from swmrview.core.compute.channels import Channel
from swmrview.model.view_settings import SettingsFileError, ViewSettings


def test_settings_round_trip_through_a_small_json_file(tmp_path):
    view = ViewSettings(channels=(Channel("Fe", "window", bounds=(6.2, 6.6), elements=(0, 1),
                                          monitor="/entry/I0/data"),
                                  Channel("spot", "polygon",
                                          polygon=((1, 2), (30, 2), (15, 40)))),
                        colormap="magma", map_scale="log", shown="Fe", overlay=("spot",))
    path = tmp_path / "beamline.json"
    view.save(path)
    assert ViewSettings.load(path) == view
    data = json.loads(path.read_text())
    assert data["format"] == "swmrview-view-settings" and data["channels"][0]["name"] == "Fe"
    assert len(path.read_text()) < 1000
    assert not (tmp_path / "beamline.json.tmp").exists()


@pytest.mark.parametrize("text, said", [
    ("{", "not JSON"),
    ('{"channels": []}', "not a swmrview view settings file"),
    ('{"format": "swmrview-view-settings", "version": 99}', "newer"),
    ('{"format": "swmrview-view-settings", "channels": [{"name": "a", "kind": "median"}]}',
     "median"),
    ('{"format": "swmrview-view-settings", "channels": [{"name": "a", "colour": 1}]}',
     "colour"),
    ('{"format": "swmrview-view-settings", "channels": [{"name": "a"}, {"name": "a"}]}',
     "same name"),
])
def test_a_wrong_settings_file_is_refused_with_the_reason(tmp_path, text, said):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SettingsFileError, match=said) as info:
        ViewSettings.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("raw, said", [
    (bytes(range(128, 256)), "not UTF-8 text (byte 0x80 at position 0)"),
    ('{"format": "swmrview-view-settings"}'.encode("utf-16"), "UTF-16 text"),
    (b'{"format": "swmrview-view-settings", "version": "x"}', '"version" must be a whole'),
    (b'{"format": "swmrview-view-settings", "version": null}', '"version" must be a whole'),
    (b"null", "it holds null, not an object"),
    (b"[1, 2]", "it holds [1, 2], not an object"),
])
def test_a_file_that_is_not_settings_at_all_is_said_plainly(tmp_path, raw, said):
    path = tmp_path / "view.json"
    path.write_bytes(raw)
    with pytest.raises(SettingsFileError) as info:
        ViewSettings.load(path)
    assert str(info.value).startswith(f"{path} is not a swmrview view settings file: ")
    assert said in str(info.value)


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "view.json"
    path.write_bytes(ViewSettings(colormap="magma").to_json().encode("utf-8-sig"))
    assert ViewSettings.load(path).colormap == "magma"


S = '{"format": "swmrview-view-settings", '


@pytest.mark.parametrize("text, said", [
    (S + '"channels": [{"name": "Fe", "colour": "red"}]}',
     "channel 'Fe': unknown field 'colour' (known: name, kind, dataset, bounds, polygon, "
     "elements, monitor, step, background, azimuth, column)"),
    (S + '"channels": [{"kind": "sum"}]}', "a channel has no name"),
    (S + '"channels": [{"name": "Fe", "kind": "median"}]}',
     "channel 'Fe': unknown kind 'median' (known: sum, mean, max, rect, polygon, window, "
     "q-window, fitted)"),
    (S + '"channels": [{"name": "Fe", "kind": "window", "bounds": "6.2-6.6"}]}',
     "channel 'Fe': bounds must be a list of numbers, not \"6.2-6.6\""),
    (S + '"channels": [{"name": "Fe", "elements": "0-3"}]}',
     "channel 'Fe': elements must be a list of element numbers"),
    (S + '"channels": [{"name": "Fe", "monitor": 5}]}', "channel 'Fe': monitor must be text"),
    (S + '"channels": [{"name": "P", "kind": "polygon", "polygon": [1, 2, 3]}]}',
     "channel 'P': polygon must be a list of [x, y] vertices"),
    (S + '"channels": ["Fe"]}', "a channel must be an object"),
    (S + '"channels": {"name": "Fe"}}', '"channels" must be a list of channels'),
    (S + '"colormap": "jet"}', 'unknown colormap "jet" (known: viridis, magma'),
    (S + '"map_scale": "sqrt"}', 'unknown map scale "sqrt" (known: linear, log, 1-99 %)'),
    (S + '"shown": "Fe"}', 'unknown shown map "Fe" (known: sum, mean, max, roi)'),
    (S + '"channels": [{"name": "Cu"}], "shown": "Fe"}', "(known: sum, mean, max, roi, Cu)"),
    (S + '"colormap": 3}', "the colormap must be a name, not 3"),
])
def test_wrong_fields_are_said_in_plain_words(tmp_path, text, said):
    path = tmp_path / "view.json"
    path.write_text(text)
    with pytest.raises(SettingsFileError) as info:
        ViewSettings.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and said in message
    assert "__init__" not in message and "argument" not in message


def test_the_shown_channel_names_what_the_scan_lacks():
    from types import SimpleNamespace

    view = ViewSettings(channels=(Channel("Fe", monitor="/entry/I0/data"),
                                  Channel("Cu", dataset="/entry/cu")), shown="Fe")
    info = SimpleNamespace(fields={"/entry/cu": ()}, frame_shape=(4, 16))
    assert view.shown_problem(info) == (
        "the shown channel 'Fe' cannot be made for this scan: no per-point monitor "
        "/entry/I0/data")
    assert replace(view, shown="Cu").shown_problem(info) is None
    assert replace(view, shown="sum").shown_problem(info) is None
    # what the follower refused (a monitor holding spectra) is said too
    info = SimpleNamespace(fields={"/entry/I0/data": (), "/entry/cu": ()}, frame_shape=(16,))
    assert "holds (3,)" in view.shown_problem(info, {"Fe": "monitor holds (3,) per point"})


def test_a_missing_settings_file_is_said():
    with pytest.raises(SettingsFileError, match="cannot read settings"):
        ViewSettings.load("/nonexistent/view.json")


def test_the_starting_view_is_the_settings_file_else_last_times_with_reduce_shown():
    from swmrview.model.view_settings import starting_view

    saved = ViewSettings(shown="Fe", colormap="magma")
    chosen = ViewSettings(shown="sum")
    assert starting_view(chosen, saved, "max") is chosen          # --settings wins
    assert starting_view(None, saved, None) == saved              # last time's shown map kept
    started = starting_view(None, saved, "max")                   # --reduce names the map
    assert started.shown == "max" and started.colormap == "magma"


def test_the_xrf_fit_configuration_is_a_settings_key_resolved_beside_the_file(tmp_path):
    """``xrf_config`` names a PyMca .cfg; a relative name is the .cfg beside the settings."""
    (tmp_path / "beamline").mkdir()
    path = tmp_path / "beamline" / "view.json"
    ViewSettings(xrf_config="fit.cfg").save(path)
    assert json.loads(path.read_text())["xrf_config"] == "fit.cfg"
    assert ViewSettings.load(path).xrf_config == str(tmp_path / "beamline" / "fit.cfg")
    assert "xrf_config" not in ViewSettings().to_dict()          # absent unless set
    absolute = ViewSettings(xrf_config="/data/cfg/fit.cfg")
    assert ViewSettings.from_json(absolute.to_json()) == absolute
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "swmrview-view-settings", "xrf_config": 3}')
    with pytest.raises(SettingsFileError, match="xrf_config.*PyMca .cfg file, not 3"):
        ViewSettings.load(bad)
