"""The fake LTI Pro server, exercised over real loopback HTTP with a plain httpx.Client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from importer.signing import signed_query
from importer.simulator import (
    DEMO_KEY,
    DEMO_SECRET,
    SimConfig,
    SimState,
    SimulatorServer,
    demo_config,
)
from importer.simulator.server import check_loopback

VECTOR_KEY = "KLAIJC9OTI2Hm-vxn3UVHK"
VECTOR_SECRET = "s3cr3t-LTI"
VECTOR_TS = "1634769623355"
VECTOR_SIG = "3USpHxoh0-VJeU9v60E-7-lw_VY"
VECTOR_USER = "12dd589465Z="
VECTOR_SIG_USER = "0KLHMSWACeqKN_dioCR8S2o47Is"

CONTEXT = "0f978981bb1184ba5f9e34839f045c4476d30737"
OTHER_CONTEXT = "1111111111111111111111111111111111111111"
REJECTED = "4f1e0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f"
FLAKY = "a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0"
DOMAIN = "canvas.example.edu"
HOST = "lecturer@state.example.edu"
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# 2026-09-01T15:00:00Z
SEPT_1_3PM = datetime(2026, 9, 1, 15, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def meeting_info(**overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "topic": "BIO 101 Lecture",
        "type": 2,
        "start_time": "2026-09-01T10:00:00",
        "duration": 50,
        "timezone": "America/New_York",
    }
    info.update(overrides)
    return {k: v for k, v in info.items() if v is not None}


def create_body(
    user: str = HOST, context: str = CONTEXT, **info_overrides: Any
) -> dict[str, Any]:
    return {
        "userId": user,
        "contextId": context,
        "domain": DOMAIN,
        "courseId": "396",
        "meetingInfo": meeting_info(**info_overrides),
    }


class Lti:
    """A minimal signed client for one simulator."""

    def __init__(self, server: SimulatorServer, client: httpx.Client, timeout: float = 5) -> None:
        self.server = server
        self.client = client
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: Any,
        user_id: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        timestamp: str | None = None,
    ) -> httpx.Response:
        config = self.server.config
        timestamp = timestamp or str(int(config.clock() * 1000))
        params, signature = signed_query(
            key or config.key, secret or config.secret, user_id, timestamp
        )
        return self.client.request(
            method,
            self.server.base_url + path,
            params=params,
            headers={"X-Lti-Signature": signature},
            json=body,
            timeout=self.timeout,
        )

    def create(self, body: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.call("POST", "/meeting/createAndAssociate", body or create_body(), **kwargs)

    def bulk(self, body: Any, **kwargs: Any) -> httpx.Response:
        return self.call("POST", "/meeting/bulkImport", body, **kwargs)

    def unbulk(self, body: Any) -> httpx.Response:
        return self.call("PUT", "/meeting/bulkDisassociate", body)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One client for the module: building an SSL context per test costs more than the test."""
    with httpx.Client(timeout=5) as shared:
        yield shared


@pytest.fixture(scope="module")
def default_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_config()) as server:
        yield server


@pytest.fixture(scope="module")
def clocked_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimConfig(clock=FakeClock(SEPT_1_3PM))) as server:
        yield server


@pytest.fixture
def lti(default_server: SimulatorServer, client: httpx.Client) -> Lti:
    """The shared demo-config simulator with an empty ledger."""
    default_server.state.reset()
    return Lti(default_server, client)


@pytest.fixture
def clocked(clocked_server: SimulatorServer, client: httpx.Client) -> Lti:
    """The shared simulator whose clock stands still at 2026-09-01T15:00:00Z."""
    clocked_server.state.reset()
    return Lti(clocked_server, client)


@pytest.fixture
def make_lti(client: httpx.Client) -> Iterator[Callable[..., Lti]]:
    """A dedicated simulator per call, for fault and limit configurations."""
    servers: list[SimulatorServer] = []

    def factory(config: SimConfig | None = None, timeout: float = 5) -> Lti:
        server = SimulatorServer(config or SimConfig()).start()
        servers.append(server)
        return Lti(server, client, timeout)

    yield factory
    for server in servers:
        server.stop()


