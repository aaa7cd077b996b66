"""Live NeXus export (no Qt): a real writer feeds a Session, its updates go into a LiveExport,
and another process follows the export file live with swmrview.core's DataSource."""

from __future__ import annotations

import multiprocessing
import queue as queue_mod
import time

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import find_layout
from swmrview.session.arrays import write_array
from swmrview.session.export import FINISHED, KEYS, NXDATA, LiveExport
from swmrview.session.export_feed import next_export_path
from swmrview.model.messages import Axis, ScanInfo, Update
from swmrview.model.options import ViewerOptions
from swmrview.session.session import Session
from swmrview.model.status import FINISHED as FINISHED_STATUS
from swmrview.model.status import LIVE
from swmrview.model.view_state import ViewState
from tests.writers import gda_writer as gda


def follow_export(path: str, out: multiprocessing.Queue, timeout: float) -> None:
    """In another process: follow the export by its keys and flag, as a user's script would."""
    from swmrview.core import DataSource
    from swmrview.core.files.opening import open_swmr

    try:
        f = open_swmr(path, retry_for=timeout)
        source = DataSource([f[KEYS]], {n: f[f"{NXDATA}/{n}"] for n in ("sum", "mean", "max")},
                            timeout=timeout, finished_dataset=f[FINISHED])
        for point in source:
            position = tuple(s.start for s in point.slice_metadata)
            out.put(("point", position, {n: float(np.ravel(point[n])[0])
                                         for n in ("sum", "mean", "max")},
                     source.is_scan_finished()))
        out.put(("end", source.is_scan_finished(), source.has_timed_out(),
                 tuple(source.kf.scan_shape)))
        f.close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(("error", repr(exc)))


def _drain(q, into: list, wait: float = 0.0) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            into.append(q.get(timeout=max(0.0, deadline - time.monotonic()) or 0.01))
        except queue_mod.Empty:
            return


@pytest.mark.parametrize("late", [False, True], ids=["from-start", "started-mid-scan"])
@pytest.mark.slow
def test_export_followed_live_by_another_process(tmp_path, late):
    src, out = tmp_path / "scan.nxs", tmp_path / "export.nxs"
    writer = gda.start_gda_writer(src, (4, 5), frame_shape=(6, 4), rate=40)
    session = Session(ViewerOptions(path=str(src), timeout=10.0, stall_after=1.0))
    ctx = multiprocessing.get_context("spawn")
    got: list = []
    q = ctx.Queue()
    reader = None
    state: ViewState | None = None
    export: LiveExport | None = None
    try:
        deadline = time.monotonic() + 60
        while not (session.status.terminal and not session.busy):
            assert time.monotonic() < deadline, session.status
            for message in session.step():
                if isinstance(message, ScanInfo):
                    state = ViewState(message)
                    if not late:
                        export = LiveExport(out, message)
                        session.set_reductions(export.reductions)   # as the window asks
                elif state is not None:
                    state.apply(message)
                    if export is not None:
                        export.apply(message)
            if late and export is None and state is not None and state.n_acquired >= 5:
                assert session.status.kind == LIVE
                export = LiveExport(out, state.info)
                assert export.apply_state(state) == state.n_acquired   # what came before
                session.set_reductions(export.reductions)   # max filled in over those points
            if export is not None and reader is None:
                reader = ctx.Process(target=follow_export, args=(str(out), q, 20.0), daemon=True)
                reader.start()
            time.sleep(0.01)
        writer.join(10)
        assert session.status.kind == FINISHED_STATUS, session.status
        # the reader sees points while the export is still being written (flag not set yet)
        deadline = time.monotonic() + 30
        while not any(m[0] == "point" for m in got):
            assert time.monotonic() < deadline and reader.is_alive(), got
            _drain(q, got, 0.2)
        assert not export.finished
        export.finish()
        reader.join(30)
        _drain(q, got, 0.5)
    finally:
        if export is not None:
            export.close()
        session.close()
        if reader is not None and reader.is_alive():
            reader.terminate()
        if writer.is_alive():
            writer.terminate()

    assert not [m for m in got if m[0] == "error"], got
    points = [m for m in got if m[0] == "point"]
    assert not points[0][3]                                   # read before the flag was set
    assert got[-1][0] == "end" and got[-1][2] is False, got[-1]   # not timed out
    assert got[-1][3][1:] == (5,)             # the slow length is open (maxshape None)
    assert sorted(p[1] for p in points) == sorted(np.ndindex(4, 5))
    maps = state.map.values
    for position, values, _ in (p[1:] for p in points):
        for name, value in values.items():
            assert value == maps[name][position], (name, position)

    with h5py.File(out, "r") as f:
        for name in ("sum", "mean", "max"):
            np.testing.assert_array_equal(f[f"{NXDATA}/{name}"][()], maps[name])
        assert (f[KEYS][()] > 0).all() and sorted(f[KEYS][()].ravel()) == list(range(1, 21))
        assert f[FINISHED][0] == 1 and f[FINISHED].maxshape == (None,)
        names = gda.motor_names(2)
        for d, name in enumerate(names):
            axis = f[f"{NXDATA}/{name}_value_set"]
            # the motor positions the viewer knows (the session re-reads them once a second;
            # positions not read yet continue the last step, as the map's coordinates do)
            np.testing.assert_array_equal(axis[()], state.coordinates(d))
            assert axis.attrs["units"] == "mm"
        layout = find_layout(f)
    expected = np.array([gda.expected_sum(i, (6, 4)) for i in range(20)]).reshape(4, 5)
    np.testing.assert_array_equal(maps["sum"], expected)
    assert layout.keys == (KEYS,) and layout.finished == FINISHED
    assert layout.signal == f"{NXDATA}/sum"
    assert layout.axis_names == tuple(f"{n}_value_set" for n in gda.motor_names(2))
    assert layout.axis_units == ("mm", "mm") and layout.scan_shape[1:] == (5,)


