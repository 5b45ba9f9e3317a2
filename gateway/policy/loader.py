"""Load agreement files into a :class:`PolicySet`, reporting every problem at once.

Each problem names the file, the line where the YAML gives one, and the reason, so a compliance
officer can fix a whole directory in one pass. Nothing is loaded unless everything loads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import PolicyLoadError
from gateway.policy.model import Agreement, KeyProblems, PolicySet
from gateway.policy.prohibitions import EMPTY_GLOBAL_POLICY, GLOBAL_FILE_NAMES, GlobalPolicy

__all__ = ["POLICY_SUFFIXES", "directory_version", "load_policies", "read_policies"]

POLICY_SUFFIXES = (".yaml", ".yml")

_PLAIN_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key (not part of the agreement format)",
}


def load_policies(directory: Path) -> PolicySet:
    """Read every ``*.yaml``/``*.yml`` agreement in ``directory`` (not its subdirectories), and
    the global rules in ``global.yaml`` if there is one.

    The set's ``version`` is a content hash of the file names and bytes. Raises
    :class:`~gateway.errors.PolicyLoadError` listing every problem found.
    """
    policy_set, problems = read_policies(directory)
    if problems:
        raise PolicyLoadError(list(problems))
    assert policy_set is not None
    return policy_set


def read_policies(directory: Path) -> tuple[PolicySet | None, tuple[str, ...]]:
    """Like :func:`load_policies`, but return what did load beside every problem found.

    The set holds the agreements that loaded, so a caller can also check those further (compile
    them) and report every problem at once; it is None when the global rules did not load, as
    agreements cannot be judged without them. Use it for reports only: a set read with problems
    must never be put in force.
    """
    directory = Path(directory)
    files = _policy_files(directory)
    if not any(p.name not in GLOBAL_FILE_NAMES for p in files):
        return None, (f"{directory}: no agreement files (*.yaml, *.yml)",)

    problems: list[str] = []
    digest = hashlib.sha256()
    agreements: list[Agreement] = []
    sources: dict[str, str] = {}
    global_policy, global_source, global_ok = EMPTY_GLOBAL_POLICY, None, True
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path.name}: cannot be read ({exc.strerror or exc})")
            continue
        _hash_file(digest, path.name, data)
        if path.name in GLOBAL_FILE_NAMES:
            if global_source is not None:
                problems.append(f"{path.name}: global rules are already in {global_source}")
                continue
            global_source = path.name
            rules = _parse(path.name, data, problems, GlobalPolicy, _GLOBAL_TEXT)
            global_ok = rules is not None
            global_policy = rules if rules is not None else global_policy
            continue
        agreement = _parse(path.name, data, problems, Agreement, _AGREEMENT_TEXT)
        if agreement is None:
            continue
        if agreement.id in sources:
            problems.append(
                f"{path.name}: agreement id '{agreement.id}' is already used "
                f"by {sources[agreement.id]}"
            )
            continue
        sources[agreement.id] = path.name
        agreements.append(agreement)
    policy_set = PolicySet(
        version=digest.hexdigest()[:16],
        agreements=tuple(agreements),
        sources=MappingProxyType(sources),
        global_policy=global_policy,
        global_source=global_source,
    )
    return (policy_set if global_ok else None), tuple(problems)


def directory_version(directory: Path) -> str:
    """The version :func:`load_policies` would give ``directory`` now, without parsing it.

    Cheap enough to poll: it reads and hashes the files. Raises ``OSError`` if one cannot be read
    and :class:`~gateway.errors.PolicyLoadError` if ``directory`` is not a directory.
    """
    digest = hashlib.sha256()
    for path in _policy_files(Path(directory)):
        _hash_file(digest, path.name, path.read_bytes())
    return digest.hexdigest()[:16]


def _policy_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise PolicyLoadError([f"{directory}: not a directory of agreement files"])
    return sorted(
        (p for p in directory.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file()),
        key=lambda p: p.name,
    )


def _hash_file(digest: Any, name: str, data: bytes) -> None:
    for chunk in (name.encode(), data):  # length-prefixed, so no two file sets hash alike
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)


_Model = TypeVar("_Model", bound=BaseModel)
_AGREEMENT_TEXT = ("an agreement", "the agreement's keys (id, title, ...)")
_GLOBAL_TEXT = ("the global rules", "the global rules' keys (categories, prohibitions)")


def _parse(
    name: str, data: bytes, problems: list[str], model: type[_Model], expected: tuple[str, str]
) -> _Model | None:
    """One file's contents as ``model``, or None after appending its problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{name}: not UTF-8 text (bad byte at offset {exc.start})")
        return None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            problems.append(f"{name}: the file is empty; expected {expected[0]}")
            return None
        duplicates = [
            f"{name}:{key.start_mark.line + 1}: key '{key.value}' appears more than once"
            for key in _duplicate_keys(root)
        ]
        document = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        problems.append(_yaml_problem(name, exc))
        return None
    except yaml.YAMLError as exc:
        problems.append(f"{name}: not valid YAML ({exc})")
        return None
    finally:
        loader.dispose()

    problems.extend(duplicates)
    if not isinstance(document, dict):
        problems.append(
            f"{name}:{root.start_mark.line + 1}: expected {expected[1]}, "
            f"found {type(document).__name__}"
        )
        return None
    try:
        parsed = model.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            problems.extend(_validation_problems(name, root, error))
        return None
    return None if duplicates else parsed


def _yaml_problem(name: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{name}:{mark.line + 1}" if mark is not None else name
    detail = exc.problem or "invalid YAML"
    if exc.context:
        detail = f"{detail} ({exc.context})"
    return f"{where}: not valid YAML: {detail}"


def _duplicate_keys(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key
                seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _validation_problems(name: str, root: yaml.Node, error: ErrorDetails) -> Iterator[str]:
    loc = error["loc"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyProblems):  # cross-field checks: report each at its key's line
        for key, message in cause.items:
            yield _problem(name, root, (*loc, key), message)
        return
    message = _PLAIN_MESSAGES.get(error["type"], error["msg"]).removeprefix("Value error, ")
    yield _problem(name, root, loc, message)


def _problem(name: str, root: yaml.Node, loc: tuple[int | str, ...], message: str) -> str:
    line = _line_of(root, loc)
    where = _format_loc(loc)
    return f"{name}:{line}: {where}: {message}" if where else f"{name}:{line}: {message}"


def _line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node that ``loc`` reaches."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node = child
    mark: Any = node.start_mark
    return int(mark.line) + 1


def _format_loc(loc: tuple[int | str, ...]) -> str:
    """``('purposes', 0, 'id')`` as ``purposes[0].id``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _is_key(part):
            text += f".{part}" if text else part
    return text


def _is_key(part: str) -> bool:
    """Whether a location part is an agreement key rather than a validator's internal tag."""
    return part.replace("_", "").isalnum()
