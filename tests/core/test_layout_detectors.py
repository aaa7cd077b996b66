"""Detector files: virtual datasets whose sources are missing are named and never read; NXdetector
pixel masks and overflow (saturation, 2**bits - 1) values are found for the signal."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import LayoutError, find_layout

FRAME = (6, 5)


def source_file(path, n=4):
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.arange(n * 30, dtype="u4").reshape((n,) + FRAME))
    return path


def nxmx_master(path, sources, through_links=False, extra_field=False):
    """An NXmx-like master: /entry/data/data a VDS over ``sources`` (directly, or as DECTRIS
    and nexgen do: through external links data_00000N in the master itself)."""
    n = 4
    layout = h5py.VirtualLayout(shape=(n * len(sources),) + FRAME, dtype="u4")
    with h5py.File(path, "w", libver="latest") as f:
        f.create_group("entry").attrs.update(NX_class="NXentry", default="data")
        plot = f.create_group("entry/data")
        plot.attrs.update(NX_class="NXdata", signal="data", axes="omega")
        for i, src in enumerate(sources):
            if through_links:
                plot[f"data_{i + 1:06d}"] = h5py.ExternalLink(os.path.basename(src), "/data")
                vsource = h5py.VirtualSource(".", f"/entry/data/data_{i + 1:06d}",
                                             shape=(n,) + FRAME)
            else:
                vsource = h5py.VirtualSource(os.path.basename(src), "data", shape=(n,) + FRAME)
            layout[i * n:(i + 1) * n] = vsource
        plot.create_virtual_dataset("data", layout, fillvalue=0)
        plot["omega"] = np.arange(n * len(sources), dtype="f8")
        if extra_field:
            plot["total"] = np.arange(n * len(sources), dtype="f8")
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["pixel_mask"] = np.zeros(FRAME, np.uint32)
        det["saturation_value"] = np.int64(1000)
    return path


@pytest.mark.parametrize("through_links", [False, True], ids=["direct", "via-links"])
def test_vds_with_its_sources_is_the_signal(tmp_path, through_links):
    sources = [source_file(tmp_path / f"m_{i:06d}.h5") for i in (1, 2)]
    path = nxmx_master(tmp_path / "m_master.h5", sources, through_links)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.signal == "/entry/data/data" and layout.scan_shape == (8,)
    assert layout.frame_shape == FRAME and layout.axes == ("/entry/data/omega",)
    assert layout.pixel_mask == "/entry/instrument/detector/pixel_mask"
    assert layout.overflow == 1000 and layout.missing_files == ()


class Guard:
    """Fail if any dataset bigger than a few values is read while the layout is found."""

    def __init__(self, monkeypatch):
        original = h5py.Dataset.__getitem__

        def guarded(ds, key):
            if ds.size > 64:
                raise AssertionError(f"{ds.name} {ds.shape} was read")
            return original(ds, key)

        monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
        monkeypatch.setattr(h5py.Dataset, "read_direct", guarded)


@pytest.mark.parametrize("through_links", [False, True], ids=["direct", "via-links"])
def test_vds_with_a_missing_source_is_named_and_not_read(tmp_path, monkeypatch, through_links):
    sources = [source_file(tmp_path / f"m_{i:06d}.h5") for i in (1, 2)]
    path = nxmx_master(tmp_path / "m_master.h5", sources, through_links, extra_field=True)
    os.remove(sources[1])
    Guard(monkeypatch)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert "/entry/data/data" not in layout.data
    assert layout.signal == "/entry/data/total"      # the master's own per-point field
    assert layout.missing_files == (str(tmp_path / "m_000002.h5"),)
    assert any("virtual dataset" in n and "m_000002.h5" in n for n in layout.notes)


def test_vds_only_and_its_sources_missing_is_a_layout_error(tmp_path, monkeypatch):
    sources = [source_file(tmp_path / "v_000001.h5")]
    path = nxmx_master(tmp_path / "v_master.h5", sources)
    os.remove(sources[0])
    Guard(monkeypatch)
    with h5py.File(path, "r") as f:
        with pytest.raises(LayoutError, match=r"virtual dataset .*v_000001\.h5.* missing"):
            find_layout(f)


@pytest.mark.parametrize("setting,overflow", [
    ({"bit_depth_image": np.int32(12)}, 4095),
    ({"saturation_value": np.int32(50000), "bit_depth_image": np.int32(16)}, 50000),
    ({}, 2 ** 32 - 1),                             # unsigned 32-bit counts: the type's top
])
def test_overflow_from_detector_settings(tmp_path, setting, overflow):
    path = tmp_path / "det.h5"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/eiger")
        det.attrs["NX_class"] = "NXdetector"
        det.create_dataset("data", shape=(3,) + FRAME, maxshape=(None,) + FRAME, dtype="u4")
        spec = det.create_group("detectorSpecific")
        spec["pixel_mask"] = np.zeros(FRAME, np.uint32)
        for name, value in setting.items():
            det[name] = value
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.signal == "/entry/instrument/eiger/data" and layout.overflow == overflow
    assert layout.pixel_mask == "/entry/instrument/eiger/detectorSpecific/pixel_mask"


def test_mask_of_the_wrong_shape_and_float_data_give_none(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["data"] = np.zeros((3,) + FRAME, np.float32)
        det["pixel_mask"] = np.zeros((2, 2), np.uint32)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.pixel_mask is None and layout.overflow is None


def test_scalar_signal_has_no_mask_or_overflow(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["data"] = np.zeros((9,), np.uint16)
        det["saturation_value"] = np.int32(7)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.frame_shape == () and layout.overflow is None and layout.pixel_mask is None


# ----------------------------------------------------------------------------- live, no keys

def eiger_data_writer(path: str, ready, go) -> None:
    """A DECTRIS/Odin-like data file written live: no keys, frames growing along dim 0."""
    with h5py.File(path, "w", libver="latest") as f:
        f.create_group("entry").attrs["NX_class"] = "NXentry"
        plot = f.create_group("entry/data")
        plot.attrs["NX_class"] = "NXdata"
        data = plot.create_dataset("data", shape=(0,) + FRAME, maxshape=(None,) + FRAME,
                                   chunks=(1,) + FRAME, dtype="u2")
        f.swmr_mode = True
        for i in range(6):
            data.resize((i + 1,) + FRAME)
            data[i] = i
            data.flush()
            if i == 1:
                ready.set()
                go.wait(30)


@pytest.mark.slow
def test_live_file_without_keys_has_an_unknown_length(tmp_path):
    import multiprocessing

    path = tmp_path / "live_data_000001.h5"
    ready, go = multiprocessing.Event(), multiprocessing.Event()
    proc = multiprocessing.Process(target=eiger_data_writer, args=(str(path), ready, go))
    proc.start()
    try:
        assert ready.wait(30)
        with h5py.File(path, "r", swmr=True) as f:
            layout = find_layout(f)
        assert layout.keys == () and layout.finished is None
        assert layout.signal == "/entry/data/data" and layout.scan_rank == 1
        assert layout.scan_shape == (None,)              # still growing: not 2
        assert layout.frame_shape == FRAME and layout.overflow == 65535
    finally:
        go.set()
        proc.join(30)
    assert proc.exitcode == 0
    with h5py.File(path, "r") as f:
        assert find_layout(f).scan_shape == (6,)         # finished: its length
