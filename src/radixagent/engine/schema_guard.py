"""JSON schemas from outside are data: checked for size and shape before anything uses them.

A schema a client sends (a tool's parameters, a `response_format`) reaches the grammar
compiler, `bounded_schema` and jsonschema's validators, all of which walk it recursively and
follow its `$ref`s. So before any of them sees it, `check_schema`:

- walks it without recursion and refuses one nested deeper than `max_depth`;
- refuses a `$ref` that is not a pointer into the schema itself (`#/...`): a remote or
  relative reference is never fetched, and `$dynamicRef`/`$recursiveRef` are refused;
- refuses a reference that points nowhere, and any cycle of references (a recursive or
  self-referencing schema): the grammar of a recursive schema has no bound, and expanding
  one never ends;
- counts the schema's objects and arrays with every reference expanded, and refuses more
  than `max_nodes` (so `$defs` that each use the one before twice cannot grow to millions).

Each refusal is a `ConstraintError` naming the place (`param`) and the limit; the server
answers it with a 400 on every engine kind.

`safe_validator` builds a jsonschema validator whose registry has no retrieval: a reference
it cannot resolve within the schema fails, it never becomes a request to a URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
from referencing import Registry

from radixagent.errors import ConstraintError

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_NODES = 4096


@dataclass(frozen=True)
class SchemaLimits:
    max_depth: int = DEFAULT_MAX_DEPTH
    """How deeply objects and arrays may nest (the schema's own root is depth 1)."""
    max_nodes: int = DEFAULT_MAX_NODES
    """Objects and arrays in the schema, with every `$ref` expanded where it is used."""


_REFUSED_KEYWORDS = ("$dynamicRef", "$recursiveRef")


def _refuse(message: str, param: str) -> ConstraintError:
    error = ConstraintError(message)
    error.param = param
    return error


def _walk(node: Any, limits: SchemaLimits, param: str) -> Iterator[tuple[str, Any, int]]:
    """Every object and array under `node` with its JSON pointer and depth, iteratively;
    raises for nesting past the limit."""
    stack: list[tuple[str, Any, int]] = [("", node, 1)]
    while stack:
        pointer, value, depth = stack.pop()
        if depth > limits.max_depth:
            raise _refuse(
                f"The JSON schema at {param} nests deeper than {limits.max_depth} levels of objects and arrays "
                f"(at #{pointer[:60]}{'...' if len(pointer) > 60 else ''}): "
                "flatten it (use $defs for shared parts).",
                param,
            )
        yield pointer, value, depth
        if isinstance(value, dict):
            items: Iterator[tuple[str, Any]] = ((str(k), v) for k, v in value.items())
        else:
            items = ((str(i), v) for i, v in enumerate(value))
        for key, child in items:
            if isinstance(child, dict | list):
                stack.append((f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}", child, depth + 1))


def _resolve(schema: Any, ref: str, param: str) -> tuple[str, Any]:
    """The pointer and value a local `$ref` names; raises for one that names nothing."""
    from urllib.parse import unquote

    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        raise _refuse(
            f"The JSON schema at {param} refers to {ref!r}, an anchor: refer to a place with a JSON pointer ('#/$defs/name').",
            param,
        )
    value: Any = schema
    for token in pointer.split("/")[1:] if pointer else []:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise _refuse(f"The JSON schema at {param} refers to {ref!r}, which is not in the schema: fix the reference.", param)
    return pointer, value


def check_schema(schema: Any, *, param: str = "schema", limits: SchemaLimits | None = None) -> None:
    """Refuse (`ConstraintError`, with `param`) a schema too deep, too large, recursive, or
    referring anywhere outside itself. See the module docstring."""
    limits = limits or SchemaLimits()
    if not isinstance(schema, dict | list):
        return
    refs: dict[str, str] = {}  # pointer of the object holding a $ref -> its target pointer
    for count, (pointer, value, _) in enumerate(_walk(schema, limits, param), 1):
        if count > limits.max_nodes:
            raise _too_large(param, limits)
        if not isinstance(value, dict):
            continue
        for keyword in _REFUSED_KEYWORDS:
            if keyword in value:
                raise _refuse(f"The JSON schema at {param} uses {keyword}: recursive schemas are not accepted.", param)
        ref = value.get("$ref")
        if ref is None or isinstance(ref, dict):  # a property named "$ref" holds a schema, not a reference
            continue
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _refuse(
                f"The JSON schema at {param} refers to {ref!r}: only references within the schema ('#/$defs/name') "
                "are accepted; remote ones are never fetched. Put the referred schema under $defs.",
                param,
            )
        refs[pointer] = _resolve(schema, ref, param)[0]
    if not refs:
        return
    # A reference depends on every reference inside the part it names (that part itself
    # included). A cycle among those is a recursive schema; without one, the expanded sizes
    # follow in dependency order.
    inside = {t: [p for p in refs if t == "" or p == t or p.startswith(t + "/")] for t in set(refs.values())}
    state: dict[str, int] = {}  # 1: being expanded, 2: done
    expanded: dict[str, int] = {}
    for start in refs:
        if start in state:
            continue
        state[start] = 1
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(inside[refs[start]]))]
        while stack:
            current, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                stack.pop()
                state[current] = 2
                expanded[current] = _expanded_size(schema, refs[current], refs, expanded, limits, param)
                continue
            if state.get(nxt) == 1:
                raise _refuse(
                    f"The JSON schema at {param} is recursive (#{nxt} refers to a part that refers back to it): "
                    "recursive schemas are not accepted; give the nesting a fixed depth.",
                    param,
                )
            if nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(inside[refs[nxt]])))
    _expanded_size(schema, "", refs, expanded, limits, param)


