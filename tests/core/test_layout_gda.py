"""GDA/Malcolm files as they are really written, read while a real writer process writes them.

Every per-point dataset, keys included, has an unlimited maxshape in every scan dimension and
grows from (1, ..., 1); only ``diamond_scan/scan_shape`` gives the scan shape. Key links into
detector files that do not exist (yet) are dangling, not an error.
"""

from __future__ import annotations

import multiprocessing

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import LayoutError, find_layout

SHAPE = (3, 4)
FRAME = (5, 6)


def _grow(ds: h5py.Dataset, pos: tuple[int, ...]) -> None:
    rank = len(pos)
    needed = tuple(max(n, p + 1) for n, p in zip(ds.shape[:rank], pos))
    if needed != ds.shape[:rank]:
        ds.resize(needed + ds.shape[rank:])


def gda_writer(path: str, ready, go, key_tail: tuple) -> None:
    """Write a 3x4 GDA scan: one point, wait for ``go``, then the rest and the flag."""
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="det")
        scan = entry.create_group("diamond_scan")
        scan["scan_shape"] = np.array(SHAPE, np.int32)
        scan["scan_rank"] = np.int32(len(SHAPE))
        flag = scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,), dtype="i4")
        keys = scan.create_group("keys")
        grow = dict(maxshape=(None, None), chunks=(1, 4))
        unique = keys.create_dataset("uniqueKeys", shape=(1, 1), dtype="i4", **grow)
        det_key = keys.create_dataset("detector", shape=(1, 1) + key_tail, dtype="i4",
                                      maxshape=(None,) * (2 + len(key_tail)),
                                      chunks=(1, 4) + key_tail)
        nxdata = entry.create_group("det")
        nxdata.attrs.update(NX_class="NXdata", signal="data",
                            axes=np.array(["y_set", "x_set", ".", "."], dtype=h5py.string_dtype()))
        data = nxdata.create_dataset("data", shape=(1, 1) + FRAME, dtype="u2",
                                     maxshape=(None, None) + FRAME, chunks=(1, 1) + FRAME)
        total = nxdata.create_dataset("total", shape=(1, 1), dtype="f8", **grow)
        for name, n in (("y_set", SHAPE[0]), ("x_set", SHAPE[1])):
            nxdata.create_dataset(name, data=np.arange(n, dtype="f8"), chunks=(n,))
            nxdata[name].attrs["units"] = "mm"
        positions = nxdata.create_dataset("x", shape=(1, 1), dtype="f8", **grow)  # scan-shaped
        nxdata.attrs["x_indices"] = np.array([0, 1])
        f.swmr_mode = True
        for index in range(SHAPE[0] * SHAPE[1]):
            pos = np.unravel_index(index, SHAPE)
            for ds in (data, total, positions, unique, det_key):
                _grow(ds, pos)
            data[pos] = np.full(FRAME, index, "u2")
            total[pos] = index
            positions[pos] = pos[1] + 0.1 * pos[0]
            for ds in (data, total, positions):
                ds.flush()
            unique[pos] = index + 1
            det_key[pos] = index + 1
            unique.flush()
            det_key.flush()
            if index == 0:
                ready.set()
                go.wait(30)
        flag[0] = 1
        flag.flush()


@pytest.fixture
def live_gda(tmp_path):
    procs = []

    def start(key_tail=(1, 1)):
        path = tmp_path / "gda.nxs"
        ready, go = multiprocessing.Event(), multiprocessing.Event()
        proc = multiprocessing.Process(target=gda_writer, args=(str(path), ready, go, key_tail))
        proc.start()
        procs.append((proc, go))
        assert ready.wait(30), "the writer never wrote its first point"
        return path, go, proc

    yield start
    for proc, go in procs:
        go.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


@pytest.mark.parametrize("key_tail", [(1, 1), ()], ids=["NDArrayUniqueId-like", "plain"])
@pytest.mark.slow
def test_live_gda_scan_from_its_first_point(live_gda, key_tail):
    path, go, proc = live_gda(key_tail)
    with h5py.File(path, "r", swmr=True) as f:
        assert f["/entry/det/data"].shape == (1, 1) + FRAME          # really one point in
        layout = find_layout(f)
    assert layout.gda and layout.scan_rank == 2 and layout.scan_shape == SHAPE
    assert set(layout.keys) == {"/entry/diamond_scan/keys/uniqueKeys",
                                "/entry/diamond_scan/keys/detector"}
    assert layout.finished == "/entry/diamond_scan/scan_finished"
    assert layout.signal == "/entry/det/data" and layout.frame_shape == FRAME
    assert layout.data == ("/entry/det/data", "/entry/det/total")     # matched by rank, not size
    assert layout.axes == ("/entry/det/y_set", "/entry/det/x_set")
    assert layout.axis_units == ("mm", "mm") and layout.notes == ()
    go.set()
    proc.join(30)
    assert proc.exitcode == 0
    with h5py.File(path, "r") as f:
        assert find_layout(f) == layout          # the same answer once the scan is finished


