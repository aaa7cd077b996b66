"""Processing steps in the pipeline: run once per frame in the worker threads, their results
per point, channels reducing those results; and pyFAI's integration on several threads."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.core.compute.channels import Channel
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.compute.step_channels import StepChannelReducer


class CountingStep:
    """A FrameStep: row sums of each frame (labels = row numbers), counting the frames seen."""

    name, unit = "rows", ""

    def __init__(self, height: int) -> None:
        self.labels = np.arange(height, dtype=float)
        self.calls = []

    def __call__(self, frames):
        self.calls.append(len(frames))
        return frames.reshape(len(frames), len(self.labels), -1).sum(-1, dtype=float)

    def describe(self):
        return "row sums"


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("threads", [1, 3])
def test_a_step_runs_once_per_frame_and_its_channels_reduce_its_results(tmp_path, direct,
                                                                       threads):
    frames = np.random.default_rng(1).integers(0, 1000, (4, 6, 128, 160), dtype=np.uint16)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("d", data=frames, chunks=(1, 1, 128, 160))
    step = CountingStep(128)
    window = Channel("w", "window", step="rows", bounds=(10, 20.5))
    whole = Channel("m", "max", step="rows")
    reducers = {c.name: StepChannelReducer(c, step.labels) for c in (window, whole)}
    positions = np.array([(i, j) for i in range(4) for j in range(6)])[::-1]
    with h5py.File(tmp_path / "f.h5", "r") as f:
        pipeline = ReducePipeline(f["d"], 2, threads=threads, direct=direct)
        values, results, last = pipeline.read_process(positions, extra=reducers,
                                                      steps={"rows": step})
        pipeline.close()
    rows = frames[tuple(positions.T)].sum(-1, dtype=float)
    np.testing.assert_array_equal(results["rows"], rows)
    np.testing.assert_array_equal(values["w"], rows[:, 10:21].sum(1))
    np.testing.assert_array_equal(values["m"], rows.max(1))
    np.testing.assert_array_equal(values["sum"], frames[tuple(positions.T)].sum((1, 2)))
    assert sum(step.calls) == len(positions)          # once per frame
    np.testing.assert_array_equal(last, frames[tuple(positions[-1])])


def test_a_channel_of_a_step_not_run_is_refused():
    step = CountingStep(4)
    reducer = StepChannelReducer(Channel("w", "window", step="rows", bounds=(0, 1)), step.labels)
    pipeline = ReducePipeline(np.zeros((2, 4, 4)), 1, threads=1)
    with pytest.raises(ValueError, match="rows"):
        pipeline.read_process([[0]], extra={"w": reducer})


def test_linear_background_is_the_line_through_the_means_of_three_bins_each_side():
    x = np.linspace(0, 10, 21)                    # bins every 0.5
    rows = np.vstack([2.0 + 0.3 * x, 1.0 + 0 * x])
    rows[:, 9:12] += [[5, 10, 5], [1, 2, 1]]      # a peak on bins 9..11 (x 4.5..5.5)
    channel = Channel("p", "q-window", bounds=(4.5, 5.5), background="linear")
    values = StepChannelReducer(channel, x)(rows)
    np.testing.assert_allclose(values, [20.0, 4.0])
    plain = StepChannelReducer(Channel("p", "q-window", bounds=(4.5, 5.5)), x)(rows)
    np.testing.assert_allclose(plain, [20.0 + 3 * 2.0 + 0.3 * (4.5 + 5 + 5.5), 7.0])


def test_channel_fields_round_trip_and_bad_ones_are_refused():
    sector = Channel("s", "q-window", bounds=(1, 2), background="linear", azimuth=(-45, 45))
    assert sector.step_key == "integrate[-45,45]"
    assert Channel.from_dict(sector.to_dict()) == sector
    assert Channel("q", "q-window", bounds=(1, 2)).step_key == "integrate"
    for bad, words in (({"name": "a", "kind": "q-window", "bounds": [1]}, "2 bounds"),
                       ({"name": "a", "kind": "q-window", "bounds": [1, 2],
                         "background": "cubic"}, "unknown background"),
                       ({"name": "a", "kind": "q-window", "bounds": [1, 2], "azimuth": [1]},
                        "azimuth"),
                       ({"name": "a", "kind": "rect", "bounds": [1, 2], "step": "x"},
                        "cannot reduce")):
        with pytest.raises(ValueError, match=words):
            Channel.from_dict(bad)


def test_pyfai_integration_on_several_threads_equals_one_thread():
    pytest.importorskip("pyFAI")
    from concurrent.futures import ThreadPoolExecutor

    from swmrview.core.compute.integrate import AzimuthalStep, Geometry, Integration
    from swmrview.tools.simulate.xrd import integrator, xrd_frame

    shape = (96, 96)
    frames = np.stack([xrd_frame(shape, (a, 1 - a)) for a in np.linspace(0, 1, 16)])
    geometry = Geometry("test", dict(integrator(shape).get_config()))
    for method in ("csr", "lut", "histogram"):
        step = AzimuthalStep(geometry, shape, Integration(npt=300, method=method))
        serial = step(frames)
        with ThreadPoolExecutor(4) as pool:
            threaded = np.vstack(list(pool.map(lambda f: step(f[None]), frames)))
        # one integrator shared by threads mixes their images (pyFAI's CSR buffer)
        np.testing.assert_array_equal(threaded, serial, err_msg=method)
        direct = step.integrator.integrate1d(frames[3].astype(np.float32), 300,
                                             unit="q_nm^-1", method=step.kwargs["method"])
        np.testing.assert_allclose(serial[3], direct.intensity, rtol=1e-6)


def test_a_channel_of_named_columns_takes_the_columns_it_numbers():
    labels = ("Fe K", "Fe K sigma", "Cu K", "chisq")
    rows = np.arange(8.0).reshape(2, 4)
    fe = StepChannelReducer(Channel("Fe", "sum", step="xrf-fit", elements=(0,)), labels)
    np.testing.assert_array_equal(fe(rows), [0.0, 4.0])
    both = StepChannelReducer(Channel("m", "max", step="xrf-fit", elements=(0, 2)), labels)
    np.testing.assert_array_equal(both(rows), [2.0, 6.0])
    with pytest.raises(ValueError, match="outside"):
        StepChannelReducer(Channel("x", "sum", step="xrf-fit", elements=(4,)), labels)
    with pytest.raises(ValueError, match="named columns"):
        StepChannelReducer(Channel("w", "window", step="xrf-fit", bounds=(0, 1)), labels)
