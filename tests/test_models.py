"""The types passed between stages: per-row types keep dataclass's constructor and stay frozen."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from importer.models import Course, CreateRequest, Outcome, PriorResult, Problem, SourceRow, Status
from importer.schema import RowCheck

EXAMPLES: list[tuple[type, dict[str, Any]]] = [
    (SourceRow, {"row_number": 2, "cells": ("a@x.edu", None)}),
    (Problem, {"row_number": 2, "column": "Topic", "value": None, "code": "missing-value", "message": "fill it"}),
    (Course, {"context_id": "ctx", "domain": "canvas.x.edu", "course_id": None}),
    (CreateRequest, {"row_number": 2, "user_id": "a@x.edu", "course": Course("ctx", "canvas.x.edu", "396"),
                     "meeting_info": {"topic": "T"}}),
    (PriorResult, {"status": "created"}),
    (Outcome, {"status": Status.VALID, "error_message": "done"}),
    (RowCheck, {"row": SourceRow(2, ()), "request": None, "problems": (), "prior": PriorResult()}),
]


@pytest.mark.parametrize(("cls", "values"), EXAMPLES, ids=[cls.__name__ for cls, _ in EXAMPLES])
def test_per_row_types_construct_as_dataclasses_do(cls: type, values: dict[str, Any]) -> None:
    fields = dataclasses.fields(cls)
    parameters = list(inspect.signature(cls).parameters.values())
    assert [(p.name, p.default) for p in parameters] == \
        [(f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default) for f in fields]

    by_keyword = cls(**values)
    complete = {f.name: values.get(f.name, f.default) for f in fields}
    by_position = cls(*complete.values())

    assert by_keyword == by_position
    if cls is not CreateRequest:  # its meetingInfo is a dict: unhashable, as always
        assert hash(by_keyword) == hash(by_position)
    assert dataclasses.asdict(by_keyword) == dataclasses.asdict(cls(**complete))
    assert repr(by_keyword).startswith(f"{cls.__name__}(")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_keyword, fields[0].name, None)
    with pytest.raises(TypeError):
        cls(*complete.values(), None)  # one argument too many
    if any(f.default is dataclasses.MISSING for f in fields):
        with pytest.raises(TypeError):
            cls()
