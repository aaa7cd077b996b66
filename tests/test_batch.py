"""Batch maps on a local Dask cluster of 2 worker processes, checked against plain numpy."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from swmrview.tools import batch
from swmrview.tools.batch.task import _acquired
from swmrview.core.files.layout import find_layout
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.tools.simulate import SimConfig, write_scan

distributed = pytest.importorskip("dask.distributed")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """Finished scans: images with a dropped point (bitshuffle), spectra, and a plain NeXus
    file without keys whose detector has a pixel mask and a saturation value."""
    root = tmp_path_factory.mktemp("scans")
    write_scan(root / "images.nxs", SimConfig(shape=(5, 6), frame=(64, 80), rate=1e5,
                                              drop=(7,), compression="bitshuffle"))
    write_scan(root / "spectra.nxs", SimConfig(shape=(9,), frame=(200,), rate=1e5))
    rng = np.random.default_rng(3)
    frames = rng.poisson(40, (4, 3, 48, 50)).astype(np.uint32)
    frames[..., 10] = 2**32 - 1                      # a gap column
    mask = np.zeros((48, 50), np.uint32)
    mask[5:7, :] = 1
    with h5py.File(root / "plain.nxs", "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        det = entry.create_group("instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det.create_dataset("data", data=frames, chunks=(1, 1, 48, 50))
        det["data"].attrs["saturation_value"] = 2**32 - 1
        det["pixel_mask"] = mask
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="data", axes=["y", "x", ".", "."],
                          y_indices=0, x_indices=1)
        data["data"] = det["data"]
        data["y"] = np.linspace(0, 1, 4)
        data["x"] = np.linspace(5, 7, 3)
    (root / "notes.txt").write_text("not a scan")
    return root


def reference(path, channels=("sum", "mean", "max"), roi=None):
    """The map with plain numpy: per point, float64 over pixels the layout keeps."""
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
        ds = f[layout.signal or layout.data[0]]
        rank = layout.scan_rank
        shape = tuple(int(s) for s in layout.scan_shape)
        keys = [np.asarray(f[k]).reshape(np.asarray(f[k]).shape[:rank] + (-1,))
                for k in layout.keys]
        mask = None if layout.pixel_mask is None else np.asarray(f[layout.pixel_mask]) != 0
        out = {c: np.full(shape, np.nan) for c in list(channels) + ["roi"]}
        for pos in np.ndindex(*shape):
            if any(p >= n for p, n in zip(pos, ds.shape)):
                continue
            if any(any(p >= n for p, n in zip(pos, k.shape)) or not (k[pos] != 0).all()
                   for k in keys):
                continue
            frame = np.asarray(ds[pos])
            values = frame.astype(np.float64)
            valid = ~np.isnan(values)
            if mask is not None:
                valid &= ~mask
            if layout.overflow is not None:
                valid &= frame < layout.overflow
            kept = values[valid]
            out["sum"][pos] = kept.sum()
            out["mean"][pos] = kept.mean()
            out["max"][pos] = kept.max()
            if roi is not None:
                region = (Ellipsis,) + tuple(slice(roi[i], roi[i + 1])
                                             for i in range(0, len(roi), 2))
                out["roi"][pos] = np.where(valid, values, 0)[region].sum()
        return out, layout


def assert_maps_equal(got, want, channels, exact=False):
    for c in channels:
        assert got[c].shape == want[c].shape, c
        np.testing.assert_array_equal(np.isnan(got[c]), np.isnan(want[c]), err_msg=c)
        if exact:
            np.testing.assert_array_equal(got[c], want[c], err_msg=c)
        else:
            np.testing.assert_allclose(got[c], want[c], rtol=1e-12, err_msg=c)


def pipeline_map(path, roi=None):
    """The same points through ReducePipeline, as the viewer reads them."""
    plan = batch.plan_file(str(path))
    with h5py.File(path, "r") as f:
        mask = None if plan.pixel_mask is None else np.asarray(f[plan.pixel_mask]) != 0
        positions = [p for p in np.ndindex(*plan.scan_shape)]
        ok = _acquired(f, plan, np.asarray(positions).reshape(len(positions), -1))
        with ReducePipeline(f[plan.data], plan.scan_rank, roi=roi, mask=mask,
                            overflow=plan.overflow) as pipe:
            values, _ = pipe.read_reduce([p for p, k in zip(positions, ok) if k])
    out = {}
    for c, v in values.items():
        full = np.full(plan.n_points, np.nan)
        full[np.flatnonzero(ok)] = v
        out[c] = full.reshape(plan.scan_shape)
    return out


def test_maps_on_two_workers_match_numpy_and_the_pipeline(scans, client):
    files = batch.find_files([str(scans)])
    assert [os.path.basename(p) for p in files] == ["images.nxs", "plain.nxs", "spectra.nxs"]
    plans = [batch.plan_file(p) for p in files]
    # the plain file's mask and gap value are found, so the maps below really exclude pixels
    assert plans[1].pixel_mask == "/entry/instrument/detector/pixel_mask"
    assert plans[1].overflow == 2**32 - 1
    roi = (0, 30, 5, 40)
    maps = batch.compute_maps(plans[:2], roi=roi, client=client, frames_per_task=4)
    for path, got in zip(files[:2], maps):
        want, _ = reference(path, roi=roi)
        assert_maps_equal(got, want, ("sum", "mean", "max", "roi"))
        assert_maps_equal(got, pipeline_map(path, roi), ("sum", "mean", "max", "roi"),
                          exact=True)
    images = maps[0]
    assert np.isnan(images["sum"].ravel()[7]) and np.isfinite(images["sum"]).sum() == 29
    # spectra: a 4-value ROI does not fit, so their roi map is NaN and the rest is fine
    spectra = batch.compute_maps(plans[2:], roi=roi, client=client)[0]
    want, _ = reference(files[2])
    assert_maps_equal(spectra, want, ("sum", "mean", "max"))
    assert np.isnan(spectra["roi"]).all()


def test_split_tasks_cover_every_point_once(scans):
    plan = batch.plan_file(str(scans / "images.nxs"))
    tasks = batch.plan_tasks([plan], frames_per_task=7)
    assert len(tasks) == 5
    covered = np.concatenate([np.arange(t.start, t.stop) for t in tasks])
    np.testing.assert_array_equal(covered, np.arange(plan.n_points))
    assert len(batch.plan_tasks([plan])) == 1


def test_nexus_output_has_entries_signal_and_axes(scans, client, tmp_path):
    files = batch.find_files([str(scans)])
    plans = [batch.plan_file(p) for p in files]
    maps = batch.compute_maps(plans, client=client)
    out = tmp_path / "maps.nxs"
    names = batch.write_nexus(str(out), plans, maps, ["max", "sum"])
    assert names == ["images", "plain", "spectra"]
    with h5py.File(out, "r") as nx:
        assert nx.attrs["default"] == "images"
        for name, plan, values in zip(names, plans, maps):
            entry = nx[name]
            assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["default"] == "map"
            assert entry["source_file"][()].decode() == plan.path
            data = entry["map"]
            assert data.attrs["NX_class"] == "NXdata" and data.attrs["signal"] == "max"
            np.testing.assert_array_equal(data["max"][()], values["max"])
            np.testing.assert_array_equal(data["sum"][()], values["sum"])
            assert "mean" not in data
            axes = list(data.attrs["axes"])
            assert len(axes) == plan.scan_rank
            with h5py.File(plan.path, "r") as src:
                for dim, (axis, (_, path, _)) in enumerate(zip(axes, plan.axes)):
                    assert data.attrs[f"{axis}_indices"] == dim
                    np.testing.assert_array_equal(data[axis][()], src[path][()])
        assert list(nx["plain/map"].attrs["axes"]) == ["y", "x"]
        assert nx["images/map/stage_x"].attrs["units"] == "mm"


def test_command_line_map_in_process_and_on_a_scheduler(scans, client, tmp_path, capsys):
    from swmrview.cli import main

    out = tmp_path / "maps.nxs"
    # notes.txt is not listed (not an HDF5 name); a broken .h5 is skipped with exit code 1
    broken = tmp_path / "in" / "broken.h5"
    broken.parent.mkdir()
    broken.write_bytes(b"not hdf5")
    code = main(["map", str(scans), str(broken), "--reduce", "mean,max", "--roi", "0,9,0,9",
                 "--workers", "0", "--out", str(out), "--quiet"])
    assert code == 1
    assert "broken.h5" in capsys.readouterr().err
    with h5py.File(out, "r") as nx:
        assert set(nx) == {"images", "plain", "spectra"}
        assert nx["plain/map"].attrs["signal"] == "mean"
        assert set(nx["plain/map"]) >= {"mean", "max", "roi"}
        want, _ = reference(scans / "plain.nxs", roi=(0, 9, 0, 9))
        np.testing.assert_allclose(nx["plain/map/roi"][()], want["roi"], rtol=1e-12)
        first = {k: nx["images/map"][k][()] for k in ("mean", "max")}
    out2 = tmp_path / "maps2.nxs"
    code = main(["map", str(scans / "images.nxs"), "--reduce", "mean,max", "--out", str(out2),
                 "--scheduler", client.scheduler.address, "--quiet"])
    assert code == 0
    with h5py.File(out2, "r") as nx:
        for k, v in first.items():
            np.testing.assert_array_equal(nx["images/map"][k][()], v)


def test_no_files_is_bad_input(tmp_path):
    assert batch.main([str(tmp_path), "--out", str(tmp_path / "o.nxs"), "--workers", "0"]) == 2


@pytest.mark.slow
def test_the_viewer_never_imports_dask_or_the_batch_package():
    """Every module of the viewer (cli, gui, session, model, core) imports neither Dask nor any
    module of the batch package; and the batch package's own modules import Dask only when
    tasks run on it."""
    import subprocess
    import sys

    script = """
