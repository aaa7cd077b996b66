"""View settings files: written, read back, and refused with a reason when they are wrong."""

from __future__ import annotations

import json

import pytest

from swmrview.core.channels import Channel
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


def test_a_missing_settings_file_is_said():
    with pytest.raises(SettingsFileError, match="cannot read settings"):
        ViewSettings.load("/nonexistent/view.json")
