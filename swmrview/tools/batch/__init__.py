"""Batch maps of finished scans on Dask: ``swmrview map FILES...|DIR --out maps.nxs``.

Each file's data is found as the viewer finds it (`swmrview.core.files.layout.find_layout`: the
signal, its scan shape, axes, pixel mask and overflow value), the scan's points are split into
tasks (one per file, or one per range of frames for a big file) and each task reduces its frames
with `swmrview.core.compute.pipeline.ReducePipeline`, so the values are those the viewer shows.
Results are written as NeXus: one NXentry per file holding an NXdata with one dataset per channel
(``sum``, ``mean``, ``max``, ``roi``), the first being the signal, and the scan axes.

Tasks run on a Dask cluster: by default a local cluster of worker processes, or an existing
one given by ``--scheduler ADDRESS`` (e.g. started with dask-jobqueue on the facility's
cluster). ``--workers 0`` runs the tasks in this process without Dask. Dask is an optional
dependency (``pip install "swmrview[cluster]"``); the viewer never imports this package.

The package by job: `plan` (the files, what to reduce in each, the tasks), `task` (one task,
on a worker), `cluster` (the tasks on Dask or here, the maps they fill), `output` (the NeXus
file), `cli` (``swmrview map``).
"""

from __future__ import annotations

from swmrview.tools.batch.cluster import compute_maps
from swmrview.tools.batch.cli import build_parser, main
from swmrview.tools.batch.output import write_nexus
from swmrview.tools.batch.plan import FilePlan, Task, find_files, plan_file, plan_tasks
from swmrview.tools.batch.task import CHANNELS, run_task

__all__ = ["FilePlan", "Task", "plan_file", "plan_tasks", "run_task", "compute_maps",
           "write_nexus", "find_files", "build_parser", "main", "CHANNELS"]
