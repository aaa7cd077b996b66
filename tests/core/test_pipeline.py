"""ReducePipeline gives exactly reduce_frame of the frames h5py reads, for every filter it decodes
itself, for the ones it leaves to HDF5, and on a file a real SWMR writer process is writing."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import h5py
import hdf5plugin
import numpy as np
import pytest

from swmrview.core.compute.channels import Channel, ChannelReducer
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.compute.reduce import REDUCTIONS, reduce_frame
from swmrview.core.follow import decoders as decoders_module
from swmrview.core.follow.decoders import decoder_for

FRAME = (96, 120)            # 23 KB of uint16: read through h5py on the calling thread
FRAME_BIG = (256, 300)       # 77 KB as uint8: direct chunk reads, reduced in the pool
SCAN = (3, 4)

COMPRESSIONS = {
    "uncompressed": {},
    "gzip+shuffle": dict(compression="gzip", shuffle=True),
    "gzip": dict(compression="gzip", compression_opts=1),
    "bitshuffle-lz4": dict(hdf5plugin.Bitshuffle(cname="lz4")),
    "bitshuffle": dict(hdf5plugin.Bitshuffle(cname="none")),
    "bitshuffle-zstd": dict(hdf5plugin.Bitshuffle(cname="zstd")),
    "blosc-lz4": dict(hdf5plugin.Blosc(cname="lz4", shuffle=hdf5plugin.Blosc.SHUFFLE)),
    "blosc-zstd-bitshuffle": dict(hdf5plugin.Blosc(cname="zstd",
                                                   shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
    "lz4": dict(hdf5plugin.LZ4()),
    "lz4-small-blocks": dict(hdf5plugin.LZ4(nbytes=4000)),
    "zstd": dict(hdf5plugin.Zstd()),
}
# decoded by HDF5 (through h5py) instead: not one frame per chunk, or a filter left to HDF5
FALLBACKS = {
    "fletcher32": (dict(compression="gzip", fletcher32=True), None),
    "two-frames-per-chunk": (dict(hdf5plugin.Bitshuffle(cname="lz4")), (1, 2) + FRAME_BIG),
    "scaleoffset": (dict(scaleoffset=0), None),
}


def detector_frames(shape, dtype=np.uint16, seed=0):
    """Poisson frames with a bright spot, a gap column at the dtype maximum and a hot pixel."""
    rng = np.random.default_rng(seed)
    frames = rng.poisson(25, shape).astype(dtype)
    frames[..., 20:30, 40:60] += np.asarray(900, dtype)
    if np.dtype(dtype).kind in "ui":
        frames[..., :, 7] = np.iinfo(dtype).max
    return frames


def write(path, name, frames, scan_rank, chunks=None, **kwargs):
    with h5py.File(path, "a") as f:
        frame_shape = frames.shape[scan_rank:]
        chunks = chunks or (1,) * scan_rank + frame_shape
        f.create_dataset(name, data=frames, chunks=chunks, **kwargs)


def assert_values(values, i, expected):
    """values[name][i] == expected[name] for every reduction, NaN equal to NaN."""
    for name in REDUCTIONS:
        got, want = values[name][i], expected[name]
        assert (got == want) or (np.isnan(got) and np.isnan(want)), (i, name, got, want)


def check_against_h5py(dataset, scan_rank, positions, threads, direct=True, **options):
    """read_reduce values == reduce_frame on h5py's frames, last frame and read() equal too."""
    with ReducePipeline(dataset, scan_rank, threads=threads, direct=direct, **options) as pipe:
        values, last = pipe.read_reduce(positions)
        assert set(values) == set(REDUCTIONS)
        for i, pos in enumerate(positions):
            frame = dataset[tuple(pos)]
            assert_values(values, i, reduce_frame(frame, **options))
        np.testing.assert_array_equal(last, dataset[tuple(positions[-1])])
        np.testing.assert_array_equal(pipe.read(positions[0]), dataset[tuple(positions[0])])
        return pipe.direct


