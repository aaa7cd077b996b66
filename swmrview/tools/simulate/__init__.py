"""The simulated beamline: a real SWMR writer process that writes a scan like GDA + areaDetector.

The file follows Diamond's layout (``/entry/diamond_scan/keys``, ``scan_finished``, a NeXus
default plot with motor axes) so the viewer, the tests and the demo all exercise the same
conventions a real scan has. ``detector="xrf"`` (``--xrf``) writes Xspress3-like MCA frames
(detector elements x channels) of element lines whose maps differ (:mod:`.xrf`), an ``energy``
calibration as the spectra's NXdata axis, and a per-point I0 monitor the counts are
proportional to. ``positions="spiral"`` (a 1-D Fermat spiral) or ``"fly"`` (a 2-D grid with a
flying x motor) record each point's actual motor positions per point, like GDA positioners,
beside the whole planned path in ``value_set`` (:mod:`.positions`).

By job: :mod:`.config` (the settings and the paths written), :mod:`.expected` (what is written,
computed without a file), :mod:`.layout` (the files and datasets), :mod:`.writer` (the writing
loop, in a process of its own) and :mod:`.cli` (``swmrview --simulate``). Use the names below as
``from swmrview.tools import simulate`` then ``simulate.SimConfig``, ``simulate.start_writer``...
"""

from swmrview.tools.simulate.config import (
    DATA_PATH,
    DETECTOR_FILE_DATA,
    DETECTOR_FILE_KEY,
    DETECTOR_KEY,
    DETECTORS,
    ENERGY_PATH,
    FINISHED_PATH,
    I0_PATH,
    KEYS_GROUP,
    MONITOR_PATH,
    NXDATA_PATH,
    POSITIONER_VALUE,
    POSITIONER_VALUE_SET,
    UNIQUE_KEYS,
    SimConfig,
)
from swmrview.tools.simulate.expected import (
    acquisition_order,
    axis_names,
    axis_positions,
    element_amounts,
    energy_axis,
    expected_frame,
    expected_i0,
    expected_mean_frame,
    expected_positions,
    planned_positions,
    positioner_paths,
    recorded_positions,
    sample_value,
    sample_yxz,
)
from swmrview.tools.simulate.layout import KEY_CHUNK, SCALAR_CHUNK, ScanFiles
from swmrview.tools.simulate.writer import start_writer, write_scan
from swmrview.tools.simulate.cli import main

__all__ = [
    "SimConfig", "write_scan", "start_writer", "main", "ScanFiles",
    "expected_frame", "expected_mean_frame", "expected_i0", "expected_positions",
    "sample_value", "sample_yxz", "element_amounts", "energy_axis", "acquisition_order",
    "axis_names", "axis_positions", "planned_positions", "recorded_positions",
    "positioner_paths",
    "DATA_PATH", "NXDATA_PATH", "KEYS_GROUP", "UNIQUE_KEYS", "DETECTOR_KEY", "FINISHED_PATH",
    "DETECTOR_FILE_DATA", "DETECTOR_FILE_KEY", "ENERGY_PATH", "I0_PATH", "MONITOR_PATH",
    "POSITIONER_VALUE", "POSITIONER_VALUE_SET", "DETECTORS", "KEY_CHUNK", "SCALAR_CHUNK",
]
