"""YAML to a tree of values that remember their line.

Built on ``yaml.compose`` with the safe loader (libyaml's when present), so
nothing but plain data is ever constructed.  Duplicate keys are refused.
Anchors are harmless, but aliases (``*name``) and merge keys (``<<``) are
refused: every value in a policy should be written where it applies, so that
its line is the line that set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stockade.config.shown import shown, shown_path
from stockade.errors import PolicyError


@dataclass(slots=True)
class Node:
    """A located YAML value: ``value`` is a scalar, ``list[Node]`` or
    ``dict[str, Node]``; ``key_lines`` holds the line of each mapping key."""

    value: Any
    line: int | None
    key_lines: dict[str, int] = field(default_factory=dict)
    key_line: int | None = None  # line of the key this value belongs to

    @property
    def kline(self) -> int | None:
        """The line that sets this value: its key's line, else its own."""
        return self.key_line or self.line


def from_plain(obj: Any) -> Node:
    """Wrap plain Python data (the built-in default) as a Node tree without lines."""
    if isinstance(obj, dict):
        return Node({str(k): from_plain(v) for k, v in obj.items()}, None)
    if isinstance(obj, list):
        return Node([from_plain(v) for v in obj], None)
    return Node(obj, None)


def parse(text: str, *, file: str) -> Node | None:
    """Parse one YAML document; None when it is empty (only comments)."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or "invalid YAML"
            ctx = f" ({exc.context})" if exc.context else ""
            raise PolicyError(
                f"invalid YAML: {problem}{ctx}",
                file=file,
                line=line,
                hint="check the indentation and quoting on this line and the one above",
            ) from None
        except yaml.YAMLError as exc:
            # Not echoed: a reader error's text is safe today, but nothing
            # guarantees that a YAML library's message never quotes the file.
            pos = getattr(exc, "position", None)
            raise PolicyError(
                "invalid YAML: the file holds a control character or is not text",
                file=file,
                line=text[:pos].count("\n") + 1 if isinstance(pos, int) else None,
                hint="remove the character; save the file as plain UTF-8 text",
            ) from None
    finally:
        loader.dispose()
    if root is None:
        return None
    return _Builder(file).build(root, "")


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    def __init__(self, file: str) -> None:
        import yaml.constructor

        self.file = file
        self.seen: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def err(
        self, node: Any, key: str, message: str, hint: str, line: int | None = None
    ) -> PolicyError:
        return PolicyError(
            message,
            file=self.file,
            line=line or node.start_mark.line + 1,
            key=shown_path(key) or None,
            hint=hint,
        )

    def build(self, node: Any, path: str, ref_line: int | None = None) -> Node:
        import yaml

        if id(node) in self.seen:
            # An alias yields the anchored node itself: report where it is used.
            raise self.err(
                node,
                path,
                "YAML aliases (*name) are not supported in a policy",
                "write the value out in full where it applies",
                line=ref_line,
            )
        self.seen.add(id(node))
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise self.err(
                node,
                path,
                f"unsupported YAML tag {shown(node.tag)}",
                "remove the !tag; policies hold plain lists and mappings",
            )
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Node] = {}
            key_lines: dict[str, int] = {}
            for knode, vnode in node.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    raise self.err(
                        knode,
                        path,
                        "YAML merge keys (<<) are not supported in a policy",
                        "write the keys out in full",
                    )
                if not isinstance(knode, yaml.ScalarNode):
                    raise self.err(knode, path, "a key must be a plain name", "write key: value")
                key = self._scalar(knode, path)
                if not isinstance(key, str):
                    # `yes:`, `1:` or `null:` as a key: keep the text as written.
                    key = str(knode.value)
                sub = f"{path}.{key}" if path else key
                if key in out:
                    raise self.err(
                        knode,
                        sub,
                        f"duplicate key (first set on line {key_lines[key]})",
                        "keep one of them; YAML would silently use the last",
                    )
                key_lines[key] = knode.start_mark.line + 1
                out[key] = self.build(vnode, sub, key_lines[key])
                out[key].key_line = key_lines[key]
            return Node(out, line, key_lines)
        if isinstance(node, yaml.SequenceNode):
            return Node(
                [self.build(item, f"{path}[{i}]", line) for i, item in enumerate(node.value)], line
            )
        return Node(self._scalar(node, path), line)

    def _scalar(self, node: Any, path: str) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - e.g. a ValueError for 2024-13-45, quoting it
            # The message may quote the value (int('...'), a bad date): never echo it.
            tag = str(node.tag)
            name = tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag
            raise self.err(
                node,
                path,
                f"cannot read this value as a YAML {name}",
                "quote it if it is text; policies hold plain strings, numbers, booleans, "
                "lists and mappings",
            ) from None
