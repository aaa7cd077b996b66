"""swmr_tools 0.9.0's frozen API modules (names and results never change): FrameReader,
DataSource, ChunkSource, chunk_utils, utils, output."""
