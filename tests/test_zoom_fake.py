"""The simulator's fake Zoom REST API (Server-to-Server OAuth), exercised over real loopback HTTP
with a plain httpx.Client; its meetings are made through the fake LTI Pro's createAndAssociate."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from importer.signing import signed_query
from importer.simulator import (
    DEMO_ZOOM_ACCOUNT_ID,
    DEMO_ZOOM_CLIENT_ID,
    DEMO_ZOOM_CLIENT_SECRET,
    SimConfig,
    SimState,
    SimulatorServer,
)

from support import simulate_command

HOST = "lecturer@state.example.edu"
OTHER_HOST = "other@state.example.edu"
CONTEXT = "0f978981bb1184ba5f9e34839f045c4476d30737"
DOMAIN = "canvas.example.edu"
# 2026-09-01T15:00:00Z, and three quarters of a second: created_at is cut to the second.
SEPT_1_3PM = datetime(2026, 9, 1, 15, tzinfo=UTC).timestamp() + 0.75
NEXT_DAY = datetime(2026, 9, 2, 0, 0, 1, tzinfo=UTC).timestamp()
SCOPE = "meeting:read:admin meeting:write:admin"
NO_MEETING = 3001
INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def info(**overrides: Any) -> dict[str, Any]:
    meeting: dict[str, Any] = {
        "topic": "BIO 101 Lecture",
        "type": 2,
        "start_time": "2026-09-08T10:00:00",
        "duration": 50,
        "timezone": "America/New_York",
    }
    meeting.update(overrides)
    return {k: v for k, v in meeting.items() if v is not None}


class Zoom:
    """A minimal Zoom REST client for one simulator, plus the LTI create that makes meetings."""

    def __init__(self, server: SimulatorServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    def token_call(self, *, account: str = DEMO_ZOOM_ACCOUNT_ID, client_id: str = DEMO_ZOOM_CLIENT_ID,
                   secret: str = DEMO_ZOOM_CLIENT_SECRET, grant_type: str = "account_credentials",
                   auth: bool = True) -> httpx.Response:
        return self.client.post(self.server.zoom_oauth_url,
                                params={"grant_type": grant_type, "account_id": account},
                                auth=(client_id, secret) if auth else None)

    def token(self) -> str:
        response = self.token_call()
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert isinstance(token, str)
        return token

    def api(self, method: str, path: str, token: str | None, headers: dict[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
        headers = {**({"Authorization": f"Bearer {token}"} if token is not None else {}), **(headers or {})}
        return self.client.request(method, self.server.zoom_api_url + path, headers=headers, **kwargs)

    def listing(self, token: str | None, user: str = HOST, **params: Any) -> httpx.Response:
        return self.api("GET", f"/users/{user}/meetings", token, params={"type": "scheduled", **params})

    def listed_ids(self, token: str, user: str = HOST) -> list[int]:
        response = self.listing(token, user, page_size=300)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["meetings"]]

    def send_create(self, user: str = HOST, timeout: float = 5, **info_overrides: Any) -> httpx.Response:
        """The real createAndAssociate, signed at the simulator's clock."""
        config = self.server.config
        params, signature = signed_query(config.key, config.secret, None, str(int(config.clock() * 1000)))
        body = {"userId": user, "contextId": CONTEXT, "domain": DOMAIN, "courseId": "396",
                "meetingInfo": info(**info_overrides)}
        return self.client.post(self.server.base_url + "/meeting/createAndAssociate", params=params,
                                headers={"X-Lti-Signature": signature}, json=body, timeout=timeout)

    def create(self, user: str = HOST, **info_overrides: Any) -> str:
        """A meeting made through createAndAssociate: its id."""
        response = self.send_create(user, **info_overrides)
        assert response.json()["status"] is True, response.text
        meeting_id = response.json()["result"]["id"]
        assert isinstance(meeting_id, str)
        return meeting_id

    def ledger(self) -> dict[str, Any]:
        return self.server.state.snapshot()

    def outcomes(self) -> list[tuple[str, int, str]]:
        return [(r["method"], r["http_status"], r["outcome"]) for r in self.ledger()["zoom_requests"]]


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as shared:
        yield shared