POSITIONS = [(2, 3), (0, 0), (0, 1), (0, 2), (1, 3), (1, 0), (2, 3)]   # any order, repeats


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("label", sorted(COMPRESSIONS))
def test_decoded_in_threads_equals_h5py(tmp_path, label, threads):
    path = tmp_path / "f.h5"
    frames = detector_frames(SCAN + FRAME_BIG)
    write(path, "data", frames, 2, **COMPRESSIONS[label])
    mask = np.zeros(FRAME_BIG, bool)
    mask[50:52, :] = True
    with h5py.File(path, "r") as f:
        data = f["data"]
        assert decoder_for(data) is not None
        assert check_against_h5py(data, 2, POSITIONS, threads)            # direct chunk reads
        assert check_against_h5py(data, 2, POSITIONS, threads, roi=(10, 40, 30, 70),
                                  mask=mask, overflow=65535)
        assert not check_against_h5py(data, 2, POSITIONS, threads, direct=False)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("label", sorted(FALLBACKS))
def test_filters_left_to_hdf5_read_through_h5py(tmp_path, label, threads):
    path = tmp_path / "f.h5"
    options, chunks = FALLBACKS[label]
    write(path, "data", detector_frames(SCAN + FRAME_BIG), 2, chunks=chunks, **options)
    with h5py.File(path, "r") as f:
        assert not check_against_h5py(f["data"], 2, POSITIONS, threads, roi=(0, 9, 0, 9),
                                      overflow=65535)


@pytest.mark.parametrize("compression", ["bitshuffle-lz4", "gzip+shuffle"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int32, np.float32,
                                   np.float64, ">u2"])
def test_dtypes_and_nan_pixels(tmp_path, dtype, compression):
    frames = detector_frames((5,) + FRAME_BIG, dtype=np.uint16).astype(dtype)
    if np.dtype(dtype).kind == "f":
        frames[1, 3:9, 4] = np.nan
    path = tmp_path / "f.h5"
    write(path, "data", frames, 1, **COMPRESSIONS[compression])
    positions = [(i,) for i in (4, 0, 1, 2, 3)]
    with h5py.File(path, "r") as f:
        assert check_against_h5py(f["data"], 1, positions, 2, roi=(0, 50, 0, 50))


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inf_pixels_are_left_out_like_nan(tmp_path, dtype, direct):
    frames = detector_frames((6,) + FRAME_BIG, dtype=np.uint16).astype(dtype)
    frames[1, 3, 4] = np.inf
    frames[2, 5, 6] = -np.inf                     # a finite max: only the sum shows it
    frames[3, 7, 8] = np.nan
    frames[4, 0:2, 0:2] = [[np.inf, -np.inf], [np.nan, np.inf]]
    path = tmp_path / "f.h5"
    write(path, "data", frames, 1, **COMPRESSIONS["bitshuffle-lz4"])
    positions = [(i,) for i in (5, 0, 1, 2, 3, 4)]
    roi = (0, 10, 0, 10)
    with h5py.File(path, "r") as f, \
            ReducePipeline(f["data"], 1, threads=2, direct=direct, roi=roi) as pipe:
        rect = ChannelReducer(Channel("c", "rect", bounds=roi), FRAME_BIG)   # a map channel
        values, _ = pipe.read_reduce(positions, extra={"c": rect})
    for i, (n,) in enumerate(positions):
        frame = frames[n].astype(np.float64)
        keep = np.isfinite(frame)
        assert values["c"][i] == pytest.approx(np.where(keep, frame, 0)[:10, :10].sum(),
                                               rel=1e-12), n
        assert values["sum"][i] == pytest.approx(frame[keep].sum(), rel=1e-12), n
        assert values["mean"][i] == pytest.approx(frame[keep].mean(), rel=1e-12), n
        assert values["max"][i] == frame[keep].max(), n
        assert values["roi"][i] == pytest.approx(np.where(keep, frame, 0)[:10, :10].sum(),
                                                 rel=1e-12), n


