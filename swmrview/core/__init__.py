"""swmrview.core: follow SWMR scans with numpy + h5py only (swmr_tools-compatible API).

Existing swmr_tools scripts work after changing ``from swmr_tools import ...`` to
``from swmrview.core import ...``.
"""

from . import chunk_utils, utils
from .chunksource import ChunkSource
from .datasource import DataSource, FrameReader, SliceDict
from .files import FileLockedError, NotHDF5Error, open_swmr, writer_active
from .frames import KeyDataMismatchError, MissingFilterError
from .growth import GrowthFollower
from .keys import KeyFollower, RowKeyFollower, ScanRankError
from .output import append_data, create_dataset
from .positions import get_position, get_position_snake, get_position_snake_row, get_row_slice
from .utils import check_file_readable

__all__ = [
    "KeyFollower", "RowKeyFollower", "FrameReader", "DataSource", "SliceDict",
    "get_position", "get_position_snake", "get_position_snake_row", "get_row_slice",
    "create_dataset", "append_data", "check_file_readable", "utils", "chunk_utils",
    "ChunkSource", "GrowthFollower",
    "open_swmr", "writer_active", "NotHDF5Error", "FileLockedError",
    "KeyDataMismatchError", "MissingFilterError", "ScanRankError",
]
