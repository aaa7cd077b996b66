"""``swmrview --simulate OUT.h5 ...`` (or ``python -m swmrview.tools.simulate OUT.h5 ...``):
write one simulated scan, e.g. ``--shape 20x30 --frame 256x256 --rate 50``."""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Sequence

from swmrview.tools.simulate import positions as sim_positions
from swmrview.tools.simulate import xrf as sim_xrf
from swmrview.tools.simulate.config import I0_PATH, SimConfig
from swmrview.tools.simulate.writer import write_scan


def _dims(text: str) -> tuple[int, ...]:
    text = text.strip().lower()
    if text in ("", "scalar", "0", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dims like 20x30, got {text!r}") from None


def _indices(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected indices like 5,7, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="swmrview --simulate",
                                description="Write a simulated beamline scan as a SWMR file.")
    p.add_argument("output", help="master file to write (OUT.h5)")
    p.add_argument("--shape", type=_dims, default=(20, 30),
                   help="scan shape, e.g. 20x30 (a spiral: N points, e.g. 400)")
    p.add_argument("--frame", type=_dims, default=None,
                   help="frame: HxW image, N spectrum, or 'scalar' (default 64x64; 256x256 "
                        "with --xrd)")
    p.add_argument("--rate", type=float, default=50.0, help="points per second")
    p.add_argument("--snake", action="store_true", help="reverse the fast axis on odd rows")
    p.add_argument("--compression", choices=("none", "bitshuffle", "blosc"), default="none")
    p.add_argument("--external", action="store_true",
                   help="detector writes its own file, linked from the master")
    p.add_argument("--drop", type=_indices, default=(), help="flat indices to drop, e.g. 5,7")
    p.add_argument("--crash-at", type=int, default=None, help="die abruptly at this index")
    p.add_argument("--swmr-delay", type=float, default=0.0,
                   help="seconds to hold the file open before enabling SWMR")
    p.add_argument("--start-delay", type=float, default=0.0,
                   help="seconds to wait before creating the file")
    p.add_argument("--seed", type=int, default=0, help="picture seed")
    p.add_argument("--fixed-maxshape", action="store_true",
                   help="maxshape = final scan shape, only the slowest dim grows (default: like "
                        "GDA, unlimited maxshape in every scan dim, growing from (1, ..., 1))")
    xrf = p.add_argument_group("XRF detector")
    xrf.add_argument("--xrf", action="store_true",
                     help="X-ray fluorescence spectra (Xspress3-like MCA frames of --elements x "
                          "--channels uint32 counts; Ca, Fe, Cu, Zn lines with different maps, "
                          "scatter, background, Poisson noise) with an energy axis (keV) and a "
                          f"per-point I0 counter ({I0_PATH}); replaces --frame")
    xrf.add_argument("--overlap", action="store_true",
                     help="add Mn, As and Pb with maps of their own, whose lines overlap (Mn "
                          "Kb under Fe Ka, As Ka on Pb La), and a 15 keV beam: windows mix "
                          "them, a fit (--xrf-config) separates them")
    xrf.add_argument("--elements", type=int, default=4, help="XRF detector elements (default 4)")
    xrf.add_argument("--channels", type=int, default=4096,
                     help=f"XRF channels per element, spanning 0-{sim_xrf.ENERGY_MAX:g} keV "
                          "(default 4096)")
    xrd = p.add_argument_group("diffraction detector")
    xrd.add_argument("--xrd", action="store_true",
                     help="diffraction images (uint32, --frame HxW, default 256x256) of two "
                          "phases from pyFAI's calibrants, CeO2 rising left to right and LaB6 "
                          "in blobs, with a masked gap and hot pixels; the geometry is in the "
                          "file (NeXus) and in OUT.poni beside it (needs pyFAI)")
    p.add_argument("--positions", choices=sim_positions.POSITION_MODES, default="grid",
                   help="grid: demand positions only (default); spiral: a 1-D Fermat spiral "
                        "over stage_x/stage_y (--shape N); fly: a 2-D grid whose recorded x/y "
                        "lag, drift and jitter. Spiral and fly write actual positions per point "
                        "to /entry/instrument/<motor>/value and the whole plan to value_set")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def poni_path(output: str) -> str:
    """The PONI file written beside a simulated XRD scan: OUT.poni."""
    return os.path.splitext(output)[0] + ".poni"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: write one simulated scan; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        frame = args.frame if args.frame is not None else (256, 256) if args.xrd else (64, 64)
        if args.xrd and args.xrf:
            raise ValueError("--xrd and --xrf are two detectors: choose one")
        cfg = SimConfig(shape=args.shape, frame=frame, rate=args.rate, snake=args.snake,
                        compression=None if args.compression == "none" else args.compression,
                        external=args.external, drop=args.drop, crash_at=args.crash_at,
                        swmr_delay=args.swmr_delay, start_delay=args.start_delay,
                        seed=args.seed, fixed_maxshape=args.fixed_maxshape,
                        detector="xrf" if args.xrf else "xrd" if args.xrd else "frame",
                        elements=args.elements, channels=args.channels,
                        positions=args.positions, overlap=args.overlap)
    except ValueError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return 2
    start = time.monotonic()
    if cfg.xrd:
        from swmrview.tools.simulate.xrd import write_poni

        try:
            write_poni(poni_path(args.output), cfg.frame)
        except ImportError:
            logging.getLogger(__name__).error('--xrd needs pyFAI: pip install '
                                              '"swmrview[diffraction]"')
            return 2
        print(f"geometry in {poni_path(args.output)}")
    write_scan(args.output, cfg)
    kind = f"{cfg.frame} XRF" if cfg.xrf else (cfg.frame or "scalar")
    print(f"wrote {cfg.n_points} points of {kind} frames to {args.output} "
          f"in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