def _info(shape, axes=()) -> ScanInfo:
    return ScanInfo(generation=1, path="/in.h5", mode="keys", scan_shape=shape, axes=axes,
                    data_path="/entry/data/data", data_paths=("/entry/data/data",),
                    frame_shape=(8,), dtype="uint16", tree={})


def test_unknown_lengths_grow_with_the_points(tmp_path):
    """A slow axis of unknown length: the datasets start at one row and grow; values first."""
    out = tmp_path / "grow.nxs"
    axes = (Axis("y", "um", np.array([0.0])), Axis("sum", None, np.arange(3.0)))
    export = LiveExport(out, _info((None, 3), axes), reductions=("max", "sum"))
    with h5py.File(out, "r", swmr=True) as r:          # SWMR already on: a reader can open
        assert r[f"{NXDATA}/max"].maxshape == (None, None)
        assert r[f"{NXDATA}"].attrs["signal"] == "max"
        assert list(r[NXDATA].attrs["axes"]) == ["y", "sum_2"]   # no clash with a channel
        positions = np.array([[0, 0], [0, 1], [0, 2], [1, 0]])
        update = Update(generation=1, status=None, positions=positions,
                        values={"sum": np.arange(4.0), "max": np.arange(4.0) * 10,
                                "mean": np.zeros(4)}, new_points=4, scan_shape=(2, 3),
                        axes=(Axis("y", "um", np.array([0.0, 0.25])), axes[1]))
        assert export.apply(update) == 4
        keys = r[KEYS]
        keys.refresh()
        assert keys.shape == (2, 3)
        np.testing.assert_array_equal(keys[()], [[1, 2, 3], [4, 0, 0]])
        data = r[f"{NXDATA}/sum"]
        data.refresh()
        np.testing.assert_array_equal(data[1, :1], [3.0])
        assert np.isnan(data[1, 1:]).all()
        y = r[f"{NXDATA}/y"]
        y.refresh()
        np.testing.assert_array_equal(y[()], [0.0, 0.25])
        assert "mean" not in r[NXDATA]                     # only the chosen channels
        # a point recomputed (not new) keeps its key; a point far out grows the datasets
        export.write_points(np.array([[0, 0], [3, 2]]), {"sum": np.array([9.0, 7.0])})
        keys.refresh()
        assert keys.shape == (4, 3) and keys[0, 0] == 1 and keys[3, 2] == 5
        y.refresh()
        np.testing.assert_array_equal(y[()], [0.0, 0.25, 0.5, 0.75])
    export.finish()
    assert export.closed
    with h5py.File(out, "r") as f:
        layout = find_layout(f)
        assert f[FINISHED][()].tolist() == [1]
        assert f[f"{NXDATA}/sum"][0, 0] == 9.0 and f[f"{NXDATA}/sum"][3, 2] == 7.0
    assert layout.keys == (KEYS,) and layout.signal == f"{NXDATA}/max"
    assert layout.axis_units == ("um", None)


