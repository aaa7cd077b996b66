"""The Sphinx documentation under docs/: it builds with warnings as errors, its code examples
run as doctests against scan files written for them, the CLI reference covers every option of
every parser, and every image it shows is one of the screenshots the project's script makes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import cliref  # noqa: E402  (docs/_ext/cliref.py)

from swmrview.cli import build_parser  # noqa: E402
from swmrview.tools.batch.cli import build_parser as map_parser  # noqa: E402
from swmrview.tools.replay.cli import _parser as replay_parser  # noqa: E402
from swmrview.tools.simulate.cli import _parser as simulate_parser  # noqa: E402

PARSERS = {"swmrview.cli:build_parser": build_parser,
           "swmrview.tools.batch.cli:build_parser": map_parser,
           "swmrview.tools.replay.cli:_parser": replay_parser,
           "swmrview.tools.simulate.cli:_parser": simulate_parser}


def sphinx(builder: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder,
         "-d", str(out / "doctrees"), str(DOCS), str(out / builder)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)


def image_paths(text: str) -> list[str]:
    return re.findall(r"^\s*\.\. (?:image|figure):: (\S+)", text, flags=re.M)


@pytest.mark.slow
def test_html_builds_with_warnings_as_errors(tmp_path):
    done = sphinx("html", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    html = tmp_path / "html"
    pages = {p.stem for p in DOCS.glob("*.rst")}
    assert {p.stem for p in html.glob("*.html")} >= pages
    # the screenshots are copied in, and the API page has the documented classes
    assert {p.name for p in (html / "_images").iterdir()} >= {
        Path(p).name for page in DOCS.glob("*.rst") for p in image_paths(page.read_text())}
    api = (html / "api.html").read_text()
    for name in ("swmrview.core.KeyFollower", "swmrview.core.DataSource", "open_swmr",
                 "find_layout", "ReducePipeline", "ScanMap"):
        assert name in api
    cli = (html / "cli.html").read_text()
    for action in build_parser()._actions:
        for option in action.option_strings:
            assert option in cli


@pytest.mark.slow
def test_code_examples_run_as_doctests(tmp_path):
    done = sphinx("doctest", tmp_path)
    report = (tmp_path / "doctest" / "output.txt").read_text()
    assert done.returncode == 0, report + done.stderr
    summary = report[report.index("Doctest summary"):]
    run = int(re.search(r"(\d+) tests", summary).group(1))
    assert run >= 40, summary       # the migration guide's and the API page's examples
    assert "0 failures in tests" in summary
    for page in ("migration", "api"):
        assert f"Document: {page}" in report


@pytest.mark.parametrize("target", sorted(PARSERS))
def test_cli_reference_lists_every_option_and_the_epilog(target):
    parser = PARSERS[target]()
    text = "\n".join(cliref.parser_rst(parser))
    entries = [line for line in text.splitlines() if line.startswith("``")]
    for action in parser._actions:
        for option in action.option_strings or [action.metavar or action.dest]:
            pattern = rf"(?<![\w-]){re.escape(option)}(?![\w-])"
            assert [e for e in entries if re.search(pattern, e)], option
        if action.help:
            first_words = " ".join(action.help.split()[:3])
            assert cliref._escape(first_words) in text, first_words
    if parser.epilog:
        assert parser.epilog.splitlines()[0] in text
    # and the reference page asks for this parser
    assert f".. cli-reference:: {target}" in (DOCS / "cli.rst").read_text()


def test_every_docs_image_is_a_made_screenshot():
    screenshots = ROOT / "screenshots"
    made = re.findall(r'out / "(\w+)\.png"|live_shot\(app, workdir, out, "(\w+)"',
                      (ROOT / "scripts" / "make_screenshots.py").read_text())
    made = {a or b for a, b in made}
    used = set()
    for page in DOCS.glob("*.rst"):
        for path in image_paths(page.read_text()):
            image = (page.parent / path).resolve()
            assert image.parent == screenshots.resolve(), (page.name, path)
            assert image.is_file(), (page.name, path)
            used.add(image.stem)
    assert used <= made, used - made
    # every screenshot is shown somewhere in the docs
    assert {p.stem for p in screenshots.glob("*.png")} <= used


def test_readme_links_each_docs_page_and_keeps_the_test_command():
    readme = (ROOT / "README.md").read_text()
    for page in DOCS.glob("*.rst"):
        if page.stem in ("index",):
            continue
        assert f"docs/{page.name}" in readme, page.name
    marker = readme.index("<!-- test-command -->")
    block = readme[marker:].split("```sh\n", 1)[1].split("```", 1)[0]
    assert 'pip install -e ".[test]"' in block and "pytest" in block
