"""Redaction compiled for one record layout and one release: straight-line Python per field.

:func:`~gateway.redaction.pipeline.redact` walks the allow-list beside each record, and the
response path then turns the kept record into JSON. For records of a fixed layout (a provider's
dataset: the same fields in the same order, each of a known kind) most of that walk comes out
the same every time, so :func:`compile_redaction` does it once. The function it returns reads
the fields in layout order and knows, for each, whether it is released, transformed or
withheld, which leaf paths that reports (looking only at what can vary: a null, an empty list)
and how to write its JSON; a list of records only partly released is selected item by item,
field by field, the same way. Other partly released lists, maps, and transforms that act below
a field go through the general selection functions, as in :func:`redact`. The outputs
are those of ``redact`` followed by :func:`record_json`, byte for byte; the tests check that
against the general path on random records and releases.

The generated source is compiled by :mod:`gateway.codegen` as ``<redaction ImmigrationStatus>``,
so tracebacks and :func:`inspect.getsource` show it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from gateway.codegen import Source, build
from gateway.redaction.paths import PathNode, PathSet
from gateway.redaction.paths import _leaves as _report
from gateway.redaction.pipeline import _NOTHING, _release, _Report, _select_inside
from gateway.redaction.plan import PlanNode, TransformPlan

__all__ = [
    "CompiledRedaction",
    "FieldKind",
    "LayoutField",
    "Redacted",
    "compile_redaction",
    "record_json",
]


class FieldKind(StrEnum):
    """What a field of a record layout holds, as far as redaction and JSON care."""

    TEXT = "text"
    """A string (or an enum symbol)."""
    FLAG = "flag"
    """A boolean."""
    NUMBER = "number"
    """An integer."""
    VALUE = "value"
    """Any other single value: a date, a time, a float, bytes."""
    RECORD = "record"
    """A nested record with ``fields``."""
    LIST = "list"
    """A list of ``items``."""
    OTHER = "other"
    """Anything else (a map): left to the general functions."""


_SCRATCH = ("parts", "released", "withheld", "transformed", "out", "selected", "redacted")
"""Names the generated function uses itself."""
_SINGLE = frozenset({FieldKind.TEXT, FieldKind.FLAG, FieldKind.NUMBER, FieldKind.VALUE})


class LayoutField(NamedTuple):
    """One field of a record layout (or, named ``[]``, the items of a list)."""

    name: str
    kind: FieldKind
    nullable: bool = False
    fields: tuple[LayoutField, ...] = ()
    """A record's fields, in order."""
    items: LayoutField | None = None
    """A list's items."""


Redacted = tuple[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]
"""The record's JSON text and its ``(released, transformed, withheld)`` leaf paths, as
:func:`redact` reports them."""
CompiledRedaction = Callable[[Mapping[str, Any]], Redacted]


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot represent {type(value).__name__} in JSON")


_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"))
_string = json.encoder.encode_basestring_ascii


def record_json(record: Mapping[str, Any]) -> str:
    """The JSON text a released record is sent as: compact, ASCII, dates in ISO form, bytes in
    hex."""
    return _ENCODER.encode(record)


def compile_redaction(
    name: str,
    layout: Sequence[LayoutField],
    paths: PathSet,
    transforms: TransformPlan | None = None,
) -> CompiledRedaction:
    """The redaction of records with fields ``layout`` (exactly those, in that order, each of
    its kind) under allow-list ``paths`` and ``transforms``; ``name`` names the source."""
    plan = transforms.root if transforms is not None else None
    generator = _Generator()
    return generator.build(
        name,
        lambda: generator.record_fields(layout, "record", "", paths.root, plan, "parts", True),
    )


_WRITE = {
    FieldKind.TEXT: "STRING({})",
    FieldKind.FLAG: '("true" if {} else "false")',
    FieldKind.NUMBER: "int.__repr__({})",
    FieldKind.VALUE: "ENCODE({})",
}


