"""Shared fixtures: the simulated beamline writer running as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from swmrview.simulate import SimConfig, start_writer


@pytest.fixture
def sim_writer(tmp_path):
    """Factory ``start(cfg, name="scan.h5") -> (path, process)`` running the simulator.

    Every writer started is joined at teardown (terminated if still running after 10 s).
    """
    procs = []

    def start(cfg: SimConfig, name: str = "scan.h5") -> tuple[Path, object]:
        path = tmp_path / name
        proc = start_writer(path, cfg)
        procs.append(proc)
        return path, proc

    yield start
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
