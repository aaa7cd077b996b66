"""External detector files of a replay: replayed live beside OUT, synthesised where missing.

A link whose file is present is replayed from it (its per-point datasets grow live); a target
whose file or dataset is missing is synthesised when it is scan data (small frames, per-point
scalars in the plot, or keys counting points in acquisition order), each one said on the log;
the files virtual datasets read stay missing, as in the original.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import h5py
import numpy as np

from swmrview.core.files.nexus import nx_class

from swmrview.tools.replay.analyse import ReplayError
from swmrview.tools.replay.output import SCALAR_CHUNK, Output, PerPoint, abs_path
from swmrview.tools.replay.points import Run

logger = logging.getLogger(__name__)

__all__ = ["SYNTH_FRAME", "Pending", "detector_files", "build_detectors", "synthesise"]

#: Frame shape of synthesised detector data (a missing detector file).
SYNTH_FRAME = (16, 16)

#: A link into another file: (link path in the scan file, the link, a key link?).
Link = tuple[str, h5py.ExternalLink, bool]
#: Detector files still to create: (where, its links, original or None).
Pending = list[tuple[Path, list[Link], Path | None]]


def _resolve(link_file: str, base: Path) -> Path | None:
    """Where HDF5 finds an external link's file for a parent in ``base`` (None: missing)."""
    candidates = []
    if os.path.isabs(link_file):
        candidates.append(Path(link_file))
    else:
        candidates.append(base / link_file)
    candidates.append(base / os.path.basename(link_file))
    for c in candidates:
        if c.is_file():
            return c
    return None


def _out_location(link_file: str, out_dir: Path) -> Path | None:
    """Where the replayed external file goes: beside OUT, where HDF5 will look for it (an
    absolute path's file name in OUT's directory). None: it would land outside that directory."""
    if os.path.isabs(link_file):
        if os.path.exists(link_file):
            logger.warning("replay: the link to %s still resolves to that absolute path, not to "
                           "the replayed copy beside OUT", link_file)
        return out_dir / os.path.basename(link_file)
    where = (out_dir / link_file).resolve()
    if not where.is_relative_to(out_dir.resolve()):
        return None
    return out_dir / link_file


def _synth_kind(target: str, is_key: bool) -> str:
    """What a missing target is: a key, a detector's frames, or a per-point scalar."""
    if is_key or target.rstrip("/").endswith("NDArrayUniqueId"):
        return "key"
    parts = [p for p in target.lower().split("/") if p]
    if parts and parts[-1] in ("data", "detector") and (
            len(parts) == 1 or any("detector" in p for p in parts[:-1])):
        return "frames"
    return "scalar"


def _link_targets(targets: list[Link], master: h5py.File,
                  vds_sources: set[str]) -> dict[str, tuple[bool, bool]]:
    """Target path -> (a key link?, linked from an NXdata group?) for one external file.

    Links that virtual datasets read (NXmx ``data_000001``...) are left out: their files stay
    missing in the replay as in the original, so the virtual data still reads as missing."""
    out: dict[str, tuple[bool, bool]] = {}
    for path, link, is_key in targets:
        if path in vds_sources or os.path.basename(link.filename) in vds_sources:
            logger.warning("replay: %s -> %s:%s left missing (a virtual dataset's source)",
                           path, link.filename, link.path)
            continue
        in_plot = nx_class(master[path.rpartition("/")[0] or "/"]) == "NXdata"
        old_key, old_plot = out.get(abs_path(link.path), (False, False))
        out[abs_path(link.path)] = (old_key or is_key, old_plot or in_plot)
    return out


def _synthetic(kind: str, run: Run, n: int) -> np.ndarray:
    """Values of a synthesised dataset over ``n`` points of ``run`` (shape (n,) + frame):
    keys are the acquisition counts, frames a small pattern over the count, scalars the flat
    index."""
    counts = np.asarray(run.counts[:n], dtype=np.int64)
    if kind == "key":
        return counts.astype(np.int32).reshape(n, 1, 1)
    if kind == "frames":
        pattern = (np.arange(int(np.prod(SYNTH_FRAME))) % 16).reshape(SYNTH_FRAME)
        return (counts[:, None, None] + pattern[None]).astype(np.uint16)
    return np.asarray(run.indices[:n], dtype=np.float64)


