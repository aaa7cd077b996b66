"""The built-in maps a session computes: sum and mean always, max only while something wants
it, filled over the points already read when it is switched on (no Qt)."""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.model.messages import Update
from swmrview.model.view_settings import ViewSettings


def finished_scan(path, n=12):
    """A finished file without keys (a complete scan of n points) of float32 frames with
    NaN and infinite pixels, which every map leaves out."""
    rng = np.random.default_rng(1)
    frames = rng.poisson(40, (n, 96, 128)).astype(np.float32)   # 48 KiB frames
    frames[:, 3, 5] = np.nan
    frames[2, 7, 7] = np.inf
    frames[5, 9, 1] = -np.inf
    frames[5, 10, 1] = np.inf
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=frames, chunks=(1, 96, 128))
    kept = np.where(np.isfinite(frames), frames.astype(np.float64), np.nan)
    return {"sum": np.nansum(kept, axis=(1, 2)), "mean": np.nanmean(kept, axis=(1, 2)),
            "max": np.nanmax(kept, axis=(1, 2))}


def recording(f):
    """The updates ``f``'s session hands out from now on."""
    updates = []
    original = f.session.step

    def step():
        messages = original()
        updates.extend(m for m in messages if isinstance(m, Update))
        return messages

    f.session.step = step
    return updates


def test_max_is_computed_only_while_asked_for_and_filled_when_switched_on(follow, tmp_path):
    path = tmp_path / "scan.h5"
    want = finished_scan(path)
    f = follow(path)
    updates = recording(f)
    f.until_ended()
    assert f.session.reductions == ("sum", "mean", "roi")
    assert f.session.scan.pipeline.reductions == ("sum", "mean", "roi")
    with_values = [u for u in updates if len(u.positions)]
    assert with_values and all("max" not in u.values for u in with_values)
    for name in ("sum", "mean"):
        np.testing.assert_array_equal(f.state.values(name), want[name], err_msg=name)
    assert np.isnan(f.state.values("max")).all()
    sums = f.state.values("sum").copy()

    # the window shows max: the session is told, and computes it over the acquired points
    del updates[:]
    f.state.set_reduction("max")
    f.session.set_reductions(f.state.wanted_reductions())
    assert f.session.reductions == ("sum", "mean", "max", "roi")
    f.until(lambda f: np.isfinite(f.state.values("max")).all())
    with_values = [u for u in updates if len(u.positions)]
    assert with_values and all(set(u.values) == {"max"} for u in with_values)
    assert sum(len(u.positions) for u in with_values) == len(want["max"])   # each point once
    np.testing.assert_array_equal(f.state.values("max"), want["max"])
    np.testing.assert_array_equal(f.state.values("sum"), sums)

    # shown no more: computed no more (and asking again for what is computed reads nothing)
    f.state.set_reduction("sum")
    f.session.set_reductions(f.state.wanted_reductions())
    assert "max" not in f.session.scan.pipeline.reductions
    f.session.set_reductions(())
    assert not f.session.busy


def test_max_shown_or_exported_from_the_start_is_computed_with_the_first_points(follow,
                                                                               tmp_path):
    path = tmp_path / "scan.h5"
    want = finished_scan(path)
    for options in (dict(reduce="max"), dict(view=ViewSettings(shown="max")),
                    dict(export_nexus=str(tmp_path / "out.nxs"))):
        f = follow(path, **options)
        updates = recording(f)
        f.until_ended()
        assert "max" in f.session.reductions, options
        with_values = [u for u in updates if len(u.positions)]
        assert with_values and all("max" in u.values for u in with_values), options
        np.testing.assert_array_equal(f.state.values("max"), want["max"])
        np.testing.assert_array_equal(f.state.values("sum"), want["sum"])
        if "export_nexus" in options:   # an export needs max whatever the window shows
            f.session.set_reductions(("sum",))
            assert "max" in f.session.reductions
        f.close()   # one session of the file at a time (HDF5 refuses two refreshed handles)
