"""Where a dataset's bytes live and whether they are there: external links and virtual datasets.

A link into a detector file that is not (yet) written, or a virtual dataset whose source files
are missing, must be *named* rather than read: h5py returns the fill value for every missing
VDS source, slowly (0.1-0.3 s a frame), so reading one would show minutes of zeros. Nothing
here reads data; only link, layout and file-system metadata are looked at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import hdf5plugin  # noqa: F401  (registers bitshuffle/LZ4/Blosc so compressed data opens)

__all__ = ["Notes", "Problem", "resolve", "vds_missing_files", "external_path"]

_MAX_VDS_SOURCES = 64   # a VDS over more files than this is checked on its first ones only


@dataclass(frozen=True)
class Problem:
    """Why an object cannot be used: a sentence, and the missing file (if that is the cause)."""

    message: str
    missing_file: str | None = None


def _abs(path: str) -> str:
    return "/" + path.strip("/")


def external_path(holder: str, filename: str) -> str:
    """Absolute path of an external-link or VDS file name, relative to the file holding it."""
    if os.path.isabs(filename):
        return filename
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(holder)), filename))


def _file_exists(holder: str, filename: str) -> bool:
    """Whether HDF5 can find ``filename`` named in ``holder``: as given, beside it, or in cwd."""
    if filename == ".":
        return True
    candidates = [external_path(holder, filename),
                  os.path.join(os.path.dirname(os.path.abspath(holder)), os.path.basename(filename)),
                  os.path.abspath(filename)]
    return any(os.path.exists(c) for c in candidates)


def _open(group: h5py.Group, name: str):
    try:
        return group[name]
    except (KeyError, OSError, RuntimeError, ValueError):
        return None


def resolve(h5file: h5py.File, path: str) -> tuple[object | None, Problem | None]:
    """The object at ``path``, or None and a :class:`Problem` naming the broken link.

    A link into a missing file gives the file's path as ``missing_file``; a link into a file
    that exists but lacks the object (a trimmed or not yet written detector file) names both.
    """
    path = _abs(path)
    obj = _open(h5file, path)
    if obj is not None:
        return obj, None
    group: h5py.Group = h5file
    parts = path.strip("/").split("/")
    for i, name in enumerate(parts):
        prefix = "/" + "/".join(parts[: i + 1])
        try:
            link = group.get(name, getlink=True) if isinstance(group, h5py.Group) else None
        except (KeyError, OSError, RuntimeError, ValueError):
            link = None
        if link is None:
            return None, Problem(f"no object at {path} in {h5file.filename}")
        child = _open(group, name)
        if child is None:
            if isinstance(link, h5py.ExternalLink):
                target = external_path(group.file.filename, link.filename)
                if not _file_exists(group.file.filename, link.filename):
                    return None, Problem(f"{prefix} links to {link.path} in {target}, which is "
                                         f"missing", missing_file=target)
                return None, Problem(f"{prefix} links to {link.path} in {target}, which has no "
                                     f"such object (yet)")
            if isinstance(link, h5py.SoftLink):
                return None, Problem(f"{prefix} is a broken soft link to {link.path}")
            return None, Problem(f"{prefix} in {h5file.filename} cannot be opened")
        group = child
    return group, None


def vds_missing_files(ds: h5py.Dataset) -> list[str]:
    """Source files of a virtual dataset that do not exist (empty for ordinary datasets)."""
    try:
        if not ds.is_virtual:
            return []
        sources = ds.virtual_sources()
    except (OSError, RuntimeError, ValueError):
        return []
    holder = ds.file.filename
    missing: list[str] = []
    for source in sources[:_MAX_VDS_SOURCES]:
        if source.file_name == ".":             # in this file, often through an external link
            _, problem = resolve(ds.file, source.dset_name)
            if problem is not None:
                name = problem.missing_file or f"{source.dset_name} in {holder}"
                if name not in missing:
                    missing.append(name)
        elif not _file_exists(holder, source.file_name):
            name = external_path(holder, source.file_name)
            if name not in missing:
                missing.append(name)
    return missing


class Notes:
    """Human-readable notes and missing file names gathered while a layout is found."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.missing_files: list[str] = []

    def add(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def problem(self, problem: Problem, prefix: str = "") -> None:
        self.add(prefix + problem.message)
        if problem.missing_file and problem.missing_file not in self.missing_files:
            self.missing_files.append(problem.missing_file)

    def missing(self, path: str) -> None:
        if path not in self.missing_files:
            self.missing_files.append(path)