def test_small_frames_spectra_scalars_and_numpy(tmp_path):
    path = tmp_path / "f.h5"
    spectra = detector_frames((4, 5, 300), dtype=np.uint16)
    write(path, "spectra", spectra, 2, chunks=(2, 5, 300), compression="gzip")
    write(path, "small", detector_frames((4, 5) + FRAME), 2, **COMPRESSIONS["blosc-lz4"])
    write(path, "scalars", np.arange(20.0).reshape(4, 5), 2, chunks=(1, 5))
    write(path, "single", detector_frames(FRAME_BIG), 0)
    positions = [(i, j) for i in range(4) for j in range(5)][::-1][:13]
    with h5py.File(path, "r") as f:
        for threads in (1, 2):
            check_against_h5py(f["spectra"], 2, positions, threads, roi=(10, 200))
            check_against_h5py(f["small"], 2, positions, threads, roi=(0, 9, 0, 9))
            check_against_h5py(f["scalars"], 2, positions, threads, roi=(0, 1))
            check_against_h5py(f["single"], 0, [()], threads)
        check_against_h5py(np.asarray(f["small"]), 2, positions, 2, overflow=65535)


def test_python_package_decoders_when_hdf5plugin_libraries_are_missing(tmp_path, monkeypatch):
    """Without hdf5plugin's compiled libraries: the bitshuffle / lz4 / blosc packages."""
    path = tmp_path / "f.h5"
    frames = detector_frames((4,) + FRAME_BIG)
    labels = []
    for label, module in [("bitshuffle-lz4", "bitshuffle"), ("lz4", "lz4.block"),
                          ("blosc-lz4", "blosc")]:
        try:
            __import__(module)
        except ImportError:
            continue
        labels.append(label)
        write(path, label, frames, 1, **COMPRESSIONS[label])
    if not labels:
        pytest.skip("no decoder package installed")
    monkeypatch.setattr(decoders_module, "_plugin_lib", lambda name: None)
    with h5py.File(path, "r") as f:
        for label in labels:
            assert check_against_h5py(f[label], 1, [(3,), (1,), (2,)], 2, overflow=65535), label


