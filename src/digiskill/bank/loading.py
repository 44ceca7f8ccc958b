"""The one loader of JSON/YAML model files: read, parse and validate, or raise an :class:`InputError` that says where.

Every model file the command line reads (parameter sets, cut scores, job profiles, CAT configurations, issuer
profiles, …) goes through :func:`load_model_file`. Whatever is wrong with the file becomes an
:class:`~digiskill.errors.InputError` naming the file and, where it can, the line and the field:

* it cannot be read (missing, a folder, no permission), is larger than :data:`MAX_FILE_BYTES`, or is not UTF-8
  (the message says how to save it as UTF-8);
* it is not valid JSON or YAML (with the line), nests deeper than :data:`MAX_DEPTH`, repeats a key in one mapping
  (JSON and YAML parsers silently keep the last value), uses ``NaN``/``Infinity`` (not JSON), or uses YAML anchors
  and aliases (refused: an alias "bomb" of a few lines expands to gigabytes when validated);
* it does not validate against the model (one problem per field, with the line for YAML and JSON and the item id
  for items).

:func:`parse_yaml` is also the parser of the bank content files (:mod:`digiskill.bank.content`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError, Problem

if TYPE_CHECKING:  # PyYAML is imported where YAML is read: `digiskill cat next` with a JSON config never needs it
    import yaml

MAX_FILE_BYTES = 64 * 2**20
"""Largest model or content file read (64 MiB; the default bank's largest file is well under 1 MiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted in a model or content file."""

_M = TypeVar("_M", bound=BaseModel)


def read_text_file(path: str | Path, what: str = "file", *, max_bytes: int | None = None) -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped); at most ``max_bytes`` (default
    :data:`MAX_FILE_BYTES`).

    Raises:
        InputError: the file cannot be read, is a folder, is larger than ``max_bytes``, or is not UTF-8.
    """
    path = Path(path)
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except IsADirectoryError as err:
        raise InputError(Problem(f"cannot read {what}: it is a folder, not a file", str(path))) from err
    except OSError as err:
        raise InputError(Problem(f"cannot read {what}: {err.strerror or err}", str(path))) from err
    if len(data) > max_bytes:
        raise InputError(Problem(f"{what} is larger than {max_bytes:,} bytes; refused", str(path)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            Problem(
                f"{what} is not UTF-8 text (byte 0x{data[err.start]:02x} at byte {err.start}); save it as UTF-8 "
                "(in Excel or Notepad: 'Save as' with the encoding 'UTF-8')",
                str(path),
                line,
            )
        ) from err
    if "\x00" in text:
        raise InputError(Problem(f"{what} is binary, not text (it contains NUL bytes)", str(path)))
    return text.removeprefix("\ufeff")


# ---------------------------------------------------------------------------------------------------- YAML


def parse_yaml(text: str, path: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document: its data and its node tree (for line numbers).

    Raises:
        InputError: a syntax error (with the line), an alias of an anchor (refused, with the line of the anchor),
            nesting deeper than :data:`MAX_DEPTH`, or a document that cannot be constructed.
    """
    import yaml

    # libyaml when PyYAML was built with it (7× faster); both keep the node marks the line numbers come from
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_tree(node, path, text)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = " ".join(str(p) for p in (err.context, err.problem) if p)
        raise InputError(Problem(f"not valid YAML: {what}", path, mark.line + 1 if mark else None)) from err
    except yaml.YAMLError as err:
        raise InputError(Problem(f"not valid YAML: {err}", path)) from err
    except RecursionError as err:  # the pure-Python composer on deep input
        raise InputError(Problem(f"nested deeper than {MAX_DEPTH} levels; refused", path)) from err
    finally:
        loader.dispose()
    return data, node


def _check_tree(root: yaml.Node, path: str | None, text: str) -> None:
    """Refuse aliases (a node reached twice) and nesting deeper than :data:`MAX_DEPTH`, without recursion."""
    import yaml

    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise InputError(
                Problem(
                    "YAML anchors and aliases (&name, *name, <<: *name) are not allowed; write the values out "
                    f"(the anchor is at line {node.start_mark.line + 1})",
                    path,
                    _first_alias_line(text, node),
                )
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise InputError(Problem(f"nested deeper than {MAX_DEPTH} levels; refused", path, node.start_mark.line + 1))
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _first_alias_line(text: str, anchored: yaml.Node) -> int:
    """The line of the first alias after the anchored node (an alias node carries only the anchor's position)."""
    after = anchored.end_mark.index
    match = _ALIAS.search(text, after)
    if match is None:
        return anchored.start_mark.line + 1
    return text.count("\n", 0, match.start()) + 1


_ALIAS = re.compile(r"(?<![\w&*])\*[^\s,\[\]{}]+")


def node_lines(root: yaml.Node | None) -> tuple[dict[tuple[str | int, ...], int], list[tuple[tuple, int]]]:
    """The line of every mapping key and list element (by location), and the keys repeated in one mapping."""
    import yaml

    lines: dict[tuple[str | int, ...], int] = {}
    duplicates: list[tuple[tuple, int]] = []
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [] if root is None else [(root, ())]
    while stack:
        node, loc = stack.pop()
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
                line = key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append(((*loc, key), line))
                seen.add(key)
                lines[(*loc, key)] = line
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*loc, n)) for n, child in enumerate(node.value))
    return lines, duplicates