def item(meeting_id: str, context: str = OTHER_CONTEXT) -> dict[str, str]:
    return {"meetingId": meeting_id, "contextId": context, "domain": DOMAIN, "courseId": "397"}


# -- signature --------------------------------------------------------------------------


def test_signing_vectors_are_accepted(make_lti: Callable[..., Lti]) -> None:
    config = SimConfig(key=VECTOR_KEY, secret=VECTOR_SECRET, clock=FakeClock(1634769623.355))
    lti = make_lti(config)
    url = lti.server.base_url + "/meeting/createAndAssociate"
    plain = lti.client.post(
        url,
        params={"key": VECTOR_KEY, "timestamp": VECTOR_TS},
        headers={"X-Lti-Signature": VECTOR_SIG},
        json=create_body(),
    )
    with_user = lti.client.post(
        url,
        params={"key": VECTOR_KEY, "timestamp": VECTOR_TS, "userId": VECTOR_USER},
        headers={"X-Lti-Signature": VECTOR_SIG_USER},
        json=create_body(topic="other"),
    )
    assert plain.json() == {"status": True, "result": {"id": "91970000001"}}
    assert with_user.json() == {"status": True, "result": {"id": "91970000002"}}
    assert len(lti.server.state.snapshot()["meetings"]) == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "wrong-secret"},
        {"key": "wrong-key"},
        {"timestamp": str(int((SEPT_1_3PM - 61 * 60) * 1000))},
        {"timestamp": str(int((SEPT_1_3PM + 6 * 60) * 1000))},
        {"timestamp": "not-digits"},
    ],
    ids=["secret", "key", "expired", "future", "garbage-ts"],
)
def test_bad_signature_is_2203_and_creates_nothing(clocked: Lti, kwargs: dict[str, str]) -> None:
    lti = clocked
    response = lti.create(**kwargs)
    assert response.status_code == 200
    assert response.json() == {
        "status": False,
        "errorCode": "401",
        "errorMessage": "Verify LTI signature failed(2203).",
    }
    ledger = lti.server.state.snapshot()
    assert ledger["meetings"] == []
    assert [r["outcome"] for r in ledger["requests"]] == ["bad-signature"]


def test_timestamp_window_edges_are_accepted(clocked: Lti) -> None:
    lti = clocked
    old = str(int((SEPT_1_3PM - 59 * 60) * 1000))
    ahead = str(int((SEPT_1_3PM + 4 * 60) * 1000))
    assert lti.create(timestamp=old).json()["status"] is True
    assert lti.create(create_body(topic="b"), timestamp=ahead).json()["status"] is True


def test_missing_signature_header_is_2203(lti: Lti) -> None:
    response = lti.client.post(
        lti.server.base_url + "/meeting/createAndAssociate",
        params=signed_query(DEMO_KEY, DEMO_SECRET)[0],
        json=create_body(),
    )
    assert response.json()["errorCode"] == "401"
    assert lti.server.state.snapshot()["requests"][0]["signature"] is None


# -- createAndAssociate ---------------------------------------------------------------------


def test_create_records_meeting_and_association(lti: Lti) -> None:
    response = lti.create(user_id=HOST)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] is True
    meeting_id = body["result"]["id"]
    assert isinstance(meeting_id, str) and re.fullmatch(r"\d{11}", meeting_id)
    ledger = lti.server.state.snapshot()
    assert [m["id"] for m in ledger["meetings"]] == [meeting_id]
    meeting = ledger["meetings"][0]
    assert meeting["userId"] == HOST
    assert meeting["meetingInfo"] == meeting_info()
    assert (meeting["contextId"], meeting["domain"], meeting["courseId"]) == (CONTEXT, DOMAIN, "396")
    assert ledger["associations"] == [
        {"meetingId": meeting_id, "contextId": CONTEXT, "domain": DOMAIN, "courseId": "396", "via": "create"}
    ]
    request = ledger["requests"][0]
    assert request["endpoint"] == "createAndAssociate"
    assert request["method"] == "POST"
    assert request["query"]["userId"] == HOST
    assert request["http_status"] == 200
    assert request["outcome"] == "created"
    assert request["body"] == create_body()


