"""Live frames binned for the screen in the session; frames asked for by position are whole."""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.model.messages import Update


def _image_scan(path, n=6, size=64):
    frames = np.arange(n * size * size, dtype=np.uint16).reshape(n, size, size)
    with h5py.File(path, "w") as h5:
        h5.attrs["default"] = "entry"
        entry = h5.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="plot")
        plot = entry.create_group("plot")
        plot.attrs.update(NX_class="NXdata", signal="data", axes=["x", ".", "."])
        plot.create_dataset("data", data=frames, chunks=(1, size, size))
        plot["x"] = np.arange(n, dtype=float)
    return frames


def _frames(follow_):
    return [m for m in follow_.session.step() if isinstance(m, Update)]


def test_live_frames_come_binned_as_the_view_asks_and_points_come_whole(tmp_path, follow):
    path = tmp_path / "images.nxs"
    frames = _image_scan(path)
    f = follow(path)
    f.session.set_screen_binning(4)
    updates = []
    while not (f.session.status.terminal and not f.session.busy):
        updates += _frames(f)
    with_frames = [u for u in updates if u.frame is not None]
    assert with_frames, "no frame was sent"
    last = with_frames[-1]
    assert last.frame_binning == 4
    np.testing.assert_array_equal(last.frame, frames[last.frame_position[0]][::4, ::4])
    point = f.session.point((2,))
    assert point.binning == 1
    np.testing.assert_array_equal(point.frame, frames[2])
    # the map is of whole frames, whatever the screen shows
    read = [(u.positions, u.values["sum"]) for u in updates if len(u.positions)]
    positions = np.concatenate([p for p, _ in read])[:, 0]
    sums = np.concatenate([v for _, v in read])
    np.testing.assert_array_equal(sums, frames[positions].sum(axis=(1, 2)))


def test_screen_binning_one_sends_whole_live_frames(tmp_path, follow):
    path = tmp_path / "images.nxs"
    frames = _image_scan(path, n=3)
    f = follow(path)
    f.session.set_screen_binning(1)
    updates = []
    while not (f.session.status.terminal and not f.session.busy):
        updates += _frames(f)
    last = [u for u in updates if u.frame is not None][-1]
    assert last.frame_binning == 1
    np.testing.assert_array_equal(last.frame, frames[last.frame_position[0]])
