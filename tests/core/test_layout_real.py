"""Layout detection on files written by real beamline software (see tests/data/README.md).

Every file of ../shared/data/real either gives a layout whose signal and data are readable
numeric datasets, or a LayoutError saying why; never any other exception.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pytest

from swmrview.core.files.layout import LayoutError, find_layout
from tests.real_data import REAL, REAL_FILES

DATA = Path(__file__).resolve().parents[1] / "data"


def open_layout(path: Path):
    with h5py.File(path, "r") as f:
        return find_layout(f)


def first_frame(f: h5py.File, path: str, scan_rank: int) -> np.ndarray:
    ds = f[path]
    return np.asarray(ds[(0,) * min(scan_rank, ds.ndim)])


@pytest.mark.skipif(not REAL_FILES, reason=f"{REAL} not present")
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: str(p.relative_to(REAL)))
def test_every_real_file_gives_a_readable_layout_or_a_reason(path):
    with h5py.File(path, "r") as f:
        try:
            layout = find_layout(f)
        except LayoutError as exc:
            assert str(exc).strip() and path.name in str(exc)
            return
        assert layout.signal is None or layout.signal == layout.data[0]
        assert layout.signal is not None or layout.keys or layout.dangling_keys
        for p in layout.data:
            frame = first_frame(f, p, layout.scan_rank)
            assert frame.dtype.kind in "biuf" and frame.size >= 1, p
            assert f[p].shape[: layout.scan_rank] != () or layout.scan_rank == 0
        if layout.signal is not None:
            assert first_frame(f, layout.signal, layout.scan_rank).shape == layout.frame_shape
        assert len(layout.axes) == len(layout.axis_names) == len(layout.axis_units) \
            == layout.scan_rank == len(layout.scan_shape)
        for axis in layout.axes:
            assert axis is None or f[axis].dtype.kind in "biuf"
        if layout.pixel_mask is not None:
            assert f[layout.pixel_mask].shape == layout.frame_shape[-2:]
        for missing in layout.missing_files:
            assert not os.path.exists(missing)
            assert any(os.path.basename(missing) in note for note in layout.notes)


# ----------------------------------------------------------------------------- copies in tests/data

def test_solstice_scan_p45():
    layout = open_layout(DATA / "p45-example.nxs")
    assert layout.gda and layout.keys == ("/entry/solstice_scan/keys/uniqueKeys",)
    assert layout.finished == "/entry/solstice_scan/scan_finished"
    assert layout.scan_rank == 2 and layout.scan_shape == (1, 2)
    assert layout.signal == "/entry/mandelbrot/data" and layout.frame_shape == (6, 10)
    assert layout.axes == ("/entry/mandelbrot/stagey_value_set", "/entry/mandelbrot/stagex_value_set")
    assert {"/entry/mandelbrot_spectrum/spectrum", "/entry/mandelbrot_value/value"} <= set(layout.data)


def test_gda8_file_with_missing_detector_file_maps_its_own_fields():
    layout = open_layout(DATA / "i21-13.nxs")
    assert layout.keys == () and not layout.gda
    assert layout.signal == "/entry1/instrument/andor/count_time"
    assert layout.scan_rank == 1 and layout.scan_shape == (20,)
    assert layout.axes == ("/entry1/andor/x",) and layout.axis_names == ("x",)
    assert layout.missing_files == (str(DATA / "andor-13.hdf"),)
    assert any("andor-13.hdf" in n for n in layout.notes)


def test_area_detector_plugin_file_is_a_scan_of_images():
    layout = open_layout(DATA / "i22-119583-Pilatus2M.h5")
    assert layout.signal == "/entry/instrument/detector/data"     # not the NDAttributes
    assert layout.scan_rank == 2 and layout.scan_shape == (1, 1)   # @interpretation = image
    assert layout.frame_shape == (1679, 1475) and layout.keys == ()


def test_signal_naming_a_group_is_noted_and_the_image_shown():
    layout = open_layout(DATA / "test2_master_012.h5")
    assert layout.signal == "/entry/data/data" and layout.scan_rank == 0
    assert layout.frame_shape == (10, 10)
    assert any("@signal of /entry names the group" in n for n in layout.notes)


def test_eiger_data_file_gap_pixels_are_overflow():
    path = DATA / "eiger" / "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5"
    layout = open_layout(path)
    assert layout.signal == "/entry/data/data" and layout.scan_shape == (2,)
    assert layout.overflow == 65535
    with h5py.File(path, "r") as f:
        frame = f[layout.signal][0]
    assert int((frame >= layout.overflow).sum()) == 38164


def test_dectris_master_pixel_mask_through_external_data_file():
    layout = open_layout(DATA / "eiger" / "test_master.h5")
    assert layout.signal == "/entry/data/data_000001" and layout.scan_shape == (5,)
    assert layout.pixel_mask == "/entry/instrument/detector/detectorSpecific/pixel_mask"
    assert layout.frame_shape == (13, 11) and layout.overflow == 65535


def test_nxmx_master_with_missing_vds_sources_is_refused_without_reading(monkeypatch):
    def no_read(self, *args):
        raise AssertionError("a dataset was read")

    monkeypatch.setattr(h5py.Dataset, "read_direct", no_read)
    path = DATA / "xrc_209_master.h5"
    with h5py.File(path, "r") as f:
        data = f["/entry/data/data"]
        monkeypatch.setattr(type(data), "__getitem__", _only_small(type(data).__getitem__))
        with pytest.raises(LayoutError) as info:
            find_layout(f)
    message = str(info.value)
    assert "virtual dataset" in message and "xrc_209_000001.h5" in message


def _only_small(getitem):
    """Allow reading single values (detector settings), refuse anything bigger."""

    def guarded(self, key):
        if self.size > 64:
            raise AssertionError(f"{self.name} ({self.shape}) was read")
        return getitem(self, key)

    return guarded


def test_percival_compound_images_offer_their_numeric_fields():
    """PERCIVAL pixels are records of Fine, Coarse and Gain bytes: each numeric field is a
    dataset to show (``PATH:FIELD``); one is picked, with a note naming the others."""
    from swmrview.core.files.fields import open_data

    path = DATA / "KnifeQuadBPos1_2_21.h5"
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
        assert layout.signal == "/KnifeQuadBPos1/10/Reset:Fine"
        assert layout.scan_rank == 0 and layout.frame_shape == (160, 210)
        assert any("Coarse, Gain" in n and "/KnifeQuadBPos1/10/Reset:FIELD" in n
                   for n in layout.notes)
        np.testing.assert_array_equal(open_data(f, layout.signal)[()],
                                      f["/KnifeQuadBPos1/10/Reset"]["Fine"])
        chosen = find_layout(f, data=["/KnifeQuadBPos1/11/Sample:Gain"])
        assert chosen.data == ("/KnifeQuadBPos1/11/Sample:Gain",)
        assert chosen.frame_shape == (160, 210)
        with pytest.raises(LayoutError, match="no numeric field 'Offset'.*Fine, Coarse, Gain"):
            find_layout(f, data=["/KnifeQuadBPos1/11/Sample:Offset"])
