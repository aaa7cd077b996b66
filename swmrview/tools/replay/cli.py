"""``swmrview --replay FINISHED OUT`` (or ``python -m swmrview.tools.replay``): the command line."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Sequence

from swmrview.tools.replay.analyse import ReplayError
from swmrview.tools.replay.write import replay_scan

logger = logging.getLogger(__name__)

__all__ = ["main"]


def _dims(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dims like 20x30, got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected positive dims, got {text!r}")
    return dims


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swmrview --replay",
        description="Rewrite a finished scan file as a live SWMR scan, as its writer did "
                    "(per-point datasets growing from (1, ..., 1), keys after data, finished "
                    "flag last; detector files live too, missing ones synthesised).")
    p.add_argument("finished", help="the finished scan file to replay")
    p.add_argument("output", help="the live file to write (detector files go beside it)")
    p.add_argument("--rate", type=float, default=20.0, help="points per second (default 20)")
    p.add_argument("--scan-shape", type=_dims, default=None,
                   help="scan shape, e.g. 20x30, instead of the one the viewer finds "
                        "(needed when it finds none)")
    p.add_argument("--batch", type=int, default=1,
                   help="points written and flushed together (default 1: point by point)")
    p.add_argument("--swmr-delay", type=float, default=0.0,
                   help="seconds to hold the scan file open before enabling SWMR")
    p.add_argument("--detector-delay", type=float, default=0.0,
                   help="seconds after the scan file before the detector files appear")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code (2: the file cannot be replayed)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    start = time.monotonic()
    try:
        info = replay_scan(args.finished, args.output, args.rate, scan_shape=args.scan_shape,
                           batch=args.batch, swmr_delay=args.swmr_delay,
                           detector_delay=args.detector_delay)
    except ReplayError as exc:
        logger.error("%s", exc)
        return 2
    except OSError as exc:
        logger.error("cannot replay %s: %s", args.finished, exc)
        return 2
    print(f"replayed {args.finished} ({info.scan_shape}, {info.source}) to {args.output} "
          f"in {time.monotonic() - start:.1f} s")
    return 0

