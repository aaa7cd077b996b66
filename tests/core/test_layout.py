"""Layout detection: GDA files from the simulator, generic files, explicit paths, errors."""

from __future__ import annotations

import os
import time

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import LayoutError, ScanLayout, find_layout, scan_rank_of
from swmrview.tools.simulate import SimConfig, write_scan

FAST = 5000.0


def simulated(tmp_path, name="gda.h5", **options) -> str:
    path = tmp_path / name
    write_scan(path, SimConfig(rate=FAST, **options))
    return str(path)


@pytest.mark.slow
def test_gda_file_from_a_real_writer_process(sim_writer):
    path, proc = sim_writer(SimConfig(shape=(3, 4), frame=(8, 8), rate=FAST))
    proc.join(30)
    assert proc.exitcode == 0
    with h5py.File(path, "r", swmr=True) as f:
        layout = find_layout(f)
    assert layout == ScanLayout(
        keys=("/entry/diamond_scan/keys/detector", "/entry/diamond_scan/keys/uniqueKeys"),
        finished="/entry/diamond_scan/scan_finished",
        data=("/entry/data/data",),
        signal="/entry/data/data",
        axes=("/entry/data/stage_y", "/entry/data/stage_x"),
        axis_names=("stage_y", "stage_x"),
        scan_rank=2, scan_shape=(3, 4), gda=True,
        axis_units=("mm", "mm"), overflow=layout.overflow, frame_shape=(8, 8))
    assert layout.notes == () and layout.dangling_keys == () and layout.pixel_mask is None


@pytest.mark.slow
def test_layout_while_the_scan_is_growing(sim_writer):
    path, proc = sim_writer(SimConfig(shape=(50, 4), frame=(6,), rate=100.0))
    deadline = time.monotonic() + 20
    while True:
        try:
            f = h5py.File(path, "r", swmr=True)
            break
        except (FileNotFoundError, OSError):
            assert time.monotonic() < deadline, "writer never made the file readable"
            time.sleep(0.02)
    with f:
        assert f["/entry/data/data"].shape[0] < 50          # still being written
        layout = find_layout(f)
    proc.terminate()
    assert layout.scan_shape == (50, 4) and layout.data == ("/entry/data/data",)


def test_gda_1d_scalar_scan_excludes_axis_datasets(tmp_path):
    # The motor's demand positions have the scan's shape too; they are axes, not data.
    with h5py.File(simulated(tmp_path, shape=(12,), frame=()), "r", swmr=True) as f:
        layout = find_layout(f)
    assert layout.data == ("/entry/data/data",)
    assert layout.axes == ("/entry/data/stage_x",) and layout.scan_shape == (12,)
    assert layout.scan_rank == 1


def test_gda_3d_spectrum_scan(tmp_path):
    with h5py.File(simulated(tmp_path, shape=(2, 3, 4), frame=(5,)), "r", swmr=True) as f:
        layout = find_layout(f)
    assert layout.scan_rank == 3 and layout.scan_shape == (2, 3, 4)
    assert layout.axis_names == ("stage_z", "stage_y", "stage_x")


def test_external_links_followed(tmp_path):
    with h5py.File(simulated(tmp_path, shape=(2, 3), frame=(4, 4), external=True),
                   "r", swmr=True) as f:
        layout = find_layout(f)
        assert "/entry/diamond_scan/keys/detector" in layout.keys
        assert f[layout.keys[0]].shape == (2, 3, 1, 1)      # read through the link
        assert layout.data[0] == layout.signal == "/entry/data/data"
        assert f[layout.data[0]].shape == (2, 3, 4, 4)


def test_missing_external_key_file_is_dangling_and_named(tmp_path):
    # Degrade, don't refuse: the scan file's own key is kept, the missing file is named.
    path = simulated(tmp_path, name="m.h5", shape=(2, 3), frame=(4,), external=True)
    os.rename(tmp_path / "m_detector.h5", tmp_path / "elsewhere.h5")
    with h5py.File(path, "r", swmr=True) as f:
        layout = find_layout(f)
    assert layout.keys == ("/entry/diamond_scan/keys/uniqueKeys",)
    assert layout.dangling_keys == ("/entry/diamond_scan/keys/detector",)
    assert layout.missing_files == (str(tmp_path / "m_detector.h5"),)
    assert any("m_detector.h5" in n and "keys/detector" in n for n in layout.notes)
    # the data were in that file too: the scan's own key is mapped (SPEC 5), the file named first
    assert layout.signal == "/entry/diamond_scan/keys/uniqueKeys"
    assert layout.data == ("/entry/diamond_scan/keys/uniqueKeys",)
    assert "m_detector.h5" in layout.notes[0] and "uniqueKeys" in layout.notes[0]
    assert layout.scan_shape == (2, 3)


