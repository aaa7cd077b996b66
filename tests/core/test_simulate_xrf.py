"""The simulated beamline's XRF detector: MCA frames, energy axis and I0, from a real writer."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.tools.simulate import xrf as sim_xrf

from swmrview.tools import simulate
from swmrview.core.files.layout import find_layout
from swmrview.tools.simulate import (SimConfig, element_amounts, energy_axis, expected_frame,
                               expected_i0, expected_mean_frame)

FAST = 5000.0


def finish(proc, timeout=60.0) -> int:
    proc.join(timeout)
    assert not proc.is_alive(), "writer did not finish"
    return proc.exitcode


def roi_counts(frame: np.ndarray, energy: float, channels: int, half_width: float = 0.12
               ) -> float:
    """Counts of all detector elements within ``half_width`` keV of ``energy``."""
    e = sim_xrf.energy_axis(channels)
    return float(frame[..., np.abs(e - energy) <= half_width].sum())


@pytest.mark.slow
def test_xrf_frames_i0_and_energy_axis_in_the_file(sim_writer):
    cfg = SimConfig(shape=(3, 4), detector="xrf", elements=3, channels=512, rate=FAST,
                    snake=True)
    assert cfg.frame == (3, 512) and cfg.dtype == np.uint32
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        data = f[simulate.DATA_PATH]
        assert data.dtype == np.uint32 and data.shape == (3, 4, 3, 512)
        assert data.maxshape == (None, None, 3, 512) and data.chunks == (1, 1, 3, 512)
        for i in range(cfg.n_points):
            pos = np.unravel_index(i, cfg.shape)
            np.testing.assert_array_equal(data[pos], expected_frame(i, cfg))
        i0 = f[simulate.I0_PATH]
        assert i0.shape == (3, 4) and i0.maxshape == (None, None) and i0.dtype == np.float64
        np.testing.assert_array_equal(
            i0[...], np.reshape([expected_i0(i, cfg) for i in range(12)], (3, 4)))
        monitor = f[simulate.MONITOR_PATH]
        assert monitor == i0 and monitor.parent.attrs["NX_class"] == "NXmonitor"

        nxdata = f[simulate.NXDATA_PATH]
        assert list(nxdata.attrs["axes"]) == ["stage_y", "stage_x", ".", "energy"]
        assert nxdata.attrs["energy_indices"] == 3
        energy = f[simulate.ENERGY_PATH]
        assert energy.attrs["units"] == "keV"
        np.testing.assert_array_equal(energy[...], energy_axis(cfg))
        assert energy[0] > 0 and energy[-1] == pytest.approx(sim_xrf.ENERGY_MAX, abs=0.05)

        layout = find_layout(f)
        assert layout.signal == simulate.NXDATA_PATH + "/data"
        assert layout.frame_shape == (3, 512) and layout.scan_shape == (3, 4)
        assert simulate.MONITOR_PATH in layout.data or simulate.I0_PATH in layout.data
        assert simulate.ENERGY_PATH not in layout.data
        assert layout.axis_names == ("stage_y", "stage_x")


def test_energy_axis_is_the_spectra_axis_for_nexus_readers(tmp_path):
    """The NeXus axes of the signal's last dim name the energy dataset, with its unit."""
    from swmrview.core.files.nexus import axis_candidates, units

    out = tmp_path / "axes.h5"
    assert simulate.main([str(out), "--xrf", "--shape", "2x2", "--elements", "2",
                          "--channels", "64", "--rate", "5000"]) == 0
    with h5py.File(out, "r") as f:
        nxdata = f[simulate.NXDATA_PATH]
        per_dim = axis_candidates(nxdata, nxdata["data"], nxdata["data"].ndim)
        assert per_dim[3] == ["energy"] and per_dim[2] == []
        assert units(nxdata["energy"]) == "keV"
        assert nxdata["energy"].shape == (64,)


