"""swmrview.model: the GUI-side state and the messages between the threads, plain Python.

The contract between the worker (:mod:`swmrview.session`) and the window:

- :mod:`.options`: what to follow and how (built by the command line).
- :mod:`.status`: waiting / live / stalled / finished / timed out / error, rate, exit codes.
- :mod:`.messages`: the immutable messages a session hands out (ScanInfo, Update, ...).
- :mod:`.frames`: frame kinds, and frames made ready to draw (levels, binning).

The GUI-side state, owned by the window's thread:

- :mod:`.view_state`: the one owner of the map, acquired points, pinned point and ROI.
- :mod:`.compare`: the points held for comparison; :mod:`.region_points`: points in a region.
- :mod:`.scatter`: the geometry of non-grid scans (positions, interpolation, picking).
- :mod:`.view_settings`: channels, colormap, scale and shown map, saved and loaded.
- :mod:`.channel_fits`: whether a channel can be computed for a scan.
- :mod:`.stats`: what ``--stats`` records of a run (event-loop lateness, frames, reads, key to
  screen).
"""
