"""Processing steps in batch maps: the view settings' q-window channels (and their patterns)
computed on the workers with the viewer's steps, so batch maps equal the live ones.

A :class:`Processing` travels with each task (picklable: channels, integration settings and the
``--poni`` path); the worker builds each step once per task from the PONI file or the file's
NeXus geometry (:mod:`swmrview.session.steps`' rules) and runs it in the task's
`swmrview.core.compute.pipeline.ReducePipeline`. Channels of the detector's frames (windows,
rectangles...) come along too; channels of other datasets or monitors are not batch-mapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py

from swmrview.core.compute.channels import Channel, ChannelReducer
from swmrview.core.compute.integrate import AzimuthalStep, Integration, load_poni, nexus_geometry
from swmrview.core.compute.step_channels import StepChannelReducer

__all__ = ["Processing", "build"]


@dataclass(frozen=True)
class Processing:
    """What besides sum/mean/max a batch task computes (from ``--settings`` / ``--poni``)."""

    channels: tuple[Channel, ...] = ()
    integration: Integration | None = None
    poni: str | None = None
    xrf: str | None = None          # the PyMca fit configuration's text (--xrf-config)
    xrf_source: str = ""            # the file it came from

    @property
    def integrate(self) -> bool:
        """True when patterns are integrated (a geometry was given or a channel needs one)."""
        return bool(self.poni or (self.integration and self.integration.poni)) or any(
            c.step_key and c.kind != "fitted" for c in self.channels)

    def settings(self) -> Integration:
        base = self.integration or Integration()
        poni = self.poni or base.poni
        return Integration(poni, base.unit, base.npt, base.method)


def build(processing: Processing, f: h5py.File, data: Any, mask, overflow,
          scan_rank: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(steps by key, channel reducers by name)`` for one task's file ``f`` and ``data``
    (``scan_rank``: the scan's dims, the rest is the frame the XRF fit takes)."""
    from swmrview.tools.batch.xrf import xrf_steps

    steps: dict[str, Any] = {}
    reducers: dict[str, Any] = {}
    if not processing.integrate:
        pass
    else:
        from swmrview.session.steps import _detector_group

        settings = processing.settings()
        geometry = load_poni(settings.poni) if settings.poni else \
            nexus_geometry(_detector_group(data))
        if geometry is None:
            raise ValueError(f"no geometry for azimuthal integration of {data.name}: give "
                             "--poni FILE")
        frame = tuple(data.shape[-2:])
        keys = {"integrate"} | {c.step_key for c in processing.channels
                                if c.step_key and c.kind != "fitted"}
        for key in sorted(keys):
            azimuth = None if key == "integrate" else \
                tuple(float(v) for v in key[len("integrate["):-1].split(","))
            steps[key] = AzimuthalStep(geometry, frame, settings, mask, overflow, azimuth, key)
    frame_shape = tuple(data.shape[len(data.shape) - 2:])
    if scan_rank is not None:
        steps.update(xrf_steps(processing, tuple(data.shape[scan_rank:])))
    for channel in processing.channels:
        if channel.step_key:
            reducers[channel.name] = StepChannelReducer(channel, steps[channel.step_key].labels)
        elif channel.frames and not channel.monitor:
            reducers[channel.name] = ChannelReducer(channel, frame_shape, mask, overflow)
    return steps, reducers
