"""Map channels through a Session and ViewState, compared with numpy on real files (finished
and replayed live by a separate writer process)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.core.compute.channels import Channel
from swmrview.tools.replay import start_replay

DATA = Path(__file__).resolve().parents[1] / "data"
I18 = DATA / "i18_test_data.nxs"
MCAS = "/entry1/xspress3/MCAs"
I0 = "/entry1/raster_counterTimer01/I0"
IT = "/entry1/raster_counterTimer01/It"

CHANNELS = (
    Channel("Co", "window", bounds=(1200, 1400), elements=(6, 8, 9)),
    Channel("Co/I0", "window", bounds=(1200, 1400), elements=(6, 8, 9), monitor=I0),
    Channel("all max", "max"),
    Channel("It/I0", "sum", dataset=IT, monitor=I0),
)


def expected_i18() -> dict[str, np.ndarray]:
    with h5py.File(I18, "r", locking=False) as f:
        mcas, i0, it = f[MCAS][()], f[I0][()], f[IT][()]
    co = mcas[:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2))
    return {"Co": co, "Co/I0": co / i0, "all max": mcas.max(axis=(-1, -2)), "It/I0": it / i0,
            "sum": mcas.sum(axis=(-1, -2))}


def use(f, channels) -> list[str]:
    """Set channels as the window does: on the view state, then on the session."""
    changed = f.state.set_channels(channels)
    f.session.set_channels(channels)
    return changed


def test_channels_of_a_finished_xrf_map_equal_numpy(follow):
    f = follow(I18, data=(MCAS,))
    f.until(lambda f: f.state is not None)
    use(f, CHANNELS)
    f.until_ended()
    want = expected_i18()
    assert f.state.layers[-4:] == tuple(c.name for c in CHANNELS)
    for name, values in want.items():
        np.testing.assert_allclose(f.state.values(name), values, rtol=1e-12, err_msg=name)


def test_a_channel_added_after_the_end_is_computed_alone_over_the_read_points(follow):
    f = follow(I18, data=(MCAS,))
    f.until_ended()
    sums = f.state.values("sum").copy()
    updates = []
    original = f.state.apply
    f.state.apply = lambda u: (updates.append(u), original(u))[1]
    assert use(f, CHANNELS[:1]) == ["Co"]
    f.until(lambda f: np.isfinite(f.state.values("Co")).all())
    with_values = [u for u in updates if len(u.positions)]
    assert with_values and all(set(u.values) == {"Co"} for u in with_values)
    assert sum(len(u.positions) for u in with_values) == 4      # each point read once
    np.testing.assert_allclose(f.state.values("Co"), expected_i18()["Co"])
    np.testing.assert_array_equal(f.state.values("sum"), sums)   # untouched
    # changing its bounds recomputes it; removing it drops its map
    wider = Channel("Co", "window", bounds=(1100, 1500), elements=(6, 8, 9))
    use(f, (wider,))
    assert np.isnan(f.state.values("Co")).all()
    f.until(lambda f: np.isfinite(f.state.values("Co")).all())
    with h5py.File(I18, "r", locking=False) as h:
        want = h[MCAS][:, :, [6, 8, 9], 1100:1501].sum(axis=(-1, -2))
    np.testing.assert_allclose(f.state.values("Co"), want)
    f.state.set_reduction("Co")
    use(f, ())
    assert "Co" not in f.state.layers and f.state.reduction == "sum"


@pytest.mark.slow
def test_channels_follow_a_live_replay_of_the_xrf_map(follow, tmp_path):
    out = tmp_path / "i18.nxs"
    writer = start_replay(I18, out, rate=4.0)
    try:
        f = follow(out, data=(MCAS,), timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        use(f, CHANNELS)
        f.until_ended(timeout=90)
        writer.join(30)
        assert writer.exitcode == 0
    finally:
        if writer.is_alive():
            writer.kill()
    assert f.state.n_acquired == 4
    for name, values in expected_i18().items():
        np.testing.assert_allclose(f.state.values(name), values, rtol=1e-12, err_msg=name)


def test_spectra_of_fluo_have_an_energy_axis_and_windows_in_ev(follow):
    f = follow(DATA / "fluo.nxs")
    f.until(lambda f: f.state is not None)
    axis = f.infos[-1].frame_axis
    assert axis is not None and axis.name == "energy" and axis.unit == "eV"
    assert len(axis.values) == 4096
    lo, hi = float(axis.values[2000]), float(axis.values[2400])
    use(f, (Channel("K", "window", bounds=(lo, hi)),))
    f.until_ended()
    with h5py.File(DATA / "fluo.nxs", "r", locking=False) as h:
        data = h["entry1/fluo_entry/data/data"][()].astype(np.float64)
    np.testing.assert_allclose(f.state.values("K"), data[..., 2000:2401].sum(-1), rtol=1e-6)


def test_per_point_fields_are_offered_for_channels(follow):
    f = follow(I18, data=(MCAS,))
    f.until(lambda f: f.state is not None)
    fields = dict(f.infos[-1].fields)
    assert fields[I0] == () and fields[MCAS] == (10, 4096)
    assert "/entry1/instrument/DCM/energy" not in fields        # one value, not one per point


@pytest.mark.parametrize("bad, why", [
    (Channel("x", dataset="/entry1/nothing"), "no dataset"),
    (Channel("x", "window", bounds=(1, 2), monitor="/entry1/xspress3/Co_K"), "not one value"),
    (Channel("x", "sum", elements=(11,)), "elements"),
])
def test_a_channel_that_cannot_be_computed_is_refused_with_a_reason(follow, bad, why):
    f = follow(I18, data=(MCAS,))
    f.until(lambda f: f.state is not None)
    use(f, (CHANNELS[0], bad))
    f.until_ended()
    assert why in f.session.status.message and "channel x" in f.session.status.message
    np.testing.assert_allclose(f.state.values("Co"), expected_i18()["Co"])   # the others work
    assert np.isnan(f.state.values("x")).all()


@pytest.mark.slow
def test_element_channels_of_a_live_simulated_xrf_map_equal_numpy(follow, tmp_path):
    """The simulator's XRF writer (4 elements, I0, energy in keV), followed live: element
    windows in keV over chosen elements, divided by I0, equal numpy on the exact frames."""
    from swmrview.tools import simulate

    cfg = simulate.SimConfig(shape=(6, 7), detector="xrf", elements=4, channels=1024,
                             rate=60.0, snake=True)
    path = tmp_path / "xrf.h5"
    writer = simulate.start_writer(path, cfg)
    channels = (Channel("Fe/I0", "window", bounds=(6.3, 6.5), elements=(0, 2),
                        monitor=simulate.I0_PATH),
                Channel("Cu", "window", bounds=(7.95, 8.15)),
                Channel("I0", dataset=simulate.I0_PATH))
    try:
        f = follow(path, timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        assert f.infos[-1].frame_axis.unit == "keV"
        use(f, channels)
        f.until_ended(timeout=90)
        writer.join(30)
    finally:
        if writer.is_alive():
            writer.kill()
    energy = simulate.energy_axis(cfg)
    fe = (energy >= 6.3) & (energy <= 6.5)
    cu = (energy >= 7.95) & (energy <= 8.15)
    want = {name: np.full(cfg.shape, np.nan) for name in ("Fe/I0", "Cu", "I0")}
    for index in range(int(np.prod(cfg.shape))):
        position = np.unravel_index(index, cfg.shape)
        frame = simulate.expected_frame(index, cfg).astype(np.float64)
        i0 = simulate.expected_i0(index, cfg)
        want["Fe/I0"][position] = frame[[0, 2]][:, fe].sum() / i0
        want["Cu"][position] = frame[:, cu].sum()
        want["I0"][position] = i0
    assert f.state.n_acquired == 42
    for name, values in want.items():
        np.testing.assert_allclose(f.state.values(name), values, rtol=1e-12, err_msg=name)
    assert np.nanstd(want["Cu"]) > 0.1 * np.nanmean(want["Cu"])   # a map, not a constant


def test_rectangle_and_polygon_channels_on_diffraction_images(follow):
    """xrd_test.nxs: 2x2x2 points of 100 x 1000 images."""
    from swmrview.core.compute.channels import points_in_polygon

    path = DATA / "xrd_test.nxs"
    triangle = ((100.0, 5.0), (900.0, 5.0), (100.0, 95.0))
    f = follow(path)
    f.until(lambda f: f.state is not None)
    use(f, (Channel("ring", "rect", bounds=(10, 60, 200, 700)),
            Channel("wedge", "polygon", polygon=triangle),
            Channel("peak", "max")))
    f.until_ended()
    with h5py.File(path, "r", locking=False) as h:
        images = h["entry1/xrd_entry/instrument/detector/data"][()].astype(np.float64)
    yy, xx = np.mgrid[:100, :1000]
    inside = points_in_polygon(xx + 0.5, yy + 0.5, triangle)
    np.testing.assert_allclose(f.state.values("ring"), images[..., 10:60, 200:700].sum((-1, -2)),
                               rtol=1e-6)
    np.testing.assert_allclose(f.state.values("wedge"), images[..., inside].sum(-1), rtol=1e-6)
    np.testing.assert_allclose(f.state.values("peak"), images.max((-1, -2)))


def test_channels_that_do_not_fit_a_scan_are_said_before_they_are_sent(follow):
    from swmrview.model.channel_fits import channel_fits

    f = follow(I18, data=(MCAS,))
    f.until(lambda f: f.state is not None)
    info = f.infos[-1]
    assert channel_fits(CHANNELS[1], info) is None and channel_fits(CHANNELS[3], info) is None
    cases = {Channel("a", dataset="/entry/I0/data"): "no per-point dataset",
             Channel("b", monitor=MCAS): "no per-point monitor",
             Channel("c", "polygon", polygon=((0, 0), (9, 0), (0, 9))): "needs images",
             Channel("d", "window", bounds=(1, 2), dataset=I0): "one value per point",
             Channel("e", elements=(10,)): "elements 10"}
    for channel, said in cases.items():
        assert said in channel_fits(channel, info), channel


def test_a_counter_channel_shares_the_handle_other_readers_of_the_scan_hold(tmp_path):
    """Two handles of one dataset refreshed under SWMR make HDF5 refuse reads ("can't insert
    duplicate key"): the channel reads the counter through the scan's one shared handle."""
    from swmrview.session.channels import ChannelSet
    from swmrview.session.handles import ScanFile
    from swmrview.session.written import WrittenRule

    path = tmp_path / "counter.h5"
    counts = np.arange(24, dtype=np.float64).reshape(4, 6) * 1.5
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("It", data=counts, maxshape=(None, None), chunks=(1, 6))
    block = np.array([[0, 1], [3, 5], [2, 0]])
    with h5py.File(path, "r", swmr=True) as h5:
        f = ScanFile(h5)
        held = f["It"]        # e.g. the axes' refresh holding it
        chans = ChannelSet(f, 2, WrittenRule(False, f.__getitem__, 2, lambda: (4, 6)))
        chans.set((Channel("It", dataset="/It"),), (), None, None, None)
        values: dict = {}
        f.refresh()
        late = chans.finish(block, values)
        np.testing.assert_array_equal(values["It"], counts[tuple(block.T)])
        assert not late.any()
        assert chans._pipelines["/It"].dataset is held
        chans.close()


@pytest.mark.parametrize("name, data, channel, expected", [
    ("fluo.nxs", "/entry1/fluo_entry/data/data", Channel("w", "rect", bounds=(1000, 1400)),
     lambda d: d[..., 1000:1400].sum(-1)),
    ("xrd_test.nxs", "/entry1/xrd_entry/instrument/detector/data",
     Channel("r", "rect", bounds=(10, 60, 200, 700)),
     lambda d: d[..., 10:60, 200:700].sum((-1, -2))),
])
@pytest.mark.slow
def test_channels_follow_live_replays_of_the_fluorescence_and_diffraction_maps(
        follow, tmp_path, name, data, channel, expected):
    out = tmp_path / name
    writer = start_replay(DATA / name, out, rate=8.0)
    try:
        f = follow(out, data=(data,), timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        use(f, (channel,))
        f.until_ended(timeout=90)
        writer.join(30)
        assert writer.exitcode == 0
    finally:
        if writer.is_alive():
            writer.kill()
    with h5py.File(DATA / name, "r", locking=False) as h:
        want = expected(h[data][()].astype(np.float64))
    assert f.state.n_acquired == 8
    np.testing.assert_allclose(f.state.values(channel.name), want, rtol=1e-6)


def _lagging_counter_writer(path: str, n: int, lag: int) -> None:
    """A 1-D SWMR scan whose counter is written ``lag`` points after each detector frame and
    key (a counter flushed late): per point the frame, then its key, then the counter of the
    point ``lag`` before; the rest of the counter at the end, then the finished flag."""
    import time as _time

    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("/entry/data/data", (0, 8), maxshape=(None, 8), chunks=(1, 8),
                                dtype="f8")
        f["/entry/data"].attrs.update(NX_class="NXdata", signal="data")
        f["/entry"].attrs["NX_class"] = "NXentry"
        f.attrs["default"] = "entry"
        f["/entry"].attrs["default"] = "data"
        keys = f.create_dataset("/entry/diamond_scan/keys/uniqueKeys", (0,), maxshape=(None,),
                                chunks=(4,), dtype="i4")
        counter = f.create_dataset("/entry/instrument/ct/counts", (0,), maxshape=(None,),
                                   chunks=(4,), dtype="f8")
        f.create_dataset("/entry/diamond_scan/scan_shape", data=np.array([n], "i4"))
        f.create_dataset("/entry/diamond_scan/scan_rank", data=np.int32(1))
        done = f.create_dataset("/entry/diamond_scan/scan_finished", (1,), maxshape=(None,),
                                dtype="i4")
        f.swmr_mode = True
        for i in range(n + lag):
            if i < n:
                data.resize((i + 1, 8))
                data[i] = np.arange(8) + i
                data.flush()
                keys.resize((i + 1,))
                keys[i] = i + 1
                keys.flush()
            if i >= lag:
                counter.resize((i - lag + 1,))
                counter[i - lag] = 100.0 + 3 * (i - lag)
                counter.flush()
            _time.sleep(0.02)
        done[0] = 1
        done.flush()


@pytest.mark.slow
def test_a_counter_written_after_the_key_is_read_once_it_is_there(follow, tmp_path):
    import multiprocessing

    path = tmp_path / "lag.nxs"
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=_lagging_counter_writer, args=(str(path), 30, 5), daemon=True)
    writer.start()
    try:
        f = follow(path, timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        use(f, (Channel("ct", dataset="/entry/instrument/ct/counts"),
                Channel("per ct", monitor="/entry/instrument/ct/counts")))
        f.until(lambda f: f.session.status.terminal and np.isfinite(f.state.values("ct")).all(),
                timeout=60)
        writer.join(20)
    finally:
        if writer.is_alive():
            writer.kill()
    counts = 100.0 + 3 * np.arange(30)
    np.testing.assert_array_equal(f.state.values("ct"), counts)
    np.testing.assert_allclose(f.state.values("per ct"), (28 + 8 * np.arange(30)) / counts)


@pytest.mark.slow
def test_no_block_is_read_twice_when_a_channel_is_added_while_points_arrive(follow, tmp_path,
                                                                             monkeypatch):
    """New points and a channel's backfill are different values: a step takes one kind and
    leaves the other for the next step, without reading it first (found in review: one batch
    was read, reduced and thrown away on every step)."""
    from swmrview.tools import simulate
    from swmrview.core.compute.pipeline import ReducePipeline

    cfg = simulate.SimConfig(shape=(20, 30), frame=(16, 16), rate=300.0)
    path = tmp_path / "scan.h5"
    writer = simulate.start_writer(path, cfg)
    read = []
    original = ReducePipeline.read_process   # the session's one read path (steps included)

    def counting(self, positions, *args, **kwargs):
        read.append(len(positions))
        return original(self, positions, *args, **kwargs)

    monkeypatch.setattr(ReducePipeline, "read_process", counting)
    f = follow(path, timeout=20.0, reduce="max")
    f.until(lambda f: f.state is not None and f.state.n_acquired >= 100, timeout=60)
    acquired = f.state.n_acquired
    use(f, (Channel("top", "max"),))
    f.until(lambda f: f.session.status.terminal and not f.session.busy
            and np.isfinite(f.state.values("top")).all(), timeout=60)
    writer.join(30)
    assert sum(read) == 600 + acquired   # every frame once, plus the channel over the first
    np.testing.assert_allclose(f.state.values("top"), f.state.values("max"))


@pytest.mark.slow
def test_scan_bookkeeping_is_not_offered_as_a_per_point_field(follow, tmp_path):
    """A live 1-D scan: the finished flag and scan_shape are shorter than the scan but are not
    one value per point (found in review: both were offered as datasets and monitors)."""
    from swmrview.tools import simulate

    cfg = simulate.SimConfig(shape=(300,), frame=(4,), rate=100.0, positions="spiral")
    writer = simulate.start_writer(tmp_path / "spiral.h5", cfg)
    try:
        f = follow(tmp_path / "spiral.h5", timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        fields = dict(f.infos[-1].fields)
    finally:
        writer.kill()
    assert "/entry/diamond_scan/scan_finished" not in fields
    assert "/entry/diamond_scan/scan_shape" not in fields
    assert "/entry/data/data" in fields and fields["/entry/data/data"] == (4,)