def synthesise(out: Output, path: str, kind: str, reason: str) -> None:
    """Create a per-point dataset at ``path`` of ``out`` that the original does not hold."""
    rank = out.rank
    parent, _, name = path.rstrip("/").rpartition("/")
    group = out.file.require_group(parent or "/")
    if name in group:
        return
    if kind == "key":
        tail, dtype, chunks = (1, 1), np.int32, (1,) * (rank - 1) + (8,) + (1, 1)
    elif kind == "frames":
        tail, dtype, chunks = SYNTH_FRAME, np.uint16, (1,) * rank + SYNTH_FRAME
    else:
        tail, dtype, chunks = (), np.float64, (1,) * (rank - 1) + (SCALAR_CHUNK,)
    dst = group.create_dataset(name, shape=(1,) * rank + tail,
                               maxshape=(None,) * rank + tail, chunks=chunks, dtype=dtype,
                               fillvalue=0)
    entry = PerPoint(None, dst, kind, make=functools.partial(_synthetic, kind))
    (out.keys if kind == "key" else out.data).append(entry)
    logger.warning("replay: synthesised %s:%s as %s %s per point (%s)", out.path.name, path,
                   tail or "scalar", np.dtype(dtype).name, reason)


def detector_files(links: list[Link], finished: Path, out: Path) -> Pending:
    """The files the scan file's external links name, grouped by where they go beside OUT,
    each with its original (None: missing). ReplayError if one would overwrite its original."""
    by_file: dict[Path, list[Link]] = {}
    for path, link, is_key in links:
        where = _out_location(link.filename, out.parent)
        if where is None:
            logger.warning("replay: %s -> %s left as it is (outside OUT's directory)",
                           path, link.filename)
            continue
        by_file.setdefault(where, []).append((path, link, is_key))
    pending: Pending = []
    for out_path, targets in by_file.items():
        if out_path.resolve() == out.resolve():
            continue
        found = _resolve(targets[0][1].filename, finished.parent)
        if found is not None and found.resolve() == out_path.resolve():
            raise ReplayError(f"replaying into {out.parent} would overwrite the original's "
                              f"detector file {found}; choose another directory for OUT")
        pending.append((out_path, targets, found))
    return pending


def build_detectors(scan_shape: tuple[int, ...], master: Output, pending: Pending,
                    sources: list) -> list[Output]:
    """Create the detector files: replay the ones present, synthesise what is missing.

    A missing file is created only when something in it is synthesised (scan data or keys);
    otherwise it stays missing, as in the original."""
    created = []
    for out_path, targets, found in pending:
        what = "file missing" if found is None else "dataset missing from the file"
        ext_src = None
        if found is not None:
            ext_src = h5py.File(found, "r")
            sources.append(ext_src)
        synth = []
        for target, (is_key, in_plot) in _link_targets(targets, master.file,
                                                       master.vds_sources).items():
            if ext_src is not None and target in ext_src:
                continue
            kind = _synth_kind(target, is_key)
            if kind == "scalar" and not in_plot:
                logger.warning("replay: %s:%s left dangling (%s; not scan data)",
                               out_path.name, target, what)
                continue
            synth.append((target, kind))
        if ext_src is None and not synth:
            logger.warning("replay: %s stays missing, as in the original", targets[0][1].filename)
            continue
        ext = Output(out_path, scan_shape, out_path.name)
        master.extra_outputs.append(ext)
        created.append(ext)
        if ext_src is not None:
            ext_keys = {abs_path(t[1].path) for t in targets if t[2]}
            ext.copy_tree(ext_src, ext.file, ext_keys, None, [])
            logger.info("replay: detector file %s replayed from %s", out_path.name, found)
        else:
            logger.warning("replay: %s is missing; synthesising its linked scan data",
                           targets[0][1].filename)
        for target, kind in synth:
            synthesise(ext, target, kind, what)
        ext.order_keys()
    return created