def test_roi_values_of_another_roi_are_not_written(tmp_path):
    export = LiveExport(tmp_path / "roi.nxs", _info((2,)), reductions=("roi",), roi=(1, 4))
    base = dict(generation=1, status=None, positions=np.array([[0]]), new_points=1)
    export.apply(Update(values={"roi": np.array([5.0])}, roi=(0, 2), **base))
    export.apply(Update(values={"roi": np.array([6.0])}, roi=(1, 4), **base))
    export.finish()
    with h5py.File(tmp_path / "roi.nxs", "r") as f:
        assert f[f"{NXDATA}/roi"][0] == 6.0
        assert list(f[f"{NXDATA}/roi"].attrs["roi"]) == [1, 4]


def test_a_single_frame_has_no_map_to_export(tmp_path):
    with pytest.raises(ValueError, match="no map"):
        LiveExport(tmp_path / "x.nxs", _info(()))


def test_next_export_path_for_changed_channels(tmp_path):
    first = tmp_path / "out.nxs"
    assert next_export_path(first) == str(tmp_path / "out-2.nxs")
    (tmp_path / "out-2.nxs").write_bytes(b"")
    assert next_export_path(first) == str(tmp_path / "out-3.nxs")
    assert next_export_path(tmp_path / "out-3.nxs") == str(tmp_path / "out-4.nxs")


def test_write_array_tiff_and_csv(tmp_path):
    import tifffile

    image = np.arange(12, dtype=np.uint16).reshape(3, 4)
    write_array(tmp_path / "f.tiff", image)
    back = tifffile.imread(tmp_path / "f.tiff")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)
    plane = np.array([[1.5, np.nan], [2.0, 3.0]])
    write_array(tmp_path / "m.tif", plane)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "m.tif"), plane)  # NaN kept
    write_array(tmp_path / "m.csv", plane, comments=["swmrview map"])
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "m.csv", delimiter=","), plane)
    assert (tmp_path / "m.csv").read_text().startswith("# swmrview map")
    write_array(tmp_path / "s.csv", np.arange(5))              # a spectrum: one value a line
    assert (tmp_path / "s.csv").read_text().split() == ["0", "1", "2", "3", "4"]
    with pytest.raises(ValueError, match=".png, .tif"):
        write_array(tmp_path / "x.jpg", image)


def test_points_without_values_yet_are_keyed_when_their_values_come(tmp_path):
    """An export started just after a dataset switch: the points are acquired but their values
    are being recomputed; they are keyed only when the recomputed values arrive."""
    info = _info((1, 3))
    state = ViewState(info)
    state.apply(Update(generation=1, status=None, positions=np.array([[0, 0], [0, 1]]),
                       values={"sum": np.array([1.0, 2.0]), "mean": np.array([1.0, 2.0]),
                               "max": np.array([1.0, 2.0])}, new_points=2))
    state.new_dataset(info)                                  # values cleared, points kept
    export = LiveExport(tmp_path / "switch.nxs", info)
    assert export.apply_state(state) == 0
    recomputed = Update(generation=1, status=None, positions=np.array([[0, 1]]),
                        values={"sum": np.array([5.0])}, new_points=0)
    assert export.apply(recomputed) == 1
    export.finish()
    with h5py.File(tmp_path / "switch.nxs", "r") as f:
        assert f[KEYS][()].tolist() == [[0, 1, 0]]
        assert f[f"{NXDATA}/sum"][0, 1] == 5.0