import importlib, pkgutil, sys
import swmrview, swmrview.cli, swmrview.core, swmrview.model, swmrview.session, swmrview.gui
for package in (swmrview.core, swmrview.model, swmrview.session, swmrview.gui):
    for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(m.name)
def dask():
    return sorted(n for n in sys.modules if n.split(".")[0] in ("dask", "distributed"))
print(dask() + sorted(n for n in sys.modules if n.startswith("swmrview.tools.batch")))
import swmrview.tools.batch
for m in pkgutil.walk_packages(swmrview.tools.batch.__path__, "swmrview.tools.batch."):
    importlib.import_module(m.name)
print(len([n for n in sys.modules if n.startswith("swmrview.tools.batch.")]), dask())
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    viewer, batch_modules = result.stdout.strip().splitlines()[-2:]
    assert viewer == "[]"
    count, dask = batch_modules.split(" ", 1)
    assert int(count) >= 5 and dask == "[]", batch_modules


@pytest.mark.slow
def test_own_local_cluster_and_scan_shaped_axes(tmp_path):
    """compute_maps starts (and stops) its own 2-process cluster; a positioner recorded per
    point becomes a 2-D axis with both dims as its indices."""
    rng = np.random.default_rng(5)
    frames = rng.poisson(9, (3, 4, 40, 30)).astype(np.uint16)
    with h5py.File(tmp_path / "grid.nxs", "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="data", axes=["y", "x", ".", "."],
                          y_indices=0, x_indices=[0, 1])
        data.create_dataset("data", data=frames, chunks=(1, 1, 40, 30))
        data["y"] = np.arange(3.0)
        data["x"] = np.arange(12.0).reshape(3, 4) + 0.5     # measured x at every point
    plan = batch.plan_file(str(tmp_path / "grid.nxs"))
    maps = batch.compute_maps([plan], workers=2, progress=False)
    np.testing.assert_array_equal(maps[0]["sum"],
                                  frames.reshape(3, 4, -1).sum(-1).astype(np.float64))
    np.testing.assert_array_equal(maps[0]["max"], frames.reshape(3, 4, -1).max(-1))
    batch.write_nexus(str(tmp_path / "out.nxs"), [plan], maps, ["sum"])
    with h5py.File(tmp_path / "out.nxs", "r") as nx:
        nxdata = nx["grid/map"]
        assert list(nxdata.attrs["axes"]) == ["y", "x"]
        assert nxdata.attrs["y_indices"] == 0
        assert list(nxdata.attrs["x_indices"]) == [0, 1]
        np.testing.assert_array_equal(nxdata["x"][()], np.arange(12.0).reshape(3, 4) + 0.5)


def test_a_failing_task_raises_or_skips_its_file(scans, client):
    import dataclasses

    good = batch.plan_file(str(scans / "spectra.nxs"))
    bad = dataclasses.replace(good, data="/entry/no/such/data")
    with pytest.raises(KeyError):
        batch.compute_maps([good, bad], client=client)
    maps = batch.compute_maps([good, bad], client=client, on_error="skip")
    assert maps[1] is None
    want, _ = reference(scans / "spectra.nxs")
    assert_maps_equal(maps[0], want, ("sum", "mean", "max"))
    maps = batch.compute_maps([bad, good], workers=0, on_error="skip")
    assert maps[0] is None and maps[1] is not None
