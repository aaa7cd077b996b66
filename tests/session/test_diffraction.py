"""Diffraction maps through a Session: q-window channels of pyFAI's azimuthal integration,
compared with pyFAI's own integrate1d on the same frames (finished files written here, and a
live scan written by a real writer process)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("pyFAI")

from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.tools.simulate import SimConfig, write_scan  # noqa: E402
from swmrview.tools.simulate.xrd import write_poni  # noqa: E402
from tests import xrd_reference as ref  # noqa: E402

CEO2 = Channel("CeO2", "q-window", bounds=(19.6, 20.6))
LAB6 = Channel("LaB6", "q-window", bounds=(14.6, 15.6))
SECTOR = Channel("CeO2 0-90", "q-window", bounds=(19.6, 20.6), azimuth=(0, 90))
FRAME = (128, 128)


@pytest.fixture(scope="module")
def xrd_scan(tmp_path_factory):
    """A finished simulated XRD scan (written in this process) and its PONI file."""
    folder = tmp_path_factory.mktemp("xrd")
    path, poni = folder / "scan.h5", folder / "scan.poni"
    cfg = SimConfig(shape=(4, 5), frame=FRAME, rate=1e5, detector="xrd")
    write_poni(poni, cfg.frame)
    write_scan(path, cfg)
    return path, poni


def use(f, channels):
    f.state.set_channels(channels)
    f.session.set_channels(channels)


def test_q_window_maps_equal_pyfai_integrate1d_with_the_mask(follow, xrd_scan):
    path, poni = xrd_scan
    f = follow(path, poni=str(poni))
    f.until(lambda f: f.state is not None)
    use(f, (CEO2, LAB6, SECTOR))
    f.until_ended()
    radial, full = ref.patterns(path, poni)
    _, sector = ref.patterns(path, poni, azimuth=(0, 90))
    for channel, patterns in ((CEO2, full), (LAB6, full), (SECTOR, sector)):
        want = ref.window(radial, patterns, *channel.bounds)
        assert want.min() > 0 and np.ptp(want) > 0.1 * want.max()   # the phases vary
        np.testing.assert_allclose(f.state.values(channel.name), want, rtol=1e-6,
                                   err_msg=channel.name)
    # every point's pattern is kept, as pyFAI gives it
    positions = f.session.acquired.positions()
    kept = f.session.results.get("integrate", positions)
    np.testing.assert_allclose(kept, full[tuple(positions.T)], rtol=1e-6, atol=1e-9)
    # the sector's step is its own, with the same bins
    steps = f.session.scan.channels.steps.built()
    assert set(steps) == {"integrate", "integrate[0,90]"}
    assert "PONI file scan.poni" in steps["integrate"].describe()
    assert "cython" in steps["integrate"].describe() and "masked" in steps["integrate"].describe()


def test_the_newest_pattern_comes_with_the_update_and_any_point_with_its_frame(follow, xrd_scan):
    path, poni = xrd_scan
    f = follow(path, poni=str(poni))
    updates = []
    f.until(lambda f: f.state is not None)
    original = f.state.apply
    f.state.apply = lambda u: (updates.append(u), original(u))[1]
    f.until_ended()
    with_pattern = [u for u in updates if u.patterns]
    assert with_pattern
    newest = with_pattern[-1].patterns["integrate"]
    radial, full = ref.patterns(path, poni)
    np.testing.assert_allclose(newest.x, radial)
    np.testing.assert_allclose(newest.y, full[newest.position], rtol=1e-6, atol=1e-9)
    assert not newest.y.flags.writeable and newest.unit == "q_nm^-1"
    point = f.session.point((1, 2))
    np.testing.assert_allclose(point.patterns["integrate"].y, full[1, 2], rtol=1e-6, atol=1e-9)


def test_a_channel_added_after_the_end_is_filled_from_the_kept_patterns(follow, xrd_scan,
                                                                     monkeypatch):
    path, poni = xrd_scan
    f = follow(path, poni=str(poni))
    f.until_ended()
    pipeline = f.session.scan.pipeline
    reads = []
    original = pipeline.read_process
    monkeypatch.setattr(pipeline, "read_process",
                        lambda *a, **k: (reads.append(a), original(*a, **k))[1])
    background = Channel("LaB6 bg", "q-window", bounds=(14.6, 15.6), background="linear")
    use(f, (background,))
    f.until(lambda f: np.isfinite(f.state.values("LaB6 bg")).all())
    assert reads == []      # no frame read again
    radial, full = ref.patterns(path, poni)
    inside = np.flatnonzero((radial >= 14.6) & (radial <= 15.6))
    left, right = inside[0] - np.arange(3, 0, -1), inside[-1] + np.arange(1, 4)
    xl, xr = radial[left].mean(), radial[right].mean()
    yl, yr = full[..., left].mean(-1), full[..., right].mean(-1)
    line = yl[..., None] + (yr - yl)[..., None] / (xr - xl) * (radial[inside] - xl)
    want = (full[..., inside] - line).sum(-1)
    np.testing.assert_allclose(f.state.values("LaB6 bg"), want, rtol=1e-6, atol=1e-6)
    # a sector needs its own integration: that one reads the frames again
    use(f, (background, SECTOR))
    f.until(lambda f: np.isfinite(f.state.values(SECTOR.name)).all())
    assert reads


def test_without_a_geometry_a_q_window_is_refused_with_the_reason(follow, tmp_path):
    path = tmp_path / "plain.h5"
    write_scan(path, SimConfig(shape=(2, 2), frame=(32, 32), rate=1e5))
    f = follow(path)
    f.until(lambda f: f.state is not None)
    use(f, (CEO2,))
    f.until_ended()
    assert "no geometry" in f.session.scan.channels.refused["CeO2"]
    assert "PONI" in f.session.status.message


def test_the_nexus_geometry_of_the_file_is_used_without_a_poni(follow, xrd_scan):
    path, poni = xrd_scan
    f = follow(path)
    f.until(lambda f: f.state is not None)
    use(f, (CEO2,))
    f.until_ended()
    step = f.session.scan.channels.steps.built()["integrate"]
    assert "NeXus geometry of /entry/instrument/detector" in step.describe()
    radial, full = ref.patterns(path, poni)    # the same geometry, from the PONI file
    np.testing.assert_allclose(f.state.values("CeO2"), ref.window(radial, full, 19.6, 20.6),
                               rtol=1e-5)


@pytest.mark.slow
def test_live_q_window_maps_equal_pyfai_while_a_writer_writes(follow, sim_writer, tmp_path):
    cfg = SimConfig(shape=(5, 6), frame=FRAME, rate=40.0, detector="xrd")
    poni = tmp_path / "live.poni"
    write_poni(poni, cfg.frame)
    path, proc = sim_writer(cfg, "live.h5")
    f = follow(path, poni=str(poni), timeout=20.0)
    f.until(lambda f: f.state is not None, timeout=60)
    use(f, (CEO2, SECTOR))
    seen_live = []
    f.until(lambda f: (seen_live.append(proc.is_alive() and f.session.acquired.__len__() > 0),
                       f.session.status.terminal and not f.session.busy)[1], timeout=60)
    proc.join(10)
    assert proc.exitcode == 0 and any(seen_live)
    radial, full = ref.patterns(path, poni)
    _, sector = ref.patterns(path, poni, azimuth=(0, 90))
    np.testing.assert_allclose(f.state.values("CeO2"), ref.window(radial, full, 19.6, 20.6),
                               rtol=1e-6)
    np.testing.assert_allclose(f.state.values(SECTOR.name),
                               ref.window(radial, sector, 19.6, 20.6), rtol=1e-6)


REAL = Path(__file__).resolve().parents[1] / "data" / "xrd_test.nxs"


def test_a_real_file_is_integrated_with_its_own_nexus_geometry(follow):
    import pyFAI.integrator.azimuthal as azimuthal

    data = "/entry1/xrd_entry/instrument/detector/data"
    f = follow(REAL, data=(data,))
    f.until(lambda f: f.state is not None)
    window = Channel("peak", "q-window", bounds=(20.0, 30.0))
    use(f, (window,))
    f.until_ended()
    step = f.session.scan.channels.steps.built()["integrate"]
    assert "NeXus geometry of /entry1/xrd_entry/instrument/detector" in step.describe()
    # the same numbers, read here and given to pyFAI as Fit2D parameters
    with h5py.File(REAL, "r", locking=False) as h:
        det = h["/entry1/xrd_entry/instrument/detector"]
        frames = det["data"][()]
        pixel = float(det["x_pixel_size"][()])
        ai = azimuthal.AzimuthalIntegrator()
        ai.setFit2D(directDist=float(det["distance"][()]) * 1e3,
                    centerX=float(det["beam_center_x"][()]) / pixel, centerY=0.0,
                    pixelX=pixel * 1e6, pixelY=pixel * 1e6)
        ai.wavelength = float(h["/entry1/xrd_entry/instrument/monochromator/wavelength"][()]) \
            * 1e-10
    want = np.empty(frames.shape[:3])
    for index in np.ndindex(frames.shape[:3]):
        result = ai.integrate1d(frames[index], 1000, unit="q_nm^-1", method=ref.CSR)
        want[index] = ref.window(result.radial, result.intensity, 20.0, 30.0)
    assert np.isfinite(want).all() and want.max() > 0
    np.testing.assert_allclose(f.state.values("peak"), want, rtol=1e-6)


def test_pyfai_error_tracebacks_stay_out_of_the_log(tmp_path, caplog):
    from swmrview.core.compute.integrate import GeometryError, load_poni

    good = tmp_path / "good.poni"
    write_poni(good, (64, 64))
    truncated = tmp_path / "cut.poni"
    truncated.write_text(good.read_text()[:200])
    garbage = tmp_path / "garbage.poni"
    garbage.write_text("hello\nthis is not a poni file: at all\n")
    with caplog.at_level(logging.DEBUG):
        for bad in (truncated, garbage, tmp_path / "missing.poni"):
            with pytest.raises(GeometryError, match=bad.name):
                load_poni(bad)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert load_poni(good).source == "PONI file good.poni"


def test_the_live_export_writes_every_pattern_with_its_q_axis_and_geometry(follow, xrd_scan,
                                                                           tmp_path):
    from swmrview.session.export import LiveExport

    path, poni = xrd_scan
    out = tmp_path / "maps.nxs"
    f = follow(path, poni=str(poni), export_nexus=str(out))
    f.until(lambda f: f.state is not None)
    export = LiveExport(out, f.infos[-1])
    original = f.state.apply
    f.state.apply = lambda u: (export.apply(u), original(u))[1]
    f.until_ended()
    export.finish()
    radial, full = ref.patterns(path, poni)
    with h5py.File(out, "r") as h:
        group = h["/entry/integrate"]
        assert group.attrs["signal"] == "data" and group.attrs["q_indices"] == 2
        np.testing.assert_allclose(group["q"][()], radial)
        assert group["q"].attrs["units"] == "1/nm"
        np.testing.assert_allclose(group["data"][()], full, rtol=1e-6, atol=1e-9)
        assert "PONI file scan.poni" in group.attrs["description"]
        assert json.loads(group["geometry"][()])["dist"] == pytest.approx(0.1)
        assert (h["/entry/keys/uniqueKeys"][()] > 0).all()