def test_counts_scale_with_i0_and_normalised_element_maps_are_flat():
    cfg = SimConfig(shape=(12, 16), detector="xrf", elements=2, channels=1024)
    n = cfg.n_points
    i0 = np.array([expected_i0(i, cfg) for i in range(n)])
    assert i0.max() / i0.min() > 1.05            # a decaying beam with top-ups
    fe_conc = np.array([element_amounts(i, cfg)["Fe"] for i in range(n)])
    fe_raw = np.array([roi_counts(expected_mean_frame(i, cfg), 6.40, 1024) for i in range(n)])
    # raw Fe counts carry the beam's steps; Fe / I0 is the concentration map (plus the small,
    # smooth scatter/background under the peak)
    assert np.corrcoef(fe_raw / i0, fe_conc)[0, 1] > 0.995
    assert np.corrcoef(fe_raw / i0, fe_conc)[0, 1] > np.corrcoef(fe_raw, fe_conc)[0, 1]
    # the mean frame is exactly proportional to I0 at a fixed sample position
    a = expected_mean_frame(5, cfg)
    b = sim_xrf.xrf_mean(element_amounts(5, cfg), 2 * expected_i0(5, cfg), 2, 1024,
                         scatter=0.9 + 0.2 * simulate.sample_yxz(5, cfg)[0])
    np.testing.assert_allclose(b, 2 * a)


def test_element_maps_differ_visibly():
    cfg = SimConfig(shape=(20, 30), detector="xrf", elements=1, channels=2048)
    maps = {name: np.array([element_amounts(i, cfg)[name] for i in range(cfg.n_points)])
            for name in sim_xrf.LINES}
    for name, values in maps.items():
        assert values.max() > 2.5 * values.min(), name       # each map has contrast
    names = list(maps)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert abs(np.corrcoef(maps[a], maps[b])[0, 1]) < 0.6, (a, b)
    # the counts in each element's K-alpha window follow that element's map
    frames = [expected_frame(i, cfg) for i in range(cfg.n_points)]
    i0 = np.array([expected_i0(i, cfg) for i in range(cfg.n_points)])
    for name, energy in (("Ca", 3.69), ("Fe", 6.40), ("Cu", 8.05)):
        counts = np.array([roi_counts(fr, energy, 2048, 0.08) for fr in frames]) / i0
        assert np.corrcoef(counts, maps[name])[0, 1] > 0.95, name


def test_lines_at_their_energies_and_elements_differ():
    cfg = SimConfig(shape=(4,), detector="xrf", elements=5, channels=4096)
    mean = expected_mean_frame(2, cfg)
    e = energy_axis(cfg)
    unit_gain = 2                       # element 2 of 5 has gain 1.0
    for energy, tolerance in ((3.69, 0.006), (6.40, 0.006), (8.05, 0.006), (8.64, 0.006),
                              (sim_xrf.BEAM_ENERGY, 0.03)):   # elastic: on Compton's shoulder
        window = np.abs(e - energy) < 0.1
        peak = e[window][np.argmax(mean[unit_gain, window])]
        assert abs(peak - energy) <= tolerance, energy        # 0.006: about a channel (5 eV)
    # each detector element has its own gain: the Fe line sits at a different channel
    window = np.abs(e - 6.40) < 0.15
    peaks = {int(np.argmax(mean[k, window])) for k in range(5)}
    assert len(peaks) >= 3
    # no counts well above the beam energy
    assert mean[:, e > sim_xrf.BEAM_ENERGY + 1.0].max() < 0.05
    frame = expected_frame(2, cfg)
    assert frame.dtype == np.uint32 and frame.shape == (5, 4096)
    np.testing.assert_array_equal(frame, expected_frame(2, cfg))        # deterministic
    assert frame.sum() == pytest.approx(mean.sum(), rel=0.02)            # Poisson around it
    assert not np.array_equal(frame, expected_frame(2, SimConfig(shape=(4,), detector="xrf",
                                                                  elements=5, seed=1)))


def test_xrf_config_and_cli_validation(tmp_path):
    with pytest.raises(ValueError):
        SimConfig(detector="pilatus")
    with pytest.raises(ValueError):
        SimConfig(detector="xrf", channels=4)
    assert SimConfig(detector="xrf", frame=(8, 8)).frame == (4, 4096)    # --frame is replaced
    assert simulate.main([str(tmp_path / "bad.h5"), "--xrf", "--elements", "0"]) == 2
    assert not (tmp_path / "bad.h5").exists()


@pytest.mark.slow
def test_dropped_xrf_point_leaves_zero_i0_and_frame(sim_writer):
    cfg = SimConfig(shape=(2, 3), detector="xrf", elements=1, channels=64, rate=FAST,
                    drop=(4, 5))
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        i0 = f[simulate.I0_PATH][...]
        assert i0.shape == (2, 3)                # grown over the dropped last points
        assert i0[1, 1] == 0 and i0[1, 2] == 0 and (i0.ravel()[:4] > 0).all()
        assert not f[simulate.DATA_PATH][1, 1].any()
