"""Shared fixtures: the simulated beamline writer running as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from swmrview.simulate import SimConfig, start_writer


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
