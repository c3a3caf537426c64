"""What each HTTP answer (or failure) means for the meeting: importer.client's classification.

The rule (DESIGN.md "Retries"): retry only what cannot have reached the server (connect
failure, 429, 503); anything after the request may have been received is `unknown`.
"""

from __future__ import annotations

import asyncio
import json
from calendar import timegm
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from importer.client import Answer, LtiClient, classify, parse_retry_after
from importer.signing import base_string, sign

BASE = "http://127.0.0.1:9/api/v1/lti/rich"
KEY = "KLAIJC9OTI2Hm-vxn3UVHK"
SECRET = "s3cr3t-LTI"
#: 2026-09-01 23:00:00 UTC: one hour before the daily limit's reset.
NOW = float(timegm((2026, 9, 1, 23, 0, 0)))
BODY = {"userId": "host@x.edu", "contextId": "ctx", "domain": "canvas.x.edu",
        "meetingInfo": {"topic": "T", "type": 2, "start_time": "2027-09-01T10:00:00", "duration": 50}}


def create(handler: Callable[[httpx.Request], httpx.Response], *, clock: Callable[[], float] = lambda: NOW,
           calendar_user: str | None = None) -> tuple[Answer, list[httpx.Request]]:
    """One createAndAssociate through a mock transport; the answer and the requests sent."""
    sent: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    async def go() -> Answer:
        async with LtiClient(BASE, KEY, SECRET, calendar_user=calendar_user, clock=clock,
                             transport=httpx.MockTransport(recording)) as client:
            return await client.create_and_associate(BODY)

    return asyncio.run(go()), sent


def answer_to(status: int, body: Any = None, *, headers: dict[str, str] | None = None,
              content: bytes | None = None) -> Answer:
    def handler(_request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        return httpx.Response(status, json=body, headers=headers)
    return create(handler)[0]


def raising(exc: Exception) -> Answer:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc
    return create(handler)[0]


# -- status:true / status:false -------------------------------------------------------------

def test_created_is_ok_with_the_id_as_text() -> None:
    answer = answer_to(200, {"status": True, "result": {"id": "91978833358"}})
    assert (answer.kind, answer.meeting_id, answer.http_status) == ("ok", "91978833358", 200)


def test_a_numeric_json_id_is_kept_as_text_never_a_float() -> None:
    answer = answer_to(200, {"status": True, "result": {"id": 91978833358}})
    assert answer.kind == "ok"
    assert answer.meeting_id == "91978833358"
    assert answer_to(200, {"status": True, "result": {"id": 91978833358.0}}).meeting_id == "91978833358"


def test_406_is_refused_but_keeps_the_meeting_id() -> None:
    body = {"status": False, "errorCode": "406",
            "errorMessage": "create meeting success but associate failed:The Meeting ID...",
            "result": {"id": 91978833358}}
    answer = answer_to(200, body)
    assert (answer.kind, answer.error_code, answer.meeting_id) == ("refused", "406", "91978833358")
    assert answer.error_message.startswith("create meeting success but associate failed")
    # The same when the server also says 406 in the HTTP status.
    assert answer_to(406, body) == Answer("refused", "91978833358", "406", body["errorMessage"], None, 406)


def test_1001_is_refused_without_an_id() -> None:
    answer = answer_to(200, {"status": False, "errorCode": 1001, "errorMessage": "User does not exist: x."})
    assert (answer.kind, answer.error_code, answer.meeting_id) == ("refused", "1001", None)
    assert answer.error_message == "User does not exist: x."


# -- retry: nothing can have been created --------------------------------------------------

@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0),
    (formatdate(NOW + 90, usegmt=True), 90.0),  # an HTTP date
    ("2026-09-02T00:00:00Z", 3600.0),  # the daily limit: next 00:00 UTC
    (None, None),  # missing: the pool backs off on its own
])
def test_429_is_retried_with_its_retry_after(header: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": header} if header is not None else None
    answer = answer_to(429, {"code": 429, "message": "Too many requests."}, headers=headers)
    assert answer.kind == "retry"
    assert answer.error_code == "429"
    assert answer.retry_after == seconds


def test_retry_after_is_measured_from_the_given_clock() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(formatdate(NOW + 30, usegmt=True), NOW) == 30.0
    assert parse_retry_after("2026-09-02T00:00:00Z", NOW) == 3600.0
    assert parse_retry_after("2026-09-02T00:00:00+00:00", NOW) == 3600.0
    assert parse_retry_after("2026-09-02T00:00:00Z", NOW + 3600) == 0.0  # already past: no wait
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("inf", NOW) is None  # unreadable, not "wait forever"
    assert parse_retry_after("-5", NOW) == 0.0


def test_classify_uses_its_clock_for_a_dated_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "2026-09-02T00:00:00Z"},
                              request=httpx.Request("POST", BASE))
    assert classify(response, clock=lambda: NOW + 1800).retry_after == 1800.0


