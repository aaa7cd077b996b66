"""One rule for "point i of dataset D is written", for every dataset a channel reads: a live
scan without keys whose monitor row exists (holding fill 0) before its value is written."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.core.compute.channels import Channel

from ..writers import keyless_writer as kw

pytestmark = pytest.mark.slow


def test_a_monitor_is_read_only_once_written_on_a_live_scan_without_keys(tmp_path, follow):
    path = tmp_path / "keyless.h5"
    writer = kw.start(path, n=40, lag=3, rate=40.0)
    try:
        f = follow(path, timeout=5.0)
        f.until(lambda f: f.state is not None, timeout=30)
        ratio = (Channel("d/I0", "sum", monitor=kw.I0),)
        f.state.set_channels(ratio)
        f.session.set_channels(ratio)
        seen_values = []
        while not (f.session.status.terminal and not f.session.busy):
            f.step()
            values = f.state.values("d/I0").ravel()
            seen_values.append(values.copy())
        writer.join(30)
    finally:
        if writer.is_alive():
            writer.kill()
    assert f.kinds[-1] == "finished", f.statuses[-3:]
    index = np.arange(40)
    want = kw.expected_sum(index) / kw.expected_i0(index)
    for values in seen_values:        # while live: a value is either not there yet or right
        n = min(len(values), 40)
        shown = np.isfinite(values[:n])
        np.testing.assert_allclose(values[:n][shown], want[:n][shown], rtol=1e-12)
    np.testing.assert_allclose(f.state.values("d/I0").ravel(), want, rtol=1e-12)
