"""The one NXdata parser and writer (core/files/nxdata.py): every attribute form real files
use, old style and new, the writer read back, and the real files of ../shared/data/real."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import find_layout
from swmrview.core.files.nxdata import (NXdataInfo, has_signal, parse_indices, parse_nxdata,
                                        signal_name, write_nxdata)
from swmrview.core.files.scatter_axes import find_scatter_axes
from tests.real_data import REAL


# ----------------------------------------------------------------------------- indices

@pytest.mark.parametrize("value, dims", [
    (0, (0,)),
    (np.int32(2), (2,)),
    (np.uint32(1), (1,)),
    (np.array([0], np.int32), (0,)),             # GDA 9: a length-1 int32 array
    (np.array([0, 1], np.int64), (0, 1)),        # a field over two scan dims
    ([1, 2], (1, 2)),
    ("0", (0,)),                                 # fluo.nxs: energy_indices '3'
    ("1,2", (1, 2)),
    (" 1 2 ", (1, 2)),
    (b"3", (3,)),
    (np.bytes_(b"1"), (1,)),
    (np.array([b"1", b"2"]), (1, 2)),            # fluo.nxs / xrd_test.nxs: x_indices
    (["1", "2"], (1, 2)),
    (np.array(["0"], dtype=h5py.string_dtype()), (0,)),
    (2.0, (2,)),
])
def test_indices_in_every_form_real_files_write(value, dims):
    assert parse_indices(value) == dims


@pytest.mark.parametrize("value", [None, "", "x", "1,x", -1, [0, -1], 1.5, np.nan,
                                   np.array([], np.int32), True, np.array([b"1", b"y"])])
def test_indices_that_name_no_dims_are_none(value):
    assert parse_indices(value) is None


# ----------------------------------------------------------------------------- parsing

def _group(f: h5py.File, name: str = "data", **attrs) -> h5py.Group:
    group = f.create_group(name)
    group.attrs["NX_class"] = "NXdata"
    group.attrs.update(attrs)
    return group


def test_new_style_signal_auxiliary_axes_and_indices_of_each_form(tmp_path):
    with h5py.File(tmp_path / "new.nxs", "w") as f:
        g = _group(f, signal="counts", auxiliary_signals=np.array([b"i0", b"it"]),
                   axes=np.array([b"y", b"x", b"."]))
        g.attrs["y_indices"] = np.int32(0)
        g.attrs["x_indices"] = np.array([1], np.uint32)
        g.attrs["energy_indices"] = "2"
        g.attrs["sx_indices"] = np.array([b"0", b"1"])
        g.attrs["bad_indices"] = "nowhere"
        info = parse_nxdata(g)
        assert info.signal == "counts" and info.auxiliary == ("i0", "it")
        assert info.axes == ("y", "x", ".")
        assert dict(info.indices) == {"y": (0,), "x": (1,), "energy": (2,), "sx": (0, 1),
                                      "bad": None}
        # "." is no axis; one-dim indices add candidates; a two-dim field is no grid axis
        assert info.axes_per_dim(3) == [["y"], ["x"], ["energy"]]
        assert has_signal(g)


def test_old_style_signal_1_axes_on_the_signal_and_primary(tmp_path):
    with h5py.File(tmp_path / "old.nxs", "w") as f:
        g = _group(f, "det")
        g["counts"] = np.zeros((5, 4))
        g["counts"].attrs["signal"] = np.int32(1)
        g["counts"].attrs["axes"] = "theta:channel"
        for name, axis, primary in (("temperature", b"1", None), ("theta", np.int32(1), "1"),
                                    ("channel", np.array([b"2"]), None)):
            g[name] = np.arange(5.0)
            g[name].attrs["axis"] = axis
            if primary:
                g[name].attrs["primary"] = primary
        assert signal_name(g) == "counts" and has_signal(g)
        assert parse_nxdata(g).axes == ()                 # the signal's @axes need the signal
        assert parse_nxdata(g).axes_per_dim(2) == [["theta", "temperature"], ["channel"]]
        info = parse_nxdata(g, g["counts"])
        assert info.axes == ("theta", "channel")
        assert sorted(info.numbered) == [(0, False, "temperature"), (0, True, "theta"),
                                         (1, False, "channel")]
        assert info.axes_per_dim(2) == [["theta", "temperature"], ["channel"]]


def test_old_style_axes_string_on_the_group_and_the_data_fallback(tmp_path):
    with h5py.File(tmp_path / "plain.nxs", "w") as f:
        g = _group(f, axes="y:x")
        g["data"] = np.zeros((2, 3))
        info = parse_nxdata(g)
        assert info.signal == "data" and not has_signal(g)     # named by nothing but its name
        assert info.axes_per_dim(2) == [["y"], ["x"]]
        assert parse_nxdata(_group(f, "empty")) == NXdataInfo(signal=None)


# ----------------------------------------------------------------------------- writing

def test_writer_round_trips_through_the_parser_and_the_layout(tmp_path):
    path = tmp_path / "written.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="map")
        g = entry.create_group("map")
        g["sum"] = np.arange(12.0).reshape(4, 3)
        g["max"] = np.ones((4, 3))
        g["y"] = np.linspace(0, 1, 4)
        g["x"] = np.linspace(5, 6, 3)
        g["sx"] = np.ones((4, 3))
        assert write_nxdata(g, "sum", axes=["y", "x"], auxiliary=["max"],
                            indices={"y": 0, "x": [1], "sx": (0, 1)}) is g
        info = parse_nxdata(g)
        assert info == NXdataInfo(signal="sum", auxiliary=("max",), axes=("y", "x"),
                                  indices={"y": (0,), "x": (1,), "sx": (0, 1)})
        # one form: UTF-8 variable-length strings, int64 indices (a scalar for one dim)
        assert g.attrs.get_id("axes").get_type().is_variable_str()
        assert g.attrs.get_id("signal").get_type().is_variable_str()
        assert g.attrs["NX_class"] == "NXdata"
        assert g.attrs["x_indices"].dtype == np.int64 and g.attrs["x_indices"].shape == ()
        assert list(g.attrs["sx_indices"]) == [0, 1]
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.signal == "/entry/map/sum" and layout.scan_shape == (4, 3)
    assert layout.axes == ("/entry/map/y", "/entry/map/x")


def test_writer_refuses_bad_indices_and_a_missing_signal_before_writing(tmp_path):
    with h5py.File(tmp_path / "bad.nxs", "w") as f:
        g = f.create_group("map")
        with pytest.raises(ValueError, match="x_indices"):
            write_nxdata(g, "sum", indices={"x": -1})
        with pytest.raises(ValueError, match="signal"):
            write_nxdata(g, "", axes=["x"])
        assert len(g.attrs) == 0
        write_nxdata(g, "sum")
        assert set(g.attrs) == {"NX_class", "signal"}       # no empty axes or auxiliaries


# ----------------------------------------------------------------------------- real files

def _real(name: str):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return h5py.File(path, "r")


def test_real_string_indices_fluo_and_xrd():
    """fluo.nxs / xrd_test.nxs write ``theta_indices = "0"`` and ``x_indices = [b"1", b"2"]``:
    theta is the first axis and x, y (over dims 1 and 2) the scatter positions."""
    with _real("fluo.nxs") as f:
        info = parse_nxdata(f["entry1/fluo_entry/data"])
        assert dict(info.indices) == {"energy": (3,), "theta": (0,), "x": (1, 2), "y": (1, 2)}
        assert info.axes_per_dim(4) == [["theta"], ["x"], ["y"], ["energy"]]
    with _real("xrd_test.nxs") as f:
        layout = find_layout(f)
        scatter = find_scatter_axes(f, layout.scan_rank, layout.scan_shape, layout.signal)
    assert layout.axes[0] == "/entry1/xrd_entry/data/theta"
    assert scatter is not None and scatter.dims == (1, 2)
    assert (scatter.x, scatter.y) == ("/entry1/xrd_entry/data/x", "/entry1/xrd_entry/data/y")


def test_real_gda9_int32_indices_over_two_dims():
    with _real("p45-example.nxs") as f:
        info = parse_nxdata(f["entry/mandelbrot"])
        layout = find_layout(f)
        scatter = find_scatter_axes(f, layout.scan_rank, layout.scan_shape, layout.signal)
    assert info.signal == "data" and info.indices["ring_energy"] == (0, 1)
    assert info.axes_per_dim(2) == [["stagey_value_set"], ["stagex_value_set"]]
    assert scatter is not None and scatter.x_name == "stagex" and scatter.dims == (0, 1)


def test_real_gda8_old_style_signal_axis_and_primary():
    with _real("i05-4859.nxs") as f:                 # signal=1, axis="2"/"3", primary=1
        info = parse_nxdata(f["entry1/analyser"])
        assert has_signal(f["entry1/analyser"])
    assert info.signal == "data" and info.axes == ()
    assert info.axes_per_dim(3) == [[], ["angles"], ["energies"]]
    with _real("538039.nxs") as f:                   # axis=[b"1"], primary=[b"1"] on eta
        info = parse_nxdata(f["entry1/pil100k"])
        layout = find_layout(f)
    assert info.axes_per_dim(1) == [["eta", "rc"]]
    assert layout.axes == ("/entry1/pil100k/eta",)
