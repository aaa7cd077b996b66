"""Computing: the threaded read-and-reduce pipeline, reductions, channels, the map array."""
