"""Directory mode without Qt: a DirectorySession stepped in a loop, real writer processes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.session.directory import DirectorySession
from swmrview.session.scan_finder import ScanFinder
from swmrview.model.messages import ScanInfo, ScanList, Update
from swmrview.model.options import ViewerOptions
from swmrview.model.status import FINISHED, TIMED_OUT, WAITING
from swmrview.model.view_state import ViewState
from swmrview.tools.simulate import SimConfig, start_writer
from tests.writers.gda_writer import detector_file_path, start_gda_writer

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


class FollowDir:
    """A DirectorySession and what its messages build, as the window would keep them."""

    def __init__(self, path, **options) -> None:
        options.setdefault("timeout", 5.0)
        options.setdefault("stall_after", 0.5)
        self.session = DirectorySession(ViewerOptions(path=str(path), **options),
                                        check_every=0.1)
        self.messages: list = []
        self.infos: list[ScanInfo] = []
        self.lists: list[ScanList] = []
        self.state: ViewState | None = None
        self.generation = self.session.generation

    def step(self) -> None:
        for message in self.session.step():
            self.messages.append(message)
            if isinstance(message, ScanList):
                self.lists.append(message)
                continue
            assert message.generation >= self.generation, "generations must never go back"
            if isinstance(message, ScanInfo):
                self.infos.append(message)
                self.state = ViewState(message)
                self.generation = message.generation
            elif message.generation == self.generation and self.state is not None:
                self.state.apply(message)

    def until(self, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            assert time.monotonic() < deadline, \
                f"timed out; status {self.session.status}, lists {self.lists[-1:]}"
            self.step()
            time.sleep(0.01)

    @property
    def shown(self) -> str | None:
        return os.path.basename(self.infos[-1].path) if self.infos else None

    @property
    def n_acquired(self) -> int:
        return self.state.n_acquired if self.state is not None else 0

    def ended(self) -> bool:
        return self.session.status.terminal and not self.session.busy


@pytest.fixture
def follow_dir():
    made = []

    def make(path, **options) -> FollowDir:
        made.append(FollowDir(path, **options))
        return made[-1]

    yield make
    for f in made:
        f.session.close()


def write(path, **config):
    """Write a whole simulated scan in a writer process and wait for it."""
    config.setdefault("frame", (4, 4))
    config.setdefault("rate", 2000.0)
    writer = start_writer(path, SimConfig(**config))
    writer.join(30)
    assert writer.exitcode == 0


# ------------------------------------------------------------------------------ finding scans

@pytest.mark.slow
def test_newest_scan_file_is_found_in_subfolders(tmp_path):
    (tmp_path / "a").mkdir()
    write(tmp_path / "a" / "old.nxs", shape=(2, 3))
    time.sleep(0.05)
    write(tmp_path / "new.h5", shape=(2, 3))
    (tmp_path / "notes.txt").write_text("not a scan")
    (tmp_path / "empty.h5").write_bytes(b"")  # created, not HDF5 yet
    finder = ScanFinder(str(tmp_path))
    assert finder.scan() == [str(tmp_path / "new.h5"), str(tmp_path / "a" / "old.nxs")]
    time.sleep(0.05)
    write(tmp_path / "later.hdf5", shape=(2, 3))   # appears later: newest whatever the mtimes
    os.utime(tmp_path / "later.hdf5", (1, 1))
    got = finder.scan()
    assert got[0] == str(tmp_path / "later.hdf5") and len(got) == 3
    with h5py.File(tmp_path / "empty.h5", "w") as h5:  # now an HDF5 file: a candidate
        h5["x"] = np.arange(3)
    assert str(tmp_path / "empty.h5") in finder.scan()


@pytest.mark.slow
def test_finding_is_bounded_in_depth(tmp_path):
    deep = tmp_path / "1" / "2" / "3" / "4"
    deep.mkdir(parents=True)
    write(deep / "too_deep.nxs", shape=(2, 2))
    write(tmp_path / "1" / "2" / "ok.nxs", shape=(2, 2))
    assert ScanFinder(str(tmp_path), max_depth=3).scan() == [str(tmp_path / "1" / "2" / "ok.nxs")]
    assert ScanFinder(str(tmp_path), max_files=0).scan() == []


@pytest.mark.slow
def test_detector_files_linked_by_a_scan_are_ignored(tmp_path):
    gda = start_gda_writer(tmp_path / "scan.nxs", (3, 4), frame_shape=(4, 4), rate=500.0,
                           detector_file=True)
    gda.join(30)
    write(tmp_path / "sim.nxs", shape=(2, 3), external=True)  # sim_detector.h5, written first
    assert detector_file_path(tmp_path / "scan.nxs").exists()
    assert (tmp_path / "sim_detector.h5").exists()
    assert ScanFinder(str(tmp_path)).scan() == [str(tmp_path / "sim.nxs"),
                                                str(tmp_path / "scan.nxs")]


@pytest.mark.skipif(not (REAL / "k11-18014.nxs").exists(), reason="real files not present")
def test_real_detector_folder_and_absolute_links_are_ignored(tmp_path):
    shutil.copy(REAL / "k11-18014.nxs", tmp_path)
    shutil.copytree(REAL / "k11-18014", tmp_path / "k11-18014")
    shutil.copy(REAL / "i22-119583.nxs", tmp_path)   # links /dls/.../i22-119583-Pilatus2M.h5
    shutil.copy(REAL / "i22-119583-Pilatus2M.h5", tmp_path)
    finder = ScanFinder(str(tmp_path), link_budget=10.0)
    assert sorted(map(os.path.basename, finder.scan())) == ["i22-119583.nxs", "k11-18014.nxs"]


# ------------------------------------------------------------------------------ following

@pytest.mark.slow
def test_empty_folder_waits_then_follows_the_first_scan(tmp_path, follow_dir):
    f = follow_dir(tmp_path)
    f.until(lambda f: f.messages)
    status = f.session.status
    assert status.kind == WAITING and status.message == f"Waiting for a scan in {tmp_path}"
    assert any(isinstance(m, Update) and m.status == status for m in f.messages)
    assert f.lists[-1].paths == () and f.lists[-1].current is None
    for _ in range(20):
        f.step()
    assert f.session.status.kind == WAITING and not f.infos
    writer = start_writer(tmp_path / "first.nxs", SimConfig(shape=(3, 4), frame=(4, 4),
                                                            rate=200.0))
    f.until(lambda f: f.ended())
    writer.join(10)
    assert f.shown == "first.nxs" and f.n_acquired == 12
    assert f.session.status.kind == FINISHED and "first.nxs" in f.session.status.message
    assert f.lists[-1].paths == (str(tmp_path / "first.nxs"),)
    assert f.lists[-1].current == str(tmp_path / "first.nxs")


def test_empty_folder_headless_times_out(tmp_path, follow_dir):
    f = follow_dir(tmp_path, timeout=0.3, exit_on_finish=True)
    f.until(lambda f: f.session.status.terminal, timeout=10)
    status = f.session.status
    assert status.kind == TIMED_OUT and status.exit_code == 3
    assert "Waiting" not in status.message and str(tmp_path) in status.message


@pytest.mark.slow
def test_newest_scan_is_shown_and_ends_like_a_file(tmp_path, follow_dir):
    write(tmp_path / "one.nxs", shape=(2, 3))
    time.sleep(0.05)
    write(tmp_path / "two.nxs", shape=(3, 5))
    f = follow_dir(tmp_path, exit_on_finish=True)
    f.until(lambda f: f.ended())
    assert [os.path.basename(i.path) for i in f.infos] == ["two.nxs"]
    assert f.n_acquired == 15 and f.session.status.exit_code == 0
    assert f.lists[-1].paths == (str(tmp_path / "two.nxs"), str(tmp_path / "one.nxs"))


@pytest.mark.slow
def test_a_new_scan_takes_over_only_once_it_has_points(tmp_path, follow_dir):
    first = start_writer(tmp_path / "first.nxs",
                         SimConfig(shape=(20, 10), frame=(4, 4), rate=40.0))
    f = follow_dir(tmp_path)
    try:
        f.until(lambda f: f.shown == "first.nxs" and f.n_acquired >= 5)
        first_generation = f.generation
        # the second scan's file is there (SWMR, nothing written) 2 s before its first point
        second = start_gda_writer(tmp_path / "second.nxs", (3, 4), frame_shape=(4, 4),
                                  rate=50.0, pause_at=0, pause_s=2.0)
        f.until(lambda f: f.session.pending is not None)
        assert f.session.pending.path == str(tmp_path / "second.nxs")
        assert str(tmp_path / "second.nxs") in f.lists[-1].paths
        assert f.lists[-1].current == str(tmp_path / "first.nxs")
        mark = len(f.messages)
        f.until(lambda f: f.shown == "second.nxs")
        waiting = f.messages[mark:]
        switch = next(i for i, m in enumerate(waiting) if isinstance(m, ScanInfo))
        # until the switch only the first scan's map messages, still growing
        updates = [m for m in waiting[:switch] if isinstance(m, Update)]
        assert updates and all(m.generation == first_generation for m in updates)
        assert sum(m.new_points for m in updates) > 10
        # the switch: the new scan's info, then an update that has its first points
        after = [m for m in waiting[switch + 1:] if isinstance(m, Update)]
        assert after and after[0].n_ready > 0 and after[0].generation == f.generation
        assert f.session.current.path == str(tmp_path / "second.nxs")
        assert f.session.pending is None
        f.until(lambda f: f.ended())
        assert f.n_acquired == 12 and "second.nxs" in f.session.status.message
        assert f.lists[-1].current == str(tmp_path / "second.nxs")
        assert f.lists[-1].paths[:2] == (str(tmp_path / "second.nxs"),
                                         str(tmp_path / "first.nxs"))
        second.join(10)
    finally:
        first.terminate()
        first.join(10)


@pytest.mark.slow
def test_going_back_to_an_older_scan_stops_switching(tmp_path, follow_dir):
    write(tmp_path / "a.nxs", shape=(2, 3))
    time.sleep(0.05)
    write(tmp_path / "b.nxs", shape=(3, 3))
    f = follow_dir(tmp_path)
    f.until(lambda f: f.ended() and f.shown == "b.nxs")
    f.session.open_scan(str(tmp_path / "a.nxs"))
    f.until(lambda f: f.shown == "a.nxs" and f.ended())
    assert f.n_acquired == 6
    assert f.lists[-1].current == str(tmp_path / "a.nxs") and not f.lists[-1].following
    write(tmp_path / "c.nxs", shape=(2, 2))   # a new scan: listed, not shown
    f.until(lambda f: str(tmp_path / "c.nxs") in f.lists[-1].paths)
    for _ in range(30):
        f.step()
        time.sleep(0.01)
    assert f.shown == "a.nxs" and f.session.pending is None
    f.session.follow_newest()
    f.until(lambda f: f.shown == "c.nxs" and f.ended())
    assert f.n_acquired == 4 and f.lists[-1].following
    assert f.lists[-1].current == str(tmp_path / "c.nxs")


@pytest.mark.slow
def test_requests_use_only_points_of_the_shown_scan(tmp_path, follow_dir):
    write(tmp_path / "big.nxs", shape=(4, 6))
    time.sleep(0.05)
    f = follow_dir(tmp_path)
    f.until(lambda f: f.ended() and f.shown == "big.nxs")
    write(tmp_path / "small.nxs", shape=(2, 2))
    f.until(lambda f: f.ended() and f.shown == "small.nxs")
    # a ROI request sent as the window switches: the shown scan recomputes its own points
    mark = len(f.messages)
    f.session.set_roi((0, 2, 0, 2))
    for _ in range(5):
        f.step()
    recomputed = [m for m in f.messages[mark:] if isinstance(m, Update) and len(m.positions)]
    assert recomputed, "the shown scan's points are recomputed"
    positions = np.concatenate([m.positions for m in recomputed])
    assert len(positions) == 4 and positions.max(axis=0).tolist() == [1, 1]
    assert f.session.status.kind == FINISHED


@pytest.mark.slow
def test_own_live_export_is_never_followed(tmp_path, follow_dir):
    write(tmp_path / "scan.nxs", shape=(2, 3))
    time.sleep(0.05)
    for name in ("maps.nxs", "maps-2.nxs"):   # what --export-nexus maps.nxs writes, later
        write(tmp_path / name, shape=(2, 2))
    f = follow_dir(tmp_path, export_nexus=str(tmp_path / "maps.nxs"))
    f.until(lambda f: f.ended())
    assert f.shown == "scan.nxs" and f.lists[-1].paths == (str(tmp_path / "scan.nxs"),)


@pytest.mark.slow
def test_a_newer_file_that_is_not_a_scan_leaves_the_shown_scan(tmp_path, follow_dir):
    write(tmp_path / "scan.nxs", shape=(2, 3))
    f = follow_dir(tmp_path)
    f.until(lambda f: f.ended() and f.shown == "scan.nxs")
    with h5py.File(tmp_path / "notes.h5", "w") as h5:   # HDF5, but nothing to map
        h5["entry/comment"] = "no data here"
    f.until(lambda f: str(tmp_path / "notes.h5") in f.lists[-1].paths)
    f.until(lambda f: f.session.pending is None)
    for _ in range(30):
        f.step()
        time.sleep(0.01)
    assert f.shown == "scan.nxs" and f.n_acquired == 6 and f.session.pending is None
    assert f.session.status.kind == FINISHED and len(f.infos) == 1
    f.session.open_scan(str(tmp_path / "notes.h5"))   # chosen by the user: its error is shown
    f.until(lambda f: f.session.status.terminal and "notes.h5" in f.session.status.message)
    assert f.session.status.exit_code == 2


@pytest.mark.slow
def test_map_channels_hold_for_each_new_scan_of_the_folder(tmp_path, follow_dir,
                                                          monkeypatch):
    from swmrview.tools import simulate
    from swmrview.core.compute.channels import Channel

    fe = Channel("Fe/I0", "window", bounds=(6.3, 6.5), monitor=simulate.I0_PATH)

    plain = ViewState

    def view_state(info):           # as the window does: each scan's state gets the channels
        state = plain(info)
        state.set_channels((fe,))
        return state

    monkeypatch.setitem(globals(), "ViewState", view_state)
    cfg = SimConfig(shape=(3, 4), detector="xrf", elements=2, channels=512, rate=2000.0)
    first = start_writer(tmp_path / "one.nxs", cfg)
    first.join(30)
    f = follow_dir(tmp_path)
    f.until(lambda f: f.state is not None)
    f.session.set_channels((fe,))
    f.until(lambda f: f.ended() and np.isfinite(f.state.values("Fe/I0")).all())
    second = start_writer(tmp_path / "two.nxs", SimConfig(**{**cfg.__dict__, "seed": 5}))
    f.until(lambda f: f.shown == "two.nxs")
    f.until(lambda f: f.ended() and f.n_acquired == 12
            and np.isfinite(f.state.values("Fe/I0")).all())
    second.join(30)
    energy = simulate.energy_axis(cfg)
    window = (energy >= 6.3) & (energy <= 6.5)
    two = SimConfig(**{**cfg.__dict__, "seed": 5})
    want = [simulate.expected_frame(i, two)[:, window].sum() / simulate.expected_i0(i, two)
            for i in range(12)]
    np.testing.assert_allclose(f.state.values("Fe/I0").ravel(), want, rtol=1e-12)
