"""swmrview: watch HDF5 SWMR scans live, as a library (`swmrview.core`) and a desktop viewer."""

from swmrview.core import DataSource, FrameReader, KeyFollower

__version__ = "0.1.0"
__all__ = ["KeyFollower", "FrameReader", "DataSource", "__version__"]