@pytest.fixture(scope="module")
def clocked_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimConfig(clock=FakeClock(SEPT_1_3PM))) as server:
        yield server


@pytest.fixture
def zoom(clocked_server: SimulatorServer, client: httpx.Client) -> Zoom:
    """The shared simulator, its ledger forgotten and its clock back at 2026-09-01T15:00:00.75Z."""
    clocked_server.state.reset()
    clock = clocked_server.config.clock
    assert isinstance(clock, FakeClock)
    clock.now = SEPT_1_3PM
    return Zoom(clocked_server, client)


@pytest.fixture
def make_zoom(client: httpx.Client, start_simulator: Callable[[SimConfig], SimulatorServer]) -> Any:
    """A dedicated simulator per call, for fault and limit configurations (clock at SEPT_1_3PM)."""
    return lambda **overrides: Zoom(start_simulator(SimConfig(**{"clock": FakeClock(SEPT_1_3PM), **overrides})),
                                    client)


# -- the token ------------------------------------------------------------------------------


def test_token_is_issued_and_several_are_valid_at_once(zoom: Zoom) -> None:
    response = zoom.token_call()
    assert response.status_code == 200
    body = response.json()
    token = body.pop("access_token")
    assert isinstance(token, str) and len(token) >= 40
    assert body == {"token_type": "bearer", "expires_in": 3600, "scope": SCOPE, "api_url": zoom.server.root_url}
    assert response.headers["Cache-Control"] == "no-store"
    second = zoom.token()
    assert second != token
    assert [zoom.listing(t).status_code for t in (token, second)] == [200, 200]
    ledger = zoom.ledger()
    assert ledger["zoom_tokens_issued"] == 2
    assert ledger["zoom_requests"][0] == {
        "method": "POST", "path": "/oauth/token",
        "query": {"grant_type": "account_credentials", "account_id": DEMO_ZOOM_ACCOUNT_ID},
        "body": None, "http_status": 200, "outcome": "token",
    }


