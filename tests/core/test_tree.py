"""The dataset chooser's tree: plain dicts, broken external links shown as missing, bounded size."""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.core.files import tree


def _find(node, path):
    if node.get("path") == path:
        return node
    for child in node.get("children", []):
        found = _find(child, path)
        if found:
            return found
    return None


def test_tree_lists_datasets_marks_usable_ones_and_missing_external_files(tmp_path):
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/data", data=np.zeros((3, 4, 5), np.uint16))
        f["entry/keys/det"] = h5py.ExternalLink("gone.h5", "/entry/key")
        f["entry/data/again"] = h5py.SoftLink("/entry/data/data")
    with h5py.File(path, "r") as f:
        root = tree.hdf5_tree(f["/"], {"/entry/data/data"})
    data = _find(root, "/entry/data/data")
    assert data["shape"] == (3, 4, 5) and data["dtype"] == "uint16" and data["usable"] is True
    missing = _find(root, "/entry/keys/det")
    assert missing["kind"] == "missing" and missing["target"] == "gone.h5:/entry/key"


def test_tree_stops_after_its_node_budget(tmp_path):
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        for i in range(50):
            f.create_dataset(f"g/d{i}", data=[i])
    with h5py.File(path, "r") as f:
        root = tree.hdf5_tree(f["/"], set(), budget=[10])
    children = root["children"][0]["children"]
    assert len(children) == 10 and children[-1]["kind"] == "truncated"