def test_unknown_user_is_1001_and_creates_nothing(lti: Lti) -> None:
    response = lti.create(create_body(user="former.lecturer@state.example.edu"))
    assert response.json() == {
        "status": False,
        "errorCode": "1001",
        "errorMessage": "User does not exist: former.lecturer@state.example.edu.",
    }
    ledger = lti.server.state.snapshot()
    assert ledger["meetings"] == [] and ledger["associations"] == []


def test_rejected_context_is_406_with_id_and_meeting_kept(lti: Lti) -> None:
    body = lti.create(create_body(context=REJECTED)).json()
    assert body["status"] is False
    assert body["errorCode"] == "406"
    assert body["errorMessage"].startswith("create meeting success but associate failed:")
    ledger = lti.server.state.snapshot()
    assert [m["id"] for m in ledger["meetings"]] == [body["result"]["id"]]
    assert ledger["associations"] == []
    # A rejected course stays rejected through bulkImport too.
    retry = lti.bulk([item(body["result"]["id"], REJECTED)]).json()
    assert retry["errorCode"] == "2255"
    assert lti.server.state.snapshot()["associations"] == []


def test_flaky_context_fails_once_then_bulk_import_succeeds(lti: Lti) -> None:
    first = lti.create(create_body(context=FLAKY)).json()
    assert first["errorCode"] == "406"
    meeting_id = first["result"]["id"]
    second = lti.bulk([item(meeting_id, FLAKY)]).json()
    assert second == {"status": True, "result": {"total": 1}}
    ledger = lti.server.state.snapshot()
    assert len(ledger["meetings"]) == 1
    assert [(a["meetingId"], a["contextId"], a["via"]) for a in ledger["associations"]] == [
        (meeting_id, FLAKY, "bulkImport")
    ]
    assert ledger["flaky_attempts"] == {FLAKY: 2}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"topic": "x" * 201}, "topic"),
        ({"type": 5}, "type"),
        ({"type": True}, "type"),
        ({"start_time": None}, "start_time"),
        ({"start_time": "2026-09-01 10:00"}, "start_time"),
        ({"start_time": "2026-02-30T10:00:00"}, "start_time"),
        ({"duration": 0}, "duration"),
        ({"duration": "50"}, "duration"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"password": "x" * 11}, "password"),
        ({"recurrence": {"type": 1, "end_times": 3}}, "recurrence"),
        ({"type": 8, "recurrence": None}, "recurrence"),
        ({"type": 8, "recurrence": {"type": 2, "end_times": 3}}, "recurrence.weekly_days"),
        ({"type": 8, "recurrence": {"type": 4}}, "recurrence.type"),
        ({"type": 8, "recurrence": {"type": 1, "end_times": 51}}, "recurrence.end_times"),
        (
            {"type": 8, "recurrence": {"type": 1, "end_times": 3, "end_date_time": "2026-12-01T00:00:00Z"}},
            "recurrence.end_times",
        ),
        ({"type": 8, "recurrence": {"type": 1, "repeat_interval": 91}}, "recurrence.repeat_interval"),
        ({"settings": {"auto_recording": "tape"}}, "settings.auto_recording"),
    ],
)
def test_invalid_meeting_info_is_300_and_creates_nothing(
    lti: Lti, overrides: dict[str, Any], field: str
) -> None:
    body = lti.create(create_body(**overrides)).json()
    assert body["status"] is False
    assert body["errorCode"] == "300"
    assert body["errorMessage"].startswith(field + ": ")
    assert lti.server.state.snapshot()["meetings"] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"start_time": "2026-09-01T14:00:00Z", "timezone": "UTC"},
        {"type": 1, "start_time": None},
        {"type": 3, "start_time": None, "duration": None},
        {"type": 8, "recurrence": {"type": 2, "weekly_days": "2,4", "end_times": 30}},
        {"type": 8, "recurrence": {"type": 3, "monthly_week": -1, "monthly_week_day": 6,
                                   "end_date_time": "2026-12-15T00:00:00Z"}},
    ],
)
def test_valid_meeting_info_variants_are_created(lti: Lti, overrides: dict[str, Any]) -> None:
    assert lti.create(create_body(**overrides)).json()["status"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (["not", "an", "object"], "body"),
        ({**create_body(), "userId": ""}, "userId"),
        ({k: v for k, v in create_body().items() if k != "contextId"}, "contextId"),
        ({**create_body(), "courseId": 396}, "courseId"),
        ({**create_body(), "meetingInfo": "topic"}, "meetingInfo"),
    ],
)
def test_invalid_envelope_is_300(lti: Lti, body: Any, field: str) -> None:
    answer = lti.create(body).json()
    assert answer["errorCode"] == "300"
    assert answer["errorMessage"].startswith(field + ": ")
    assert lti.server.state.snapshot()["meetings"] == []