def test_explicit_paths_override(tmp_path):
    with h5py.File(simulated(tmp_path, shape=(2, 3), frame=(4,)), "r", swmr=True) as f:
        layout = find_layout(f, keys=["entry/diamond_scan/keys/uniqueKeys"],
                             data=["/entry/instrument/detector/data"],
                             finished="/entry/diamond_scan/scan_finished")
    assert layout.keys == ("/entry/diamond_scan/keys/uniqueKeys",)
    assert layout.data == ("/entry/instrument/detector/data",)
    assert layout.signal == "/entry/data/data"


@pytest.mark.parametrize("option", ["keys", "data", "finished"])
def test_missing_explicit_path_named(tmp_path, option):
    path = simulated(tmp_path, shape=(2,), frame=())
    value = "/x/y" if option == "finished" else ["/x/y"]
    with h5py.File(path, "r", swmr=True) as f:
        with pytest.raises(LayoutError, match=r"no dataset at /x/y in .*gda\.h5"):
            find_layout(f, **{option: value})


def test_explicit_group_is_not_a_dataset(tmp_path):
    with h5py.File(simulated(tmp_path, shape=(2,), frame=()), "r", swmr=True) as f:
        with pytest.raises(LayoutError, match="group"):
            find_layout(f, keys=["/entry/diamond_scan/keys"])


# ----------------------------------------------------------------------------- generic files

def generic_file(path, keys_group=True, finished_rank0=False):
    with h5py.File(path, "w", libver="latest") as f:
        scan = f.create_group("scan")
        keys = scan.create_group("keys") if keys_group else scan
        for name in ("first", "second") if keys_group else ("image_UniqueID",):
            keys.create_dataset(name, shape=(1, 5, 1), maxshape=(None, 5, 1), dtype="i4",
                                chunks=(1, 5, 1))
        scan.create_dataset("frames", shape=(1, 5, 8, 8), maxshape=(None, 5, 8, 8),
                            chunks=(1, 1, 8, 8), dtype="u2")
        scan.create_dataset("other", shape=(1, 6), maxshape=(None, 6), chunks=(1, 6), dtype="f4")
        scan.create_dataset("label", data=np.zeros((4, 5), dtype="S4"))
        if finished_rank0:
            scan.create_dataset("is_finished", data=np.int32(0))
        else:
            scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,), dtype="i4")
    return path


def test_generic_keys_group(tmp_path):
    with h5py.File(generic_file(tmp_path / "g.h5"), "r", swmr=True) as f:
        layout = find_layout(f)
    assert layout.keys == ("/scan/keys/first", "/scan/keys/second")
    assert layout.finished == "/scan/scan_finished"
    assert layout.data == ("/scan/frames",)
    assert layout.scan_rank == 2 and layout.scan_shape == (None, 5)
    assert layout.gda is False
    assert layout.signal == "/scan/frames"          # no NeXus plot: the largest fitting dataset
    assert layout.axes == (None, None) and layout.axis_names == ("dim0", "dim1")
    assert layout.frame_shape == (8, 8) and layout.overflow == 65535   # uint16 frames


def test_generic_key_named_uniqueid_and_rank0_finished(tmp_path):
    path = generic_file(tmp_path / "u.h5", keys_group=False, finished_rank0=True)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.keys == ("/scan/image_UniqueID",)
    assert layout.finished == "/scan/is_finished"
    assert layout.data == ("/scan/frames",)


def test_no_keys_shows_the_largest_dataset(tmp_path):
    path = tmp_path / "none.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros((3, 4))
        f["key_but_float"] = np.zeros(3)
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.keys == () and layout.signal == "/data"
    assert layout.scan_rank == 0 and layout.frame_shape == (3, 4)    # a single image


def test_nothing_to_show_names_why_and_suggests_options(tmp_path):
    path = tmp_path / "none.h5"
    with h5py.File(path, "w") as f:
        f["label"] = np.array([b"a", b"b"])
        f["one"] = np.float64(3)
    with h5py.File(path, "r") as f:
        with pytest.raises(LayoutError, match="--key") as info:
            find_layout(f)
    assert "no key datasets" in str(info.value) and "none.h5" in str(info.value)


def test_keys_of_different_rank_named(tmp_path):
    path = tmp_path / "ranks.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/a", shape=(4, 5, 1), dtype="i4")
        f.create_dataset("keys/b", shape=(20, 1, 1), dtype="i4")
    with h5py.File(path, "r") as f:
        with pytest.raises(LayoutError, match="different scan ranks") as info:
            find_layout(f)
    assert "/keys/a" in str(info.value) and "/keys/b" in str(info.value)


