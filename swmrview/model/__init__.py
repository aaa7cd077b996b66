"""swmrview.model: what the viewer knows, in plain Python (no Qt, enforced like core).

- :mod:`.options`: what to follow and how (built by the command line).
- :mod:`.status`: waiting / live / stalled / finished / timed out / error, rate, exit codes.
- :mod:`.messages`: the immutable messages a session hands out (ScanInfo, Update, ...).
- :mod:`.scan`: one opened file: follower (keys, growth, complete), pipeline, motor axes.
- :mod:`.followers`: the follower of a complete file.
- :mod:`.frames`: frames made ready to draw in the follower thread (levels, binning, kind).
- :mod:`.session`: opens, waits, follows and reads one file within a time budget.
- :mod:`.directory`: follows the newest scan of a folder, switching when a new one has points.
- :mod:`.view_state`: the one owner of the map, acquired points, pinned point and ROI.
- :mod:`.export`: live NeXus export of the map channels, TIFF/CSV writers.
"""
