"""Largest difference of swmrview's q-window maps (a Session, as the viewer runs it) against
pyFAI's own integrate1d (mask = the file's pixel mask | each frame's saturated pixels).

Run: ``swmrview --simulate /tmp/s.h5 --xrd --shape 6x8 --rate 1000`` then
``PYTHONPATH=. .venv/bin/python scripts/xrd_maxdiff.py /tmp/s.h5 /tmp/s.poni``
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import Follow
from tests import xrd_reference as ref
from swmrview.core.compute.channels import Channel
scan, poni = sys.argv[1], sys.argv[2]
chans = (Channel("CeO2", "q-window", bounds=(19.6, 20.6)),
         Channel("LaB6", "q-window", bounds=(14.6, 15.6)),
         Channel("sector", "q-window", bounds=(19.6, 20.6), azimuth=(0, 90)))
f = Follow(scan, poni=poni)  # noqa: E305
f.until(lambda f: f.state is not None)
f.state.set_channels(chans); f.session.set_channels(chans)
f.until_ended()
radial, full = ref.patterns(scan, poni)
_, sector = ref.patterns(scan, poni, azimuth=(0, 90))
for c, pat in zip(chans, (full, full, sector)):
    want = ref.window(radial, pat, *c.bounds)
    got = f.state.values(c.name)
    print(f"{c.name:7s} max |diff| {np.abs(got - want).max():.3g}  max rel {np.abs(got / want - 1).max():.3g}  (values {want.min():.4g}..{want.max():.4g})")
rows = f.session.results.get("integrate", f.session.acquired.positions())
want = full[tuple(f.session.acquired.positions().T)]
print(f"patterns max |diff| {np.abs(rows - want).max():.3g} (max intensity {want.max():.4g})")
f.close()
