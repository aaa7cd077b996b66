"""swmrview.core.follow.chunks, the one owner of raw chunks, on a live SWMR file written by
another process: stored or not, where, raw bytes (through HDF5 and by address), decoded
(swmrview.core.follow.decoders) equal to h5py's read; and the swmr_tools readers that go through it (FrameReader, ChunkSource)."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from swmrview.core import ChunkSource, FrameReader, open_swmr
from swmrview.core.follow import chunks, decoders

from . import writers

NAMES = list(writers.chunk_compressions())
FILTERS = {"uncompressed": [], "gzip": [1], "bitshuffle-lz4": [32008], "blosc": [32001]}


pytestmark = pytest.mark.slow   # a writer process holds the file open


@pytest.fixture
def live(tmp_path, processes):
    """A writer process holding the file open (SWMR): frames 0-2 stored, chunk 3 not yet.
    Yields (the datasets by name, events go/done/release). Each dataset is looked up once:
    with HDF5 2.0.0, refreshing two handles of one dataset can leave its chunk index stale."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, done, release = (ctx.Event() for _ in range(4))
    path = str(tmp_path / "chunks.h5")
    proc = ctx.Process(target=writers.write_chunks, args=(path, ready, go, done, release))
    proc.start()
    processes.append(proc)
    try:
        assert ready.wait(60), "the writer did not start"
        with open_swmr(path, retry_for=30) as f:
            yield {name: f[name] for name in NAMES}, go, done, release
    finally:
        go.set()
        release.set()


def decoded(ds, offset, raw_read=None):
    """Frame at ``offset`` through chunks alone: raw bytes, then the dataset's decoders."""
    stages = decoders.decoder_for(ds)
    assert stages is not None
    mask, raw = (raw_read or chunks.read_raw)(ds, offset)
    return np.frombuffer(decoders.decode(stages, mask, raw), dtype=ds.dtype).reshape(ds.shape[1:])


def test_stored_where_raw_and_decoded_on_a_live_swmr_file(live):
    sets, go, done, _ = live
    for name, ds in sets.items():
        assert chunks.filter_ids(ds) == FILTERS[name], name
        assert ds.shape[0] == 4
        for i in range(3):
            assert chunks.stored(ds, (i, 0, 0)), (name, i)
            info = chunks.chunk_info(ds, (i, 0, 0))
            assert info is not None and info.address > 0 and info.size > 0
            np.testing.assert_array_equal(decoded(ds, (i, 0, 0)), ds[i], err_msg=name)
            np.testing.assert_array_equal(ds[i], writers.chunk_frame(i))
        if name != "uncompressed":   # compressed chunks are smaller than the frame
            assert chunks.chunk_info(ds, (0, 0, 0)).size < ds[0].nbytes, name
        assert not chunks.stored(ds, (3, 0, 0)), name   # inside the extent, not written yet
        assert chunks.chunk_info(ds, (3, 0, 0)) is None
        with pytest.raises(Exception):
            chunks.read_raw(ds, (3, 0, 0))
    go.set()
    assert done.wait(30)
    for name, ds in sets.items():
        ds.refresh()   # a SWMR reader sees newly stored chunks after a refresh
        assert chunks.stored(ds, (3, 0, 0)), name
        np.testing.assert_array_equal(decoded(ds, (3, 0, 0)), writers.chunk_frame(3), name)


def test_reads_by_address_give_hdf5s_bytes(live):
    sets, *_ = live
    for name, ds in sets.items():
        reader = chunks.ChunkReader(ds)
        assert reader.by_address, name   # a plain local file
        try:
            for i in (2, 0, 1):
                buf = np.empty(ds[0].nbytes + 4096, np.uint8)
                mask, raw = reader.read_raw((i, 0, 0), buf)
                expected_mask, expected = chunks.read_raw(ds, (i, 0, 0))
                assert mask == expected_mask
                assert bytes(raw) == bytes(expected), (name, i)
            assert reader.by_address and reader.file_open   # the userblock check passed
        finally:
            reader.close()
        assert not reader.file_open and not reader.by_address
        # after close: through HDF5, same frame
        np.testing.assert_array_equal(
            decoded(ds, (1, 0, 0), lambda d, o: reader.read_raw(o, np.empty(1, np.uint8))), ds[1])


def test_swmr_tools_readers_through_chunks_equal_h5py(live):
    """FrameReader(use_direct_chunk=True) on Blosc and ChunkSource on every dataset read their
    raw chunks through chunks.read_raw: the frames are h5py's."""
    pytest.importorskip("blosc")
    sets, go, done, _ = live
    reader = FrameReader(sets["blosc"], 1, use_direct_chunk=True)
    through_h5py = FrameReader(sets["blosc"], 1)
    assert reader.use_direct_chunk and not through_h5py.use_direct_chunk
    for i in (2, 0, 1):
        frame, selection = reader.read_frame(i)
        expected, expected_selection = through_h5py.read_frame(i)
        assert selection == expected_selection == (slice(i, i + 1),)
        assert frame.shape == expected.shape == (1, 16, 24) and frame.dtype == expected.dtype
        np.testing.assert_array_equal(frame, expected)
    assert not FrameReader(sets["gzip"], 1, use_direct_chunk=True).use_direct_chunk
    go.set()
    assert done.wait(30)
    source = ChunkSource(sets, timeout=5)
    assert source._direct == {"uncompressed": "plain", "gzip": None,
                              "bitshuffle-lz4": None, "blosc": "blosc"}
    for i in range(4):
        out = next(source)
        assert out.index == i and out.slice_metadata == [slice(i, i + 1)]
        for name in NAMES:
            np.testing.assert_array_equal(out[name], sets[name][i: i + 1], err_msg=name)
            np.testing.assert_array_equal(out[name][0], writers.chunk_frame(i))
