"""swmrview.core: follow SWMR scans with numpy + h5py only (swmr_tools-compatible API).

Existing swmr_tools scripts work after changing ``from swmr_tools import ...`` to
``from swmrview.core import ...``. The modules, by job:

- :mod:`.compat`: swmr_tools 0.9.0's modules (``utils``, ``chunk_utils``, ``datasource``,
  ``chunksource``, ``output``, and ``frames``' FrameReader);
- :mod:`.follow`: what followers share (``following``: polling, the end of a scan, the
  finished flag), key datasets (``keys``: KeyFollower; ``keyprobe``: its idle poll), keyless
  growth (``growth``), flat index <-> scan position (``positions``), and the raw chunk
  (``chunks``: stored, where, read; ``decoders``: decoded; the lowest floor, as the followers
  need it);
- :mod:`.files`: opening and retrying, layout discovery, NeXus, GDA, detectors and masks;
- :mod:`.compute`: the threaded read-and-reduce pipeline (raw chunks from ``follow.chunks``
  and ``follow.decoders``), reductions, channels, the map.

The frozen swmr_tools API is :data:`SWMR_TOOLS_API`: those names (and the module names
``utils`` and ``chunk_utils``) and their results never change. The rest of ``__all__`` is
swmrview's own.
"""

from swmrview.core.compat import chunk_utils, utils
from swmrview.core.compat.chunksource import ChunkSource
from swmrview.core.compat.datasource import DataSource, FrameReader, SliceDict
from swmrview.core.compat.frames import KeyDataMismatchError, MissingFilterError
from swmrview.core.compat.output import append_data, create_dataset
from swmrview.core.compat.utils import check_file_readable
from swmrview.core.files.opening import FileLockedError, NotHDF5Error, open_swmr, writer_active
from swmrview.core.follow.growth import GrowthFollower
from swmrview.core.follow.keys import KeyFollower, RowKeyFollower, ScanRankError
from swmrview.core.follow.positions import (
    get_position,
    get_position_snake,
    get_position_snake_row,
    get_row_slice,
)

#: swmr_tools 0.9.0's ``__all__``, frozen: a script importing these from ``swmr_tools`` works
#: unchanged from ``swmrview.core`` (its modules ``keyfollower``, ``datasource``,
#: ``chunksource``, ``utils`` and ``chunk_utils`` are :mod:`.follow.keys` and :mod:`.compat`'s).
SWMR_TOOLS_API = ("KeyFollower", "RowKeyFollower", "DataSource", "ChunkSource", "utils",
                  "chunk_utils")

__all__ = list(SWMR_TOOLS_API) + [
    # swmr_tools' module-level names, importable from the package too
    "FrameReader", "SliceDict", "get_position", "get_position_snake", "get_position_snake_row",
    "get_row_slice", "create_dataset", "append_data", "check_file_readable",
    # swmrview's own
    "GrowthFollower", "open_swmr", "writer_active", "NotHDF5Error", "FileLockedError",
    "KeyDataMismatchError", "MissingFilterError", "ScanRankError",
]
