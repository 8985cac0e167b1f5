"""The hostile corpus (issue 13): what attackers and broken clients send, built for any operation
of a service's OpenAPI, so a route added tomorrow is attacked by the same suite without a line
more. `valid_body` makes a body the schema accepts, so one hostile value at a time gets past the
rest of validation and reaches as deep as it can (handlers, the event store, read models).
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

# Values put in one query parameter (as sent on the wire: percent-escapes stay escaped).
QUERY_VALUES = [
    "%00", "a%00b", "%FF", "%ED%A0%80",  # NUL, a byte that is not UTF-8, a UTF-8-encoded surrogate
    "99999999999999999999", "-99999999999999999999", "1e308", "NaN", "-1", "0",
    "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00%2B23:59",
    "2026-03-02T10:00:00",  # no time zone
    base64.urlsafe_b64encode(b"9999-12-31T23:59:59-23:59|x").decode(),  # forged cursors
    base64.urlsafe_b64encode(b"2026-03-02T10:00:00+00:00|\x00").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(), "!!!not-base64", "x" * 5000,
]
# Values put in one path parameter (escaped as above).
PATH_VALUES = ["%00", "a%00b", "%FF", "%ED%A0%80", "x" * 5000, "..%2F..%2Fetc", "99999999999999999999"]
# Values put in one field of a valid JSON body.
BODY_VALUES: list[Any] = [
    None, "a\x00b", "\ud800", "", " ", "x" * 20_000, 10**20, -(10**20), 1e308, -1, 0, True, [], {}, [None],
    {"a": None}, "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-03-02T10:00:00", "9999-12-31",
]
# Whole bodies no JSON parser should take, and JSON no schema here takes.
RAW_BODIES = [b'{"title": "\xff\xfe"}', b"\xff" * 64, b'{"a": ', b"[]", b"null", b"0", b'"x"',
              b"[" * 5_000 + b"]" * 5_000, b'{"a": "\\ud800"}', b'{"a": 1e999999}',
              # The stall: ~15 MB of JSON took a service's event loop for seconds.
              b'{"title": "x", "a": [' + b"0," * 7_500_000 + b'0]}']
# Request headers everybody sends to every route, bad as they come (raw bytes as on the wire).
HEADERS = [(b"x-correlation-id", b"\xff\xfe"), (b"x-correlation-id", b"x" * 10_000),
           (b"idempotency-key", b"\xff\xfe"), (b"idempotency-key", b"k" * 10_000),
           (b"content-type", b"application/json; charset=\xff")]

# Known patterns of the services' schemas and a value each accepts.
PATTERN_EXAMPLES = {
    r"^\+?[0-9][0-9 ()\-]{5,30}$": "+44 20 7946 0000",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "ada@example.com",
}


@dataclass
class Operation:
    method: str
    path: str  # the template, e.g. /v1/requests/{request_id}
    spec: dict[str, Any]
    components: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def params(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        return resolve(schema, self.components) if schema else None

    def url(self, ids: dict[str, str], **path_values: str) -> str:
        url = self.path
        for p in self.params:
            if p["in"] == "path":
                value = path_values.get(p["name"]) or ids.get(p["name"]) or str(uuid.uuid4())
                url = url.replace("{" + p["name"] + "}", value)
        return url


def operations(openapi: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in openapi["paths"].items():
        for method, spec in methods.items():
            yield Operation(method.upper(), path, spec, openapi.get("components", {}))


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def valid_body(schema: dict[str, Any], components: dict[str, Any], ids: dict[str, str], name: str = "") -> Any:
    """A value the schema accepts: required properties only, the smallest that passes."""
    schema = resolve(schema, components)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if resolve(o, components).get("type") != "null"]
            return valid_body(options[0], components, ids, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        return {k: valid_body(v, components, ids, k) for k, v in schema.get("properties", {}).items() if k in required}
    if kind == "array":
        return [valid_body(schema.get("items", {}), components, ids, name)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2026-03-02T10:00:00+00:00"
    if schema.get("format") == "date":
        return "2026-03-02"
    if "pattern" in schema:
        return PATTERN_EXAMPLES.get(schema["pattern"], "x")
    return ids.get(name) or "x" * max(1, int(schema.get("minLength", 1)))


def body_fields(schema: dict[str, Any], components: dict[str, Any],
                ids: dict[str, str]) -> list[tuple[tuple[str, ...], Any]]:
    """Every property of the schema (optional ones too) one level of nesting deep, each with a
    valid value of the object it sits in (so only the hostile value is wrong)."""
    paths: list[tuple[tuple[str, ...], Any]] = []
    for name, sub in resolve(schema, components).get("properties", {}).items():
        paths.append(((name,), None))
        sub = resolve(sub, components)
        for option in sub.get("anyOf", [sub]):
            option = resolve(option, components)
            for inner in option.get("properties", {}):
                paths.append(((name, inner), valid_body(option, components, ids)))
    return paths


def with_value(body: dict[str, Any], path: tuple[str, ...], value: Any, inner: Any) -> dict[str, Any]:
    changed = dict(body)
    if len(path) == 1:
        changed[path[0]] = value
    else:
        changed[path[0]] = {**(inner or {}), path[1]: value}
    return changed
