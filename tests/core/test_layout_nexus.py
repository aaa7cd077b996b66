"""NeXus as found in the wild, in small files made here: default chains, old-style attributes,
bad signals (a group, missing, text) and the frame-rank rule for files without keys."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import find_layout


def nxdata(f: h5py.File, path: str, **attrs) -> h5py.Group:
    group = f.require_group(path)
    group.attrs["NX_class"] = "NXdata"
    group.attrs.update(attrs)
    return group


def layout_of(path):
    with h5py.File(path, "r") as f:
        return find_layout(f)


def test_default_chain_through_a_subentry(tmp_path):
    path = tmp_path / "chain.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry1"
        f.create_group("entry1").attrs.update(NX_class="NXentry", default="sub")
        f.create_group("entry1/sub").attrs.update(NX_class="NXsubentry", default="plot")
        plot = nxdata(f, "entry1/sub/plot", signal="counts", axes=["energy"],
                      energy_indices=np.int32(0))
        plot["counts"] = np.arange(7.0)
        plot["energy"] = np.linspace(1, 2, 7)
        plot["energy"].attrs["units"] = "keV"
        nxdata(f, "entry1/other", signal="big")["big"] = np.zeros((7, 100))  # not the default
    layout = layout_of(path)
    assert layout.signal == "/entry1/sub/plot/counts" and layout.scan_shape == (7,)
    assert layout.axes == ("/entry1/sub/plot/energy",) and layout.axis_units == ("keV",)


def test_gda8_old_style_signal_and_axis_attributes(tmp_path):
    path = tmp_path / "old.nxs"
    with h5py.File(path, "w") as f:
        f.create_group("entry1").attrs["NX_class"] = "NXentry"
        f["entry1/scan_dimensions"] = np.array([5], np.int32)
        plot = nxdata(f, "entry1/det")
        plot.create_dataset("data", data=np.ones((5, 1, 16)), maxshape=(None, 1, 16))
        plot["data"].attrs["signal"] = np.int32(1)
        for name, primary in (("theta", "1"), ("temperature", None)):
            plot.create_dataset(name, data=np.arange(5.0), maxshape=(None,))
            plot[name].attrs["axis"] = "1"
            if primary:
                plot[name].attrs["primary"] = primary
        plot["theta"].attrs["units"] = "deg"
    layout = layout_of(path)
    assert layout.signal == "/entry1/det/data" and layout.keys == ()
    assert layout.scan_rank == 1 and layout.frame_shape == (1, 16)   # scan_dimensions [5]
    assert layout.axes == ("/entry1/det/theta",) and layout.axis_units == ("deg",)


def test_old_style_axes_string_on_the_signal(tmp_path):
    path = tmp_path / "colon.nxs"
    with h5py.File(path, "w") as f:
        f.create_group("entry").attrs["NX_class"] = "NXentry"
        plot = nxdata(f, "entry/map")
        plot["counts"] = np.ones((3, 4))
        plot["counts"].attrs.update(signal=np.int32(1), axes="y:x")
        plot["y"] = np.arange(3.0)
        plot["x"] = np.arange(4.0)
    layout = layout_of(path)
    # every dimension has an axis: a grid of scalars, mapped over y and x
    assert layout.scan_rank == 2 and layout.scan_shape == (3, 4) and layout.frame_shape == ()
    assert layout.axes == ("/entry/map/y", "/entry/map/x")


@pytest.mark.parametrize("bad,why", [("group", "is a group"), ("missing", "no object"),
                                     ("text", "holds text")])
def test_unusable_signal_is_noted_and_a_numeric_field_shown(tmp_path, bad, why):
    path = tmp_path / "bad.nxs"
    with h5py.File(path, "w") as f:
        f.create_group("entry").attrs.update(NX_class="NXentry", default="plot")
        plot = nxdata(f, "entry/plot", signal="image_data", axes=["x"])
        if bad == "group":
            plot.create_group("image_data")
        elif bad == "text":
            plot["image_data"] = np.array([b"/dls/x/00001.tif"] * 6)
        plot["x"] = np.arange(6.0)
        plot["timestamp"] = np.arange(6.0)
        plot["roi_sum"] = np.arange(6.0)
        plot["region"] = np.arange(8.0)          # does not fit the plot
    layout = layout_of(path)
    assert layout.signal == "/entry/plot/roi_sum" and layout.scan_shape == (6,)
    assert layout.axes == ("/entry/plot/x",)
    assert "/entry/plot/region" not in layout.data and "/entry/plot/x" not in layout.data
    assert any("/entry/plot/image_data" in n and why in n for n in layout.notes)


def frame_rank_file(path, shape, maxshape=None, interpretation=None, where="entry/det/data"):
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(where, shape=shape, maxshape=maxshape or shape, dtype="f4")
        if interpretation:
            ds.attrs["interpretation"] = interpretation
    return path


@pytest.mark.parametrize("shape,maxshape,interpretation,rank", [
    ((50,), None, None, 1),                     # scalars per point
    ((20, 4096), (None, 4096), None, 1),        # a growing stack of spectra
    ((300, 4096), None, None, 1),               # long and thin: spectra
    ((512, 1028), None, None, 0),               # an Eiger module image
    ((1679, 1475), None, None, 0),              # a single image: no map
    ((1, 1, 1679 // 8, 1475 // 8), None, None, 2),  # areaDetector detector/data: images
    ((3201, 22, 26), None, None, 1),            # images over one scan dim
    ((2, 2, 10, 4096), None, None, 2),          # xspress3 MCAs: 10 x 4096 per point
    ((4, 3, 200), None, "spectrum", 2),         # @interpretation wins
    ((6, 6), None, "image", 0),
    ((6, 6), None, "scalar", 2),
])
def test_frame_rank_rule(tmp_path, shape, maxshape, interpretation, rank):
    path = frame_rank_file(tmp_path / "f.h5", shape, maxshape, interpretation)
    layout = layout_of(path)
    assert layout.signal == "/entry/det/data" and layout.keys == ()
    assert layout.scan_rank == rank and layout.scan_shape == shape[:rank]
    assert layout.frame_shape == shape[rank:]


def test_area_detector_ndattributes_are_not_the_signal_but_uniqueid_is_a_key(tmp_path):
    path = tmp_path / "ad.h5"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det.create_dataset("data", shape=(40, 3, 3), maxshape=(None, 3, 3), dtype="u2")
        nd = det.create_group("NDAttributes")
        nd.create_dataset("NDArrayUniqueId", data=np.arange(1, 41, dtype="i4"), maxshape=(None,))
        nd.create_dataset("NDArrayTimeStamp", data=np.arange(40.0), maxshape=(None,))
        nd.create_dataset("NDArrayEpicsTSSec", data=np.arange(40 * 20.0).reshape(40, 20))
    layout = layout_of(path)
    assert layout.keys == ("/entry/instrument/detector/NDAttributes/NDArrayUniqueId",)
    assert layout.signal == "/entry/instrument/detector/data"
    assert layout.scan_shape == (None,) and layout.frame_shape == (3, 3)  # keys: maxshape
    assert "/entry/instrument/detector/NDAttributes/NDArrayTimeStamp" in layout.data


def test_nxtomo_image_key_is_not_a_key(tmp_path):
    path = tmp_path / "tomo.nxs"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["data"] = np.zeros((12, 4, 4), np.uint16)
        det["image_key"] = np.zeros(12, np.int32)        # projections: all 0
    layout = layout_of(path)
    assert layout.keys == () and layout.signal == "/entry/instrument/detector/data"


def test_explicit_data_without_keys_gives_the_scan(tmp_path):
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as f:
        f["entry/a"] = np.zeros((5,))
        f.create_dataset("entry/frames", shape=(7, 4, 4), dtype="f4")
    with h5py.File(path, "r") as f:
        layout = find_layout(f, data=["entry/frames"])
    assert layout.data == ("/entry/frames",) and layout.keys == ()
    assert layout.scan_shape == (7,) and layout.frame_shape == (4, 4)


def nxsas_stack(path, pixel_sizes=("x", "y")):
    """The structure of nexusformat/exampledata APS/NXsas/hdf5/nexus-example.hdf5 (written by
    spec2nexus.eznx; the real file is 1.9 MB): an NXdetector's ``data`` (10 frames) hard-linked
    into the default NXdata as ``frames``, with an axis for every dimension: ``sample_times``
    (minutes) and pixel numbers ``vertical``/``horizontal``."""
    frames, rows, cols = 10, 19, 48
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        f.create_group("entry").attrs.update(NX_class="NXentry", default="data")
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["data"] = np.arange(frames * rows * cols, dtype="i4").reshape(frames, rows, cols)
        for axis in pixel_sizes:
            det[f"{axis}_pixel_size"] = [0.172]
        det["distance"] = [1000.0]
        plot = nxdata(f, "entry/data", signal="frames",
                      axes=np.array([b"sample_times", b"vertical", b"horizontal"]),
                      sample_times_indices=[0], vertical_indices=[1], horizontal_indices=[2])
        plot["frames"] = det["data"]
        plot["blank"] = np.zeros((rows, cols), "i4")
        plot["sample_times"] = np.array([3, 30, 58, 86, 112, 140, 168, 196, 223, 240])
        plot["sample_times"].attrs["units"] = "minutes"
        plot["vertical"] = np.arange(rows)
        plot["horizontal"] = np.arange(cols)
        for name in ("vertical", "horizontal"):
            plot[name].attrs["units"] = "pixels"
    return path


def test_nxsas_stack_with_pixel_axes_is_images_over_the_scan(tmp_path):
    """A detector with x and y pixels writes images: 10 frames of 19 x 48, not a 3-D grid of
    scalars, although the plot names an axis for every dimension."""
    layout = layout_of(nxsas_stack(tmp_path / "nexus-example.hdf5"))
    assert layout.signal == "/entry/data/frames"
    assert layout.scan_rank == 1 and layout.scan_shape == (10,)
    assert layout.frame_shape == (19, 48)
    assert layout.axes == ("/entry/data/sample_times",) and layout.axis_units == ("minutes",)


def test_strip_detector_stack_is_spectra_over_a_grid(tmp_path):
    """Only ``x_pixel_size``: a strip detector, one pixel dimension."""
    layout = layout_of(nxsas_stack(tmp_path / "strip.h5", pixel_sizes=("x",)))
    assert layout.scan_rank == 2 and layout.frame_shape == (48,)
