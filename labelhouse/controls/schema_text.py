"""A schema written as JSON or YAML text, read safely, with the line and column of a mistake.

YAML is read by PyYAML's safe loader (no Python tags, so no object is ever built from the text),
minus two things JSON cannot carry: aliases (``*name``: a few lines of anchors can expand into
gigabytes once serialized, the "billion laughs") and implicit timestamps (``2024-01-01`` stays a
string). Whatever it yields must be plain JSON: string keys, finite numbers, no sets or bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import yaml

from labelhouse.core.errors import Invalid

Syntax = Literal["json", "yaml"]
MAX_CHARS = 1_000_000


class _SchemaLoader(yaml.SafeLoader):
    """The safe loader without aliases and without implicit timestamps."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in a schema; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


_SchemaLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_schema_text(source: str, syntax: Syntax) -> Any:
    """The value the text holds, or ``Invalid`` (field ``text``) saying where it went wrong."""
    if len(source) > MAX_CHARS:
        raise Invalid(f"the schema text is longer than {MAX_CHARS:,} characters", field="text")
    if syntax == "json":
        try:
            value = json.loads(source)
        except json.JSONDecodeError as err:
            raise Invalid(
                f"not valid JSON: line {err.lineno}, column {err.colno}: {err.msg}", field="text"
            ) from None
    else:
        try:
            value = yaml.load(source, Loader=_SchemaLoader)  # noqa: S506  # nosec B506 (a SafeLoader subclass)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise Invalid(f"not valid YAML: {where}{err.problem or err.context}", field="text") from None
        except yaml.YAMLError as err:
            raise Invalid(f"not valid YAML: {err}", field="text") from None
    _plain(value, "schema")
    return value


def _plain(value: Any, where: str) -> None:
    """Refuse what JSON cannot hold, naming the place (e.g. ``schema.controls[0].options``)."""
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"{where}: numbers must be finite (not {value})", field="text")
        return
    if isinstance(value, list):
        for i, entry in enumerate(value):
            _plain(entry, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, entry in value.items():
            if not isinstance(key, str):
                raise Invalid(f"{where}: keys must be text; quote {key!r}", field="text")
            _plain(entry, f"{where}.{key}")
        return
    raise Invalid(
        f"{where}: a {type(value).__name__} cannot be part of a schema (use text, numbers, lists, maps)",
        field="text",
    )
