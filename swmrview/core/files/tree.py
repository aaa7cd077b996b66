"""A plain nested description of an HDF5 file's tree, for the dataset chooser."""

from __future__ import annotations

from typing import Any

import h5py

from swmrview.core.files.fields import field_path, numeric_fields

MAX_TREE_NODES = 3000


def hdf5_tree(group: Any, usable: set[str], budget: list[int] | None = None,
              depth: int = 0) -> dict:
    """Walk an h5py group into plain nested dicts (name, path, kind, shape, dtype, children).

    A compound dataset's numeric fields are its children, datasets named ``PATH:FIELD``."""
    budget = [MAX_TREE_NODES] if budget is None else budget
    node = {"name": group.name.rsplit("/", 1)[-1] or "/", "path": group.name, "kind": "group",
            "children": []}
    if depth > 8:
        return node
    base = "" if group.name == "/" else group.name
    for name in group:
        if budget[0] <= 0:
            node["children"].append({"name": "...", "path": "", "kind": "truncated"})
            break
        budget[0] -= 1
        path = f"{base}/{name}"
        link = group.get(name, getlink=True)
        try:
            obj = group.get(name)
        except (KeyError, OSError, ValueError):
            obj = None
        if obj is None:
            target = f"{link.filename}:{link.path}" if isinstance(link, h5py.ExternalLink) else ""
            node["children"].append({"name": name, "path": path, "kind": "missing",
                                     "target": target})
        elif isinstance(obj, h5py.Dataset):
            entry = {"name": name, "path": path, "kind": "dataset",
                     "shape": tuple(obj.shape), "dtype": str(obj.dtype),
                     "maxshape": tuple(obj.maxshape or obj.shape), "usable": path in usable}
            fields = numeric_fields(obj.dtype) if obj.dtype.names else []
            if fields:
                entry["children"] = [
                    dict(entry, name=f, path=field_path(path, f), usable=field_path(path, f)
                         in usable, dtype=str(obj.dtype.fields[f][0])) for f in fields]
            node["children"].append(entry)
        elif isinstance(obj, h5py.Group) and not isinstance(link, h5py.SoftLink):
            child = hdf5_tree(obj, usable, budget, depth + 1)
            child["name"], child["path"] = name, path
            node["children"].append(child)
    return node