# -- bulkImport / bulkDisassociate -------------------------------------------------------


def _created_ids(lti: Lti, count: int) -> list[str]:
    return [lti.create(create_body(topic=f"t{i}")).json()["result"]["id"] for i in range(count)]


def test_bulk_import_over_400_items_is_refused(lti: Lti) -> None:
    meeting_id = _created_ids(lti, 1)[0]
    answer = lti.bulk([item(meeting_id)] * 401).json()
    assert answer == {
        "status": False,
        "errorCode": "400",
        "errorMessage": "At most 400 meetings can be imported at a time.",
    }
    ledger = lti.server.state.snapshot()
    assert ledger["bulk_calls"] == [401]
    assert len(ledger["associations"]) == 1  # only the create's own


def test_bulk_import_is_all_or_nothing(lti: Lti) -> None:
    ids = _created_ids(lti, 2)
    bad_batches = [
        [item(ids[0]), item("99999999999")],
        [item(ids[0]), item(ids[1], REJECTED)],
        [item(ids[0]), {"meetingId": ids[1], "contextId": OTHER_CONTEXT}],
    ]
    for batch in bad_batches:
        assert lti.bulk(batch).json() == {
            "status": False,
            "errorCode": "2255",
            "errorMessage": "The Meeting ID, Context ID or Domain is invalid(2255).",
        }
    ledger = lti.server.state.snapshot()
    assert [a["contextId"] for a in ledger["associations"]] == [CONTEXT, CONTEXT]
    assert ledger["bulk_calls"] == [2, 2, 2]


def test_bulk_import_meeting_list_form_and_idempotence(lti: Lti) -> None:
    ids = _created_ids(lti, 2)
    body = {"userId": "admin@state.example.edu", "meetingList": [item(i) for i in ids]}
    assert lti.bulk(body).json() == {"status": True, "result": {"total": 2}}
    assert lti.bulk(body).json() == {"status": True, "result": {"total": 2}}
    ledger = lti.server.state.snapshot()
    imported = [a for a in ledger["associations"] if a["via"] == "bulkImport"]
    assert [(a["meetingId"], a["contextId"], a["courseId"]) for a in imported] == [
        (ids[0], OTHER_CONTEXT, "397"),
        (ids[1], OTHER_CONTEXT, "397"),
    ]
    assert [r["outcome"] for r in ledger["requests"][-2:]] == ["imported", "imported"]


def test_bulk_disassociate_removes_associations(lti: Lti) -> None:
    ids = _created_ids(lti, 2)
    lti.bulk([item(i) for i in ids])
    answer = lti.unbulk({"userId": "admin", "meetingList": [item(ids[0])]})
    assert answer.json() == {"status": True}
    remaining = {(a["meetingId"], a["contextId"]) for a in lti.server.state.snapshot()["associations"]}
    assert remaining == {(ids[0], CONTEXT), (ids[1], CONTEXT), (ids[1], OTHER_CONTEXT)}
    assert lti.server.state.snapshot()["requests"][-1]["method"] == "PUT"


