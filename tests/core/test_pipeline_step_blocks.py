"""Frames read chunk by chunk reach a processing step in blocks (one call per unit of work,
not per frame: the XRF fit costs ~80 us a call for one spectrum, ~27 us a spectrum in blocks),
and see the frames as written even where the reductions zero excluded pixels in place."""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.core.compute.pipeline import ReducePipeline


class Recording:
    """A FrameStep: each frame's total and max, recording the block sizes it was called with."""

    name, unit, labels = "rec", "", ("total", "max")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, frames):
        self.calls.append(len(frames))
        flat = frames.reshape(len(frames), -1).astype(np.float64)
        return np.stack([flat.sum(1), flat.max(1)], axis=1)

    def describe(self):
        return "totals"


def test_chunk_read_frames_reach_a_step_in_blocks_unmasked(tmp_path):
    frames = np.random.default_rng(2).integers(0, 100, (5, 8, 4, 4096), dtype=np.uint32)
    frames[2, 3, 1, 7] = 4000                       # above the overflow: excluded from the map
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("d", data=frames, chunks=(1, 1, 4, 4096))
    positions = np.array([(i, j) for i in range(5) for j in range(8)])
    step = Recording()
    with h5py.File(tmp_path / "f.h5", "r") as f:
        pipeline = ReducePipeline(f["d"], 2, threads=2, direct=True, overflow=1000)
        assert pipeline.direct                       # the chunk-by-chunk path
        values, results, _last = pipeline.read_process(positions, steps={"rec": step})
        pipeline.close()
    flat = frames.reshape(40, -1).astype(np.float64)
    np.testing.assert_array_equal(results["rec"][:, 0], flat.sum(1))
    np.testing.assert_array_equal(results["rec"][:, 1], flat.max(1))   # 4000 seen by the step
    assert values["max"][2 * 8 + 3] < 1000                             # but not in the map
    assert sum(step.calls) == 40 and max(step.calls) > 1
