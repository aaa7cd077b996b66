"""Make the screenshots of the README and the docs from the real viewer following real writers.

Run: ``QT_QPA_PLATFORM=offscreen python scripts/make_screenshots.py [OUTDIR [SHOT ...]]``
(default ``screenshots/``, every shot). Each shot starts a writer process (the simulated
beamline, or a live replay of a real beamline file from ``tests/data``), opens the real
:class:`~swmrview.gui.main_window.MainWindow` on its file and grabs the window at a chosen moment.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from swmrview.gui.app import app_icon  # noqa: E402
from swmrview.gui.main_window import MainWindow  # noqa: E402
from swmrview.model.options import ViewerOptions  # noqa: E402
from swmrview.tools.simulate import SimConfig, start_writer  # noqa: E402

logger = logging.getLogger("make_screenshots")
SIZE = (1400, 800)


def wait(app: QApplication, condition, timeout: float = 60.0) -> None:
    """Run the event loop until ``condition()`` holds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("screenshot condition not reached")
        app.processEvents()
        time.sleep(0.005)
    for _ in range(20):  # let the ~30 Hz redraw catch up
        app.processEvents()
        time.sleep(0.01)


def cli_env(workdir: Path) -> dict[str, str]:
    """Environment of a swmrview process a shot runs: offscreen, its settings in ``workdir``
    (never the user's)."""
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(workdir / "config"))


def open_window(path: Path, **options) -> MainWindow:
    window = MainWindow(ViewerOptions(path=str(path), timeout=10.0, **options))
    window.resize(*SIZE)
    window.show()
    return window


def live_shot(app: QApplication, workdir: Path, out: Path, name: str, cfg: SimConfig,
              fraction: float, setup=None, **options) -> None:
    """Grab ``name``.png once ``fraction`` of a live scan is in; ``setup(window)`` first;
    ``options`` for the viewer (e.g. ``view=`` settings)."""
    writer = start_writer(workdir / f"{name}.h5", cfg)
    window = open_window(workdir / f"{name}.h5", **options)
    try:
        if setup is not None:
            wait(app, lambda: window.info is not None)
            setup(window)
        wait(app, lambda: window.state is not None
             and window.state.n_acquired >= cfg.n_points * fraction)
        window.headless.screenshot(str(out / f"{name}.png"))
    finally:
        window.close()
        writer.terminate()
        writer.join(5)


def image_scan_live(app: QApplication, workdir: Path, out: Path) -> None:
    """An image scan half-way: the map filling in beside the newest frame."""
    cfg = SimConfig(shape=(30, 40), frame=(128, 128), rate=150.0)
    live_shot(app, workdir, out, "image_scan_live", cfg, 0.55)


def spectrum_scan_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A spectrum (XRF-like) scan: latest trace with running mean, and its map."""
    cfg = SimConfig(shape=(25, 35), frame=(256,), rate=250.0, seed=3)

    def setup(window: MainWindow) -> None:
        window.toolbar.mean_box.setChecked(True)
        window.toolbar.colormap_combo.setCurrentText("magma")

    live_shot(app, workdir, out, "spectrum_scan_live", cfg, 0.7, setup)


def finished_pinned(app: QApplication, workdir: Path, out: Path) -> None:
    """A finished scan with the brightest point clicked (pinned), the dataset tree shown."""
    cfg = SimConfig(shape=(24, 32), frame=(128, 128), rate=600.0, snake=True, seed=1)
    window = finished_window(app, workdir, "finished_scan", cfg)
    try:
        window.toolbar.colormap_combo.setCurrentText("inferno")
        window.dock.show()
        brightest = brightest_points(window, 1)[0]
        window.map_view.click_at_scene(window.map_view.scene_position(brightest))
        wait(app, lambda: window.shown_position == brightest)
        window.headless.screenshot(str(out / "finished_pinned.png"))
    finally:
        window.close()


def real_replay_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A real Malcolm tomography scan (k11, 3201 points) replayed live, half way through."""
    from swmrview.tools.replay import start_replay

    data = Path(__file__).resolve().parents[1] / "tests" / "data"
    path = workdir / "k11-18014.nxs"
    writer = start_replay(data / "k11-18014.nxs", path, rate=400.0, batch=8)
    window = open_window(path, data=("/entry/imaging/data",))  # the real detector frames
    try:
        wait(app, lambda: window.state is not None and window.state.n_acquired >= 1600)
        window.headless.screenshot(str(out / "real_replay_live.png"))
    finally:
        window.close()
        writer.terminate()
        writer.join(10)