def test_scan_shaped_positioner_is_the_axis(tmp_path):
    path = tmp_path / "pos.nxs"
    with h5py.File(path, "w") as f:
        scan = f.create_group("entry/diamond_scan")
        scan["scan_shape"] = np.array(SHAPE, np.int32)
        scan["keys/uniqueKeys"] = np.ones(SHAPE, np.int32)
        plot = f.create_group("entry/plot")
        plot.attrs.update(NX_class="NXdata", signal="total", axes=np.array(["y", "x"], "S"))
        plot["total"] = np.ones(SHAPE)
        plot["y"] = np.ones(SHAPE)            # per-point positions (uneven, snake...)
        plot["x"] = np.ones((SHAPE[1] + 1,))  # fits no dimension: ignored, its name kept
        plot["x"].attrs["units"] = "um"
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.axes == ("/entry/plot/y", None) and layout.axis_names == ("y", "x")
    assert layout.data == ("/entry/plot/total",)


def test_dangling_key_then_the_detector_file_appears(tmp_path):
    path = tmp_path / "scan.nxs"
    with h5py.File(path, "w", libver="latest") as f:
        scan = f.create_group("entry/diamond_scan")
        scan["scan_shape"] = np.array([4], np.int32)
        scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,), dtype="i4")
        scan["keys/uniqueKeys"] = np.zeros((1,), np.int32)
        scan["keys/det"] = h5py.ExternalLink("scan-det.h5", "/entry/NDAttributes/NDArrayUniqueId")
        f["entry/plot/data"] = h5py.ExternalLink("scan-det.h5", "/entry/detector/data")
        f["entry/plot"].attrs.update(NX_class="NXdata", signal="data")
        f["entry"].attrs.update(NX_class="NXentry", default="plot")
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.keys == ("/entry/diamond_scan/keys/uniqueKeys",)
    assert layout.dangling_keys == ("/entry/diamond_scan/keys/det",)
    assert layout.missing_files == (str(tmp_path / "scan-det.h5"),)
    assert layout.signal is None and layout.scan_shape == (4,)

    with h5py.File(tmp_path / "scan-det.h5", "w") as d:
        d.create_dataset("entry/NDAttributes/NDArrayUniqueId", shape=(1, 1, 1),
                         maxshape=(None, None, None), dtype="i4")
        d.create_dataset("entry/detector/data", shape=(1, 8, 8), maxshape=(None, 8, 8),
                         dtype="u2")
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.dangling_keys == () and layout.missing_files == ()
    assert "/entry/diamond_scan/keys/det" in layout.keys and layout.scan_rank == 1
    assert layout.signal == "/entry/plot/data" and layout.frame_shape == (8, 8)


def test_all_keys_dangling_in_a_finished_scan_shows_the_data(tmp_path):
    path = tmp_path / "k.nxs"
    with h5py.File(path, "w") as f:
        scan = f.create_group("entry/diamond_scan")
        scan["scan_shape"] = np.array([6], np.int32)
        scan["scan_finished"] = np.array([1], np.int32)
        scan["keys/det"] = h5py.ExternalLink("gone.h5", "/entry/NDAttributes/NDArrayUniqueId")
        f["entry/instrument/cam/data"] = np.ones((6, 3, 3), np.uint16)
        f["entry/instrument/cam"].attrs["NX_class"] = "NXdetector"
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.keys == () and layout.dangling_keys == ("/entry/diamond_scan/keys/det",)
    assert layout.signal == "/entry/instrument/cam/data" and layout.scan_shape == (6,)


def test_keys_that_really_disagree_are_an_error(tmp_path):
    path = tmp_path / "bad.nxs"
    with h5py.File(path, "w") as f:
        scan = f.create_group("entry/diamond_scan")
        scan["keys/a"] = np.ones((4, 5), np.int32)
        scan["keys/b"] = np.ones((20, 3, 2), np.int32)
    with h5py.File(path, "r") as f:
        with pytest.raises(LayoutError, match="different scan ranks|does not fit"):
            find_layout(f)


def test_declared_shape_wins_over_growing_sizes(tmp_path):
    # Stopped after its first point (flag not set): every dataset is (1, 1); only scan_shape
    # knows (3, 4).
    path = tmp_path / "first.nxs"
    with h5py.File(path, "w") as f:
        scan = f.create_group("entry/solstice_scan")
        scan["scan_shape"] = np.array(SHAPE, np.int32)
        scan["scanRank"] = np.int32(2)
        scan["scan_finished"] = np.zeros((1,), np.int32)
        scan.create_dataset("keys/uniqueKeys", shape=(1, 1), maxshape=(None, None), dtype="i4")
        f.create_dataset("entry/instrument/det/data", shape=(1, 1, 4), maxshape=(None,) * 3,
                         dtype="f4")
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.scan_shape == SHAPE and layout.data == ("/entry/instrument/det/data",)


def test_missing_detector_file_maps_the_scans_own_keys_and_names_the_file(tmp_path):
    """SPEC 5: a signal in a missing external file: map the file's own fields, name the file."""
    from tests.writers.malcolm_files import DETECTOR_FILE, missing_detector_scan

    path = missing_detector_scan(tmp_path / "scan-1234.nxs")
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.scan_shape == (5, 5)
    assert layout.dangling_keys == ("/entry/diamond_scan/keys/det_uid",)
    assert layout.signal == "/entry/diamond_scan/keys/uniqueKeys" and layout.frame_shape == ()
    assert layout.data[1:] == ("/entry/det/stagex_value", "/entry/det/stagey_value")  # readbacks
    assert layout.axes == ("/entry/det/stagey_value_set", "/entry/det/stagex_value_set")
    assert layout.missing_files == (str(tmp_path / DETECTOR_FILE),)
    assert DETECTOR_FILE in layout.notes[0] and "missing" in layout.notes[0]
