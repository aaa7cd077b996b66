"""``.. cli-reference:: module:function``: the reference of an argparse parser, made from the
parser itself when the docs are built, so it never drifts from ``swmrview --help``.

The usage line, the description, every option (with its metavar, help and default) grouped as
the parser groups them, and the epilog (exit codes, examples) verbatim.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _escape(text: str) -> str:
    """Plain text as reST: the inline markup characters escaped."""
    return re.sub(r"([\\*`|_\[\]])", r"\\\1", text)


def _invocation(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    return formatter._format_action_invocation(action)   # "--key P", "FILE or DIR", ...


def parser_rst(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    lines = [".. code-block:: text", ""]
    lines += ["   " + line for line in parser.format_usage().rstrip().splitlines()]
    lines.append("")
    if parser.description:
        lines += [_escape(" ".join(parser.description.split())), ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS]
        if not actions:
            continue
        lines += [f"**{_escape(group.title or 'options')}**", ""]
        for action in actions:
            invocation = _invocation(action, formatter)
            lines.append(f"``{invocation}``")
            text = formatter._expand_help(action) if action.help else ""
            text = " ".join(text.split())
            if action.choices and "{" not in invocation and "choices" not in text:
                text += " (one of: " + ", ".join(map(str, action.choices)) + ")"
            lines.append("   " + (_escape(text) or "(no description)"))
            lines.append("")
    if parser.epilog:
        lines += [".. code-block:: text", ""]
        lines += ["   " + line if line else "" for line in parser.epilog.rstrip().splitlines()]
        lines.append("")
    return lines


class CliReference(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module_name, _, func_name = self.arguments[0].partition(":")
        module = importlib.import_module(module_name)
        self.env.note_dependency(module.__file__)
        parser = getattr(module, func_name)()
        columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "100"   # argparse wraps to the terminal: the same on every build
        try:
            text = parser_rst(parser)
        finally:
            if columns is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = columns
        container = nodes.container()
        self.state.nested_parse(StringList(text, source=self.arguments[0]),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("cli-reference", CliReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