def real_eiger_masked(app: QApplication, workdir: Path, out: Path) -> None:
    """A real DECTRIS Eiger file: gap pixels (65535) left out of the sums and levels."""
    data = Path(__file__).resolve().parents[1] / "tests" / "data" / "eiger"
    window = open_window(data / "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5")
    try:
        window.toolbar.colormap_combo.setCurrentText("magma")
        wait(app, lambda: window.status.terminal and window.shown_position is not None)
        window.headless.screenshot(str(out / "real_eiger_masked.png"))
    finally:
        window.close()


def xrf_view():
    """Element windows (keV, Xspress3-like simulator) divided by I0, as a beamline would share."""
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings
    from swmrview.tools.simulate import I0_PATH

    lines = {"Ca": (3.55, 3.85), "Fe": (6.25, 6.55), "Cu": (7.9, 8.2), "Zn": (8.5, 8.78)}
    channels = tuple(Channel(f"{el}/I0", "window", bounds=b, monitor=I0_PATH)
                     for el, b in lines.items())
    return ViewSettings(channels=channels + (Channel("I0", dataset=I0_PATH),),
                        colormap="inferno", shown="Fe/I0")


def xrf_channels_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A live XRF map: element channels over I0 side by side, Fe shown, its window shaded."""
    cfg = SimConfig(shape=(30, 40), detector="xrf", elements=4, channels=4096, rate=150.0,
                    snake=True)

    def setup(window: MainWindow) -> None:
        window.resize(1500, 950)
        window.channels.grid.show()

    live_shot(app, workdir, out, "xrf_channels_live", cfg, 0.6, setup, view=xrf_view())


def xrd_view(bounds_only: bool = False):
    """q-windows of the simulated CeO2 + LaB6 map (q in nm^-1), LaB6 with its background off."""
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    channels = (Channel("CeO2 111", "q-window", bounds=(19.6, 20.6)),
                Channel("LaB6 100", "q-window", bounds=(14.6, 15.6), background="linear"),
                Channel("CeO2 220", "q-window", bounds=(32.3, 33.3)))
    return ViewSettings(channels=channels, colormap="inferno", shown="LaB6 100")


def xrd_qwindow_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A live diffraction map: the newest point's I(q) with the shown q-window shaded, two
    held points' patterns overlaid, and the LaB6 map (background taken off) filling in."""
    from swmrview.tools.simulate.xrd import write_poni

    cfg = SimConfig(shape=(24, 32), frame=(256, 256), rate=60.0, detector="xrd")
    poni = workdir / "xrd_qwindow_live.poni"
    write_poni(poni, cfg.frame)

    def setup(window: MainWindow) -> None:
        window.resize(1500, 850)

    writer = start_writer(workdir / "xrd_qwindow_live.h5", cfg)
    window = open_window(workdir / "xrd_qwindow_live.h5", poni=str(poni), view=xrd_view())
    try:
        wait(app, lambda: window.info is not None)
        setup(window)
        wait(app, lambda: window.state is not None and window.state.n_acquired >= 260)
        for position in ((2, 4), (6, 20)):
            window.compare.hold(position)
        window.compare.dock.hide()
        wait(app, lambda: window.frame_view.pattern_panel.held_curves == 2)
        wait(app, lambda: window.state.n_acquired >= cfg.n_points * 0.6)
        window.headless.screenshot(str(out / "xrd_qwindow_live.png"))
    finally:
        window.close()
        writer.terminate()
        writer.join(5)


def xrd_rgb_composite(app: QApplication, workdir: Path, out: Path) -> None:
    """A finished diffraction map: CeO2 111, LaB6 100 and CeO2 220 as red, green, blue."""
    from swmrview.tools.simulate.xrd import write_poni

    cfg = SimConfig(shape=(24, 32), frame=(256, 256), rate=2000.0, detector="xrd")
    poni = workdir / "xrd_rgb.poni"
    write_poni(poni, cfg.frame)
    path = workdir / "xrd_rgb.h5"
    start_writer(path, cfg).join(120)
    window = open_window(path, poni=str(poni), view=xrd_view())
    window.resize(1500, 950)
    try:
        wait(app, lambda: window.status.kind == "finished" and all(
            np.isfinite(window.state.values(n)).all() for n in window.state.channels))
        rgb = window.channels.rgb
        rgb.show()
        window.resizeDocks([rgb], [470], Qt.Vertical)
        rgb.choose(("CeO2 111", "LaB6 100", "CeO2 220"))
        wait(app, lambda: True)
        window.headless.screenshot(str(out / "xrd_rgb_composite.png"))
    finally:
        window.close()


