"""The ``swmrview`` command: parse arguments and set up logging before Qt is imported.

``swmrview --help`` and ``swmrview --simulate ...`` never import PySide6, so they start fast and
work on machines without a display.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from typing import Sequence

from swmrview import __version__
from swmrview.model.options import (
    EXIT_BAD_INPUT,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMED_OUT,
    ViewerOptions,
)

logger = logging.getLogger(__name__)

EPILOG = f"""\
exit codes (with --exit-on-finish):
  {EXIT_OK}    the scan finished (or the file was complete) and every point was read
  {EXIT_ERROR}    an unexpected error, or an output asked for that could not be written
       (message on stderr)
  {EXIT_BAD_INPUT}    bad input: not an HDF5 file (or still empty after --timeout), no key
       datasets, a named path missing, keys and data of different shapes, a
       compression filter not installed, a wrong --settings file (or a shown
       channel the file lacks), an output folder that does not exist, a PONI
       file missing, garbage or truncated
  {EXIT_TIMED_OUT}    timed out: no new point for --timeout seconds (writer crashed or stopped);
       everything read so far is still exported / grabbed
  {EXIT_INTERRUPTED}  interrupted with Ctrl-C

examples:
  swmrview --demo                      live view of the built-in simulated beamline
  swmrview scan.h5                     follow a scan (the file may not exist yet)
  swmrview DIR                         follow the newest scan in DIR, then each new one
  swmrview scan.h5 --exit-on-finish --export-map map.csv --screenshot shot.png
  swmrview scan.h5 --export-nexus maps.nxs   follow a scan and write its map channels live
  swmrview scan.h5 --stats lag.json    say why the window lags: numbers written at exit
  swmrview --simulate out.h5 --shape 20x30 --frame 64x64 --rate 50   run the simulator only
  swmrview --simulate out.h5 --xrf --positions spiral --shape 400   XRF spectra, I0 and a
                                       spiral's positions (swmrview --simulate --help)
  swmrview --replay finished.nxs live.nxs --rate 20   rewrite a finished scan as a live SWMR scan
  swmrview map DIR --reduce sum,max --out maps.nxs   maps of finished scans on Dask
                                       (swmrview map --help)
  swmrview --install-desktop           a menu entry, and "Open with swmrview" for .nxs/.h5 files
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser (kept separate so tests and docs can inspect it)."""
    p = argparse.ArgumentParser(
        prog="swmrview",
        description="Follow an HDF5 SWMR scan live: newest frame beside a live scan map.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", metavar="FILE or DIR",
                   help="HDF5 file to follow (it may not exist yet), or a data folder: follow "
                        "its newest scan file (subfolders too) and each new one as it starts")
    p.add_argument("--key", action="append", default=[], metavar="P",
                   help="key dataset path (repeatable); default: auto-detected")
    p.add_argument("--data", action="append", default=[], metavar="P",
                   help="data dataset path to show (repeatable; PATH:FIELD for a numeric "
                        "field of a compound dataset); default: NeXus signal")
    p.add_argument("--finished", metavar="P", help="scan-finished flag dataset path")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="give up after S seconds without new points (default 10)")
    p.add_argument("--reduce", choices=("sum", "mean", "max"),
                   help="per-frame value shown on the map (default: the map shown last time, "
                        "else sum)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads that read, decompress and reduce frames for the map "
                        "(default: the number of cores, at most 8)")
    p.add_argument("--settings", metavar="FILE.json",
                   help="view settings to use (map channels, colormap, shown map), as saved "
                        "with File > Save view settings")
    p.add_argument("--xrf-config", metavar="FILE.cfg",
                   help="fit the XRF spectra with this PyMca fit configuration (as saved by "
                        "PyMca's advanced fit): a map of each fitted line group ('Fe K'), its "
                        "uncertainty and chi2 (needs PyMca5: pip install \"swmrview[xrf]\"); "
                        "overrides the settings file's xrf_config")
    p.add_argument("--poni", metavar="FILE.poni",
                   help="diffraction geometry (a pyFAI PONI file) for azimuthal integration: "
                        "wins over the settings' \"integration\" and the file's NeXus "
                        "geometry; the newest point's I(q) is shown and q-window channels "
                        "can be mapped (needs pyFAI: pip install \"swmrview[diffraction]\")")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    p.add_argument("--exit-on-finish", action="store_true",
                   help="quit when the scan finishes, times out or fails (see exit codes)")
    p.add_argument("--export-map", metavar="OUT.csv",
                   help="write the map when the scan ends (or on exit): .csv values, .tif/.tiff "
                        "values (NaN where not acquired) or .png (the map as shown)")
    p.add_argument("--export-frame", metavar="OUT.png",
                   help="write the frame shown when the scan ends (or on exit): .png (as "
                        "shown), .tif/.tiff or .csv (its values)")
    p.add_argument("--export-nexus", metavar="OUT.nxs",
                   help="write the map channels (sum, mean, max) live to a NeXus file while "
                        "following, with its own keys and finished flag so it can be followed "
                        "in turn; a later scan or dataset goes to OUT-2.nxs, ...")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save a grab of the window when the scan ends, or on exit")
    p.add_argument("--stats", metavar="OUT.json",
                   help="measure why the window lags (event-loop lateness, frames drawn per "
                        "second, points and MB read per second, key-to-screen time) and write "
                        "the numbers as JSON at exit, also after a failed or timed-out scan")
    p.add_argument("--demo", action="store_true",
                   help="run the simulated beamline writer on a temporary file and view it")
    p.add_argument("--simulate", action="store_true",
                   help="run only the simulated writer; the remaining arguments go to it "
                        "(swmrview --simulate --help)")
    p.add_argument("--replay", action="store_true",
                   help="replay a finished scan file as a live SWMR scan: --replay FINISHED OUT "
                        "[--rate R] (swmrview --replay --help)")
    p.add_argument("--install-desktop", action="store_true",
                   help="install a desktop entry and icon for the current user (in "
                        "$XDG_DATA_HOME, default ~/.local/share) and offer swmrview for .nxs, "
                        ".h5, .hdf5 and .hdf files, without making it the default")
    p.add_argument("--uninstall-desktop", action="store_true",
                   help="remove what --install-desktop installed")
    p.add_argument("--version", action="version", version=f"swmrview {__version__}")
    return p


def setup_logging(debug: bool) -> None:
    """Log to stderr; ``--debug`` shows swmrview's own debug messages."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not debug:
        for noisy in ("h5py", "matplotlib", "PIL", "pyFAI", "silx", "fabio", "numexpr"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # pyFAI's import warns that pyopencl is missing: the CSR engine on the CPU is used
        logging.getLogger("silx.opencl.common").setLevel(logging.ERROR)


def _demo_writer(directory: str):
    """Start the simulated beamline writer on a file in ``directory``; return (path, process)."""
    from swmrview.tools.simulate import SimConfig, start_writer

    path = os.path.join(directory, "demo_scan.h5")
    cfg = SimConfig(shape=(40, 60), frame=(128, 128), rate=40.0)
    proc = start_writer(path, cfg)
    logger.info("demo: simulated writer (pid %s) writing %s", proc.pid, path)
    return path, proc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``swmrview`` command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["map"]:  # batch maps on Dask: no Qt, no viewer
        from swmrview.tools.batch import main as map_main

        return int(map_main(argv[1:]) or 0)
    if "--simulate" in argv:
        from swmrview.tools.simulate import main as simulate_main

        cut = argv.index("--simulate")
        setup_logging("--debug" in argv[:cut])
        return int(simulate_main(argv[cut + 1:]) or 0)
    if "--replay" in argv:
        from swmrview.tools.replay import main as replay_main

        cut = argv.index("--replay")
        setup_logging("--debug" in argv[:cut])
        return int(replay_main(argv[cut + 1:]) or 0)

    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    if args.threads is not None and args.threads < 1:
        build_parser().error("--threads must be at least 1")
    if args.demo and args.file:
        build_parser().error("--demo views its own temporary file; do not also give FILE")
    if args.install_desktop or args.uninstall_desktop:
        if args.install_desktop and args.uninstall_desktop:
            build_parser().error("--install-desktop and --uninstall-desktop: give one")
        if args.file or args.demo:
            build_parser().error("--install-desktop/--uninstall-desktop take no FILE or --demo")
        from swmrview.tools.desktop import main as desktop_main

        return desktop_main("install" if args.install_desktop else "uninstall")
    for flag, value in (("--export-map", args.export_map),
                        ("--export-frame", args.export_frame)):
        if value:
            from swmrview.session.arrays import array_format

            try:
                array_format(value)
            except ValueError as exc:
                build_parser().error(f"{flag}: {exc}")
    for flag, value in (("--export-map", args.export_map), ("--export-frame", args.export_frame),
                        ("--export-nexus", args.export_nexus),
                        ("--screenshot", args.screenshot), ("--stats", args.stats)):
        if value:   # said now, not after a long scan
            from swmrview.session.arrays import output_problem

            problem = output_problem(value)
            if problem:
                build_parser().error(f"{flag}: cannot write {value}: {problem}")

    view = None
    if args.settings:
        from swmrview.model.view_settings import SettingsFileError, ViewSettings

        try:
            view = ViewSettings.load(args.settings)
        except SettingsFileError as exc:
            print(f"swmrview: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT

    xrf = None
    cfg_path = args.xrf_config or (view.xrf_config if view is not None else None)
    if cfg_path:
        from swmrview.core.compute.xrf_config import XrfConfigError, load_config

        try:
            xrf = load_config(cfg_path)
        except XrfConfigError as exc:
            print(f"swmrview: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if xrf.warning:
            print(f"swmrview: warning: {xrf.warning}", file=sys.stderr)

    from swmrview.core.compute.integrate import poni_problem

    poni = poni_problem(args.poni, getattr(view, "integration", None))
    if poni:
        print(f"swmrview: error: {poni}", file=sys.stderr)
        return EXIT_BAD_INPUT

    demo_dir = proc = None
    path = args.file
    if args.demo:
        demo_dir = tempfile.TemporaryDirectory(prefix="swmrview-demo-")
        path, proc = _demo_writer(demo_dir.name)

    options = ViewerOptions(
        path=os.path.abspath(path) if path else None,
        keys=tuple(args.key),
        data=tuple(args.data),
        finished=args.finished,
        timeout=args.timeout,
        reduce=args.reduce,
        threads=args.threads,
        exit_on_finish=args.exit_on_finish,
        export_map=args.export_map,
        screenshot=args.screenshot,
        export_nexus=os.path.abspath(args.export_nexus) if args.export_nexus else None,
        export_frame=args.export_frame,
        stats=os.path.abspath(args.stats) if args.stats else None,
        view=view,
        xrf=xrf,
        poni=os.path.abspath(args.poni) if args.poni else None,
    )
    try:
        from swmrview.gui.app import run  # Qt is imported only from here on

        return run(options)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if proc is not None:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
        if demo_dir is not None:
            demo_dir.cleanup()


__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ERROR", "EXIT_BAD_INPUT", "EXIT_TIMED_OUT"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
