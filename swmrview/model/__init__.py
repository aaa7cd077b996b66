"""swmrview.model: what the viewer knows, in plain Python (no Qt, enforced like core).

- :mod:`.options`: what to follow and how (built by the command line).
- :mod:`.status`: waiting / live / stalled / finished / timed out / error, rate, exit codes.
- :mod:`.messages`: the immutable updates a session hands out.
- :mod:`.session`: opens, waits, follows and reads one file within a time budget.
- :mod:`.view_state`: the one owner of the map, acquired points, pinned point and ROI.
"""
