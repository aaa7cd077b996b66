"""``python -m swmrview.tools.simulate OUT.h5 --shape 20x30 --frame 256x256 --rate 50``."""

if __name__ == "__main__":
    from swmrview.tools.simulate.cli import main

    raise SystemExit(main())
