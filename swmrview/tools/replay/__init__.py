"""Replay a finished scan file as a live SWMR scan, the way its writer wrote it.

``swmrview --replay FINISHED OUT [--rate R]`` (or ``python -m swmrview.tools.replay``) rewrites any
finished scan as a real SWMR writer would have written it, for demos on real data, for training
and for tests (:func:`start_replay` runs it in a separate process):

- the same groups, attributes and links (hard, soft and external links are kept as they are);
- the scan shape, keys, finished flag and signal are the viewer's: :func:`core.layout.find_layout`
  (declared ``scan_shape``, keys, GDA 8 ``scan_dimensions``, else the NeXus signal by the
  frame-rank rule); ``--scan-shape`` overrides the shape;
- *per-point* datasets (leading dims fit the scan shape, as the viewer's data must: per-element
  fields of (scan) + (elements,) included) are created at shape (1, ..., 1) + frame
  with maxshape None in every scan dim, chunked, and grow point by point as GDA's do; every other
  dataset is copied as it is (chunked unless scalar) before SWMR starts;
- points are written in acquisition order: the order of the key values when the file has keys
  (so a snake comes back snaked), else C order; each point's data is flushed before its keys;
- files behind external links (detector files) are replayed live too, with the data they hold;
  link targets whose file or dataset is missing are synthesised (small frames, per-point scalars
  or key datasets), each one named on the log (stderr);
- the finished flag (``scan_finished``) is created 0 and set last, to the original's value.
  Files without keys (GDA 8, areaDetector, DECTRIS data files) replay by growing their per-point
  datasets; no keys or flag are invented for them.

Every dataset is created before ``swmr_mode`` is switched on (an SWMR requirement). Only datasets
whose data is read whole from the original are copied; virtual datasets are recreated with their
original source mapping (missing sources stay missing).

Modules: ``analyse`` (what to replay: the viewer's layout), ``points`` (acquisition order, runs
of points), ``copying`` (exact copies of attributes and datasets), ``output`` (one output file and
its growing datasets), ``external`` (detector files replayed or synthesised), ``write`` (the
live writer and its process), ``cli`` (the command line).
"""

from swmrview.tools.replay.analyse import ReplayError, ScanInfo, analyse
from swmrview.tools.replay.cli import main
from swmrview.tools.replay.external import SYNTH_FRAME
from swmrview.tools.replay.write import replay_scan, start_replay

__all__ = ["ReplayError", "ScanInfo", "analyse", "replay_scan", "start_replay", "main",
           "SYNTH_FRAME"]
