"""The command line of batch maps, ``swmrview map FILES...|DIR --out maps.nxs``: find and plan
the files, compute their maps, write them; skipped files are named on stderr."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Sequence

from swmrview.tools.batch.cluster import compute_maps
from swmrview.tools.batch.output import write_nexus
from swmrview.tools.batch.plan import FilePlan, find_files, plan_file

logger = logging.getLogger(__name__)

__all__ = ["build_parser", "main"]


def _roi(text: str) -> tuple[int, ...]:
    parts = [int(v) for v in text.replace(":", ",").split(",") if v.strip()]
    if len(parts) not in (2, 4):
        raise argparse.ArgumentTypeError("ROI is y0,y1,x0,x1 (images) or x0,x1 (spectra)")
    return tuple(parts)


def _channels(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in ("sum", "mean", "max")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"reductions are sum, mean, max; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swmrview map",
        description="Maps of finished scans on a Dask cluster, written as NeXus.",
        epilog="examples:\n"
               "  swmrview map /dls/i22/data/2026/cm12345-1/ --out maps.nxs\n"
               "  swmrview map scan1.nxs scan2.nxs --reduce sum,max --roi 100,200,300,400 "
               "--out maps.nxs\n"
               "  swmrview map DIR --scheduler tcp://head:8786 --out maps.nxs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                   help="scan files, or directories whose HDF5/NeXus files are all mapped")
    p.add_argument("--out", required=True, metavar="OUT.nxs", help="NeXus file to write")
    p.add_argument("--reduce", type=_channels, default=["sum"], metavar="sum|mean|max",
                   help="reduction(s), comma separated; the first is the NXdata signal "
                        "(default sum)")
    p.add_argument("--roi", type=_roi, metavar="Y0,Y1,X0,X1",
                   help="also write the sum inside this region (x0,x1 for spectra)")
    p.add_argument("--data", metavar="P", help="data dataset path (default: as the viewer finds)")
    p.add_argument("--no-mask", action="store_true",
                   help="keep pixels the detector's pixel mask or overflow value exclude")
    p.add_argument("--settings", metavar="VIEW.json",
                   help="view settings: their channels of the detector (windows, q-windows "
                        "with background and sectors) are mapped too, with the settings' "
                        "\"integration\"; each file's patterns are written beside its maps")
    p.add_argument("--poni", metavar="FILE.poni",
                   help="diffraction geometry (wins over the settings and the file's own)")
    p.add_argument("--xrf-config", metavar="FILE.cfg",
                   help="fit the XRF spectra with this PyMca configuration (wins over the "
                        "settings' xrf_config): the settings' fitted channels are mapped "
                        "after PyMca's whole-stack refit, and each file's fit is written "
                        "beside its maps")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="processes of the local cluster (0: run here without Dask)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="decompress/reduce threads inside each task (default 1)")
    p.add_argument("--frames-per-task", type=int, metavar="N",
                   help="split files into tasks of N frames (default: about 1 GB of frames)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``swmrview map``; returns the exit code (0 ok, 1 error, 2 bad input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.debug:
        for noisy in ("distributed", "tornado", "bokeh", "h5py"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    processing = None
    if args.settings or args.poni or args.xrf_config:
        from swmrview.core.compute.integrate import poni_problem
        from swmrview.model.view_settings import SettingsFileError, ViewSettings
        from swmrview.tools.batch.steps import Processing

        try:
            view = ViewSettings.load(args.settings) if args.settings else None
        except SettingsFileError as exc:
            print(f"swmrview map: {exc}", file=sys.stderr)
            return 2
        problem = poni_problem(args.poni, view.integration if view else None)
        if problem:
            print(f"swmrview map: {problem}", file=sys.stderr)
            return 2
        channels = tuple(c for c in (view.channels if view else ())
                         if c.frames and not c.monitor)
        xrf = None
        cfg_path = args.xrf_config or (view.xrf_config if view else None)
        if cfg_path:
            from swmrview.core.compute.xrf_config import XrfConfigError, load_config

            try:
                xrf = load_config(cfg_path)
            except XrfConfigError as exc:
                print(f"swmrview map: {exc}", file=sys.stderr)
                return 2
            if xrf.warning:
                print(f"swmrview map: warning: {xrf.warning}", file=sys.stderr)
        processing = Processing(channels, view.integration if view else None,
                                os.path.abspath(args.poni) if args.poni else None,
                                xrf.text if xrf else None, xrf.source if xrf else "")
    files = find_files(args.inputs, exclude=[args.out])
    if not files:
        print("swmrview map: no HDF5 files found in " + " ".join(args.inputs), file=sys.stderr)
        return 2
    plans: list[FilePlan] = []
    for path in files:
        try:
            plans.append(plan_file(path, args.data))
        except Exception as error:  # noqa: BLE001 - skip the file, say why, map the others
            print(f"swmrview map: skipping {path}: {error}", file=sys.stderr)
    if not plans:
        return 2
    channels = list(args.reduce) + (["roi"] if args.roi else []) \
        + ([c.name for c in processing.channels] if processing else [])
    t0 = time.monotonic()
    maps = compute_maps(plans, roi=args.roi, use_mask=not args.no_mask,
                        scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                        frames_per_task=args.frames_per_task,
                        progress=False if args.quiet else None, on_error="skip",
                        processing=processing)
    if processing is not None and processing.xrf:
        from swmrview.tools.batch.xrf import finish_maps

        finish_maps(plans, maps, processing)    # PyMca's whole-stack refit, per file
    done = [(p, m) for p, m in zip(plans, maps) if m is not None]
    names = write_nexus(args.out, [p for p, _ in done], [m for _, m in done], channels,
                        roi=args.roi)
    frames = sum(p.n_points for p, _ in done)
    logger.info("wrote %d maps (%d points) to %s in %.1f s", len(names), frames, args.out,
                time.monotonic() - t0)
    return 0 if len(done) == len(files) else 1
