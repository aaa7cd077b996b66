"""One HDF5 handle per dataset per open scan: features that read the same dataset (the shown
detector, a channel naming it by path, the key follower, --data naming a key) share it.

Two handles of one dataset refreshed separately under SWMR make HDF5 fail with "can't insert
duplicate key"; these tests follow live files written by separate processes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from swmrview.core.compute.channels import Channel
from swmrview.tools.replay import start_replay
from swmrview.tools.simulate import UNIQUE_KEYS, SimConfig

from .test_channels import I18, MCAS, expected_i18


@pytest.mark.slow
def test_a_channel_naming_the_shown_detector_by_path_follows_a_live_scan(follow, tmp_path):
    out = tmp_path / "i18.nxs"
    writer = start_replay(I18, out, rate=4.0)
    try:
        f = follow(out, data=(MCAS,), timeout=20.0)
        f.until(lambda f: f.state is not None, timeout=60)
        channels = (Channel("Co", "window", bounds=(1200, 1400), elements=(6, 8, 9),
                            dataset=MCAS),)
        f.state.set_channels(channels)
        f.session.set_channels(channels)
        f.until_ended(timeout=90)
        writer.join(30)
    finally:
        if writer.is_alive():
            writer.kill()
    assert f.kinds[-1] == "finished", f.statuses[-3:]
    want = expected_i18()
    np.testing.assert_allclose(f.state.values("Co"), want["Co"], rtol=1e-12)
    np.testing.assert_allclose(f.state.values("sum"), want["sum"], rtol=1e-12)


@pytest.mark.slow
def test_data_naming_the_key_dataset_maps_the_keys(follow, sim_writer):
    path, proc = sim_writer(SimConfig(shape=(4, 6), frame=(8, 8), rate=80.0))
    f = follow(path, data=(UNIQUE_KEYS,), timeout=10.0)
    f.until_ended(timeout=60)
    assert f.kinds[-1] == "finished", f.statuses[-3:]
    assert f.state.n_acquired == 24
    values = f.state.values("sum")
    assert np.isfinite(values).all() and (values > 0).all()
    np.testing.assert_array_equal(np.sort(values.ravel()), np.arange(1, 25))


@pytest.mark.parametrize("name", ["i18_test_data.nxs", "eiger/test_master.h5"])
def test_a_closed_scan_frees_its_hdf5_objects_at_once(follow, name):
    """No reference cycle through the open scan: its datasets are released when the session
    closes it, not at a later garbage collection (whose late release of HDF5 ids corrupted the
    next scan's datasets: "can't insert duplicate key")."""
    import gc
    import weakref

    from .test_channels import DATA

    f = follow(DATA / name)
    f.until_ended()
    scan = weakref.ref(f.session.scan)
    pipeline = weakref.ref(f.session.scan.pipeline)
    gc.disable()
    try:
        f.session.close()
        assert scan() is None and pipeline() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ["i18_test_data.nxs", "xrd_test.nxs"])
def test_a_dropped_session_frees_its_hdf5_objects_at_once(follow, name):
    """No reference cycle through the session itself (its collaborators held its bound clock
    method): a session dropped, even unclosed, leaves no HDF5 object to the cyclic collector,
    which would free it late and on another thread."""
    import gc
    import weakref

    from swmrview.model.options import ViewerOptions
    from swmrview.session.session import Session

    from .test_channels import DATA

    session = Session(ViewerOptions(path=str(DATA / name), timeout=2.0))
    deadline = time.monotonic() + 30
    while not (session.status.terminal and not session.busy):
        assert time.monotonic() < deadline
        session.step()
    scan = weakref.ref(session.scan)
    gc.disable()
    try:
        del session
        assert scan() is None
    finally:
        gc.enable()
