"""The real ``swmrview`` command in subprocesses (offscreen), against real writer processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from swmrview.tools.simulate import SimConfig, start_writer

pytestmark = pytest.mark.slow   # every test here starts a process


def run_cli(args, tmp_path, timeout=60, wait=True):
    """Run ``python -m swmrview ARGS`` offscreen with settings kept in ``tmp_path``."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    cmd = [sys.executable, "-m", "swmrview", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_help_and_simulate_do_not_import_qt(tmp_path):
    code = ("import sys\nfrom swmrview.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules), "
            "sorted(m for m in sys.modules if 'PySide' in m)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "exit codes" in result.stdout and "--exit-on-finish" in result.stdout


def test_simulate_passthrough_writes_a_scan(tmp_path):
    out = tmp_path / "sim.h5"
    result = run_cli(["--simulate", out, "--shape", "3x4", "--frame", "8", "--rate", "500"],
                     tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as f:
        assert f["/entry/data/data"].shape == (3, 4, 8)
        assert f["/entry/diamond_scan/scan_finished"][0] == 1


def test_gda_external_file_viewer_started_before_file(tmp_path):
    """Viewer first, then a GDA writer with an external detector file: exit 0, right map."""
    path = tmp_path / "scan.h5"
    csv, png = tmp_path / "map.csv", tmp_path / "shot.png"
    viewer = run_cli([path, "--exit-on-finish", "--export-map", csv, "--screenshot", png,
                      "--timeout", "20"], tmp_path, wait=False)
    time.sleep(1.0)
    cfg = SimConfig(shape=(5, 7), frame=(16, 16), rate=80.0, external=True)
    writer = start_writer(path, cfg)
    try:
        out, err = viewer.communicate(timeout=60)
    finally:
        writer.join(10)
    assert viewer.returncode == 0, err
    assert (tmp_path / "scan_detector.h5").exists()
    with h5py.File(path, "r") as f:
        expected = f["/entry/data/data"][()].astype(np.float64).sum(axis=(2, 3))
    got = np.loadtxt(csv, delimiter=",", comments="#")
    np.testing.assert_array_equal(got, expected)
    assert png.stat().st_size > 5000
    assert "Finished: 35/35 points" in err


def test_not_hdf5_exits_2_with_message(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"this is text, not HDF5\n" * 10)
    result = run_cli([bad, "--exit-on-finish"], tmp_path)
    assert result.returncode == 2
    assert "not an HDF5 file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", [["--key", "/no/such/key"], ["--data", "/no/such/data"]])
def test_missing_named_path_exits_2(tmp_path, option):
    path = tmp_path / "done.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.ones((2, 3, 1), np.int32))
        f.create_dataset("data/images", data=np.ones((2, 3, 4, 4), np.uint16))
    result = run_cli([path, "--exit-on-finish", *option], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "/no/such/" in result.stderr
    assert "Traceback" not in result.stderr


def test_finished_file_without_keys_opens_as_a_complete_scan(tmp_path):
    path = tmp_path / "nokeys.h5"
    images = np.arange(2 * 3 * 4 * 4, dtype=np.uint16).reshape(2, 3, 4, 4)
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=images)
    csv = tmp_path / "map.csv"
    result = run_cli([path, "--exit-on-finish", "--export-map", csv], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Complete file: 6/6 points" in result.stderr and "Traceback" not in result.stderr
    np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", comments="#"),
                                  images.sum(axis=(2, 3), dtype=np.float64))


def test_headless_reduce_max_exports_the_max_map(tmp_path):
    path = tmp_path / "nokeys.h5"
    rng = np.random.default_rng(3)
    images = rng.poisson(30, (2, 3, 16, 20)).astype(np.uint16)
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=images)
    csv = tmp_path / "map.csv"
    result = run_cli([path, "--exit-on-finish", "--reduce", "max", "--threads", "2",
                      "--export-map", csv], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reduction=max" in csv.read_text().splitlines()[0]
    np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", comments="#"),
                                  images.max(axis=(2, 3)).astype(np.float64))