@pytest.mark.parametrize("threaded", [False, True])
def test_feed_starts_a_new_file_for_a_new_scan_or_dataset(tmp_path, threaded):
    from swmrview.session.export_feed import ExportFeed

    out = tmp_path / "feed.nxs"
    feed = ExportFeed(threaded=threaded)
    feed.start(out)                                   # --export-nexus: before any scan
    first = _info((2, 2))
    state = ViewState(first)
    feed.scan_info(first, state)
    points = dict(status=None, new_points=2, values={"sum": np.array([1.0, 2.0]),
                                                     "mean": np.zeros(2), "max": np.zeros(2)})
    update = Update(generation=1, positions=np.array([[0, 0], [0, 1]]), **points)
    state.apply(update)
    feed.scan_update(update)
    feed.scan_update(Update(generation=7, positions=np.array([[1, 1]]), **points))  # not ours
    second = ScanInfo(**{**first.__dict__, "generation": 2, "data_path": "/other"})
    state2 = ViewState(second)
    feed.scan_info(second, state2)                    # another dataset: the next file
    feed.scan_update(Update(generation=2, positions=np.array([[1, 0], [1, 1]]), **points))
    assert feed.active
    feed.close()
    assert not feed.active and feed.error is None
    assert feed.paths == [str(out), str(tmp_path / "feed-2.nxs")]
    with h5py.File(out, "r") as f:
        assert f[FINISHED][0] == 1 and f[KEYS][()].tolist() == [[1, 2], [0, 0]]
        assert f["/entry/source_dataset"].asstr()[()] == "/entry/data/data"
    with h5py.File(tmp_path / "feed-2.nxs", "r") as f:
        assert f[FINISHED][0] == 1 and f[KEYS][()].tolist() == [[0, 0], [1, 2]]
        assert f["/entry/source_dataset"].asstr()[()] == "/other"


def test_feed_says_why_a_file_cannot_be_written(tmp_path):
    from swmrview.session.export_feed import ExportFeed

    feed = ExportFeed(threaded=True)
    state = ViewState(_info((2,)))
    assert feed.start(tmp_path / "no" / "such" / "dir.nxs", state)   # found by the thread
    feed.wait()
    assert "cannot export to" in feed.error and not feed.active
    assert not feed.start(tmp_path / "x.nxs", ViewState(_info(())))
    assert "single frame" in feed.error
    feed.close()


def test_map_channels_are_exported_live_and_a_new_channel_starts_the_next_file(tmp_path,
                                                                                follow):
    """i18 (real XRF map): channels written with their specs; a channel added after the scan
    ended goes to feed-2.nxs, each point keyed only once its values are there."""
    import json
    from pathlib import Path

    from swmrview.core.compute.channels import Channel
    from swmrview.session.export_feed import ExportFeed

    data = Path(__file__).resolve().parents[1] / "data" / "i18_test_data.nxs"
    mcas, i0 = "/entry1/xspress3/MCAs", "/entry1/raster_counterTimer01/I0"
    with h5py.File(data, "r", locking=False) as f:
        spectra, monitor = f[mcas][()], f[i0][()]
    co = Channel("Co/I0", "window", bounds=(1200, 1400), elements=(6, 8, 9), monitor=i0)
    out = tmp_path / "feed.nxs"
    feed = ExportFeed()
    feed.start(out)
    f = follow(data, data=(mcas,))
    applied = []

    def step():
        for message in f.session.step():
            if isinstance(message, ScanInfo):
                f.infos.append(message)
                f.state = ViewState(message)
                f.state.set_channels((co,))
                f.session.set_channels((co,))
                feed.scan_info(message, f.state)
            elif f.state is not None:
                f.state.apply(message)
                feed.scan_update(message)
                applied.append(message)
            f.statuses.append(message.status if hasattr(message, "status") else None)

    f.step = step
    f.until(lambda f: f.session.status.terminal and not f.session.busy)
    later = Channel("top", "max")
    f.state.set_channels((co, later))
    feed.channels_changed(f.state)
    f.session.set_channels((co, later))
    f.until(lambda f: np.isfinite(f.state.values("top")).all())
    feed.close()
    assert feed.paths == [str(out), str(tmp_path / "feed-2.nxs")]
    want = spectra[:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2)) / monitor
    with h5py.File(out, "r") as h:
        ds = h[f"{NXDATA}/Co_over_I0"]
        np.testing.assert_allclose(ds[()], want)
        assert ds.attrs["long_name"] == "Co/I0"
        assert Channel.from_dict(json.loads(ds.attrs["channel"])) == co
        assert h[KEYS][()].min() > 0 and h[FINISHED][0] == 1
    with h5py.File(tmp_path / "feed-2.nxs", "r") as h:
        np.testing.assert_allclose(h[f"{NXDATA}/top"][()], spectra.max(axis=(-1, -2)))
        np.testing.assert_allclose(h[f"{NXDATA}/Co_over_I0"][()], want)
        assert sorted(h[KEYS][()].ravel().tolist()) == [1, 2, 3, 4]