def test_nexus_default_chain_in_generic_file(tmp_path):
    path = tmp_path / "nx.h5"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "run"
        run = f.create_group("run")
        run.attrs["NX_class"] = "NXentry"
        run.attrs["default"] = "plot"
        plot = run.create_group("plot")
        plot.attrs["NX_class"] = "NXdata"
        plot.attrs["signal"] = "counts"
        plot.attrs["axes"] = [".", "theta", "."]
        plot["counts"] = np.zeros((3, 4, 6))
        plot["theta"] = np.linspace(0, 1, 4)
        plot["unique_keys"] = np.ones((3, 4), dtype="i8")
    with h5py.File(path, "r") as f:
        layout = find_layout(f)
    assert layout.keys == ("/run/plot/unique_keys",)
    assert layout.signal == layout.data[0] == "/run/plot/counts"
    assert layout.axes == (None, "/run/plot/theta")
    assert layout.axis_names == ("dim0", "theta")


def test_deep_generic_tree_is_not_walked(tmp_path):
    path = tmp_path / "deep.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a/b/c/d/e/f/g/keys/k", shape=(3,), dtype="i4")
    with h5py.File(path, "r") as f:
        with pytest.raises(LayoutError, match="no key datasets"):
            find_layout(f)
        layout = find_layout(f, keys=["/a/b/c/d/e/f/g/keys/k"])
        assert layout.scan_shape == (3,) and layout.data == ()


@pytest.mark.parametrize("shape,rank", [((10, 20, 1), 2), ((10, 1, 1), 1), ((1,), 1),
                                        ((None, 5), 2), ((4, 1, 3), 3)])
def test_scan_rank_strips_trailing_ones(shape, rank):
    assert scan_rank_of(shape) == rank


def test_broken_links_in_generic_search_are_skipped(tmp_path):
    path = generic_file(tmp_path / "broken.h5")
    with h5py.File(path, "a") as f:
        f["scan/keys/dangling"] = h5py.SoftLink("/nowhere")
        f["scan/elsewhere"] = h5py.ExternalLink("absent.h5", "/data")
        f.attrs["default"] = "scan"
        f["scan"].attrs["NX_class"] = "NXdata"
        f["scan"].attrs["signal"] = "elsewhere"
    with h5py.File(path, "r") as f:
        layout = find_layout(f, data=["/scan/frames"])
        assert layout.keys == ("/scan/keys/first", "/scan/keys/second")
        assert layout.signal is None                     # broken signal link not reported
        layout = find_layout(f)                          # without --data: a fallback, named
        assert layout.signal == layout.data[0] == "/scan/frames"
        assert layout.missing_files == (str(tmp_path / "absent.h5"),)
        assert any("/scan/elsewhere" in n and "absent.h5" in n for n in layout.notes)


def test_an_array_named_like_finished_is_not_taken_as_the_flag(tmp_path):
    path = tmp_path / "generic.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.zeros((5,), np.int32), maxshape=(None,))
        f.create_dataset("entry/frames_finished", data=[3, 0, 0, 0, 0])  # an array, not a flag
        f.create_dataset("entry/label_finished", data="no")  # a string, not a flag
        f.create_dataset("entry/data", data=np.zeros((5, 4)), maxshape=(None, 4))
    with h5py.File(path, "r") as f:
        assert find_layout(f).finished is None
    with h5py.File(path, "a") as f:
        f.create_dataset("entry/scan_finished", data=np.int32(0))
    with h5py.File(path, "r") as f:
        assert find_layout(f).finished == "/entry/scan_finished"


def test_fallback_signal_does_not_depend_on_how_far_a_live_writer_got(tmp_path):
    """Two equal keyless candidates growing in turn (a live replay of I18's two MCAs): the
    choice must not flip with their current sizes, or the viewer shows another dataset."""
    import h5py
    import numpy as np

    from swmrview.core.files.layout import find_layout

    picks = set()
    for first, second in [((1, 2), (2, 1)), ((2, 1), (1, 2)), ((2, 2), (2, 2))]:
        path = tmp_path / f"{first}{second}.h5"
        with h5py.File(path, "w") as h5:
            for name, scan in (("a/MCAs", first), ("b/deeper/MCAs", second)):
                h5.create_dataset(name, data=np.ones(scan + (10, 40)),
                                  maxshape=(None, None, 10, 40), chunks=(1, 1, 10, 40))
        with h5py.File(path, "r") as h5:
            picks.add(find_layout(h5).signal)
    assert picks == {"/a/MCAs"}