def xrf_fit_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A live XRF scan fitted with PyMca (--xrf-config): the Pb L map (fitted, over I0) filling
    in, where a window at Pb La would mix in As; the newest spectrum with the fitted model, the
    residual and the fitted lines marked."""
    from swmrview.core.compute.channels import Channel
    from swmrview.core.compute.xrf_config import load_config
    from swmrview.model.view_settings import ViewSettings
    from swmrview.tools.simulate import I0_PATH

    cfg = SimConfig(shape=(24, 32), detector="xrf", elements=4, channels=4096, overlap=True,
                    rate=80.0, snake=True)
    config = load_config(Path(__file__).resolve().parents[1] / "tests" / "data"
                         / "xrf_simulated_overlap.cfg")
    view = ViewSettings(channels=(Channel("Pb L/I0", "fitted", column="Pb L", monitor=I0_PATH),
                                  Channel("As K/I0", "fitted", column="As K", monitor=I0_PATH)),
                        colormap="magma", shown="Pb L/I0")
    writer = start_writer(workdir / "xrf_fit_live.h5", cfg)
    window = open_window(workdir / "xrf_fit_live.h5", view=view, xrf=config)
    try:
        wait(app, lambda: window.state is not None
             and window.state.n_acquired >= cfg.n_points * 0.6
             and window.frame_view.trace_panel.fit.fit is not None)
        window.headless.screenshot(str(out / "xrf_fit_live.png"))
    finally:
        window.close()
        writer.terminate()
        writer.join(5)


def spiral_scatter_live(app: QApplication, workdir: Path, out: Path) -> None:
    """A live spiral XRF scan: points at their recorded positions, the plan still to come
    drawn faintly."""
    cfg = SimConfig(shape=(900,), detector="xrf", elements=4, channels=2048, rate=200.0,
                    positions="spiral")
    live_shot(app, workdir, out, "spiral_scatter_live", cfg, 0.61, view=xrf_view())


def fly_interpolated(app: QApplication, workdir: Path, out: Path) -> None:
    """A finished fly scan (jittered encoder positions) interpolated onto an image."""
    cfg = SimConfig(shape=(40, 50), frame=(64, 64), rate=2000.0, positions="fly", seed=2)
    window = finished_window(app, workdir, "fly", cfg)
    try:
        wait(app, lambda: window.state.scatter is not None)
        window.map_view.scatter_view.set_mode("Interpolated")
        wait(app, lambda: True)
        window.headless.screenshot(str(out / "fly_interpolated.png"))
    finally:
        window.close()


def finished_window(app: QApplication, workdir: Path, name: str, cfg: SimConfig) -> MainWindow:
    """The window on a simulated scan written to the end first."""
    path = workdir / f"{name}.h5"
    writer = start_writer(path, cfg)
    writer.join(60)
    window = open_window(path)
    wait(app, lambda: window.status.kind == "finished")
    return window


def brightest_points(window: MainWindow, n: int) -> list[tuple[int, ...]]:
    """The ``n`` acquired points of highest map value, spread out (not neighbours)."""
    plane = window.state.map.plane("max")
    picked: list[tuple[int, ...]] = []
    for flat in np.argsort(np.nan_to_num(plane, nan=-np.inf), axis=None)[::-1]:
        p = tuple(int(v) for v in np.unravel_index(flat, plane.shape))
        if all(max(abs(a - b) for a, b in zip(p, q)) > 3 for q in picked):
            picked.append(p)
        if len(picked) == n:
            break
    return picked


def compare_held_spectra(app: QApplication, workdir: Path, out: Path) -> None:
    """Three held points' spectra overlaid with the mean spectrum of a region of the map."""
    cfg = SimConfig(shape=(20, 28), frame=(256,), rate=800.0, seed=3)
    window = finished_window(app, workdir, "compare_spectra", cfg)
    window.resize(1700, 820)
    try:
        compare = window.compare
        state = window.state
        for position in [(4, 5), (10, 14), (15, 23)]:
            compare.hold(position)
        compare.dock.how_combo.setCurrentText("mean")
        compare.dock.region_box.setChecked(True)
        x, y = state.coordinates(1), state.coordinates(0)
        compare.selector.set_bounds((x[3], x[10]), (y[11], y[17]))
        window.resizeDocks([compare.dock], [620], Qt.Horizontal)
        wait(app, lambda: len(compare.dock.curves) == 3 and compare.region is not None)
        window.headless.screenshot(str(out / "compare_held_spectra.png"))
    finally:
        window.close()


