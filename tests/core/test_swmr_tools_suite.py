"""swmr_tools 0.9.0's own test suite, run unchanged against swmr_tools and against swmrview.core.

The suite is not part of this repository: the test fetches swmr_tools' source distribution from
the package index (``pip download``) into a cache directory, extracts its ``tests/`` and runs
them twice in subprocesses, once as they are and once with ``swmr_tools`` (and its modules
``utils``, ``chunk_utils``, ``datasource``, ``chunksource``, ``keyfollower``) resolving to
``swmrview.core``. Both runs must pass all 109 tests.

The sdist lacks the suite's helper module ``tests/utils.py`` (``make_mock``: a ``mock.Mock``
standing in for an h5py dataset, backed by a numpy array). `MAKE_MOCK` below is this project's
own version of it, written from how the tests use it.

Set SWMRVIEW_SUITE_CACHE to choose the cache directory (default: ~/.cache/swmrview).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # it runs swmr_tools' whole suite twice, in subprocesses

pytest.importorskip("mock")
pytest.importorskip("swmr_tools")
pytest.importorskip("blosc")

VERSION = "0.9.0"
EXPECTED = 109

MAKE_MOCK = '''\
"""make_mock: a Mock standing in for an h5py dataset (written for swmrview's test run)."""
import numpy as np
from mock import Mock


def make_mock(shape=[5, 10, 1, 1], maxshape=None):
    """A Mock with ``dataset`` (numpy zeros of ``shape``), ``shape``, ``maxshape``, ``size``;
    indexing reads ``dataset`` as it is at the time of the call."""
    mds = Mock()
    mds.dataset = np.zeros(shape)
    mds.shape = shape
    mds.maxshape = shape if maxshape is None else maxshape
    mds.size = mds.dataset.size
    mds.__getitem__ = Mock(side_effect=lambda item: mds.dataset[item])
    return mds
'''

SHIM = '''\
"""Make ``swmr_tools`` and its modules resolve to swmrview.core (written by swmrview's test)."""
import importlib
import sys

import swmrview.core as core

sys.modules["swmr_tools"] = core
for theirs, ours in {"utils": "compat.utils", "chunk_utils": "compat.chunk_utils",
                     "datasource": "compat.datasource", "chunksource": "compat.chunksource",
                     "keyfollower": "follow.keys"}.items():
    sys.modules["swmr_tools." + theirs] = importlib.import_module("swmrview.core." + ours)

with open(__file__ + ".loaded", "w") as marker:  # the test checks the shim was in force
    marker.write(sys.modules["swmr_tools"].__name__)
'''


def _cache_dir() -> Path:
    root = os.environ.get("SWMRVIEW_SUITE_CACHE") or Path.home() / ".cache" / "swmrview"
    path = Path(root) / f"swmr_tools-{VERSION}-suite"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch_suite() -> Path:
    """The extracted ``tests/`` of the swmr_tools sdist (downloaded once into the cache)."""
    cache = _cache_dir()
    tests = cache / "tests"
    if (tests / "test_KeyFollower.py").exists():
        return tests
    sdists = list(cache.glob("swmr_tools-*.tar.gz"))
    if not sdists:
        cmd = [sys.executable, "-m", "pip", "download", f"swmr-tools=={VERSION}",
               "--no-binary", ":all:", "--no-deps", "-d", str(cache),
               "--timeout", "20", "--retries", "1"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.skip(f"cannot fetch the swmr_tools sdist: {error}")
        sdists = list(cache.glob("swmr_tools-*.tar.gz"))
        if done.returncode != 0 or not sdists:
            errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
            pytest.skip("the package index cannot be reached (pip download swmr-tools=="
                        f"{VERSION} failed): {(errors or ['no output'])[-1].strip()}")
    tmp = cache / "tests.partial"
    tmp.mkdir(exist_ok=True)
    with tarfile.open(sdists[0]) as tar:
        members = [m for m in tar.getmembers()
                   if m.isfile() and m.name.split("/")[1:2] == ["tests"]]
        for member in members:
            member.name = member.name.split("/", 2)[2]
            tar.extract(member, tmp, filter="data")
    tmp.rename(tests)
    return tests


def _run(tests: Path, run_dir: Path, shim: bool) -> tuple[dict[str, int], str]:
    """Run the suite in a subprocess; the counts from pytest's summary line, and the output."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(tests):
        if name.endswith(".py"):
            (run_dir / name).write_text((tests / name).read_text())
    (run_dir / "utils.py").write_text(MAKE_MOCK)
    (run_dir / "pytest.ini").write_text("[pytest]\n")
    conftest = run_dir / "conftest.py"
    if shim:
        conftest.write_text(SHIM)
    elif conftest.exists():
        conftest.unlink()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:pytestqt",
           "-c", str(run_dir / "pytest.ini"), "--rootdir", str(run_dir),
           # a temp dir of its own: pytest's shared numbered dirs under /tmp are cleaned by
           # other pytest runs (the two runs here, a developer's), and a file still open in a
           # removed dir made one of swmr_tools' own tests fail with "unable to lock file"
           "--basetemp", str(run_dir / "tmp"), str(run_dir)]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=run_dir, env=env,
                          check=False)
    out = done.stdout + done.stderr
    summary = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    counts = {kind: int(n) for n, kind in
              re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary[-1] if summary else "")}
    return counts, out


def test_swmr_tools_own_suite_passes_on_swmr_tools_and_on_swmrview(tmp_path):
    tests = _fetch_suite()
    with ThreadPoolExecutor(2) as pool:  # both runs at once: the suite mostly waits on writers
        theirs = pool.submit(_run, tests, tmp_path / "swmr_tools", False)
        ours = pool.submit(_run, tests, tmp_path / "swmrview", True)
        (t_counts, t_out), (o_counts, o_out) = theirs.result(), ours.result()
    assert t_counts == {"passed": EXPECTED}, f"swmr_tools itself: {t_counts}\n{t_out[-3000:]}"
    marker = tmp_path / "swmrview" / "conftest.py.loaded"
    assert marker.exists() and marker.read_text() == "swmrview.core"  # the shim was in force
    assert o_counts == {"passed": EXPECTED}, f"swmrview.core: {o_counts}\n{o_out[-6000:]}"
