"""Issue 14's property: for every event class of every service, each field marked personal is sealed
(no leaf of it stays plain), the sealed event still decodes into its typed contract (so consumers
read it), and opening it under the customer's key gives back exactly the event."""
from __future__ import annotations

import types
from datetime import datetime, timezone
from typing import Any, Literal, Union, get_args, get_origin

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from shared.contracts import dispatch, feedback, intake
from shared.events import DomainEvent
from shared.limits import SEALED_PREFIX
from shared.shredding.crypto import ERASED, PREFIX, is_sealed
from shared.shredding.fields import (
    customers_in,
    open_all,
    open_tokens,
    seal_paths,
    unsealed,
    value_at,
)

KEY = bytes(range(32))


def leaves(value: Any) -> list[Any]:
    """The scalars a JSON value holds, at any depth (itself, if it is one)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]
CLASSES = [c for r in (intake.registry, dispatch.registry, feedback.registry) for c in r.classes() if c.personal_fields()]
REGISTRY = {c: r for r in (intake.registry, dispatch.registry, feedback.registry) for c in r.classes()}
T0 = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)


def sample(annotation: Any) -> Any:
    """A plain valid value of `annotation` (the non-personal rest of an event)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return sample(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[0]
    if origin is list:
        return []
    if origin is dict:
        return {}
    if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        return sample(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {n: sample(f.annotation) for n, f in annotation.model_fields.items()}
    return {str: "x", int: 1, bool: True, datetime: T0.isoformat(), float: 1.0}.get(annotation, "x")


def put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for name in parents:
        data = data[name]
    data[leaf] = value


personal_text = st.text(min_size=1, max_size=40).filter(lambda t: not t.startswith(PREFIX))
changes = st.dictionaries(st.sampled_from(["title", "customer.email", "customer.phone"]),
                          st.fixed_dictionaries({"before": personal_text | st.none(), "after": personal_text}), max_size=3)


def test_every_service_has_personal_fields_marked():
    names = {c.__name__ for c in CLASSES}
    assert {"RequestReceived", "RequestUpdated", "ContactRecorded", "SurveyReturned", "FeedbackReceived",
            "ResolutionRejected", "JobReopened"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_each_personal_field_is_sealed_still_decodes_and_opens_to_the_same_event(cls: type[DomainEvent], data):
    event_data = {n: sample(f.annotation) for n, f in cls.model_fields.items()}
    for path in cls.personal_fields():
        value = data.draw(changes if path == "personal_changes" else personal_text, label=path)
        put(event_data, path, value)
    event = cls.model_validate(event_data)
    plain = event.model_dump(mode="json")
    customer = data.draw(st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s), label="customer")

    sealed = seal_paths(plain, cls.personal_fields(), customer, KEY)

    for path in cls.personal_fields():
        # An erased customer's field reads `[erased]` and is recorded so: nothing is left to seal.
        assert all(leaf in (None, ERASED) or is_sealed(leaf) for leaf in leaves(value_at(sealed, path))), path
    # What is left once every personal value is gone (names of fields, values not personal): a
    # drawn secret may happen to be in it ("request_", of "request_id"), and proves nothing there.
    rest = orjson.dumps(open_all(sealed, {})[0])
    for secret in (leaf for path in cls.personal_fields() for leaf in leaves(value_at(plain, path))):
        if isinstance(secret, str) and len(secret) >= 8 and secret.encode() not in rest:
            assert secret.encode() not in orjson.dumps(sealed)
    ce_type = REGISTRY[cls].type_of_class(cls)
    assert isinstance(REGISTRY[cls].decode(ce_type, sealed), cls)  # a consumer reads it, sealed as it is
    assert customers_in(sealed) <= {customer}
    assert open_all(sealed, {customer: KEY})[0] == plain
    erased = open_all(sealed, {})[0]
    for path in cls.personal_fields():
        assert all(leaf in (None, ERASED) for leaf in leaves(value_at(erased, path))), path


def test_sealing_leaves_the_event_it_was_given_unchanged():
    plain = {"request_id": "r1", "customer": {"id": "c1", "name": "Ada", "phone": None}}
    copy = orjson.loads(orjson.dumps(plain))
    sealed = seal_paths(plain, ["customer.name", "customer.phone"], "c1", KEY)
    assert plain == copy and is_sealed(sealed["customer"]["name"]) and sealed["customer"]["phone"] is None


def test_values_sealed_at_kept_paths_are_kept_opened_by_their_new_tokens_only():
    # Intake keeps each new title opened as it seals it (compared at the customer's next request);
    # a token passed on from another event, and a field not kept, are not put there.
    passed_on = seal_paths({"title": "older"}, ["title"], "c1", KEY)["title"]
    opened: dict[str, tuple[str, str, object]] = {}
    first = seal_paths({"title": "Printer jams", "description": "every page", "customer": {"name": "Ada"}},
                       ["title", "description", "customer.name"], "c1", KEY, frozenset({"title", "customer.name"}),
                       opened)
    again = seal_paths({"title": passed_on}, ["title"], "c1", KEY, frozenset({"title"}), opened)
    assert opened == {first["title"]: ("c1", "title", "Printer jams"),
                      first["customer"]["name"]: ("c1", "customer.name", "Ada")}
    assert again == {"title": passed_on}


@pytest.mark.parametrize("cached", ["all", "some", "none"])
def test_a_customers_tokens_open_alike_whether_opened_before_or_not(cached: str):
    opened: dict[str, tuple[str, str, object]] = {}
    texts = [f"request {i}" for i in range(6)]
    tokens = [seal_paths({"title": t}, ["title"], "c1", KEY, frozenset({"title"}), opened)["title"] for t in texts]
    if cached == "some":
        for token in tokens[::2]:
            del opened[token]
    elif cached == "none":
        opened.clear()
    values = [*tokens, None, "plain"]

    assert open_tokens(values, {"c1": KEY}, opened) == {**dict(zip(tokens, texts, strict=True)), None: None, "plain": "plain"}
    # Once the customer is erased, what this process opened before is not shown again.
    assert open_tokens(values, {"c1": None}, opened) == {**dict.fromkeys(tokens, ERASED), None: None, "plain": "plain"}
    assert open_tokens(tokens, {}, opened) == dict.fromkeys(tokens, ERASED)


def test_what_is_sealed_already_or_erased_needs_no_key_and_stays_as_it_is():
    # An event passing on another's token (a rejection's reason, reopening the request), or an
    # erased customer's field, is recorded with no key: an erased customer has none.
    token = seal_paths({"reason": "still broken"}, ["reason"], "c1", KEY)["reason"]
    passed_on = {"request_id": "r1", "reason": token, "note": None}
    assert unsealed(passed_on, ["reason", "note"]).places == []
    assert unsealed({"text": ERASED}, ["text"]).places == []
    changes = unsealed({"changes": {"title": {"before": ERASED, "after": "new"}}}, ["changes"])
    assert [(path, value) for _, _, path, value in changes.places] == [("changes.title.after", "new")]
    assert seal_paths(passed_on, ["reason"], "c1", KEY) == passed_on
    assert seal_paths({"text": ERASED}, ["text"], "c1", KEY) == {"text": ERASED}


def test_the_api_refuses_what_has_the_form_of_a_sealed_value():
    from pydantic import TypeAdapter, ValidationError

    from shared.limits import Text

    assert SEALED_PREFIX == PREFIX
    with pytest.raises(ValidationError, match="form of a sealed value"):
        TypeAdapter(Text).validate_python("  enc:v1:Y3VzdA.dGl0bGU.AAAA")
    assert TypeAdapter(Text).validate_python("my enc:v1: note") == "my enc:v1: note"