def real_1d_ratio(app: QApplication, workdir: Path, out: Path) -> None:
    """A real GDA 1-D scan (i07): a detector ROI sum against the diffractometer angle, with
    the ratio of two ROIs overlaid."""
    from swmrview.core.compute.channels import Channel

    data = Path(__file__).resolve().parents[1] / "tests" / "data" / "i07-418550.nxs"
    roi = "/entry/instrument/pil2roi/"
    window = open_window(data)
    try:
        wait(app, lambda: window.status.terminal)
        window.channels.dock.set_channels(
            (Channel("gamma", dataset="/entry/instrument/diff1gamma/value"),
             Channel("roi1", dataset=roi + "roi1_sum"),
             Channel("roi2/roi1", dataset=roi + "roi2_sum", monitor=roi + "roi1_sum")),
            emit=True)
        wait(app, lambda: np.isfinite(window.state.values("roi2/roi1")).all())
        window.map_view.x_combo.setCurrentText("gamma")
        window.map_view.x_combo.textActivated.emit("gamma")
        window.channels.show("roi1")
        window.channels.dock.list.item(2).setCheckState(Qt.Checked)
        window.mark_map_dirty()
        wait(app, lambda: True)
        window.headless.screenshot(str(out / "real_1d_ratio.png"))
    finally:
        window.close()


def compare_region_images(app: QApplication, workdir: Path, out: Path) -> None:
    """Two held images side by side on one scale, and the summed image of a map region."""
    cfg = SimConfig(shape=(24, 32), frame=(96, 96), rate=800.0, seed=1)
    window = finished_window(app, workdir, "compare_images", cfg)
    window.resize(1800, 820)
    try:
        compare = window.compare
        state = window.state
        window.toolbar.colormap_combo.setCurrentText("inferno")
        for position in brightest_points(window, 2):
            compare.hold(position)
        compare.dock.region_box.setChecked(True)
        x, y = state.coordinates(1), state.coordinates(0)
        compare.selector.set_bounds((x[8], x[20]), (y[6], y[15]))
        window.resizeDocks([compare.dock], [720], Qt.Horizontal)
        wait(app, lambda: len(compare.dock.images) == 3)
        window.headless.screenshot(str(out / "compare_region_images.png"))
    finally:
        window.close()


def line_profile(app: QApplication, workdir: Path, out: Path) -> None:
    """The line profile dock: a line across the newest image and the values along it."""
    cfg = SimConfig(shape=(10, 12), frame=(128, 128), rate=800.0, seed=2)
    window = finished_window(app, workdir, "line_profile", cfg)
    try:
        window.profile.show()
        window.resizeDocks([window.profile], [230], Qt.Vertical)
        wait(app, lambda: window.profile.values is not None)
        frame = window.frame_view.current_frame()
        y, x = np.unravel_index(np.argmax(frame), frame.shape)   # through the spot
        window.profile.set_line((x - 60.5, y + 25.5), (x + 30.5, y - 12.5))
        wait(app, lambda: True)
        window.headless.screenshot(str(out / "line_profile.png"))
    finally:
        window.close()


def directory_scans(app: QApplication, workdir: Path, out: Path) -> None:
    """A data folder followed: two finished scans, the newest one live, listed in the dock."""
    folder = workdir / "cm12345-1"
    folder.mkdir()
    for n, seed in ((1, 4), (2, 5)):
        writer = start_writer(folder / f"scan_{n:04d}.h5",
                              SimConfig(shape=(20, 30), frame=(96, 96), rate=2000.0, seed=seed))
        writer.join(60)
    cfg = SimConfig(shape=(20, 30), frame=(96, 96), rate=120.0, seed=6)
    writer = start_writer(folder / "scan_0003.h5", cfg)
    window = open_window(folder)
    try:
        wait(app, lambda: window.scans_dock.scans is not None
             and len(window.scans_dock.scans.paths) == 3
             and (window.scans_dock.scans.current or "").endswith("scan_0003.h5")
             and window.state is not None and window.state.n_acquired >= cfg.n_points * 0.6)
        window.headless.screenshot(str(out / "directory_scans.png"))
    finally:
        window.close()
        writer.terminate()
        writer.join(5)


