"""Fixtures for the core tests: scripted writers running in real processes."""

from __future__ import annotations

import multiprocessing

import pytest

from swmrview.core import open_swmr

from . import writers


@pytest.fixture
def writer(tmp_path, processes):
    """Start ``writers.write(path, plan)`` in a separate process; returns (path, process)."""

    def start(plan: writers.Plan, name: str = "scan.h5"):
        path = str(tmp_path / name)
        proc = multiprocessing.get_context("spawn").Process(target=writers.write, args=(path, plan))
        proc.start()
        processes.append(proc)
        return path, proc

    return start


def open_when_ready(path: str):
    """Open a file a writer is creating, waiting while it is missing or locked."""
    return open_swmr(path, retry_for=30)