@pytest.mark.parametrize(("kwargs", "status", "body", "outcome"), [
    ({"grant_type": "client_credentials"}, 400,
     {"reason": "unsupported grant type", "error": "unsupported_grant_type"}, "token-unsupported-grant"),
    ({"account": "someone-else"}, 400,
     {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, "token-invalid-client"),
    ({"client_id": "wrong-client"}, 400,
     {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, "token-invalid-client"),
    ({"secret": "wrong-secret"}, 400,
     {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, "token-invalid-client"),
    ({"auth": False}, 401,
     {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, "token-no-credentials"),
], ids=["grant-type", "account", "client-id", "secret", "no-authorization"])
def test_token_refusals(zoom: Zoom, kwargs: dict[str, Any], status: int, body: dict[str, str],
                        outcome: str) -> None:
    response = zoom.token_call(**kwargs)
    assert (response.status_code, response.json()) == (status, body)
    assert zoom.ledger()["zoom_tokens_issued"] == 0
    assert zoom.outcomes() == [("POST", status, outcome)]


def test_token_from_a_form_body_and_garbled_basic(zoom: Zoom) -> None:
    form = zoom.client.post(zoom.server.zoom_oauth_url,
                            data={"grant_type": "account_credentials", "account_id": DEMO_ZOOM_ACCOUNT_ID},
                            auth=(DEMO_ZOOM_CLIENT_ID, DEMO_ZOOM_CLIENT_SECRET))
    assert form.status_code == 200 and form.json()["token_type"] == "bearer"
    garbled = zoom.client.post(zoom.server.zoom_oauth_url,
                               params={"grant_type": "account_credentials", "account_id": DEMO_ZOOM_ACCOUNT_ID},
                               headers={"Authorization": "Basic not*base64"})
    assert garbled.status_code == 400 and garbled.json()["error"] == "invalid_client"
    assert zoom.ledger()["zoom_requests"][0]["body"] is None  # a form body is never recorded


def test_api_refuses_missing_unknown_and_expired_tokens(zoom: Zoom) -> None:
    token = zoom.token()
    for refused in (zoom.listing(None), zoom.listing("not-a-token"),
                    zoom.api("GET", "/meetings/91970000001", None)):
        assert (refused.status_code, refused.json()) == (401, INVALID_TOKEN)
    assert zoom.listing(token).status_code == 200
    clock = zoom.server.config.clock
    assert isinstance(clock, FakeClock)
    clock.now += 3599
    assert zoom.listing(token).status_code == 200
    clock.now += 1
    expired = zoom.listing(token)
    assert (expired.status_code, expired.json()) == (401, INVALID_TOKEN)
    assert zoom.listing(zoom.token()).status_code == 200  # a new one works
    assert [o for _, _, o in zoom.outcomes() if o.startswith("token-")] == [
        "token-missing", "token-unknown", "token-missing", "token-expired"]


def test_token_used_up_and_expired_through_the_route(make_zoom: Any) -> None:
    zoom = make_zoom(zoom_token_max_uses=2)
    token = zoom.token()
    assert [zoom.listing(token).status_code for _ in range(3)] == [200, 200, 401]
    assert zoom.outcomes()[-1] == ("GET", 401, "token-used-up")
    fresh, other = zoom.token(), zoom.token()
    assert zoom.listing(fresh).status_code == 200
    expired = zoom.client.post(zoom.server.root_url + "/_sim/zoom/expire-tokens")
    assert expired.json() == {"status": True, "expired": 3}
    assert [zoom.listing(t).status_code for t in (fresh, other)] == [401, 401]
    assert zoom.listing(zoom.token()).status_code == 200


# -- listing --------------------------------------------------------------------------------


def test_created_meeting_is_listed_for_its_host(zoom: Zoom) -> None:
    meeting_id = zoom.create(user="Lecturer@State.Example.edu", agenda="A" * 300)
    utc = zoom.create(topic="UTC with Z", start_time="2026-09-08T10:00:00Z")
    no_zone = zoom.create(topic="local, no zone", timezone=None)
    zoom.create(user=OTHER_HOST, topic="not theirs")
    token = zoom.token()
    response = zoom.listing(token, user="LECTURER@state.example.edu")
    assert response.status_code == 200
    body = response.json()
    assert (body["page_size"], body["total_records"], body["next_page_token"]) == (30, 3, "")
    first = dict(body["meetings"][0])
    assert isinstance(first.pop("uuid"), str) and isinstance(first.pop("host_id"), str)
    assert first == {
        "id": int(meeting_id),
        "topic": "BIO 101 Lecture",
        "type": 2,
        "start_time": "2026-09-08T14:00:00Z",  # 10:00 in New York (EDT) is 14:00 UTC
        "duration": 50,
        "timezone": "America/New_York",
        "created_at": "2026-09-01T15:00:00Z",
        "join_url": f"https://zoom.example/j/{meeting_id}",
        "agenda": "A" * 250,
    }
    assert [(m["id"], m["start_time"], m["timezone"]) for m in body["meetings"][1:]] == [
        (int(utc), "2026-09-08T10:00:00Z", "America/New_York"),
        (int(no_zone), "2026-09-08T10:00:00Z", "UTC"),
    ]
    assert "agenda" not in body["meetings"][1]
    # One host, one host_id, whatever the spelling; the other host sees only their own.
    assert len({m["host_id"] for m in body["meetings"]}) == 1
    assert len(zoom.listed_ids(token, OTHER_HOST)) == 1
    assert zoom.listed_ids(token, "nobody@state.example.edu") == []
    assert zoom.ledger()["zoom_requests"][1]["query"] == {"type": "scheduled"}


def test_paging_visits_every_meeting_exactly_once(zoom: Zoom) -> None:
    clock = zoom.server.config.clock
    assert isinstance(clock, FakeClock)
    created = []
    for number in range(5):
        clock.now = SEPT_1_3PM + number
        created.append(int(zoom.create(topic=f"Lecture {number}")))
    token = zoom.token()
    seen: list[int] = []
    pages = 0
    page_token = ""
    while True:
        params = {"page_size": 2, **({"next_page_token": page_token} if page_token else {})}
        body = zoom.listing(token, **params).json()
        assert (body["page_size"], body["total_records"]) == (2, 5)
        seen += [m["id"] for m in body["meetings"]]
        pages += 1
        page_token = body["next_page_token"]
        if not page_token:
            break
        assert pages < 5, "paging does not end"
    assert (seen, pages) == (created, 3)
    assert zoom.listing(token, page_size=1000).json()["page_size"] == 300
    assert zoom.listing(token, page_size="lots").json()["page_size"] == 30
    for bad in ("garbage", base64.urlsafe_b64encode(b"offset=-1").decode()):
        refused = zoom.listing(token, next_page_token=bad)
        assert (refused.status_code, refused.json()) == (400, {"code": 300, "message": "Invalid next_page_token"})


def test_expired_meetings_are_not_listed(zoom: Zoom) -> None:
    # The clock stands at 2026-09-01T15:00:00.75Z.
    ended = zoom.create(topic="ended", start_time="2026-09-01T14:00:00Z", duration=60)
    running = zoom.create(topic="running", start_time="2026-09-01T10:30:00", duration=60)  # 14:30Z-15:30Z
    weekly = {"type": 2, "weekly_days": "3"}
    over = zoom.create(topic="series over", type=8, recurrence={**weekly, "end_date_time": "2026-08-31T00:00:00Z"})
    going = zoom.create(topic="series on", type=8, recurrence={**weekly, "end_date_time": "2026-12-11T00:00:00Z"})
    counted = zoom.create(topic="series of 10", type=8, start_time="2026-01-05T10:00:00",
                          recurrence={**weekly, "end_times": 10})
    no_time = zoom.create(topic="no fixed time", type=3, start_time=None)
    token = zoom.token()
    assert zoom.listed_ids(token) == [int(m) for m in (running, going, counted, no_time)]
    listed = {m["id"]: m for m in zoom.listing(token).json()["meetings"]}
    assert "start_time" not in listed[int(no_time)]
    # Not listed is not gone: each can still be read alone.
    assert [zoom.api("GET", f"/meetings/{m}", token).status_code for m in (ended, over)] == [200, 200]


def test_unknown_host_is_1001(make_zoom: Any) -> None:
    zoom = make_zoom(unknown_users=frozenset({"former.lecturer@state.example.edu"}))
    refused = zoom.listing(zoom.token(), user="Former.Lecturer@state.example.edu")
    assert (refused.status_code, refused.json()["code"]) == (404, 1001)


# -- one meeting: GET, PATCH, DELETE ----------------------------------------------------------


def test_get_one_meeting_in_full(zoom: Zoom) -> None:
    settings = {"host_video": True, "waiting_room": False}
    recurrence = {"type": 2, "weekly_days": "2,4", "end_times": 12}
    meeting_id = zoom.create(type=8, agenda="B" * 400, password="abc123", settings=settings, recurrence=recurrence)
    token = zoom.token()
    response = zoom.api("GET", f"/meetings/{meeting_id}", token)
    assert response.status_code == 200
    body = response.json()
    listed = zoom.listing(token).json()["meetings"][0]
    assert body == {**listed, "agenda": "B" * 400, "password": "abc123", "settings": settings,
                    "recurrence": recurrence}
    assert body["id"] == int(meeting_id) and body["type"] == 8
    for missing in ("99999999999", "not-a-number"):
        refused = zoom.api("GET", f"/meetings/{missing}", token)
        assert (refused.status_code, refused.json()) == (
            404, {"code": NO_MEETING, "message": f"Meeting does not exist: {missing}."})


def test_patch_merges_settings_and_is_recorded_once(zoom: Zoom) -> None:
    meeting_id = zoom.create(settings={"host_video": True, "mute_upon_entry": False})
    token = zoom.token()
    fields = {"topic": "BIO 101 Lecture (moved)", "start_time": "2026-09-08T11:00:00",
              "settings": {"mute_upon_entry": True, "waiting_room": True}}
    response = zoom.api("PATCH", f"/meetings/{meeting_id}", token, json=fields)
    assert (response.status_code, response.content) == (204, b"")
    ledger = zoom.ledger()
    assert ledger["meetings"][0]["meetingInfo"] == info(
        topic="BIO 101 Lecture (moved)", start_time="2026-09-08T11:00:00",
        settings={"host_video": True, "mute_upon_entry": True, "waiting_room": True})
    assert ledger["zoom_updates"] == [{"id": meeting_id, "fields": fields, "at": SEPT_1_3PM}]
    assert zoom.server.state.update_count(meeting_id) == 1
    assert ledger["zoom_requests"][-1]["body"] == fields
    shown = zoom.api("GET", f"/meetings/{meeting_id}", token).json()
    assert (shown["start_time"], shown["settings"]["host_video"]) == ("2026-09-08T15:00:00Z", True)


@pytest.mark.parametrize(("content", "status", "code"), [
    (b"[1, 2]", 400, 300),
    (b"not json", 400, 300),
    (b'{"type": 9}', 400, 300),
    (b'{"settings": {"audio": "loud"}}', 400, 300),
], ids=["array", "not-json", "bad-type", "bad-setting"])
def test_patch_refusals_change_nothing(zoom: Zoom, content: bytes, status: int, code: int) -> None:
    meeting_id = zoom.create()
    token = zoom.token()
    response = zoom.api("PATCH", f"/meetings/{meeting_id}", token, content=content,
                        headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert zoom.ledger()["meetings"][0]["meetingInfo"] == info()
    assert zoom.ledger()["zoom_updates"] == []
    unknown = zoom.api("PATCH", "/meetings/99999999999", token, json={"topic": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, NO_MEETING)


def test_patch_counts_toward_the_daily_cap(make_zoom: Any) -> None:
    zoom = make_zoom(daily_cap_per_host=2)
    meeting_id = zoom.create()  # one change of two
    token = zoom.token()
    path = f"/meetings/{meeting_id}"
    assert zoom.api("PATCH", path, token, json={"topic": "first"}).status_code == 204
    capped = zoom.api("PATCH", path, token, json={"topic": "second"})
    assert capped.status_code == 429
    assert capped.headers["Retry-After"] == "2026-09-02T00:00:00Z"
    assert capped.json()["code"] == 429 and "daily rate limit (2)" in capped.json()["message"]
    assert zoom.ledger()["meetings"][0]["meetingInfo"]["topic"] == "first"
    assert zoom.server.state.update_count(meeting_id) == 1
    assert zoom.outcomes()[-1] == ("PATCH", 429, "429-daily")
    clock = zoom.server.config.clock
    clock.now = NEXT_DAY
    assert zoom.api("PATCH", path, zoom.token(), json={"topic": "second"}).status_code == 204


def test_delete_removes_the_meeting_everywhere_but_its_associations(zoom: Zoom) -> None:
    first = zoom.create()
    second = zoom.create()  # the same host and meetingInfo: a duplicate
    assert len(zoom.server.state.duplicate_meetings()) == 1
    token = zoom.token()
    response = zoom.api("DELETE", f"/meetings/{second}", token)
    assert (response.status_code, response.content) == (204, b"")
    state = zoom.server.state
    assert zoom.listed_ids(token) == [int(first)]
    gone = zoom.api("GET", f"/meetings/{second}", token)
    assert (gone.status_code, gone.json()) == (
        404, {"code": NO_MEETING, "message": f"Meeting does not exist: {second}."})
    assert zoom.api("DELETE", f"/meetings/{second}", token).status_code == 404
    assert zoom.api("PATCH", f"/meetings/{second}", token, json={"topic": "x"}).status_code == 404
    assert state.duplicate_meetings() == []
    assert not state.has_meeting(second) and state.meeting_ids() == {first}
    ledger = zoom.ledger()
    assert [m["id"] for m in ledger["meetings"]] == [first]
    assert [(m["id"], m["deleted_at"]) for m in ledger["deleted_meetings"]] == [(second, SEPT_1_3PM)]
    assert sorted(a["meetingId"] for a in ledger["associations"]) == sorted([first, second])


# -- meetings made under LTI faults ------------------------------------------------------------


@pytest.mark.parametrize("fault", ["p_500_after", "p_drop_after", "p_stall_after"])
def test_meeting_whose_create_answer_was_lost_is_listed(make_zoom: Any, fault: str) -> None:
    zoom = make_zoom(**{fault: 1.0, "seed": 1, "stall_s": 1.0})
    if fault == "p_500_after":
        assert zoom.send_create().status_code == 500
    else:
        with pytest.raises(httpx.TransportError):  # a dropped connection, or a read timeout
            zoom.send_create(timeout=0.3)
    meetings = zoom.ledger()["meetings"]
    assert len(meetings) == 1
    assert zoom.listed_ids(zoom.token()) == [int(meetings[0]["id"])]


# -- throttling ----------------------------------------------------------------------------------


def test_throttled_calls_are_429_before_any_effect(make_zoom: Any) -> None:
    zoom = make_zoom(zoom_throttle_calls=frozenset({2, 3}))
    meeting_id = zoom.create()
    token = zoom.token()  # token calls are not counted
    path = f"/meetings/{meeting_id}"
    assert zoom.listing(token).status_code == 200
    for response in (zoom.api("PATCH", path, token, json={"topic": "x"}), zoom.api("DELETE", path, token)):
        assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
        assert response.json()["code"] == 429
    assert zoom.ledger()["meetings"][0]["meetingInfo"] == info() and zoom.ledger()["zoom_updates"] == []
    assert zoom.api("PATCH", path, token, json={"topic": "x"}).status_code == 204
    assert [o for _, _, o in zoom.outcomes()] == ["token", "list", "429-throttled", "429-throttled", "updated"]
    # reset() starts the count again.
    zoom.server.state.reset()
    token = zoom.token()
    assert [zoom.listing(token).status_code for _ in range(3)] == [200, 429, 429]


@pytest.mark.parametrize(("knob", "status", "outcome"), [("zoom_p_429", 429, "429"), ("zoom_p_500", 500, "500")])
def test_injected_faults_change_nothing(make_zoom: Any, knob: str, status: int, outcome: str) -> None:
    zoom = make_zoom(**{knob: 1.0, "seed": 3})
    meeting_id = zoom.create()  # LTI calls are not touched by Zoom's dice
    token = zoom.token()
    for method, body in (("PATCH", {"topic": "x"}), ("DELETE", None)):
        response = zoom.api(method, f"/meetings/{meeting_id}", token, json=body)
        assert response.status_code == status
        if status == 429:
            assert response.headers["Retry-After"] == "1"
    ledger = zoom.ledger()
    assert [m["id"] for m in ledger["meetings"]] == [meeting_id] and ledger["meetings"][0]["meetingInfo"] == info()
    assert ledger["zoom_updates"] == [] and ledger["deleted_meetings"] == []
    assert zoom.outcomes() == [("POST", 200, "token"), ("PATCH", status, outcome), ("DELETE", status, outcome)]


def test_per_second_rate_limit_is_zooms_own(make_zoom: Any) -> None:
    zoom = make_zoom(zoom_rate_limit_per_s=2)
    token = zoom.token()
    statuses = [zoom.listing(token).status_code for _ in range(5)]
    assert statuses[:2] == [200, 200] and 429 in statuses
    assert zoom.create()  # the LTI window is another one


# -- the ledger, reset, the server ---------------------------------------------------------------


def test_ledger_never_holds_a_token_or_the_client_secret(zoom: Zoom) -> None:
    meeting_id = zoom.create()
    token = zoom.token()
    zoom.listing(token, access_token=token, client_secret=DEMO_ZOOM_CLIENT_SECRET)
    zoom.api("PATCH", f"/meetings/{meeting_id}", token, json={"agenda": "kept"})
    zoom.token_call(secret="a-wrong-secret-never-recorded")
    basic = base64.b64encode(f"{DEMO_ZOOM_CLIENT_ID}:{DEMO_ZOOM_CLIENT_SECRET}".encode()).decode()
    snapshot = json.dumps(zoom.ledger())
    served = zoom.client.get(zoom.server.root_url + "/_sim/ledger").text
    for secret in (token, DEMO_ZOOM_CLIENT_SECRET, basic, "a-wrong-secret-never-recorded"):
        assert secret not in snapshot and secret not in served
    assert zoom.ledger()["zoom_requests"][1]["query"] == {"type": "scheduled"}
    assert "kept" in snapshot  # bodies are recorded


def test_reset_forgets_the_zoom_side(zoom: Zoom) -> None:
    meeting_id = zoom.create()
    token = zoom.token()
    zoom.api("PATCH", f"/meetings/{meeting_id}", token, json={"topic": "x"})
    zoom.api("DELETE", f"/meetings/{meeting_id}", token)
    zoom.server.state.reset()
    ledger = zoom.ledger()
    assert (ledger["zoom_requests"], ledger["zoom_updates"], ledger["deleted_meetings"]) == ([], [], [])
    assert ledger["zoom_tokens_issued"] == 0
    assert zoom.listing(token).status_code == 401
    assert zoom.create() != meeting_id  # ids are never reused


def test_state_methods_directly() -> None:
    state = SimState()
    first = state.create_meeting("Host@x.edu", {"topic": "A", "settings": {"audio": "voip"}}, "c", "d", None, 100.0)
    second = state.create_meeting("host@x.edu", {"topic": "B"}, "c", "d", None, 50.0)
    state.create_meeting("other@x.edu", {"topic": "C"}, "c", "d", None, 10.0)
    assert [m["id"] for m in state.host_meetings("HOST@X.EDU")] == [second, first]
    copy = state.meeting(first)
    assert copy is not None
    copy["meetingInfo"]["topic"] = "changed"  # a copy: the ledger is untouched
    assert state.update_meeting(first, {"settings": {"mute_upon_entry": True}}, 120.0)
    assert state.meeting(first) == {**copy, "meetingInfo": {
        "topic": "A", "settings": {"audio": "voip", "mute_upon_entry": True}}}
    assert (state.update_count(first), state.updates_between("Host@x.edu", 100.0, 200.0)) == (1, 1)
    assert state.daily_changes("Host@x.edu", 0.0, 200.0) == 2  # one create and one update
    assert state.delete_meeting(second, 130.0) and not state.delete_meeting(second)
    assert not state.update_meeting(second, {"topic": "x"}, 140.0) and state.meeting(second) is None
    assert [m["id"] for m in state.host_meetings("host@x.edu")] == [first]
    assert state.creates_between("host@x.edu", 0.0, 200.0) == 1  # the deleted one was made all the same


def test_server_zoom_urls(zoom: Zoom) -> None:
    root = zoom.server.root_url
    assert (zoom.server.zoom_api_url, zoom.server.zoom_oauth_url) == (root + "/v2", root + "/oauth/token")
    config = SimConfig()
    assert (config.zoom_account_id, config.zoom_client_id, config.zoom_client_secret) == (
        "demo-zoom-account", "demo-zoom-client", "demo-zoom-secret-not-for-production")
    assert (config.zoom_token_ttl_s, config.zoom_token_max_uses, config.zoom_scope) == (3600.0, 0, SCOPE)
    assert (config.zoom_rate_limit_per_s, config.zoom_p_429, config.zoom_p_500) == (0, 0.0, 0.0)
    assert config.zoom_throttle_calls == frozenset()


def test_simulate_prints_the_zoom_line() -> None:
    with simulate_command(3) as (root, lines):
        assert lines[2] == (
            f"Zoom simulator on {root}/v2 (ZOOM_API_URL={root}/v2, ZOOM_OAUTH_URL={root}/oauth/token, "
            f"ZOOM_ACCOUNT_ID={DEMO_ZOOM_ACCOUNT_ID}, ZOOM_CLIENT_ID={DEMO_ZOOM_CLIENT_ID}, "
            f"ZOOM_CLIENT_SECRET={DEMO_ZOOM_CLIENT_SECRET})")
        with httpx.Client(timeout=5) as client:
            answer = client.post(f"{root}/oauth/token", auth=(DEMO_ZOOM_CLIENT_ID, DEMO_ZOOM_CLIENT_SECRET),
                                 params={"grant_type": "account_credentials", "account_id": DEMO_ZOOM_ACCOUNT_ID})
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            listing = client.get(f"{root}/v2/users/{HOST}/meetings", headers=headers)
            assert listing.json()["meetings"] == []
