"""Fixtures for the core tests: scripted writers running in real processes."""

from __future__ import annotations

import multiprocessing

import pytest

from swmrview.core import open_swmr

from . import writers


@pytest.fixture
def writer(tmp_path):
    """Start ``writers.write(path, plan)`` in a separate process; returns (path, process)."""
    procs = []

    def start(plan: writers.Plan, name: str = "scan.h5"):
        path = str(tmp_path / name)
        proc = multiprocessing.get_context("spawn").Process(target=writers.write, args=(path, plan))
        proc.start()
        procs.append(proc)
        return path, proc

    yield start
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join()


def open_when_ready(path: str):
    """Open a file a writer is creating, waiting while it is missing or locked."""
    return open_swmr(path, retry_for=30)