def nexus_export_followed(app: QApplication, workdir: Path, out: Path) -> None:
    """A second viewer following the NeXus file a first one (a headless swmrview process on a
    live scan, --export-nexus) writes live: the processed output is itself a live scan."""
    import subprocess

    cfg = SimConfig(shape=(24, 32), frame=(128, 128), rate=100.0, seed=7)
    scan, maps = workdir / "exported_scan.h5", workdir / "maps.nxs"
    writer = start_writer(scan, cfg)
    producer = subprocess.Popen(
        [sys.executable, "-m", "swmrview", str(scan), "--export-nexus", str(maps),
         "--exit-on-finish", "--timeout", "20"],
        env=cli_env(workdir), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    window = None
    try:
        wait(app, maps.exists, timeout=60)
        window = open_window(maps)
        wait(app, lambda: window.state is not None
             and window.state.n_acquired >= cfg.n_points * 0.5)
        window.headless.screenshot(str(out / "nexus_export_followed.png"))
    finally:
        if window is not None:
            window.close()
        writer.terminate()
        writer.join(5)
        producer.terminate()
        producer.wait(10)


def batch_maps_opened(app: QApplication, workdir: Path, out: Path) -> None:
    """The NeXus file ``swmrview map`` wrote for two finished scans, opened in the viewer with
    its tree shown: an NXentry per scan, the sum and max maps over the scan's motor axes."""
    import subprocess

    scans = []
    for n, seed in ((1, 8), (2, 9)):
        path = workdir / f"batch_scan_{n}.h5"
        writer = start_writer(path, SimConfig(shape=(24, 32), frame=(128, 128), rate=3000.0,
                                              seed=seed))
        writer.join(60)
        scans.append(str(path))
    maps = workdir / "batch_maps.nxs"
    subprocess.run([sys.executable, "-m", "swmrview", "map", *scans, "--reduce", "sum,max",
                    "--workers", "0", "--quiet", "--out", str(maps)], check=True, timeout=300)
    window = open_window(maps)
    try:
        window.toolbar.colormap_combo.setCurrentText("cividis")
        window.dock.show()
        wait(app, lambda: window.status.terminal and window.state is not None)
        window.headless.screenshot(str(out / "batch_maps_opened.png"))
    finally:
        window.close()


def headless_screenshot(app: QApplication, workdir: Path, out: Path) -> None:
    """What ``swmrview SCAN --exit-on-finish --export-map map.csv --screenshot OUT.png`` writes
    without a display: the grab of the window when the live scan ends."""
    import subprocess

    cfg = SimConfig(shape=(20, 30), frame=(128, 128), rate=300.0, seed=10)
    scan = workdir / "headless_scan.h5"
    writer = start_writer(scan, cfg)
    try:
        subprocess.run([sys.executable, "-m", "swmrview", str(scan), "--exit-on-finish",
                        "--export-map", str(workdir / "headless_map.csv"),
                        "--screenshot", str(out / "headless_screenshot.png")],
                       env=cli_env(workdir), check=True,
                       timeout=300)
    finally:
        writer.join(10)


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots into OUTDIR (default ``screenshots/``)."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = Path(argv[0] if argv else Path(__file__).resolve().parents[1] / "screenshots")
    only = set(argv[1:])   # names of the shots to make (default: all)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="swmrview-shots-") as tmp:
        for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
            QSettings.setPath(fmt, QSettings.UserScope, tmp)  # leave the user's settings alone
        app = QApplication.instance() or QApplication([])
        app.setWindowIcon(app_icon())
        workdir = Path(tmp)
        for shot in (image_scan_live, spectrum_scan_live, finished_pinned, real_replay_live,
                     real_eiger_masked, xrf_channels_live, spiral_scatter_live,
                     fly_interpolated, real_1d_ratio, compare_held_spectra,
                     compare_region_images, line_profile, directory_scans,
                     nexus_export_followed, batch_maps_opened, headless_screenshot,
                     xrd_qwindow_live, xrd_rgb_composite, xrf_fit_live):
            if only and shot.__name__ not in only:
                continue
            for key in ("view", "window_state"):   # each shot from a clean view and docks
                QSettings("swmrview", "swmrview").remove(key)
            logger.info("making %s", shot.__name__)
            shot(app, workdir, out)
    logger.info("screenshots written to %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