def test_a_directory_follows_its_newest_scan(tmp_path):
    data = tmp_path / "data"
    (data / "older").mkdir(parents=True)
    older = SimConfig(shape=(2, 3), frame=(8, 8), rate=500.0)
    start_writer(data / "older" / "a.h5", older).join(20)
    time.sleep(0.05)
    newest = data / "b.h5"
    start_writer(newest, SimConfig(shape=(3, 4), frame=(8, 8), rate=500.0)).join(20)
    csv = tmp_path / "map.csv"
    result = run_cli([data, "--exit-on-finish", "--export-map", csv], tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(newest, "r") as f:
        expected = f["/entry/data/data"][()].astype(np.float64).sum(axis=(2, 3))
    np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", comments="#"), expected)


def test_an_empty_directory_headless_times_out(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli([empty, "--exit-on-finish", "--timeout", "1"], tmp_path)
    assert result.returncode == 3, result.stderr
    assert f"waiting for a scan in {empty}" in result.stderr and "Traceback" not in result.stderr


def test_crashed_writer_exits_3_and_exports_what_was_read(tmp_path):
    path = tmp_path / "crash.h5"
    writer = start_writer(path, SimConfig(shape=(4, 6), frame=(8, 8), rate=100.0, crash_at=10))
    writer.join(20)
    csv = tmp_path / "map.csv"
    result = run_cli([path, "--exit-on-finish", "--timeout", "1", "--export-map", csv], tmp_path)
    assert result.returncode == 3, result.stderr
    assert "Timed out" in result.stderr
    got = np.loadtxt(csv, delimiter=",", comments="#")
    assert np.isfinite(got).sum() == 10


def test_missing_file_headless_times_out(tmp_path):
    result = run_cli([tmp_path / "never.h5", "--exit-on-finish", "--timeout", "1"], tmp_path)
    assert result.returncode == 3
    assert "Timed out waiting for never.h5" in result.stderr


def _unknown_filter(f, path, shape, dtype, value):
    """A dataset compressed with filter 32123, which no plugin provides (written raw)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((1,) + shape[1:])
    dcpl.set_filter(32123, h5py.h5z.FLAG_OPTIONAL, ())   # low level: h5py checks nothing
    space = h5py.h5s.create_simple(shape, (h5py.h5s.UNLIMITED,) + shape[1:])
    dsid = h5py.h5d.create(f.id, path.encode(), h5py.h5t.py_create(np.dtype(dtype)), space,
                           dcpl=dcpl)
    for i in range(shape[0]):
        dsid.write_direct_chunk((i,) + (0,) * (len(shape) - 1),
                                np.full(shape[1:], value, dtype).tobytes())


@pytest.mark.parametrize("where, said", [
    ("data", "/entry/data is compressed with an unknown filter (filter id 32123), which is not "
             "installed here: install hdf5plugin"),
    ("key", "the key /entry/keys/key is compressed with an unknown filter (filter id 32123)"),
    ("monitor", "the shown channel 'norm' cannot be made for this scan: /entry/I0 is "
                "compressed with an unknown filter (filter id 32123)"),
])
def test_unknown_compression_filter_exits_2_named_once_and_the_file_untouched(tmp_path, where,
                                                                              said):
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    path = tmp_path / "odd.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f.create_group("entry/keys")
        if where == "key":
            _unknown_filter(f, "/entry/keys/key", (3,), np.int32, 1)
        else:
            f.create_dataset("entry/keys/key", data=np.ones((3,), np.int32), maxshape=(None,))
        if where == "data":
            _unknown_filter(f, "/entry/data", (3, 8, 8), np.uint16, 0)
        else:
            f.create_dataset("entry/data", data=np.ones((3, 8, 8), np.uint16), chunks=(1, 8, 8))
        _unknown_filter(f, "/entry/I0", (3,), np.float64, 2.0)
        f.create_dataset("entry/finished", data=[1])
    settings = tmp_path / "view.json"
    ViewSettings(channels=(Channel("norm", monitor="/entry/I0"),), shown="norm").save(settings)
    before = path.read_bytes()
    extra = ["--settings", settings] if where == "monitor" else []
    result = run_cli([path, "--exit-on-finish", "--key", "/entry/keys/key", "--data",
                      "/entry/data", *extra], tmp_path)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert said in errors[0] and sum("filter id 32123" in e for e in errors) == 1
    assert "Traceback" not in result.stderr and "plugin)" not in result.stderr  # h5py's words
    assert path.read_bytes() == before  # read-only: nothing written to the followed file


@pytest.mark.parametrize("key_shape, data_shape, said", [
    ((2, 3, 1), (3, 2, 4, 4), "/entry/keys/key describes a scan of 2x3 points but "
                              "/entry/data/data holds 3x2 (scan axis 2 has 3 points in the "
                              "keys, 2 in the data)"),
    ((4,), (2, 4, 4), "/entry/keys/key describes a scan of 4 points but /entry/data/data holds "
                      "2 (scan axis 1 has 4 points in the keys, 2 in the data)"),
])
def test_keys_and_data_of_inconsistent_shape_exit_2_naming_both(tmp_path, key_shape,
                                                                 data_shape, said):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("entry/keys/key", data=np.ones(key_shape, np.int32))
        f.create_dataset("entry/data/data", data=np.ones(data_shape, np.uint16))
    out = tmp_path / "map.csv"
    result = run_cli([path, "--exit-on-finish", "--key", "/entry/keys/key", "--data",
                      "/entry/data/data", "--export-map", out], tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"keys and data do not match: {said}" in result.stderr
    assert "refresh after" not in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


# ----------------------------------------------------------------------------- exports

def _sums(path):
    with h5py.File(path, "r") as f:
        return f["/entry/data/data"][()].astype(np.float64).sum(axis=(2, 3))


def test_export_nexus_live_followed_by_a_second_viewer_and_tiff_exports(tmp_path):
    """--export-nexus is written while following: a second swmrview follows it live and
    maps the same sums; the map and the last frame go to TIFF with their values."""
    import tifffile

    from swmrview.session.export import FINISHED, KEYS, NXDATA
    from swmrview.tools.simulate import expected_frame

    path, out = tmp_path / "scan.h5", tmp_path / "maps.nxs"
    frame_tiff, map_tiff, second_csv = (tmp_path / n for n in ("f.tiff", "m.tif", "2.csv"))
    second = run_cli([out, "--exit-on-finish", "--export-map", second_csv, "--timeout", "20"],
                     tmp_path, wait=False)       # waits for the export file to appear
    first = run_cli([path, "--exit-on-finish", "--export-nexus", out, "--export-frame",
                     frame_tiff, "--export-map", map_tiff, "--timeout", "20"], tmp_path,
                    wait=False)
    time.sleep(0.5)
    cfg = SimConfig(shape=(5, 6), frame=(16, 16), rate=10.0)
    writer = start_writer(path, cfg)
    try:
        _, err1 = first.communicate(timeout=90)
        _, err2 = second.communicate(timeout=60)
    finally:
        writer.join(10)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    expected = _sums(path)
    np.testing.assert_array_equal(tifffile.imread(map_tiff), expected)
    np.testing.assert_array_equal(tifffile.imread(frame_tiff),
                                  expected_frame(cfg.shape[0] * cfg.shape[1] - 1, cfg))
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f[f"{NXDATA}/sum"][()], expected)
        assert f["/entry/source_file"].asstr()[()] == str(path)
        with h5py.File(path, "r") as src:
            maxima = src["/entry/data/data"][()].max(axis=(2, 3)).astype(np.float64)
        np.testing.assert_array_equal(f[f"{NXDATA}/max"][()], maxima)
        assert f[FINISHED][0] == 1 and (f[KEYS][()] > 0).all()
    # the second viewer followed the export while it was written, not a finished file
    assert "Live" in err2 or "live" in err2, err2
    np.testing.assert_array_equal(np.loadtxt(second_csv, delimiter=",", comments="#"), expected)


def test_export_png_and_csv_of_frame_and_map(tmp_path):
    from PySide6.QtGui import QImage

    path = tmp_path / "done.h5"
    writer = start_writer(path, SimConfig(shape=(3, 4), frame=(8, 8), rate=200.0))
    writer.join(20)
    frame_png, map_png, frame_csv = tmp_path / "f.png", tmp_path / "m.png", tmp_path / "f.csv"
    result = run_cli([path, "--exit-on-finish", "--export-frame", frame_png, "--export-map",
                      map_png], tmp_path)
    assert result.returncode == 0, result.stderr
    for png in (frame_png, map_png):
        image = QImage(str(png))
        assert not image.isNull() and image.width() > 100 and image.height() > 100
    result = run_cli([path, "--exit-on-finish", "--export-frame", frame_csv], tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(path, "r") as f:
        last = f["/entry/data/data"][-1, -1]
    np.testing.assert_array_equal(np.loadtxt(frame_csv, delimiter=",", comments="#"), last)


def test_export_to_an_unknown_image_format_is_refused(tmp_path):
    result = run_cli([tmp_path / "x.h5", "--export-frame", tmp_path / "f.jpg"], tmp_path)
    assert result.returncode == 2
    assert "--export-frame" in result.stderr and ".png, .tif" in result.stderr


def test_a_settings_file_maps_its_channels_headless(tmp_path):
    from pathlib import Path

    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    data = Path(__file__).parent / "data" / "i18_test_data.nxs"
    mcas, i0 = "/entry1/xspress3/MCAs", "/entry1/raster_counterTimer01/I0"
    settings = tmp_path / "xrf.json"
    ViewSettings(channels=(Channel("Co/I0", "window", bounds=(1200, 1400), elements=(6, 8, 9),
                                   monitor=i0),), shown="Co/I0").save(settings)
    out = tmp_path / "co.csv"
    result = run_cli([data, "--data", mcas, "--settings", settings, "--exit-on-finish",
                      "--export-map", out], tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(data, "r") as f:
        want = f[mcas][:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2)) / f[i0][()]
    assert "Co/I0" in out.read_text().splitlines()[0]
    np.testing.assert_allclose(np.loadtxt(out, delimiter=",", comments="#"), want)


def test_a_bad_settings_file_exits_2_with_the_reason(tmp_path):
    settings = tmp_path / "bad.json"
    settings.write_text("{not json")
    result = run_cli([tmp_path / "x.h5", "--settings", settings], tmp_path)
    assert result.returncode == 2
    assert "bad.json" in result.stderr and "not JSON" in result.stderr


def test_scan_whose_detector_file_is_missing_maps_its_own_fields_and_exits_0(tmp_path):
    """SPEC 5: exit 0 when a map was made; the missing file is named; the map is the scan's
    uniqueKeys (0 where no point was acquired) at the motors' positions."""
    from tests.writers.malcolm_files import DETECTOR_FILE, missing_detector_scan

    path = missing_detector_scan(tmp_path / "scan-1234.nxs", acquired=18)
    csv = tmp_path / "map.csv"
    result = run_cli([path, "--exit-on-finish", "--timeout", "2", "--export-map", csv],
                     tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and DETECTOR_FILE in result.stderr
    expected = np.zeros(25)
    expected[:18] = np.arange(1, 19)
    np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", comments="#"),
                                  expected.reshape(5, 5))


@pytest.mark.parametrize("channel, lacks", [
    ({"monitor": "/entry/I0/data"}, "no per-point monitor /entry/I0/data"),
    ({"dataset": "/entry/no/such"}, "no per-point dataset /entry/no/such"),
])
def test_a_shown_channel_the_file_lacks_is_refused_not_replaced_by_sum(tmp_path, channel,
                                                                        lacks):
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    path = tmp_path / "done.h5"
    start_writer(path, SimConfig(shape=(3, 4), frame=(8, 8), rate=500.0)).join(20)
    settings = tmp_path / "view.json"
    ViewSettings(channels=(Channel("Fe", **channel),), shown="Fe").save(settings)
    out = tmp_path / "fe.csv"
    result = run_cli([path, "--exit-on-finish", "--export-map", out, "--settings", settings],
                     tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"the shown channel 'Fe' cannot be made for this scan: {lacks}" in result.stderr
    assert not out.exists() and "map written" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("raw, said", [
    (bytes(range(128, 256)), "is not a swmrview view settings file: not UTF-8 text"),
    ('{"format": "swmrview-view-settings"}'.encode("utf-16"),
     "is not a swmrview view settings file: it is UTF-16 text"),
    (b'{"format": "swmrview-view-settings", "version": "x"}',
     "is not a swmrview view settings file: \"version\" must be a whole number"),
    (b'{"format": "swmrview-view-settings", "version": null}',
     "is not a swmrview view settings file: \"version\" must be a whole number"),
    (b"null", "is not a swmrview view settings file: it holds null"),
    (b'{"format": "swmrview-view-settings", "channels": [{"name": "Fe", "colour": 1}]}',
     "channel 'Fe': unknown field 'colour' (known: name, kind,"),
    (b'{"format": "swmrview-view-settings", "colormap": "jet"}', 'unknown colormap "jet"'),
    (b'{"format": "swmrview-view-settings", "map_scale": "sqrt"}', 'unknown map scale "sqrt"'),
    (b'{"format": "swmrview-view-settings", "shown": "Fe"}', 'unknown shown map "Fe"'),
])
def test_a_wrong_settings_file_exits_2_in_plain_words(tmp_path, raw, said):
    settings = tmp_path / "view.json"
    settings.write_bytes(raw)
    out = tmp_path / "map.csv"
    result = run_cli([tmp_path / "x.h5", "--exit-on-finish", "--settings", settings,
                      "--export-map", out], tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"view.json{'' if 'is not' in said else ':'} {said}" in result.stderr
    assert "Traceback" not in result.stderr and "__init__" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("flag, name", [("--export-map", "map.csv"),
                                        ("--export-frame", "frame.tif"),
                                        ("--export-nexus", "maps.nxs"),
                                        ("--screenshot", "shot.png"),
                                        ("--stats", "lag.json")])
def test_an_output_into_a_missing_folder_is_refused_before_the_scan(tmp_path, flag, name):
    path = tmp_path / "done.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=np.ones((2, 3, 4, 4), np.uint16))
    out = tmp_path / "no such folder" / name
    result = run_cli([path, "--exit-on-finish", flag, out], tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{flag}: cannot write {out}: the folder {out.parent} does not exist" \
        in result.stderr
    assert "Traceback" not in result.stderr and "following" not in result.stderr
    assert not out.parent.exists()


def test_stats_are_written_headless_at_the_end(tmp_path):
    path, out = tmp_path / "done.h5", tmp_path / "lag.json"
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=np.ones((2, 3, 4, 4), np.uint16))
    result = run_cli([path, "--exit-on-finish", "--stats", out], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"stats written to {out}" in result.stderr
    stats = json.loads(out.read_text())
    assert stats["status"] == "finished" and stats["exit_code"] == 0
    assert stats["points_read"] == 6 and stats["mb_read"] == pytest.approx(6 * 32 / 1e6)


def test_outputs_whose_folder_went_away_during_the_scan_exit_non_zero(tmp_path):
    """Checked up front, the folder is removed while the viewer waits for the scan: every
    output says why it was not written, none claims success, and the exit code is 1."""
    path, folder = tmp_path / "scan.h5", tmp_path / "out"
    folder.mkdir()
    outs = {flag: folder / name for flag, name in (("--export-map", "map.csv"),
                                                   ("--export-frame", "frame.csv"),
                                                   ("--export-nexus", "maps.nxs"),
                                                   ("--screenshot", "shot.png"))}
    viewer = run_cli([path, "--exit-on-finish", "--timeout", "20",
                      *[str(a) for pair in outs.items() for a in pair]], tmp_path, wait=False)
    time.sleep(1.5)   # past the argument checks: waiting for the file
    folder.rmdir()
    writer = start_writer(path, SimConfig(shape=(3, 4), frame=(8, 8), rate=200.0))
    try:
        _, err = viewer.communicate(timeout=60)
    finally:
        writer.join(10)
    assert viewer.returncode == 1, err
    gone = f"the folder {folder} does not exist"
    for what in (f"map not written to {outs['--export-map']}: {gone}",
                 f"frame not written to {outs['--export-frame']}: {gone}",
                 f"screenshot not saved to {outs['--screenshot']}: {gone}",
                 f"cannot export to {outs['--export-nexus']}: {gone}"):
        assert err.count(what) == 1, err
    assert "saved to" not in err.replace("not saved to", "") and "written to" not in \
        err.replace("not written to", "")
    assert "Finished: 12/12 points" in err and "Traceback" not in err
    assert not folder.exists()


def test_an_empty_file_exits_2_saying_it_is_empty_once_the_timeout_passes(tmp_path):
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    out = tmp_path / "map.csv"
    result = run_cli([empty, "--exit-on-finish", "--timeout", "1", "--export-map", out],
                     tmp_path)
    assert result.returncode == 2, result.stderr
    assert "empty.h5 is empty (0 bytes), not an HDF5 file: no writer has written it in 1 s" \
        in result.stderr
    assert "Timed out" not in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and empty.read_bytes() == b""
