"""The Zoom REST client against a small fake in each test (httpx.MockTransport): the token, pages,
retries, pace and errors, and that no message carries the token or the client secret."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from importer.errors import ImporterError
from importer.options import Zoom
from importer.zoom import TokenInfo, ZoomAuthError, ZoomClient, ZoomError, ZoomMeeting, ZoomNotFound

SECRET = "zoom-client-secret-never-shown-5d1e"
ZOOM = Zoom("acct-77", "client-77", SECRET, api_url="https://api.zoom.example/v2",
            oauth_url="https://zoom.example/oauth/token", light_rate=0, medium_rate=0)
Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeZoom:
    """The token endpoint (numbered tokens, each valid `lifetime` s) in front of a per-test `api` handler."""

    def __init__(self, api: Handler | None = None, *, lifetime: int = 3600,
                 scope: str = "meeting:read:admin meeting:write:admin") -> None:
        self.api = api or (lambda request: httpx.Response(200, json=meeting_json()))
        self.lifetime = lifetime
        self.scope = scope
        self.issued: list[str] = []
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "zoom.example":
            self.token_requests.append(request)
            token = f"access-token-{len(self.issued) + 1}-9f8e7d"
            self.issued.append(token)
            return httpx.Response(200, json={"access_token": token, "token_type": "bearer",
                                             "expires_in": self.lifetime, "scope": self.scope})
        self.api_requests.append(request)
        return self.api(request)

    def bearer(self, request: httpx.Request) -> str:
        return request.headers["Authorization"].removeprefix("Bearer ")


def meeting_json(meeting_id: Any = 91970000001, **fields: Any) -> dict[str, Any]:
    return {"id": meeting_id, "uuid": "abc==", "host_id": "h1", "topic": "BIO 101", "type": 2,
            "start_time": "2026-09-01T14:00:00Z", "duration": 50, "timezone": "America/New_York",
            "created_at": "2026-08-20T09:30:05Z", "join_url": "https://zoom.us/j/1", **fields}


def make_client(handler: Handler, *, zoom: Zoom = ZOOM, clock: Callable[[], float] = time.time,
                sleeps: list[float] | None = None) -> ZoomClient:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return ZoomClient(zoom, transport=httpx.MockTransport(handler), clock=clock, backoff=0.0, sleep=sleep)


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def call(handler: Handler, use: Callable[[ZoomClient], Coroutine[Any, Any, Any]], **options: Any) -> Any:
    async def go() -> Any:
        async with make_client(handler, **options) as client:
            return await use(client)
    return run(go())


def failure(handler: Handler, use: Callable[[ZoomClient], Coroutine[Any, Any, Any]], kind: type[ZoomError] = ZoomError,
            **options: Any) -> ZoomError:
    with pytest.raises(kind) as caught:
        call(handler, use, **options)
    return caught.value


def assert_clean(error: Exception, fake: FakeZoom | None = None) -> None:
    text = str(error)
    assert SECRET not in text and "\n" not in text
    assert base64.b64encode(f"client-77:{SECRET}".encode()).decode() not in text
    for token in fake.issued if fake else ():
        assert token not in text
    assert "access-token-" not in text


# --- the token ---------------------------------------------------------------------------------


def test_the_token_request_and_the_calls_carry_what_zoom_asks() -> None:
    fake = FakeZoom()
    meeting = call(fake, lambda client: client.get_meeting("91970000001"))

    assert meeting.id == "91970000001"
    asked = fake.token_requests[0]
    assert asked.method == "POST" and asked.url.path == "/oauth/token"
    assert dict(asked.url.params) == {"grant_type": "account_credentials", "account_id": "acct-77"}
    assert asked.headers["Authorization"] == "Basic " + base64.b64encode(f"client-77:{SECRET}".encode()).decode()
    sent = fake.api_requests[0]
    assert (sent.method, sent.url.path) == ("GET", "/v2/meetings/91970000001")
    assert sent.headers["Authorization"] == "Bearer access-token-1-9f8e7d"
    assert sent.headers["User-Agent"].startswith("importer/")


def test_one_token_serves_ten_calls_in_turn_and_twenty_at_once() -> None:
    fake = FakeZoom()

    async def in_turn(client: ZoomClient) -> int:
        for _ in range(10):
            await client.get_meeting("1")
        return client.token_fetches

    async def at_once(client: ZoomClient) -> int:
        await asyncio.gather(*(client.get_meeting(str(n)) for n in range(1, 21)))
        return client.token_fetches

    assert call(fake, in_turn) == 1
    assert call(fake, at_once) == 1
    assert len(fake.token_requests) == 2 and len(fake.api_requests) == 30


def test_a_token_is_renewed_when_close_to_its_end() -> None:
    clock = Clock()
    fake = FakeZoom()

    async def go(client: ZoomClient) -> list[tuple[int, TokenInfo]]:
        seen = []
        for advance in (0, 3600 - 301, 2, 3000):  # a token of 3600 s is renewed with 300 s left
            clock.now += advance
            await client.get_meeting("1")
            seen.append((client.token_fetches, await client.token_info()))
        return seen

    seen = call(fake, go, clock=clock)
    assert [fetches for fetches, _ in seen] == [1, 1, 2, 2]
    assert [info.expires_in for _, info in seen] == [3600, 301, 3600, 600]
    assert seen[0][1].scopes == ("meeting:read:admin", "meeting:write:admin")
    assert [fake.bearer(r) for r in fake.api_requests] == [
        "access-token-1-9f8e7d", "access-token-1-9f8e7d", "access-token-2-9f8e7d", "access-token-2-9f8e7d"]


def test_a_short_lived_token_is_renewed_with_a_tenth_of_its_life_left() -> None:
    clock = Clock()
    fake = FakeZoom(lifetime=600)

    async def go(client: ZoomClient) -> list[int]:
        fetches = []
        for advance in (0, 539, 2):  # 61 s left: kept; 59 s left: renewed
            clock.now += advance
            await client.get_meeting("1")
            fetches.append(client.token_fetches)
        return fetches

    assert call(fake, go, clock=clock) == [1, 1, 2]


def test_a_401_mid_use_fetches_one_new_token_and_repeats_the_call() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if fake.bearer(request) == "access-token-1-9f8e7d" and len(fake.api_requests) > 1:
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        return httpx.Response(204)

    fake = FakeZoom(api)

    async def go(client: ZoomClient) -> int:
        await client.delete_meeting("5")
        await client.update_meeting("5", {"topic": "New"})
        return client.token_fetches

    assert call(fake, go) == 2
    assert [(r.method, fake.bearer(r)) for r in fake.api_requests] == [
        ("DELETE", "access-token-1-9f8e7d"), ("PATCH", "access-token-1-9f8e7d"), ("PATCH", "access-token-2-9f8e7d")]
    assert json.loads(fake.api_requests[2].content) == {"topic": "New"}


def test_a_401_to_a_fresh_token_too_is_an_auth_error() -> None:
    fake = FakeZoom(lambda request: httpx.Response(401, json={"code": 124, "message": "Invalid access token."}))
    sleeps: list[float] = []
    error = failure(fake, lambda client: client.get_meeting("5"), ZoomAuthError, sleeps=sleeps)

    assert len(fake.token_requests) == 2 and len(fake.api_requests) == 2 and sleeps == []
    assert str(error).startswith("Zoom: GET /meetings/5: Zoom refused a fresh token too (HTTP 401, code 124")
    assert (error.code, error.http_status) == ("124", 401)
    assert_clean(error, fake)


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials_are_an_auth_error_that_names_the_settings_not_the_secret(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # a refusal that echoes what it was sent: nothing of it may reach the message
        return httpx.Response(status, json={"reason": f"Invalid client_id or client_secret {SECRET} "
                                                      f"{request.headers['Authorization']}",
                                            "error": "invalid_client"})

    error = failure(handler, lambda client: client.list_meetings("a@x.edu"), ZoomAuthError)

    text = str(error)
    assert text.startswith(f"Zoom: POST /oauth/token: Zoom refused the app's credentials (HTTP {status}, code "
                           "invalid_client: Invalid client_id or client_secret [hidden] Basic [hidden])")
    assert "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET" in text
    assert isinstance(error, ImporterError) and error.http_status == status
    assert_clean(error)


def test_a_token_endpoint_that_is_not_zooms_is_not_a_missing_meeting() -> None:
    error = failure(lambda request: httpx.Response(404, text="<html>nothing here</html>"),
                    lambda client: client.get_meeting("5"))
    assert type(error) is ZoomError
    assert str(error) == ("Zoom: POST /oauth/token: not found (HTTP 404: <html>nothing here</html>): "
                          "check ZOOM_OAUTH_URL")


# --- pages ---------------------------------------------------------------------------------------


def test_every_page_of_a_hosts_meetings_is_read() -> None:
    pages = {"": ("p2", [1, 2]), "p2": ("p3", [3]), "p3": ("", [4, 5])}

    def api(request: httpx.Request) -> httpx.Response:
        following, ids = pages[request.url.params.get("next_page_token", "")]
        return httpx.Response(200, json={"page_size": 300, "total_records": 5, "next_page_token": following,
                                         "meetings": [meeting_json(n) for n in ids]})

    fake = FakeZoom(api)
    meetings = call(fake, lambda client: client.list_meetings("a b@x.edu"))

    assert [m.id for m in meetings] == ["1", "2", "3", "4", "5"]
    assert {r.url.raw_path.decode().split("?")[0] for r in fake.api_requests} == {"/v2/users/a%20b@x.edu/meetings"}
    assert [dict(r.url.params) for r in fake.api_requests] == [
        {"type": "scheduled", "page_size": "300"},
        {"type": "scheduled", "page_size": "300", "next_page_token": "p2"},
        {"type": "scheduled", "page_size": "300", "next_page_token": "p3"}]


def test_a_page_that_cannot_be_read_fails_the_whole_list() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("next_page_token") == "p2":
            return httpx.Response(503, text="Service Unavailable")
        return httpx.Response(200, json={"next_page_token": "p2", "meetings": [meeting_json(1)]})

    fake = FakeZoom(api)
    sleeps: list[float] = []
    error = failure(fake, lambda client: client.list_meetings("a@x.edu"), sleeps=sleeps)

    assert str(error) == ("Zoom: GET /users/a@x.edu/meetings: kept failing (HTTP 503: Service Unavailable) "
                          "after 5 tries; try again later")
    assert (error.code, error.http_status) == ("503", 503)
    assert len(fake.api_requests) == 1 + 5 and len(sleeps) == 4


def test_a_page_named_twice_is_not_followed_forever() -> None:
    fake = FakeZoom(lambda request: httpx.Response(200, json={"next_page_token": "again", "meetings": []}))
    error = failure(fake, lambda client: client.list_meetings("a@x.edu"))
    assert "cannot be read to its end" in str(error) and len(fake.api_requests) == 2


# --- retries -------------------------------------------------------------------------------------


def answers(*responses: httpx.Response | Exception) -> tuple[FakeZoom, list[float]]:
    """A fake whose API gives these answers in turn, then 204s."""
    queue = list(responses)

    def api(request: httpx.Request) -> httpx.Response:
        if not queue:
            return httpx.Response(204) if request.method != "GET" else httpx.Response(200, json=meeting_json())
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return FakeZoom(api), []


@pytest.mark.parametrize("retry_after", ["7", "Tue, 15 Jan 2027 08:00:07 GMT", "2027-01-15T08:00:07Z"])
def test_a_429_waits_its_retry_after_then_succeeds(retry_after: str) -> None:
    clock = Clock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp())
    fake, sleeps = answers(httpx.Response(429, headers={"Retry-After": retry_after},
                                          json={"code": 429, "message": "Too many requests"}))
    meeting = call(fake, lambda client: client.get_meeting("91970000001"), clock=clock, sleeps=sleeps)
    assert meeting.topic == "BIO 101" and sleeps == [7.0] and len(fake.api_requests) == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_503_on_a_change_is_retried_because_it_is_idempotent(method: str) -> None:
    fake, sleeps = answers(httpx.Response(503), httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                           httpx.RemoteProtocolError("Server disconnected"))

    async def use(client: ZoomClient) -> None:
        if method == "PATCH":
            await client.update_meeting("42", {"topic": "Renamed", "duration": 75})
        else:
            await client.delete_meeting("42")

    assert call(fake, use, sleeps=sleeps) is None
    assert [(r.method, r.url.path) for r in fake.api_requests] == [(method, "/v2/meetings/42")] * 5
    assert len(sleeps) == 4 and all(wait == 0 for wait in sleeps)  # backoff=0 in these tests
    if method == "PATCH":
        assert {r.content for r in fake.api_requests} == {b'{"topic":"Renamed","duration":75}'}


def test_without_retry_after_the_backoff_grows_with_jitter_and_is_capped() -> None:
    fake, _ = answers(*[httpx.Response(500)] * 7)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go() -> None:
        async with ZoomClient(replace(ZOOM, max_attempts=8), transport=httpx.MockTransport(fake), sleep=sleep) as z:
            await z.delete_meeting("1")

    run(go())
    assert len(sleeps) == 7
    assert 0.5 <= sleeps[0] <= 0.75 and 1.0 <= sleeps[1] <= 1.25 and sleeps[-1] == 10.0


@pytest.mark.parametrize(("retry_after", "until"), [("7200", "2027-01-15 10:00:00 UTC"),
                                                    ("2027-01-16T00:00:00Z", "2027-01-16 00:00:00 UTC")])
def test_a_retry_after_of_hours_is_not_waited_out(retry_after: str, until: str) -> None:
    clock = Clock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp())
    fake, sleeps = answers(httpx.Response(429, headers={"Retry-After": retry_after, "X-RateLimit-Type": "Daily-limit"},
                                          json={"code": 429, "message": "You have reached the maximum daily rate "
                                                                        "limit for this API."}))
    started = time.monotonic()
    error = failure(fake, lambda client: client.update_meeting("42", {"topic": "x"}), clock=clock, sleeps=sleeps)

    assert time.monotonic() - started < 1 and sleeps == [] and len(fake.api_requests) == 1
    assert str(error) == (f"Zoom: PATCH /meetings/42: Zoom asks to wait until {until} (HTTP 429: You have reached "
                          "the maximum daily rate limit for this API.); try again then")
    assert (error.code, error.http_status) == ("429", 429)


@pytest.mark.parametrize(("raised", "code", "words"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "connect", "could not connect ([Errno 111]"),
    (httpx.ConnectTimeout("timed out"), "connect", "could not connect (timed out)"),
    (httpx.ReadTimeout("timed out"), "timeout", "no answer within 30 s"),
    (httpx.RemoteProtocolError("Server disconnected"), "connection-lost", "the connection was lost"),
])
def test_a_connection_that_keeps_failing_is_a_zoom_error_not_an_httpx_one(raised: Exception, code: str,
                                                                          words: str) -> None:
    fake, sleeps = answers(*[raised] * 5)
    error = failure(fake, lambda client: client.get_meeting("9"), sleeps=sleeps)
    assert type(error) is ZoomError and error.code == code and error.http_status is None
    assert str(error).startswith(f"Zoom: GET /meetings/9: {words}") and str(error).endswith("after 5 tries; try "
                                                                                             "again later")
    assert error.__cause__ is None and len(fake.api_requests) == 5


# --- answers that are final -----------------------------------------------------------------------


def test_no_such_meeting_is_zoom_not_found() -> None:
    fake, _ = answers(httpx.Response(404, json={"code": 3001, "message": "Meeting does not exist: 42."}))
    error = failure(fake, lambda client: client.get_meeting("42"), ZoomNotFound)
    assert (error.code, error.http_status) == ("3001", 404)
    assert str(error) == "Zoom: GET /meetings/42: not found (HTTP 404, code 3001: Meeting does not exist: 42.)"
    assert len(fake.api_requests) == 1  # final: not retried

    fake, _ = answers(httpx.Response(400, json={"code": 3001, "message": "Meeting 42 is not found or has expired."}))
    assert failure(fake, lambda client: client.delete_meeting("42"), ZoomNotFound).code == "3001"


def test_another_refusal_is_a_zoom_error_with_zoom_s_code() -> None:
    fake, _ = answers(httpx.Response(400, json={"code": 300, "message": "Invalid start_time."}))
    error = failure(fake, lambda client: client.update_meeting("42", {"start_time": "x"}))
    assert type(error) is ZoomError and (error.code, error.http_status) == ("300", 400)
    assert str(error) == "Zoom: PATCH /meetings/42: refused (HTTP 400, code 300: Invalid start_time.)"


@pytest.mark.parametrize("meeting_id", ["", "12a", "../users/me", "1 2", "٣", "-5"])
def test_a_meeting_id_that_is_not_digits_is_refused_before_sending(meeting_id: str) -> None:
    fake = FakeZoom()
    error = failure(fake, lambda client: client.delete_meeting(meeting_id))
    assert error.code == "meeting-id" and "not a meeting id" in str(error)
    assert fake.token_requests == [] and fake.api_requests == []


@pytest.mark.parametrize("user_id", ["", " ", ".."])
def test_a_user_id_that_is_no_user_is_refused_before_sending(user_id: str) -> None:
    fake = FakeZoom()
    error = failure(fake, lambda client: client.list_meetings(user_id))
    assert error.code == "user-id" and fake.token_requests == [] and fake.api_requests == []


def test_no_token_or_secret_in_any_message() -> None:
    def echo(status: int) -> Handler:
        def api(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, headers={"Retry-After": "0"},
                                  text=f"bad request {request.headers['Authorization']} {SECRET} {fake.issued}")
        return api

    for status, kind in ((400, ZoomError), (403, ZoomError), (404, ZoomNotFound), (401, ZoomAuthError),
                         (429, ZoomError), (500, ZoomError)):
        fake = FakeZoom(echo(status))
        error = failure(fake, lambda client: client.get_meeting("1"), kind)
        assert "[hidden]" in str(error)
        assert_clean(error, fake)

    fake, sleeps = answers(*[httpx.ConnectError(f"refused {SECRET} access-token-1-9f8e7d")] * 5)
    error = failure(fake, lambda client: client.get_meeting("1"), sleeps=sleeps)
    assert_clean(error, fake)


# --- what Zoom sends -----------------------------------------------------------------------------


def test_a_meeting_keeps_its_id_as_digits_and_its_times_in_utc() -> None:
    meeting = ZoomMeeting.from_json(meeting_json(91970000001, agenda="Week 1"))
    assert meeting == ZoomMeeting(
        id="91970000001", topic="BIO 101", type=2, start_time=datetime(2026, 9, 1, 14, 0, tzinfo=UTC), duration=50,
        timezone="America/New_York", created_at=datetime(2026, 8, 20, 9, 30, 5, tzinfo=UTC), agenda="Week 1")
    assert meeting.start_time is not None and meeting.start_time.utcoffset() == timedelta(0)

    assert ZoomMeeting.from_json(meeting_json(91970000001.0)).id == "91970000001"
    assert ZoomMeeting.from_json(meeting_json(1e10)).id == "10000000000"
    assert ZoomMeeting.from_json(meeting_json("91970000001")).id == "91970000001"
    shifted = ZoomMeeting.from_json(meeting_json(start_time="2026-09-01T16:00:00+02:00",
                                                 created_at="2026-08-20T09:30:05"))
    assert shifted.start_time == datetime(2026, 9, 1, 14, 0, tzinfo=UTC)
    assert shifted.start_time is not None and shifted.start_time.tzinfo is UTC
    assert shifted.created_at == datetime(2026, 8, 20, 9, 30, 5, tzinfo=UTC)


def test_a_meeting_with_missing_or_odd_fields_is_read_all_the_same() -> None:
    odd = ZoomMeeting.from_json({"id": 5, "type": "x", "start_time": "soon", "duration": None, "timezone": "",
                                 "created_at": 17, "agenda": None})
    assert odd == ZoomMeeting(id="5", topic="", type=None, start_time=None, duration=None, timezone=None,
                              created_at=None, agenda=None)
    assert ZoomMeeting.from_json({}).id == ""


def test_an_answer_that_is_not_json_is_a_zoom_error() -> None:
    fake, _ = answers(httpx.Response(200, text="<html>proxy login</html>"))
    error = failure(fake, lambda client: client.get_meeting("1"))
    assert str(error) == "Zoom: GET /meetings/1: the answer is not a JSON object: check ZOOM_API_URL"


def test_a_redirect_is_not_followed() -> None:
    fake, _ = answers(httpx.Response(302, headers={"Location": "https://elsewhere.example/v2/meetings/1"}))
    error = failure(fake, lambda client: client.get_meeting("1"))
    assert "redirected to https://elsewhere.example/v2/meetings/1 (HTTP 302): check ZOOM_API_URL" in str(error)
    assert len(fake.api_requests) == 1


# --- pace --------------------------------------------------------------------------------------------


def test_calls_are_paced_by_their_category_and_token_requests_are_not() -> None:
    fake = FakeZoom(lambda request: httpx.Response(200, json={"meetings": []}) if "/users/" in request.url.path
                    else httpx.Response(204))
    paced = replace(ZOOM, light_rate=50, medium_rate=25)  # one call per 20 ms, one page per 40 ms

    async def go(client: ZoomClient) -> tuple[float, float]:
        started = time.monotonic()
        await asyncio.gather(*(client.delete_meeting(str(n)) for n in range(1, 7)))
        light = time.monotonic() - started
        started = time.monotonic()
        await asyncio.gather(*(client.list_meetings(f"h{n}@x.edu") for n in range(4)))
        return light, time.monotonic() - started

    light, medium = call(fake, go, zoom=paced)
    assert light >= 5 * 0.02 * 0.9 and medium >= 3 * 0.04 * 0.9
    assert light < 1 and medium < 1
