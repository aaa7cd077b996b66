"""Processing steps: a transform of each frame into a 1-D result, run before the channels.

A step sits on the read path between the frame and the map channels. The pipeline's worker
threads read and decode frames, hand them to each step in blocks, and the channels that name a
step reduce the step's result instead of the raw frame. Two steps use this:

- azimuthal integration with pyFAI: a 2-D diffraction image becomes a pattern I(q) or I(2θ);
  ``labels`` are the bin centres and ``unit`` the integration unit;
- fitting an XRF spectrum with PyMca's linear basis: a spectrum becomes the fitted areas of
  each line group, their uncertainties and χ²; ``labels`` are the column names
  (``"Fe K"``, ``"Fe K sigma"``, ..., ``"chisq"``).

A step is built once per geometry or configuration (the expensive part: pyFAI's CSR engine,
PyMca's linear basis) and then only applied. It must be safe to call from several threads at
once, and it must not hold the GIL while it does the heavy arithmetic if it can help it
(numpy's matrix products and pyFAI's Cython engines release it).

The result of each point is kept by the session (``points x len(labels)``), so the live NeXus
export can write it, the frame view can show it for any point, and a channel added mid-scan is
filled from the results already computed without reading the frames again.

How a step is plugged in (the plumbing is generic; nothing in it knows pyFAI):

- :meth:`swmrview.core.compute.pipeline.ReducePipeline.read_process` takes ``steps`` (key ->
  step), calls each once per frame block in its worker threads, and returns their results per
  point; a map channel whose reducer has a ``step`` attribute (a
  :class:`~swmrview.core.compute.step_channels.StepChannelReducer`) reduces those rows.
- A channel names its step by :attr:`~swmrview.core.compute.channels.Channel.step_key`
  (``Channel(..., step="xrf-fit")``; ``q-window`` channels name ``"integrate"`` or a sector
  ``"integrate[chi_lo,chi_hi]"``).
- The session builds steps by key with the factories of :mod:`swmrview.session.steps`:
  ``register("xrf-fit", Factory(build, auto))`` where ``build(scan, options, key)`` returns the
  step (ValueError: why not, said to the user as the channel's refusal) and ``auto(scan,
  options)`` says whether it runs on every point with no channel (its results then go to the
  export and the frame view).

Optional members (looked up with ``getattr``; absent is fine):

- ``config() -> dict``: JSON-able configuration written beside the results in the live export
  (the integration writes pyFAI's geometry).
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["FrameStep"]


@runtime_checkable
class FrameStep(Protocol):
    """What the pipeline needs of a processing step (see the module docstring)."""

    #: short unique name, used as the key of the step's results ("integrate", "xrf-fit")
    name: str
    #: one label per result column: bin centres (numbers) or column names (strings)
    labels: np.ndarray | Sequence[str]
    #: the unit of numeric labels ("q_nm^-1", "2th_deg"), or "" for named columns
    unit: str

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Results of a block of frames: ``frames`` is ``(k, *frame_shape)`` and the result is
        ``(k, len(labels))`` float. Thread-safe; ``frames`` may be a reused buffer, so keep
        no reference to it."""
        ...

    def describe(self) -> str:
        """One line for the status bar and the export: what ran, with which engine."""
        ...