def _too_large(param: str, limits: SchemaLimits) -> ConstraintError:
    return _refuse(
        f"The JSON schema at {param} is too large: more than {limits.max_nodes} objects and arrays with its references "
        "expanded. Send a smaller schema.",
        param,
    )


def _expanded_size(
    schema: Any, root: str, refs: dict[str, str], expanded: dict[str, int], limits: SchemaLimits, param: str
) -> int:
    """Objects and arrays under the pointer `root`, each `$ref` adding the expanded size of
    what it names; raises past the limit."""
    node = _resolve(schema, "#" + root, param)[1] if root else schema
    count = 0
    stack: list[tuple[str, Any]] = [(root, node)]
    while stack:
        pointer, value = stack.pop()
        count += 1 + (expanded[pointer] if pointer in refs else 0)
        if count > limits.max_nodes:
            raise _too_large(param, limits)
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            if isinstance(child, dict | list):
                stack.append((f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}", child))
    return count


def safe_validator(schema: dict[str, Any], *, param: str = "schema") -> jsonschema.protocols.Validator:
    """A validator for `schema` (its draft, or 2020-12) that never retrieves a reference: the
    registry is empty and has no retrieval, so a `$ref` outside the schema fails to resolve.
    Raises ConstraintError for a schema that is not valid JSON Schema.

    Checking a schema against its metaschema costs far more than validating a value with it
    (milliseconds), and the same schemas come back on every turn, so validators are kept per
    schema text: each is built over its own copy, which no caller can change afterwards."""
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _refuse(f"The JSON schema at {param} is not serialisable as JSON: {exc}", param) from None
    try:
        return _validator(text)
    except jsonschema.SchemaError as exc:
        raise _refuse(f"The JSON schema at {param} is not valid: {exc.message}. Fix it and try again.", param) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise _refuse(f"The JSON schema at {param} is not usable: {exc}", param) from None


@lru_cache(maxsize=1024)
def _validator(text: str) -> jsonschema.protocols.Validator:
    """The checked validator of one schema text (a failed check raises and is not kept)."""
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, registry=Registry())
    return validator
