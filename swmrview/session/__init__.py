"""The worker side: opens files and owns their HDF5 handles, the acquired set, channels, regions,
the live export and directory follow. Runs in the follower thread; no Qt."""
