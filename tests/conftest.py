"""Shared fixtures: the simulated beamline writer running as a real process, and a Session
stepped in a loop as the GUI's worker does (model and session tests, no Qt)."""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
import time
from pathlib import Path

import pytest

from swmrview.model.messages import ScanInfo
from swmrview.model.options import ViewerOptions
from swmrview.model.view_state import ViewState
from swmrview.session.session import Session
from swmrview.tools.simulate import SimConfig, start_writer


# ----------------------------------------------------------------------------- test lanes
# ``pytest -m "not slow"`` is the everyday lane. A test is slow when it starts a process (a
# writer, the command line, a Dask cluster, swmr_tools' downloaded suite) or races threads on
# purpose; the fixture below fails any test that starts a process without the mark, so the
# lane stays fast and the mark stays true. SWMRVIEW_LIST_SLOW=FILE lists such tests instead.


@pytest.fixture(autouse=True)
def _processes_only_in_slow_tests(request, monkeypatch):
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    listing = os.environ.get("SWMRVIEW_LIST_SLOW")

    def refuse(what):
        def start(*args, **kwargs):
            if listing:
                with open(listing, "a") as out:
                    out.write(request.node.nodeid + "\n")
                return original[what](*args, **kwargs)
            raise AssertionError(f"this test starts a {what}: mark it @pytest.mark.slow")
        return start

    original = {"process": multiprocessing.process.BaseProcess.start,
                "subprocess": subprocess.Popen.__init__}
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse("process"))
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("subprocess"))
    yield


@pytest.fixture
def processes():
    """A list to put started processes in; each is joined at teardown, terminated after 10 s."""
    procs: list = []
    yield procs
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)


@pytest.fixture
def sim_writer(tmp_path, processes):
    """Factory ``start(cfg, name="scan.h5") -> (path, process)`` running the simulator."""

    def start(cfg: SimConfig, name: str = "scan.h5") -> tuple[Path, object]:
        path = tmp_path / name
        proc = start_writer(path, cfg)
        processes.append(proc)
        return path, proc

    return start

class Follow:
    """A Session plus the ViewState its messages build, stepped until a condition holds."""

    def __init__(self, path, **options) -> None:
        options.setdefault("timeout", 5.0)
        options.setdefault("stall_after", 0.5)
        self.session = Session(ViewerOptions(path=str(path), **options))
        self.state: ViewState | None = None
        self.infos: list[ScanInfo] = []
        self.statuses = []

    def step(self) -> None:
        for message in self.session.step():
            if isinstance(message, ScanInfo):
                self.infos.append(message)
                self.state = ViewState(message)
            else:
                if self.state is not None and message.generation == self.infos[-1].generation:
                    self.state.apply(message)
                if not self.statuses or self.statuses[-1] != message.status:
                    self.statuses.append(message.status)

    @property
    def kinds(self) -> list[str]:
        return [s.kind for s in self.statuses]

    def until(self, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            assert time.monotonic() < deadline, f"timed out; statuses {self.statuses[-5:]}"
            self.step()
            time.sleep(0.01)

    def until_ended(self, timeout: float = 30.0) -> None:
        self.until(lambda f: f.session.status.terminal and not f.session.busy, timeout)

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def follow():
    made = []

    def make(path, **options) -> Follow:
        made.append(Follow(path, **options))
        return made[-1]

    yield make
    for f in made:
        f.close()