def test_503_is_retried() -> None:
    answer = answer_to(503, {"code": 503, "message": "Service temporarily unavailable"})
    assert (answer.kind, answer.error_code, answer.http_status) == ("retry", "503", 503)
    assert answer_to(503, content=b"<html>down</html>", headers={"Retry-After": "2"}).retry_after == 2.0


def test_a_connect_error_is_retried() -> None:
    answer = raising(httpx.ConnectError("connection refused"))
    assert (answer.kind, answer.error_code) == ("retry", "connect")
    assert "connection refused" in answer.error_message
    assert raising(httpx.ConnectTimeout("connect timed out")).kind == "retry"


# -- unknown: the request may have reached the server -------------------------------------

@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_after_sending_is_unknown(status: int) -> None:
    answer = answer_to(status, {"code": status, "message": "oops"})
    assert (answer.kind, answer.error_code, answer.http_status) == ("unknown", str(status), status)
    assert answer.meeting_id is None
    assert f"HTTP {status}" in answer.error_message


def test_200_that_is_not_json_is_unknown() -> None:
    answer = answer_to(200, content=b"<html>Gateway says hi</html>")
    assert (answer.kind, answer.error_code) == ("unknown", "unreadable")
    assert answer_to(200, content=b"\xff\xfe\x00garbage").kind == "unknown"


def test_200_json_without_status_is_unknown() -> None:
    assert answer_to(200, {"result": {"id": "91978833358"}}).kind == "unknown"
    assert answer_to(200, ["status", True]).kind == "unknown"
    assert answer_to(200, content=b"").kind == "unknown"


def test_a_read_timeout_is_unknown() -> None:
    answer = raising(httpx.ReadTimeout("timed out"))
    assert (answer.kind, answer.error_code) == ("unknown", "timeout")
    assert "ReadTimeout" in answer.error_message


def test_a_dropped_connection_is_unknown() -> None:
    answer = raising(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))
    assert (answer.kind, answer.error_code) == ("unknown", "connection-lost")
    assert raising(httpx.ReadError("connection reset by peer")).kind == "unknown"


# -- signing: every attempt afresh ---------------------------------------------------------

def ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": True, "result": {"id": "1"}})


def test_query_is_exactly_key_and_timestamp_and_the_signature_matches() -> None:
    _, sent = create(ok)
    request = sent[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/lti/rich/meeting/createAndAssociate"
    assert list(request.url.params.keys()) == ["key", "timestamp"]
    assert request.url.params["key"] == KEY
    assert request.url.params["timestamp"] == str(int(NOW * 1000))
    assert request.headers["X-Lti-Signature"] == sign(SECRET, base_string(KEY, str(int(NOW * 1000))))
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == BODY


def test_calendar_user_is_in_the_query_and_the_signature() -> None:
    _, sent = create(ok, calendar_user="12dd589465Z=")
    params = sent[0].url.params
    assert list(params.keys()) == ["key", "timestamp", "userId"]
    assert params["userId"] == "12dd589465Z="
    assert sent[0].headers["X-Lti-Signature"] == sign(
        SECRET, base_string(KEY, params["timestamp"], "12dd589465Z="))


def test_every_call_is_signed_afresh_with_the_clock() -> None:
    now = [NOW]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return ok(request)

    async def go() -> None:
        async with LtiClient(BASE, KEY, SECRET, clock=lambda: now[0],
                             transport=httpx.MockTransport(handler)) as client:
            await client.create_and_associate(BODY)
            now[0] += 25 * 60  # 25 minutes later
            await client.create_and_associate(BODY)

    asyncio.run(go())
    stamps = [r.url.params["timestamp"] for r in sent]
    assert stamps == [str(int(NOW * 1000)), str(int((NOW + 1500) * 1000))]
    for request, stamp in zip(sent, stamps, strict=True):
        assert request.headers["X-Lti-Signature"] == sign(SECRET, base_string(KEY, stamp))
    assert sent[0].headers["X-Lti-Signature"] != sent[1].headers["X-Lti-Signature"]


def test_pytest_httpx_sees_the_same_classification(httpx_mock: Any) -> None:
    """The same rules through pytest-httpx's transport: a 429, then a 500 after sending, then ok."""
    url = httpx.URL(BASE + "/meeting/createAndAssociate")
    httpx_mock.add_response(method="POST", status_code=429, headers={"Retry-After": "3"},
                            url=url.copy_with(params={"key": KEY, "timestamp": str(int(NOW * 1000))}))
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), method="POST")
    httpx_mock.add_response(method="POST", json={"status": True, "result": {"id": 5}})

    async def go() -> list[Answer]:
        async with LtiClient(BASE, KEY, SECRET, clock=lambda: NOW) as client:
            return [await client.create_and_associate(BODY) for _ in range(3)]

    first, second, third = asyncio.run(go())
    assert (first.kind, first.retry_after) == ("retry", 3.0)
    assert second.kind == "unknown"
    assert (third.kind, third.meeting_id) == ("ok", "5")
    assert all(r.url.copy_with(query=None) == url for r in httpx_mock.get_requests())
