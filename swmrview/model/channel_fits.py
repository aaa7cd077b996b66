"""Whether a map channel can be computed for a scan, said before it is asked for.

The window greys channels kept from another scan (a beamline's settings file, last session's
channels) with the reason, and headless runs refuse a shown channel the file lacks; both ask
:func:`channel_fits` of the scan's :class:`~swmrview.model.messages.ScanInfo`. No Qt.
"""

from __future__ import annotations

from typing import Any

from swmrview.core.compute.channels import Channel, format_elements
from swmrview.model.frames import frame_kind

__all__ = ["channel_fits"]


def channel_fits(channel: Channel, info: Any) -> str | None:
    """Why ``channel`` cannot be computed for the scan ``info`` (a ScanInfo), or None if it can.

    Checked before a channel is sent to the follower, so channels kept from another scan (a
    beamline's settings file, last session's channels) that do not fit are left aside, not
    shown as empty maps.
    """
    fields = dict(info.fields)
    if channel.monitor and fields.get(channel.monitor, None) != ():
        return f"no per-point monitor {channel.monitor}"
    if channel.dataset is not None:
        if channel.dataset not in fields:
            return f"no per-point dataset {channel.dataset}"
        frame = fields[channel.dataset]
    else:
        frame = tuple(info.frame_shape)
    if channel.kind == "q-window" and frame_kind(frame) != "image":
        return f"a q-window integrates diffraction images, not frames of shape {frame}"
    if channel.kind == "fitted" and len(frame) not in (1, 2):
        return f"a fitted channel needs spectra or MCA frames, not frames of shape {frame}"
    if channel.kind in ("rect", "polygon", "window") and not frame:
        return f"a {channel.kind} needs frames, {channel.dataset or 'the detector'} holds " \
               "one value per point"
    if channel.kind == "polygon" or (channel.kind == "rect" and len(channel.bounds) == 4):
        if frame_kind(frame) != "image":
            return f"a {channel.kind} needs images, not frames of shape {frame}"
    if channel.elements is not None and (len(frame) < 2
                                         or max(channel.elements) >= frame[0]):
        return f"elements {format_elements(channel.elements)} not in frames of shape {frame}"
    return None