def test_bulk_body_of_wrong_shape_is_300(lti: Lti) -> None:
    assert lti.bulk({"meetings": []}).json()["errorCode"] == "300"
    assert lti.bulk([]).json()["errorCode"] == "300"


# -- injected faults ---------------------------------------------------------------------------


def test_500_after_create_keeps_meeting(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_500_after=1.0, seed=1))
    response = lti.create()
    assert response.status_code == 500
    ledger = lti.server.state.snapshot()
    assert len(ledger["meetings"]) == 1 and len(ledger["associations"]) == 1
    assert ledger["requests"][0]["outcome"] == "500-after"
    assert ledger["requests"][0]["http_status"] == 500


def test_drop_after_create_is_transport_error_but_meeting_exists(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_drop_after=1.0, seed=1))
    with pytest.raises(httpx.TransportError):
        lti.create()
    ledger = lti.server.state.snapshot()
    assert len(ledger["meetings"]) == 1
    assert ledger["requests"][0]["outcome"] == "drop-after"
    assert ledger["requests"][0]["http_status"] == 0


def test_drop_before_is_transport_error_and_nothing_created(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_drop_before=1.0, seed=1))
    with pytest.raises(httpx.TransportError):
        lti.create()
    ledger = lti.server.state.snapshot()
    assert ledger["meetings"] == []
    assert [r["outcome"] for r in ledger["requests"]] == ["drop-before"]


def test_503_before_creates_nothing(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_503_before=1.0, seed=1))
    assert lti.create().status_code == 503
    assert lti.server.state.snapshot()["meetings"] == []


def test_429_injection_uses_every_retry_after_shape(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_429=1.0, seed=7))
    shapes = set()
    for _ in range(24):
        response = lti.create()
        assert response.status_code == 429
        value = response.headers.get("Retry-After")
        if value is None:
            shapes.add("missing")
        elif value == "1":
            shapes.add("seconds")
        elif ISO_Z.fullmatch(value):
            shapes.add("iso")
        else:
            parsedate_to_datetime(value)  # raises if not an HTTP date
            shapes.add("http-date")
    assert shapes == {"missing", "seconds", "iso", "http-date"}
    assert lti.server.state.snapshot()["meetings"] == []


def test_stall_after_outlasts_client_timeout(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(p_stall_after=1.0, stall_s=2.0, seed=1), timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        lti.create()
    ledger = lti.server.state.snapshot()
    assert len(ledger["meetings"]) == 1
    assert ledger["requests"][0]["outcome"] == "stall-after"


def test_latency_delays_answer(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(latency_s=0.2), timeout=0.1)
    with pytest.raises(httpx.ReadTimeout):
        lti.create()


def test_daily_cap_per_host(make_lti: Callable[..., Lti]) -> None:
    clock = FakeClock(SEPT_1_3PM)
    lti = make_lti(SimConfig(daily_cap_per_host=2, clock=clock))
    assert [lti.create(create_body(topic=f"t{i}")).status_code for i in range(2)] == [200, 200]
    capped = lti.create(create_body(topic="t2"))
    assert capped.status_code == 429
    assert capped.headers["Retry-After"] == "2026-09-02T00:00:00Z"
    assert len(lti.server.state.snapshot()["meetings"]) == 2
    # Another host is unaffected; the capped host resumes the next UTC day.
    assert lti.create(create_body(user="other@state.example.edu")).status_code == 200
    clock.now = datetime(2026, 9, 2, 0, 0, 1, tzinfo=UTC).timestamp()
    assert lti.create(create_body(topic="t2")).status_code == 200
    assert lti.server.state.snapshot()["requests"][2]["outcome"] == "429-daily"


def test_per_second_rate_limit(make_lti: Callable[..., Lti]) -> None:
    lti = make_lti(SimConfig(rate_limit_per_s=2))
    responses = [lti.create(create_body(topic=f"t{i}")) for i in range(5)]
    statuses = [r.status_code for r in responses]
    assert statuses[:2] == [200, 200]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, statuses
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].json() == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit",
    }
    assert len(lti.server.state.snapshot()["meetings"]) == statuses.count(200)