class _Generator:
    """The source of one redaction function, and the constants it refers to."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {
            "_report": _report,
            "_release": _release,
            "_select_inside": _select_inside,
            "_Report": _Report,
            "NOTHING": _NOTHING,
            "ENCODE": _ENCODER.encode,
            "STRING": _string,
        }
        self.source = Source([*self.env, *_SCRATCH])
        self.static: dict[str, list[str]] = {"released": [], "withheld": [], "transformed": []}
        """Paths every record reports, whatever its values."""
        self.dynamic: set[str] = set()
        """The reports the function adds to as it runs."""

    # --- source ---------------------------------------------------------------------------

    def line(self, text: str) -> None:
        self.source.line(text)

    def block(self, head: str) -> AbstractContextManager[None]:
        return self.source.block(head)

    def local(self, hint: str) -> str:
        return self.source.local(hint)

    def constant(self, hint: str, value: Any) -> str:
        name = self.local(hint.upper())
        self.env[name] = value
        return name

    def report(self, what: str, paths: Sequence[str], static: bool) -> None:
        """Report ``paths`` in ``what``: once for all, or as the function runs."""
        if static:
            self.static[what].extend(paths)
        elif len(paths) == 1:
            self.line(f"{what}.append({paths[0]!r})")
            self.dynamic.add(what)
        elif paths:
            self.line(f"{what}.extend({self.constant(what, tuple(paths))})")
            self.dynamic.add(what)

    def general(self, call: str, parts: str, key: str) -> None:
        """A general selection function's result, kept unless it is nothing."""
        self.line(f"selected = {call}")
        with self.block("if selected is not NOTHING:"):
            self.line(f"{parts}.append({key!r} + ENCODE(selected))")
        self.dynamic.update(("released", "withheld", "transformed"))

    # --- leaves ---------------------------------------------------------------------------

    def leaves(self, field: LayoutField, value: str, path: str, what: str, static: bool) -> None:
        """Report the leaf paths of ``value`` (a ``field``) in ``what``, as ``_leaves`` does."""
        fixed = _fixed_leaves(field, path)
        if fixed is not None:
            self.report(what, fixed, static)
            return
        if field.kind is FieldKind.RECORD and field.fields:
            if field.nullable:
                with self.block(f"if {value} is None:"):
                    self.report(what, [path], static=False)
                with self.block("else:"):
                    self._record_leaves(field, value, path, what, static=False)
            else:
                self._record_leaves(field, value, path, what, static)
            return
        if field.kind is FieldKind.LIST and field.items is not None:
            items = _fixed_leaves(field.items, path + "[]")
            if items is not None:
                with self.block(f"if not {value}:"):
                    self.report(what, [path], static=False)
                with self.block("else:"):
                    self.report(what, items, static=False)
                return
        self.line(f"_report({value}, {path!r}, {what})")
        self.dynamic.add(what)

    def _record_leaves(
        self, field: LayoutField, value: str, path: str, what: str, static: bool
    ) -> None:
        for child in field.fields:
            fixed = _fixed_leaves(child, f"{path}.{child.name}")
            if fixed is not None:
                self.report(what, fixed, static)
                continue
            child_value = self.local("value")
            self.line(f"{child_value} = {value}[{child.name!r}]")
            self.leaves(child, child_value, f"{path}.{child.name}", what, static)

    # --- selection ------------------------------------------------------------------------

    def record_fields(
        self,
        fields: Sequence[LayoutField],
        value: str,
        prefix: str,
        node: PathNode,
        plan: PlanNode | None,
        parts: str,
        static: bool,
    ) -> None:
        """Select the ``fields`` of record ``value`` under ``node`` as ``_select_record`` does,
        appending each kept field's JSON to ``parts``."""
        steps = plan.fields if plan is not None else None
        for field in fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            self.line(f"# {path}: {field.kind}{' or null' if field.nullable else ''}")
            child = node.fields.get(field.name)
            fixed = _fixed_leaves(field, path)
            if child is None and fixed is not None:  # withheld, whatever its value
                self.report("withheld", fixed, static)
                continue
            child_value = self.local("value")
            self.line(f"{child_value} = {value}[{field.name!r}]")
            step = steps.get(field.name) if steps else None
            self.field(field, child_value, path, child, step, parts, static)

    def field(
        self,
        field: LayoutField,
        value: str,
        path: str,
        node: PathNode | None,
        step: PlanNode | None,
        parts: str,
        static: bool,
    ) -> None:
        key = _string(field.name) + ":"
        single = field.kind in _SINGLE
        if node is None:
            self.leaves(field, value, path, "withheld", static)
        elif node.whole and step is None:
            self.leaves(field, value, path, "released", static)
            if single:
                write = _WRITE[field.kind].format(value)
                if field.nullable:
                    write = f'("null" if {value} is None else {write})'
            else:
                write = f"ENCODE({value})"
            self.line(f"{parts}.append({key!r} + {write})")
        elif node.whole:
            assert step is not None
            if single and step.apply is not None:
                self.report("released", [node.path], static)
                with self.block(f"if {value} is None:"):
                    self.line(f"{parts}.append({key + 'null'!r})")
                with self.block("else:"):
                    self.line(f"transformed.append({step.label!r})")
                    apply = self.constant("apply", step.apply)
                    self.line(f"{parts}.append({key!r} + ENCODE({apply}({value})))")
                self.dynamic.add("transformed")
            else:
                step_name = self.constant("step", step)
                self.general(f"_release({value}, {node.path!r}, {step_name}, out)", parts, key)
        elif step is not None and step.name is not None:
            self.leaves(field, value, path, "withheld", static)  # transformed above its leaves
        elif field.kind is FieldKind.RECORD and field.fields and node.items is None:
            if field.nullable:
                with self.block(f"if {value} is None:"):
                    self.report("withheld", [path], static=False)
                with self.block("else:"):
                    self._nested(field, value, path, node, step, parts, key)
            else:
                self._nested(field, value, path, node, step, parts, key, static)
        elif _records_inside(field, node, step):
            self._records(field, value, path, node, step, parts, key)
        else:
            node_name, step_name = self.constant("node", node), self.constant("step", step)
            self.general(f"_select_inside({value}, {node_name}, {step_name}, out)", parts, key)

    def _records(
        self,
        field: LayoutField,
        value: str,
        path: str,
        node: PathNode,
        step: PlanNode | None,
        parts: str,
        key: str,
    ) -> None:
        """A list of records the allow-list reaches inside: each item selected as a record,
        the list kept if any item keeps anything (``_select_inside`` on a list)."""
        assert field.items is not None and node.items is not None
        with self.block(f"if not {value}:"):
            self.line(f"_report({value}, {path!r}, withheld)")
            self.dynamic.add("withheld")
        with self.block("else:"):
            kept, item = self.local("kept"), self.local("item")
            self.line(f"{kept} = []")
            with self.block(f"for {item} in {value}:"):
                item_step = step.items if step is not None else None
                inner = self._record(field.items, item, node.items.path, node.items, item_step)
                with self.block(f"if {inner}:"):
                    self.line(f'{kept}.append("{{" + ",".join({inner}) + "}}")')
            with self.block(f"if {kept}:"):
                self.line(f'{parts}.append({key!r} + "[" + ",".join({kept}) + "]")')

    def _nested(
        self,
        field: LayoutField,
        value: str,
        path: str,
        node: PathNode,
        step: PlanNode | None,
        parts: str,
        key: str,
        static: bool = False,
    ) -> None:
        inner = self._record(field, value, path, node, step, static)
        with self.block(f"if {inner}:"):
            self.line(f'{parts}.append({key!r} + "{{" + ",".join({inner}) + "}}")')

    def _record(
        self,
        field: LayoutField,
        value: str,
        path: str,
        node: PathNode,
        step: PlanNode | None,
        static: bool = False,
    ) -> str:
        """Select the fields of record ``value`` into a new list of JSON members; its name."""
        inner = self.local("parts")
        self.line(f"{inner} = []")
        self.record_fields(field.fields, value, path, node, step, inner, static)
        return inner

    # --- the function ---------------------------------------------------------------------

    def _shape(self, what: str) -> str:
        constant = self.constant(what, tuple(sorted(set(self.static[what]))))
        if what not in self.dynamic:
            return constant
        if not self.static[what]:
            return f"tuple(sorted(set({what})))"
        return f"(tuple(sorted(set({what}).union({constant}))) if {what} else {constant})"

    def build(self, name: str, body: Callable[[], None]) -> CompiledRedaction:
        """The function whose fields ``body`` writes."""
        with self.block("def redacted(record):"):
            self.line(
                f'"""Redact a {name} record: its JSON, and the paths it released, transformed '
                'and withheld."""'
            )
            self.line("parts = []")
            self.line("released, withheld, transformed = [], [], []")
            self.line("out = _Report(released, withheld, transformed)")
            body()
            shapes = ", ".join(map(self._shape, ("released", "transformed", "withheld")))
            self.line(f'return "{{" + ",".join(parts) + "}}", ({shapes})')
        redacted: CompiledRedaction = build(self.source, f"redaction {name}", "redacted", self.env)
        return redacted


def _records_inside(field: LayoutField, node: PathNode, step: PlanNode | None) -> bool:
    """Whether ``field`` is a list of records whose items the allow-list reaches inside, with no
    transform on the items themselves: the case :meth:`_Generator._records` compiles."""
    items, item_node = field.items, node.items
    return (
        field.kind is FieldKind.LIST
        and items is not None
        and items.kind is FieldKind.RECORD
        and bool(items.fields)
        and not items.nullable
        and item_node is not None
        and not item_node.whole
        and item_node.items is None
        and (step is None or step.items is None or step.items.name is None)
    )


def _fixed_leaves(field: LayoutField, path: str) -> list[str] | None:
    """The leaf paths every value of ``field`` at ``path`` has, if they do not depend on the
    value (no null record, list or map on the way); else None."""
    if field.kind in _SINGLE:
        return [path]
    if field.kind is FieldKind.RECORD and not field.nullable:
        if not field.fields:
            return [path]
        found: list[str] = []
        for child in field.fields:
            leaves = _fixed_leaves(child, f"{path}.{child.name}")
            if leaves is None:
                return None
            found.extend(leaves)
        return found
    return None