def test_unwritten_chunks_read_as_fill_values(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        data = f.create_dataset("data", shape=(4,) + FRAME_BIG, chunks=(1,) + FRAME_BIG,
                                dtype=np.uint16, fillvalue=3, **COMPRESSIONS["bitshuffle-lz4"])
        data[1] = detector_frames(FRAME_BIG)
    with h5py.File(path, "r") as f:
        check_against_h5py(f["data"], 1, [(0,), (1,), (3,)], 2)
        with ReducePipeline(f["data"], 1) as pipe:
            assert pipe.read_reduce([(2,)])[0]["max"][0] == 3
            with pytest.raises(IndexError):
                pipe.read_reduce([(4,)])


def test_set_roi_and_mask_and_empty_batches(tmp_path):
    path = tmp_path / "f.h5"
    write(path, "data", detector_frames((6,) + FRAME_BIG), 1, **COMPRESSIONS["bitshuffle-lz4"])
    with h5py.File(path, "r") as f:
        data = f["data"]
        with ReducePipeline(data, 1, threads=2) as pipe:
            assert pipe.frame_shape == FRAME_BIG and pipe.dtype == np.uint16
            values, last = pipe.read_reduce([])
            assert last is None and all(v.shape == (0,) for v in values.values())
            assert np.isnan(pipe.read_reduce([(0,)])[0]["roi"][0])
            pipe.set_roi((0, 5, 0, 5))
            mask = np.zeros(FRAME_BIG, bool)
            mask[0, 0] = True
            pipe.set_mask(mask, 65535)
            values, _ = pipe.read_reduce([(5,), (0,)])
            for i, index in enumerate((5, 0)):
                expected = reduce_frame(data[index], roi=(0, 5, 0, 5), mask=mask, overflow=65535)
                assert_values(values, i, expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_only_the_reductions_asked_for_are_computed(tmp_path, threads):
    path = tmp_path / "f.h5"
    write(path, "data", detector_frames((6,) + FRAME_BIG), 1, **COMPRESSIONS["bitshuffle-lz4"])
    with h5py.File(path, "r") as f:
        data = f["data"]
        with ReducePipeline(data, 1, threads=threads, overflow=65535,
                            reductions=("mean", "sum", "roi")) as pipe:
            assert pipe.reductions == ("sum", "mean", "roi")
            values, _ = pipe.read_reduce([(i,) for i in range(6)])
            assert tuple(values) == ("sum", "mean", "roi")
            later, _ = pipe.read_reduce([(i,) for i in range(6)], builtin=("max",))
            assert tuple(later) == ("max",)
            for i in range(6):
                expected = reduce_frame(data[i], overflow=65535)
                assert values["sum"][i] == expected["sum"]
                assert values["mean"][i] == expected["mean"]
                assert later["max"][i] == expected["max"]
            pipe.set_reductions(REDUCTIONS)
            values, _ = pipe.read_reduce([(2,)])
            assert_values(values, 0, reduce_frame(data[2], overflow=65535))
            with pytest.raises(ValueError):
                pipe.set_reductions(("median",))


# ---------------------------------------------------------------------- live SWMR writer

LIVE_POINTS = 40


def live_frame(index: int) -> np.ndarray:
    return detector_frames(FRAME_BIG, seed=index)


def live_writer(path: str, compression: str, rate: float) -> None:
    """A real SWMR writer: datasets grow point by point, data flushed before its key."""
    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("data", shape=(0,) + FRAME_BIG, maxshape=(None,) + FRAME_BIG,
                                chunks=(1,) + FRAME_BIG, dtype=np.uint16,
                                **COMPRESSIONS[compression])
        keys = f.create_dataset("keys", shape=(0,), maxshape=(None,), chunks=(8,),
                                dtype=np.int32)
        f.swmr_mode = True
        for i in range(LIVE_POINTS):
            data.resize(i + 1, axis=0)
            data[i] = live_frame(i)
            data.flush()
            keys.resize(i + 1, axis=0)
            keys[i] = 1
            keys.flush()
            time.sleep(1 / rate)


@pytest.mark.parametrize("compression", ["uncompressed", "bitshuffle-lz4"])
@pytest.mark.slow
def test_follows_a_live_swmr_writer(tmp_path, compression):
    path = str(tmp_path / "live.h5")
    proc = multiprocessing.get_context("spawn").Process(
        target=live_writer, args=(path, compression, 80.0))
    proc.start()
    try:
        deadline = time.monotonic() + 60
        f = None
        while f is None:
            try:
                f = h5py.File(path, "r", libver="latest", swmr=True)
            except (OSError, FileNotFoundError):
                assert time.monotonic() < deadline, "writer never created the file"
                time.sleep(0.05)
        with f, ReducePipeline(f["data"], 1, threads=2, overflow=65535) as pipe:
            keys = f["keys"]
            done = 0
            batches = 0
            while done < LIVE_POINTS:
                assert time.monotonic() < deadline, f"only {done} points after 60 s"
                keys.refresh()
                ready = int(np.count_nonzero(keys[:]))
                if ready == done:
                    time.sleep(0.01)
                    continue
                if ready > pipe._shape[0]:
                    with pytest.raises(IndexError):   # not visible until refreshed
                        pipe.read_reduce([(ready - 1,)])
                pipe.refresh()
                positions = [(i,) for i in range(done, ready)]
                values, last = pipe.read_reduce(positions)
                for k, (i,) in enumerate(positions):
                    expected = reduce_frame(live_frame(i), overflow=65535)
                    assert_values(values, k, expected)
                np.testing.assert_array_equal(last, live_frame(ready - 1))
                done = ready
                batches += 1
            assert pipe.direct
            assert batches > 1   # the reader really followed the file while it grew
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    assert proc.exitcode == 0


@pytest.mark.slow
def test_follows_the_simulated_gda_writer_growing_in_every_scan_dim(tmp_path):
    """GDA-like file: data and keys grow from (1, 1) in both scan dims, bitshuffle frames."""
    from swmrview.tools.simulate import SimConfig, expected_frame, start_writer

    cfg = SimConfig(shape=(4, 5), frame=(160, 256), rate=60.0, compression="bitshuffle",
                    snake=True)
    path = tmp_path / "gda.nxs"
    proc = start_writer(path, cfg)
    try:
        deadline = time.monotonic() + 60
        f = None
        while f is None:
            try:
                f = h5py.File(path, "r", libver="latest", swmr=True)
            except (OSError, FileNotFoundError):
                assert time.monotonic() < deadline, "writer never created the file"
                time.sleep(0.05)
        with f:
            keys = f["/entry/diamond_scan/keys/uniqueKeys"]
            with ReducePipeline(f["/entry/data/data"], 2, threads=2) as pipe:
                assert pipe.direct
                seen = np.zeros(cfg.shape, dtype=bool)
                shapes = set()
                while not seen.all():
                    assert time.monotonic() < deadline, f"{seen.sum()} points after 60 s"
                    keys.refresh()
                    k = np.asarray(keys[()]).reshape(keys.shape[:2] + (-1,))[..., 0] != 0
                    ready = np.zeros(cfg.shape, dtype=bool)
                    ready[: k.shape[0], : k.shape[1]] = k
                    new = np.argwhere(ready & ~seen)
                    if not len(new):
                        time.sleep(0.01)
                        continue
                    pipe.refresh()
                    shapes.add(pipe._shape[:2])
                    values, last = pipe.read_reduce(new)
                    for i, pos in enumerate(new):
                        index = int(np.ravel_multi_index(tuple(pos), cfg.shape))
                        assert_values(values, i, reduce_frame(expected_frame(index, cfg)))
                    np.testing.assert_array_equal(
                        last, expected_frame(int(np.ravel_multi_index(tuple(new[-1]),
                                                                      cfg.shape)), cfg))
                    seen |= ready
                assert len(shapes) > 1   # the data grew while the pipeline read it
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    assert proc.exitcode == 0


DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("threads", [1, 2])
def test_real_dectris_and_pilatus_files(threads):
    """A DECTRIS Eiger 1 file (LZ4 chunks from the detector's file writer, 38,164 gap pixels
    at 65535) decoded in the threads, and a Pilatus 2M frame in gzip tiles read through h5py,
    both equal to reduce_frame on h5py's frames with the gaps left out."""
    from swmrview.core.files.layout import find_layout

    eiger = DATA / "eiger" / "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5"
    with h5py.File(eiger, "r") as f:
        layout = find_layout(f)
        data = f[layout.signal or layout.data[0]]
        assert layout.overflow == 65535
        assert check_against_h5py(data, 1, [(1,), (0,)], threads, overflow=65535,
                                  roi=(100, 600, 50, 900))
    with h5py.File(DATA / "i22-119583-Pilatus2M.h5", "r") as f:
        data = f["entry/instrument/detector/data"]
        assert not check_against_h5py(data, 2, [(0, 0)], threads, roi=(0, 200, 0, 300))


def test_close_stops_the_threads_and_later_calls_still_work(tmp_path):
    import threading

    path = tmp_path / "f.h5"
    write(path, "data", detector_frames((8,) + FRAME_BIG), 1, **COMPRESSIONS["bitshuffle-lz4"])
    def pool_threads():   # (other tests' pipelines may still have theirs)
        return {t for t in threading.enumerate() if t.name.startswith("swmrview-reduce")}

    with h5py.File(path, "r") as f:
        before = pool_threads()
        pipe = ReducePipeline(f["data"], 1, threads=2)
        first, _ = pipe.read_reduce([(i,) for i in range(8)])
        assert pool_threads() - before
        pipe.close()
        assert not pool_threads() - before
        again, last = pipe.read_reduce([(i,) for i in range(8)])
        assert not pool_threads() - before
        for name in REDUCTIONS:
            np.testing.assert_array_equal(first[name], again[name])
        np.testing.assert_array_equal(last, f["data"][7])


@pytest.mark.parametrize("label", ["uncompressed", "bitshuffle-lz4", "gzip+shuffle"])
def test_chunks_read_by_address_with_a_userblock_and_through_hdf5_otherwise(tmp_path, label):
    """Raw chunks are read with preadv at HDF5's address (plus the userblock); a file HDF5
    holds in memory (core driver) is read through HDF5 instead; the values never differ."""
    path = tmp_path / "ub.h5"
    frames = detector_frames((5,) + FRAME_BIG)
    with h5py.File(path, "w", userblock_size=1024) as f:
        f.create_dataset("data", data=frames, chunks=(1,) + FRAME_BIG, **COMPRESSIONS[label])
    with open(path, "r+b") as raw:   # something in the userblock, as some writers put there
        raw.write(b"not HDF5 " * 100)
    positions = [(4,), (0,), (2,)]
    with h5py.File(path, "r") as f:
        pipe = ReducePipeline(f["data"], 1, threads=2)
        assert pipe.chunks.by_address
        check_against_h5py(f["data"], 1, positions, 2, overflow=65535)
        values, _ = pipe.read_reduce(positions)
        assert pipe.chunks.file_open
        pipe.close()
        assert not pipe.chunks.file_open
        again, _ = pipe.read_reduce(positions)   # after close: through HDF5, same values
        for name in REDUCTIONS:
            np.testing.assert_array_equal(values[name], again[name])
    with h5py.File(path, "r", driver="core") as f:
        with ReducePipeline(f["data"], 1, threads=2) as pipe:
            assert pipe.direct and not pipe.chunks.by_address
        check_against_h5py(f["data"], 1, positions, 2, overflow=65535)


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_a_field_of_a_compound_dataset_is_read_through_h5py(tmp_path, compression):
    """Its chunks hold every field interleaved: never decoded as raw chunks of the field."""
    from swmrview.core.files.fields import FieldDataset

    pixel = np.dtype([("Fine", "<u2"), ("Coarse", "<u2"), ("Gain", "u1")])
    frames = np.zeros((3, 192, 192), pixel)
    for k, name in enumerate(pixel.names):
        frames[name] = np.arange(frames.size).reshape(frames.shape) % (50 + k)
    path = tmp_path / "compound.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=frames, chunks=(1, 192, 192), compression=compression)
    with h5py.File(path, "r") as f:
        for name in pixel.names:
            with ReducePipeline(FieldDataset(f["data"], name), 1, threads=2) as pipe:
                assert not pipe.direct and pipe.dtype == pixel.fields[name][0]
                values, last = pipe.read_reduce([(0,), (1,), (2,)])
                np.testing.assert_array_equal(values["sum"], frames[name].sum(axis=(1, 2)))
                np.testing.assert_array_equal(pipe.read((1,)), frames[name][1])


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread priorities are Linux's")
def test_worker_threads_run_at_the_nice_value_asked_for(tmp_path):
    """A viewer's decoding threads yield to the writer on busy cores (nice), results equal."""
    path = tmp_path / "nice.h5"
    frames = np.arange(6 * 128 * 256, dtype=np.uint16).reshape(6, 128, 256)
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=frames, chunks=(1, 128, 256))
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = set()

    def priority(frame):
        seen.add((threading.current_thread().name,
                  os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return float(frame.sum())

    with h5py.File(path, "r") as f, ReducePipeline(f["data"], 1, threads=2, nice=5) as pipe:
        values, _ = pipe.read_reduce(np.arange(6)[:, None], extra={"s": priority})
    np.testing.assert_array_equal(values["s"], frames.sum(axis=(1, 2)))
    assert seen and all(name.startswith("swmrview-reduce") for name, _ in seen)
    assert {nice for _, nice in seen} == {min(base + 5, 19)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base   # caller's own
