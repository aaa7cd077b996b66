"""swmrview.core: follow SWMR scans with numpy + h5py only (swmr_tools-compatible API).

Existing swmr_tools scripts work after changing ``from swmr_tools import ...`` to
``from swmrview.core import ...``.
"""

from . import utils
from .datasource import DataSource, SliceDict
from .files import FileLockedError, NotHDF5Error, open_swmr, writer_active
from .frames import FrameReader, KeyDataMismatchError, MissingFilterError
from .keys import KeyFollower, RowKeyFollower, ScanRankError
from .output import append_data, create_dataset
from .positions import get_position, get_position_snake, get_position_snake_row, get_row_slice
from .utils import check_file_readable

__all__ = [
    "KeyFollower", "RowKeyFollower", "FrameReader", "DataSource", "SliceDict",
    "get_position", "get_position_snake", "get_position_snake_row", "get_row_slice",
    "create_dataset", "append_data", "check_file_readable", "utils",
    "open_swmr", "writer_active", "NotHDF5Error", "FileLockedError",
    "KeyDataMismatchError", "MissingFilterError", "ScanRankError",
]