def test_seeded_faults_are_reproducible(make_lti: Callable[..., Lti]) -> None:
    def outcomes() -> list[str]:
        lti = make_lti(SimConfig(p_429=0.3, p_503_before=0.3, seed=42))
        for i in range(12):
            lti.create(create_body(topic=f"t{i}"))
        return [r["outcome"] for r in lti.server.state.snapshot()["requests"]]

    first = outcomes()
    assert first == outcomes()
    assert {"created", "429", "503"} <= set(first)


# -- ledger, reset, duplicates, binding ------------------------------------------------------


def test_sim_ledger_and_reset_routes(lti: Lti) -> None:
    meeting_id = _created_ids(lti, 1)[0]
    ledger = lti.client.get(lti.server.root_url + "/_sim/ledger").json()
    assert ledger == lti.server.state.snapshot()
    assert [m["id"] for m in ledger["meetings"]] == [meeting_id]
    assert lti.client.post(lti.server.root_url + "/_sim/reset").json() == {"status": True}
    assert lti.server.state.snapshot()["meetings"] == []
    # Ids are never reused after a reset.
    assert _created_ids(lti, 1)[0] != meeting_id


def test_duplicate_meetings_groups_same_host_and_info(lti: Lti) -> None:
    lti.create()
    lti.create()
    lti.create(create_body(topic="different"))
    groups = lti.server.state.duplicate_meetings()
    assert len(groups) == 1 and len(groups[0]) == 2
    assert groups[0][0]["meetingInfo"] == meeting_info()


def test_server_urls(default_server: SimulatorServer) -> None:
    port = default_server.port
    assert port > 0
    assert default_server.root_url == f"http://127.0.0.1:{port}"
    assert default_server.base_url == f"http://127.0.0.1:{port}/api/v1/lti/rich"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", ""])
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError):
        SimulatorServer(SimConfig(), SimState(), host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    check_loopback(host)


def test_demo_config_values() -> None:
    config = demo_config()
    assert config.key == DEMO_KEY and config.secret == DEMO_SECRET
    assert config.unknown_users == frozenset({"former.lecturer@state.example.edu"})
    assert config.reject_contexts == frozenset({REJECTED})
    assert config.flaky_contexts == frozenset({FLAKY}) and config.flaky_failures == 1


def test_ledger_indexes_follow_associate_disassociate_and_reset() -> None:
    from importer.simulator.state import SimState

    state = SimState()
    first = state.create_meeting("h@x.edu", {"topic": "A"}, "c1", "d.edu", None, 100.0)
    second = state.create_meeting("h@x.edu", {"topic": "B"}, "c2", "d.edu", None, 200.0)
    link = {"meetingId": first, "contextId": "c1", "domain": "d.edu"}

    assert state.associate([link, {**link, "courseId": "9"}], via="create") == 1  # courseId is no identity
    assert state.associate([link], via="bulkImport") == 0
    assert state.disassociate([link, {"meetingId": second, "contextId": "c9", "domain": "d.edu"}]) == 1
    assert state.associate([link], via="bulkImport") == 1
    assert state.meeting_ids() == {first, second}
    assert state.creates_between("h@x.edu", 100.0, 200.0) == 1
    assert state.snapshot()["associations"] == [
        {"meetingId": first, "contextId": "c1", "domain": "d.edu", "courseId": None, "via": "bulkImport"},
    ]

    state.reset()
    assert state.meeting_ids() == set()
    assert state.creates_between("h@x.edu", 0.0, 1e12) == 0
    assert state.associate([link], via="bulkImport") == 1
