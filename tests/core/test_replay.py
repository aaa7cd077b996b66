"""``swmrview --replay``: real finished files rewritten as live SWMR scans by a real process.

A plain h5py reader follows each replay: per-point datasets grow from (1, ..., 1) with maxshape
None in every scan dim, a keyed point's data is already there when its key is, the finished flag
comes last, and at the end every dataset of the original equals the replay's.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (compressed real data)
import numpy as np
import pytest

from swmrview.tools import replay
from swmrview.tools.replay import ReplayError, replay_scan, start_replay
from swmrview.tools.replay import points as replay_points
from swmrview.core import GrowthFollower, open_swmr
from swmrview.core.files.layout import find_layout
from tests.writers import gda_writer as gw

DATA = Path(__file__).resolve().parents[1] / "data"


def _open(path: Path, deadline: float) -> h5py.File:
    while True:
        try:
            return h5py.File(path, "r", swmr=True)
        except (OSError, FileNotFoundError):
            assert time.monotonic() < deadline, f"{path} never opened"
            time.sleep(0.005)


def _join(proc, timeout: float = 60) -> int:
    proc.join(timeout)
    assert not proc.is_alive(), "replay did not finish"
    return proc.exitcode


def _equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def assert_same_file(original: Path, replayed: Path) -> int:
    """Every group, attribute, link and dataset of ``original`` is in ``replayed``, equal.

    External links are followed where the original's target exists. Returns datasets compared.
    """
    compared = 0
    with h5py.File(original, "r") as fo, h5py.File(replayed, "r", swmr=True) as fr:
        def walk(go: h5py.Group, gr: h5py.Group, seen: set) -> None:
            nonlocal compared
            assert set(go) == set(gr), f"members of {go.name} differ"
            assert set(go.attrs) == set(gr.attrs), f"attributes of {go.name} differ"
            for name in go.attrs:
                assert _equal(go.attrs[name], gr.attrs[name]), f"{go.name}@{name}"
            for name in go:
                lo, lr = go.get(name, getlink=True), gr.get(name, getlink=True)
                path = f"{go.name.rstrip('/')}/{name}"
                assert type(lo) is type(lr), f"link type of {path}"
                if isinstance(lo, h5py.SoftLink):
                    assert lo.path == lr.path
                    continue
                if isinstance(lo, h5py.ExternalLink):
                    assert (lo.filename, lo.path) == (lr.filename, lr.path), path
                try:
                    obj = go[name]
                except (KeyError, OSError):
                    continue                      # dangling in the original too
                if isinstance(lo, h5py.HardLink) and obj.id in seen:
                    continue
                seen.add(obj.id)
                if isinstance(obj, h5py.Group):
                    walk(obj, gr[name], seen)
                    continue
                new = gr[name]
                assert new.dtype == obj.dtype, f"dtype of {path}"
                assert new.shape == obj.shape, f"shape of {path}: {new.shape} != {obj.shape}"
                for attr in obj.attrs:
                    assert _equal(obj.attrs[attr], new.attrs[attr]), f"{path}@{attr}"
                if obj.is_virtual or obj.shape is None:
                    continue
                assert _equal(obj[()], new[()]), f"values of {path}"
                compared += 1
        walk(fo, fr, set())
    return compared


# name, scan shape, a per-point dataset to watch, keys path, rate, batch (slow enough that the
# reader, which may open the file a few hundred ms late on a busy machine, still sees growth)
CASES = {
    "i07-418550.nxs": ((4,), "/entry/instrument/pil2roi/roi1_sum",
                       "/entry/diamond_scan/keys/uniqueKeys", 4.0, 1),
    "p45-example.nxs": ((1, 2), "/entry/instrument/mandelbrot/data",
                        "/entry/solstice_scan/keys/uniqueKeys", 1.0, 1),
    "k11-18014.nxs": ((3201,), "/entry/instrument/imaging/data",
                      "/entry/diamond_scan/keys/imaging", 1500.0, 40),
    "i21-13.nxs": ((20,), "/entry1/instrument/andor/count_time", None, 10.0, 1),
    "i18_test_data.nxs": ((2, 2), "/entry1/instrument/xspress3/AllElementSum", None, 2.0, 1),
}


def _finished_path(name: str) -> str | None:
    if name.startswith("p45"):
        return "/entry/solstice_scan/scan_finished"
    if name.startswith(("i07", "k11")):
        return "/entry/diamond_scan/scan_finished"
    return None


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.slow
def test_live_replay_of_a_real_file(tmp_path, processes, name):
    shape, watch, keys_path, rate, batch = CASES[name]
    rank = len(shape)
    source = DATA / name
    out = tmp_path / name
    proc = start_replay(source, out, rate=rate, batch=batch)
    processes.append(proc)
    deadline = time.monotonic() + 60
    finished_path = _finished_path(name)
    with h5py.File(source, "r") as orig:
        original = orig[watch][()]
        try:
            orig_keys = orig[keys_path][()] if keys_path else None
        except KeyError:                          # k11: a key link into a trimmed detector file
            orig_keys = None
    sizes: set[tuple[int, ...]] = set()
    flag_while_incomplete = False
    with _open(out, deadline) as f:
        data = f[watch]
        assert data.maxshape[:rank] == (None,) * rank       # unlimited in every scan dim
        assert data.chunks is not None
        keys = f[keys_path] if keys_path else None
        if keys is not None:
            assert keys.maxshape[:rank] == (None,) * rank
        flag = f[finished_path] if finished_path else None
        if flag is not None:
            flag.refresh()
            assert not np.any(flag[()]), "flag set before any point"
        while True:
            assert time.monotonic() < deadline, f"replay of {name} never completed"
            done = False
            if flag is not None:
                flag.refresh()
                done = bool(np.any(flag[()]))
            if keys is not None:
                keys.refresh()
            data.refresh()                       # after the keys: data at least as new
            sizes.add(data.shape[:rank])
            assert all(n <= m for n, m in zip(data.shape, original.shape))
            if keys is not None:
                k = keys[()].reshape(keys.shape[:rank] + (-1,))[..., 0]
                for pos in map(tuple, np.argwhere(k > 0)):
                    assert _equal(data[pos], original[pos]), f"key before data at {pos}"
                if done and np.count_nonzero(k) < k.size:
                    flag_while_incomplete = True
            if flag is None and data.shape[:rank] == shape:
                done = not proc.is_alive()
            if done:
                break
            time.sleep(0.01)
    assert _join(proc) == 0
    assert not flag_while_incomplete
    if int(np.prod(shape)) > 1:
        assert any(s != shape for s in sizes), f"never seen growing: {sizes}"
        assert min(sizes) < shape
    compared = assert_same_file(source, out)
    assert compared > 0
    if orig_keys is not None and keys_path.endswith("uniqueKeys"):
        with h5py.File(out, "r", swmr=True) as f:
            np.testing.assert_array_equal(f[keys_path][()], orig_keys)
    if finished_path:
        with h5py.File(out, "r", swmr=True) as f:
            assert np.all(f[finished_path][()] == 1)


def test_k11_detector_files_replayed_and_missing_ones_synthesised(tmp_path, caplog):
    out = tmp_path / "k11-18014.nxs"
    with caplog.at_level(logging.WARNING, logger="swmrview.tools.replay"):
        info = replay_scan(DATA / "k11-18014.nxs", out, rate=1e6, batch=500)
    assert info.scan_shape == (3201,)
    det_dir = tmp_path / "k11-18014"
    assert sorted(p.name for p in det_dir.iterdir()) == [
        "k11-18014-EtherCAT.h5", "k11-18014-detectorPanda.h5", "k11-18014-imaging.h5",
        "k11-18014-pcompPanda.h5"]
    messages = caplog.text
    assert "k11-18014-EtherCAT.h5 is missing" in messages
    assert "synthesised k11-18014-EtherCAT.h5:/entry/detector/detector" in messages
    with h5py.File(out, "r", swmr=True) as f:
        # the detector data that exists was written live into the replayed detector file
        with h5py.File(DATA / "k11-18014/k11-18014-imaging.h5", "r") as det:
            np.testing.assert_array_equal(f["/entry/instrument/imaging/data"][()],
                                          det["/entry/detector/detector"][()])
        assert f["/entry/instrument/imaging/data"].maxshape == (None, 22, 26)
        # every key (all four were missing in the original) is now there, in acquisition order
        for key in ("imaging", "pcomppanda", "ethercat", "detectorpanda"):
            k = f[f"/entry/diamond_scan/keys/{key}"]
            assert k.shape == (3201, 1, 1) and k.maxshape == (None, 1, 1)
            np.testing.assert_array_equal(k[:, 0, 0], np.arange(1, 3202))
        frames = f["/entry/EtherCAT/data"]             # synthesised small frames
        assert frames.shape == (3201,) + replay.SYNTH_FRAME and frames.dtype == np.uint16
        assert f["/entry/diamond_scan/scan_finished"][0] == 1


@pytest.mark.slow
def test_snake_order_comes_back_from_the_keys(tmp_path, processes):
    """A finished snake scan from the independent GDA writer replays in its key order."""
    original = tmp_path / "orig" / "snake.nxs"
    original.parent.mkdir()
    scan = gw.GdaScan((3, 4), frame_shape=(2, 3), rate=1e6, snake=True)
    gw.write_gda_scan(original, scan)
    out = tmp_path / "live" / "snake.nxs"
    out.parent.mkdir()
    proc = start_replay(original, out, rate=25.0)
    processes.append(proc)
    deadline = time.monotonic() + 60
    first_seen: dict[int, int] = {}
    with _open(out, deadline) as f:
        data, flag = f[gw.SIGNAL], f[gw.FINISHED]
        assert data.maxshape == (None, None, 2, 3)
        tick = 0
        while True:
            assert time.monotonic() < deadline
            flag.refresh()
            done = bool(flag[0])
            data.refresh()
            filled = data[()].reshape(data.shape[:2] + (-1,)).sum(axis=-1) > 0
            for pos in map(tuple, np.argwhere(filled)):
                first_seen.setdefault(int(np.ravel_multi_index(pos, (3, 4))), tick)
            tick += 1
            if done:
                break
            time.sleep(0.005)
    assert _join(proc) == 0
    order = sorted(first_seen, key=lambda i: first_seen[i])
    ticks = [first_seen[i] for i in gw.acquisition_order((3, 4), snake=True)]
    assert ticks == sorted(ticks), f"points appeared out of acquisition order: {order}"
    assert len(set(ticks)) > 4                       # really seen one by one, not all at once
    assert_same_file(original, out)


def test_gda_writer_scan_with_detector_file_replays_equal(tmp_path):
    original = tmp_path / "orig" / "scan.nxs"
    original.parent.mkdir()
    gw.write_gda_scan(original, gw.GdaScan((2, 5), frame_shape=(4,), rate=1e6,
                                           detector_file=True, drop=(3,)))
    out = tmp_path / "live" / "scan.nxs"
    replay_scan(original, out, rate=1e6)
    assert gw.detector_file_path(out).exists()
    assert_same_file(original, out)
    assert_same_file(gw.detector_file_path(original), gw.detector_file_path(out))
    with h5py.File(out, "r", swmr=True) as f:
        assert f[gw.UNIQUE_KEYS][0, 3] == 0               # the dropped point stays unkeyed


def test_areadetector_file_without_keys_or_flag(tmp_path):
    out = tmp_path / "pil.h5"
    info = replay_scan(DATA / "i22-119583-Pilatus2M.h5", out, rate=1e6)
    assert info.scan_shape == (1, 1) and info.keys == () and info.finished is None
    with h5py.File(out, "r", swmr=True) as f:
        data = f["/entry/instrument/detector/data"]
        assert data.maxshape == (None, None, 1679, 1475) and data.compression == "gzip"
        assert "keys" not in f["/entry"] and "diamond_scan" not in f["/entry"]
    assert_same_file(DATA / "i22-119583-Pilatus2M.h5", out)


def test_gda8_missing_detector_file_is_synthesised(tmp_path, caplog):
    out = tmp_path / "i21-13.nxs"
    with caplog.at_level(logging.WARNING, logger="swmrview.tools.replay"):
        info = replay_scan(DATA / "i21-13.nxs", out, rate=1e6)
    assert info.scan_shape == (20,) and info.source.endswith("scan_dimensions")
    assert "andor-13.hdf is missing" in caplog.text
    with h5py.File(out, "r", swmr=True) as f:
        frames = f["/entry1/andor/data"]
        assert frames.shape == (20,) + replay.SYNTH_FRAME and frames.maxshape[0] is None
        assert "keys" not in f["/entry1"]                # no keys invented


def test_refuses_to_overwrite_the_originals_detector_files(tmp_path):
    shutil.copy(DATA / "k11-18014.nxs", tmp_path / "k11-18014.nxs")
    shutil.copytree(DATA / "k11-18014", tmp_path / "k11-18014")
    before = (tmp_path / "k11-18014" / "k11-18014-imaging.h5").read_bytes()
    with pytest.raises(ReplayError, match="overwrite"):
        replay_scan(tmp_path / "k11-18014.nxs", tmp_path / "again.nxs", rate=1e6)
    assert (tmp_path / "k11-18014" / "k11-18014-imaging.h5").read_bytes() == before


def test_cli(tmp_path, capsys):
    from swmrview.cli import main as cli_main

    out = tmp_path / "p45.nxs"
    assert cli_main(["--replay", str(DATA / "p45-example.nxs"), str(out), "--rate", "1000"]) == 0
    assert "replayed" in capsys.readouterr().out
    assert_same_file(DATA / "p45-example.nxs", out)
    assert replay.main([str(DATA / "p45-example.nxs"), str(DATA / "p45-example.nxs")]) == 2
    not_hdf5 = tmp_path / "notes.txt"
    not_hdf5.write_text("not a scan")
    assert replay.main([str(not_hdf5), str(tmp_path / "x.nxs")]) == 2
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f["entry/title"] = "no scan data here"
    assert replay.main([str(empty), str(tmp_path / "y.nxs")]) == 2
    assert replay.main([str(empty), str(tmp_path / "z.nxs"), "--scan-shape", "1"]) == 0
    with pytest.raises(SystemExit):
        replay.main([str(empty), str(tmp_path / "w.nxs"), "--scan-shape", "2xA"])


def test_runs_split_points_into_row_slices():
    runs = replay_points.runs([0, 1, 2, 3, 7, 6, 5, 4, 8], range(1, 10), (3, 4))
    assert [(r.row, r.lo, r.hi) for r in runs] == [((0,), 0, 3), ((1,), 0, 3), ((2,), 0, 0)]
    assert runs[1].counts == (8, 7, 6, 5) and runs[1].indices == (4, 5, 6, 7)
    runs = replay_points.runs([0, 2, 1], range(1, 4), (5,))
    assert [(r.lo, r.hi) for r in runs] == [(0, 0), (1, 2)]
    assert runs[1].counts == (3, 2)


@pytest.mark.slow
def test_detector_files_appear_after_the_scan_file(tmp_path, processes):
    out = tmp_path / "late" / "scan.nxs"
    original = tmp_path / "orig" / "scan.nxs"
    original.parent.mkdir()
    out.parent.mkdir()
    gw.write_gda_scan(original, gw.GdaScan((6,), frame_shape=(3,), rate=1e6, detector_file=True))
    proc = start_replay(original, out, rate=50.0, detector_delay=1.0)
    processes.append(proc)
    deadline = time.monotonic() + 60
    det = gw.detector_file_path(out)
    with _open(out, deadline) as f:
        assert not det.exists()                      # the scan file is live, its detector's not
        with pytest.raises(KeyError):
            f[gw.DETECTOR_KEY]                       # the key link dangles meanwhile
        assert f[gw.FINISHED][0] == 0
    assert _join(proc) == 0
    assert_same_file(original, out)
    assert_same_file(gw.detector_file_path(original), det)


def test_missing_detector_file_of_a_2d_scan_is_synthesised(tmp_path):
    """Keys and frames made up for a deleted detector file: keys count points in order."""
    original = tmp_path / "orig" / "map.nxs"
    original.parent.mkdir()
    gw.write_gda_scan(original, gw.GdaScan((2, 3), frame_shape=(4,), rate=1e6, snake=True,
                                           detector_file=True))
    gw.detector_file_path(original).unlink()
    out = tmp_path / "live" / "map.nxs"
    replay_scan(original, out, rate=1e6)
    with h5py.File(out, "r", swmr=True) as f:
        key = f[gw.DETECTOR_KEY]
        assert key.shape == (2, 3, 1, 1) and key.maxshape == (None, None, 1, 1)
        np.testing.assert_array_equal(key[..., 0, 0], f[gw.UNIQUE_KEYS][()])
        np.testing.assert_array_equal(f[gw.UNIQUE_KEYS][()], [[1, 2, 3], [6, 5, 4]])
        frames = f[gw.SIGNAL]
        assert frames.shape == (2, 3) + replay.SYNTH_FRAME
        assert frames[1, 0, 0, 0] == 6 and frames[1, 2, 0, 0] == 4   # the count at each point


def test_nxmx_virtual_data_sources_stay_missing(tmp_path, caplog):
    out = tmp_path / "xrc_209_master.h5"
    with pytest.raises(ReplayError, match="virtual dataset .* --scan-shape"):
        replay_scan(DATA / "xrc_209_master.h5", out, rate=1e6)   # the viewer finds nothing
    with caplog.at_level(logging.WARNING, logger="swmrview.tools.replay"):
        replay_scan(DATA / "xrc_209_master.h5", out, rate=1e6, batch=100, scan_shape=(240,))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xrc_209_master.h5"]
    assert "a virtual dataset's source" in caplog.text
    with h5py.File(out, "r", swmr=True) as f, h5py.File(DATA / "xrc_209_master.h5") as orig:
        assert f["/entry/data/data"].is_virtual
        assert ([(s.file_name, s.dset_name) for s in f["/entry/data/data"].virtual_sources()]
                == [(s.file_name, s.dset_name) for s in orig["/entry/data/data"].virtual_sources()])
    assert_same_file(DATA / "xrc_209_master.h5", out)


# ----------------------------------------------------------------------------- scan shape

XSP_SCAN = (16, 20)
XSP_FRAME = (4, 512)                   # 4 detector elements x 512 channels
XSP_ELEMENT_FIELDS = ("dtc_factors", "dtc_time", "scaler_0", "scaler_1", "scaler_2")


def write_keyless_xspress3(path: Path) -> np.ndarray:
    """A finished keyless NeXus map like an xspress3 one: NXdata ``data`` (16, 20, 4, 512) over
    axes of 16 and 20, and five per-element (16, 20, 4) fields beside it. Returns the data."""
    rng = np.random.default_rng(18)
    data = rng.poisson(3.0, XSP_SCAN + XSP_FRAME).astype(np.uint32)
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        det = entry.create_group("instrument/xspress3")
        det.attrs["NX_class"] = "NXdetector"
        det.create_dataset("data", data=data, chunks=(1, 1) + XSP_FRAME)
        for name in XSP_ELEMENT_FIELDS:
            det.create_dataset(name, data=rng.random(XSP_SCAN + XSP_FRAME[:1]))
        plot = entry.create_group("data")
        plot.attrs["NX_class"] = "NXdata"
        plot.attrs["signal"] = "data"
        plot.attrs["axes"] = ["y", "x", ".", "."]
        plot.attrs["y_indices"] = 0
        plot.attrs["x_indices"] = 1
        plot["data"] = det["data"]
        plot["y"] = np.linspace(0.0, 1.5, XSP_SCAN[0])
        plot["x"] = np.linspace(0.0, 1.9, XSP_SCAN[1])
    return data


@pytest.mark.slow
def test_keyless_xspress3_map_replays_point_by_point_over_the_layouts_scan_shape(
        tmp_path, processes):
    """Per-element (16, 20, 4) fields beside (16, 20, 4, 512) data: the replay writes 16x20
    whole points (the viewer's scan shape), so the map of sums the core follows live equals
    numpy's sums over the original; no point is ever seen a quarter written."""
    original = tmp_path / "orig" / "xsp.nxs"
    original.parent.mkdir()
    data = write_keyless_xspress3(original)
    expected = data.reshape(XSP_SCAN + (-1,)).sum(axis=-1, dtype=np.float64)
    with h5py.File(original, "r") as f:
        assert find_layout(f).scan_shape == XSP_SCAN            # what the viewer shows
        assert replay.analyse(f).scan_shape == XSP_SCAN
    out = tmp_path / "live" / "xsp.nxs"
    proc = start_replay(original, out, rate=200.0)
    processes.append(proc)
    sums = np.full(XSP_SCAN, np.nan)
    seen = 0
    with open_swmr(out, retry_for=30) as f:
        layout = find_layout(f)
        assert layout.scan_rank == 2 and layout.signal == "/entry/data/data"
        live = f[layout.signal]
        assert live.maxshape == (None, None) + XSP_FRAME
        follower = GrowthFollower([live], timeout=2.0, scan_rank=2)
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "the core never followed the replay to its end"
            new = follower.poll()
            if new.size:
                live.refresh()
                for pos in zip(*follower.positions(new)):
                    pos = tuple(int(p) for p in pos)
                    assert pos[0] < XSP_SCAN[0] and pos[1] < XSP_SCAN[1], pos
                    sums[pos] = float(np.sum(live[pos], dtype=np.float64))
                    seen += 1
            elif follower.done:
                if proc.is_alive():                 # idle on a busy machine: follow on
                    follower.resume()
                else:
                    break
            time.sleep(0.01)
    assert _join(proc) == 0
    assert seen == int(np.prod(XSP_SCAN))
    np.testing.assert_array_equal(sums, expected)
    with h5py.File(out, "r", swmr=True) as f:
        assert find_layout(f).scan_shape == XSP_SCAN
        for name in XSP_ELEMENT_FIELDS:
            assert f[f"/entry/instrument/xspress3/{name}"].maxshape == (None, None, 4)
    assert_same_file(original, out)