# ---------------------------------------------------------------------------------------------------- JSON


class _DuplicateKey(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a finite number")


def parse_json(text: str, path: str | None = None) -> Any:
    """Parse a JSON document: no repeated keys, no ``NaN``/``Infinity``, at most :data:`MAX_DEPTH` levels deep.

    Raises:
        InputError: with the line where the parser stopped.
    """
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        raise InputError(Problem(f"nested deeper than {MAX_DEPTH} levels; refused", path))
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise InputError(Problem(f"not valid JSON: {err.msg} (column {err.colno})", path, err.lineno)) from err
    except _DuplicateKey as err:
        raise InputError(
            Problem(f"key {err.args[0]!r} appears twice in one object (JSON keeps only the last)", path)
        ) from None
    except ValueError as err:  # NaN / Infinity
        raise InputError(Problem(f"not valid JSON: {err}", path)) from err
    except RecursionError as err:
        raise InputError(Problem(f"nested deeper than {MAX_DEPTH} levels; refused", path)) from err


_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (a cheap scan before the recursive parser)."""
    depth = deepest = 0
    for token in _BRACKETS.finditer(text):
        t = token.group()
        if t in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        elif t in "]}":
            depth -= 1
    return deepest


# ---------------------------------------------------------------------------------------------------- models


def validation_problems(
    err: ValidationError,
    raw: Any,
    path: str | None,
    lines: dict[tuple[str | int, ...], int] | None = None,
    *,
    drop: Callable[[tuple], tuple] | None = None,
) -> list[Problem]:
    """One :class:`Problem` per validation error: the field path, the message, the line (when known), the item id
    (for a location below ``items[n]``). ``drop`` removes union tags from a location."""
    problems = []
    for e in err.errors():
        loc = drop(e["loc"]) if drop is not None else tuple(e["loc"])
        if loc == () and e["type"] in ("model_type", "dict_type"):
            got = "an empty file" if raw is None else f"a {type(raw).__name__}"
            problems.append(Problem(f"expected a JSON/YAML object (mapping); got {got}", path, 1))
            continue
        item_id = None
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and isinstance(raw, dict):
            try:
                value = raw["items"][loc[1]].get("id")
                item_id = None if value is None else str(value)
            except (KeyError, IndexError, TypeError, AttributeError):
                item_id = None
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] in ("literal_error", "int_parsing", "int_type", "float_parsing", "float_type", "bool_type"):
            message += f" (got {_short(e.get('input'))})"
        label = ".".join(str(p) for p in loc)
        problems.append(Problem(f"{label}: {message}" if label else message, path, _line(lines, loc), item_id=item_id))
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line(lines: dict[tuple[str | int, ...], int] | None, loc: tuple) -> int | None:
    """The line of ``loc`` or of its deepest enclosing element in the file; parts of ``loc`` that are not in the
    file (union tags that pydantic adds) are skipped."""
    if not lines:
        return None
    found: tuple[str | int, ...] = ()
    for part in loc:
        if (*found, part) in lines:
            found = (*found, part)
    return lines.get(found)


def _json_lines(text: str) -> dict[tuple[str | int, ...], int] | None:
    """Line numbers of a JSON document's keys, read with the YAML parser (JSON is YAML); ``None`` if it cannot."""
    try:
        _, node = parse_yaml(text)
    except InputError:
        return None
    return node_lines(node)[0]


def _is_yaml(path: Path, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "yaml"
    return path.suffix.lower() in (".yaml", ".yml")


def load_model_file(
    path: str | Path,
    model: type[_M],
    *,
    what: str = "file",
    fmt: str | None = None,
    error: type[InputError] = InputError,
    drop: Callable[[tuple], tuple] | None = None,
) -> _M:
    """Read, parse and validate one JSON or YAML model file (YAML for ``.yaml``/``.yml``, else JSON; ``fmt``
    overrides).

    Args:
        path: the file.
        model: the pydantic model of the whole file.
        what: what the file is, in plain words, for the messages ("parameter set", "job profiles").
        fmt: ``"json"`` or ``"yaml"``; default from the suffix.
        error: the :class:`InputError` subclass to raise.
        drop: removes union tags from validation locations (see :func:`validation_problems`).

    Raises:
        InputError: (of class ``error``) every problem, each naming the file and, where known, line, field, item.
    """
    path = Path(path)
    where = str(path)
    try:
        text = read_text_file(path, what)
        if _is_yaml(path, fmt):
            raw, node = parse_yaml(text, where)
            lines, duplicates = node_lines(node)
            if duplicates:
                raise InputError(
                    [
                        Problem(f"key {loc[-1]!r} appears twice in one mapping (YAML keeps only the last)", where, ln)
                        for loc, ln in duplicates
                    ]
                )
        else:
            raw, lines = parse_json(text, where), None
        try:
            return model.model_validate(raw)
        except ValidationError as err:
            if lines is None:
                lines = _json_lines(text)
            raise InputError(validation_problems(err, raw, where, lines, drop=drop)) from err
        except RecursionError as err:
            raise InputError(Problem(f"nested too deeply to validate as a {what}", where)) from err
    except InputError as err:
        if isinstance(err, error):
            raise
        raise error(err.problems) from err
