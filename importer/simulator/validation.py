"""Request-body checks, as strict as Zoom's own (API.md "meetingInfo").

The point is to catch importer bugs against the simulator, not in production: a field
the real API would refuse must be refused here too, with a message naming the field.
Each check returns an error message ``"<field>: <what is wrong>"`` or None.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request

MEETING_TYPES = frozenset({1, 2, 3, 8})
TYPES_NEEDING_START = frozenset({2, 8})
DEFAULT_MEETING_TYPE = 2  # Zoom's default when "type" is omitted
MAX_TOPIC = 200
MAX_AGENDA = 2000
PASSWORD_RE = re.compile(r"[A-Za-z0-9@\-_*]{0,10}")
START_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?")
END_DATE_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
WEEKLY_DAYS_RE = re.compile(r"[1-7](,[1-7])*")
#: Longest repeat_interval per recurrence type: 90 days, 12 weeks, 3 months.
MAX_REPEAT_INTERVAL = {1: 90, 2: 12, 3: 3}
MAX_END_TIMES = 50
SETTING_CHOICES: dict[str, frozenset[Any]] = {
    "jbh_time": frozenset({0, 5, 10}),
    "approval_type": frozenset({0, 1, 2}),
    "auto_recording": frozenset({"local", "cloud", "none"}),
    "audio": frozenset({"both", "telephony", "voip"}),
}

Error = str | None


def _is_int(value: object) -> TypeGuard[int]:
    """JSON booleans are Python ints; Zoom would not take true as a type."""
    return isinstance(value, int) and not isinstance(value, bool)


def _non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


@lru_cache(maxsize=512)
def is_valid_timezone(name: str) -> bool:
    """IANA names only (Zoom's list is a subset of them), plus UTC."""
    if name == "UTC":
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _check_datetime(field: str, value: Any, pattern: re.Pattern[str], shape: str) -> Error:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return f"{field}: must look like {shape}"
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return f"{field}: not a valid date and time"
    return None


def validate_create_body(body: Any) -> Error:
    """The createAndAssociate envelope, then its meetingInfo."""
    if not isinstance(body, dict):
        return "body: must be a JSON object"
    for name in ("userId", "contextId", "domain"):
        if not _non_empty_str(body.get(name)):
            return f"{name}: required (a non-empty string)"
    course_id = body.get("courseId")
    if course_id is not None and not isinstance(course_id, str):
        return "courseId: must be a string"
    info = body.get("meetingInfo")
    if not isinstance(info, dict):
        return "meetingInfo: required (an object)"
    return validate_meeting_info(info)


def validate_meeting_info(info: dict[str, Any]) -> Error:
    """Zoom's "Create a meeting" rules for the fields a sheet can carry."""
    meeting_type = info.get("type", DEFAULT_MEETING_TYPE)
    if not _is_int(meeting_type) or meeting_type not in MEETING_TYPES:
        return "type: must be one of 1, 2, 3, 8"
    for check in (_check_text, _check_schedule, _check_settings):
        error = check(info, meeting_type)
        if error:
            return error
    return _check_recurrence_presence(info, meeting_type)


def _check_text(info: dict[str, Any], _type: int) -> Error:
    topic = info.get("topic")
    if topic is not None and (not isinstance(topic, str) or len(topic) > MAX_TOPIC):
        return f"topic: must be a string of at most {MAX_TOPIC} characters"
    agenda = info.get("agenda")
    if agenda is not None and (not isinstance(agenda, str) or len(agenda) > MAX_AGENDA):
        return f"agenda: must be a string of at most {MAX_AGENDA} characters"
    password = info.get("password")
    if password is not None and (
        not isinstance(password, str) or not PASSWORD_RE.fullmatch(password)
    ):
        return "password: at most 10 characters of A-Z a-z 0-9 @ - _ *"
    return None


def _check_schedule(info: dict[str, Any], meeting_type: int) -> Error:
    start = info.get("start_time")
    if start is None:
        if meeting_type in TYPES_NEEDING_START:
            return f"start_time: required for type {meeting_type} meetings"
    else:
        error = _check_datetime("start_time", start, START_TIME_RE, "yyyy-MM-ddTHH:mm:ss[Z]")
        if error:
            return error
    duration = info.get("duration")
    if duration is not None and (not _is_int(duration) or duration <= 0):
        return "duration: must be a positive integer (minutes)"
    timezone = info.get("timezone")
    if timezone is not None and (
        not isinstance(timezone, str) or not is_valid_timezone(timezone)
    ):
        return f"timezone: unknown time zone {timezone!r}"
    return None


def _check_settings(info: dict[str, Any], _type: int) -> Error:
    settings = info.get("settings")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        return "settings: must be an object"
    for name, allowed in SETTING_CHOICES.items():
        value = settings.get(name)
        if value is not None and (isinstance(value, bool) or value not in allowed):
            return f"settings.{name}: must be one of {sorted(allowed, key=str)}"
    return None


def _check_recurrence_presence(info: dict[str, Any], meeting_type: int) -> Error:
    recurrence = info.get("recurrence")
    if recurrence is None:
        return "recurrence: required for type 8 meetings" if meeting_type == 8 else None
    if meeting_type != 8:
        return "recurrence: only allowed for type 8 meetings"
    if not isinstance(recurrence, dict):
        return "recurrence: must be an object"
    return validate_recurrence(recurrence)


def validate_recurrence(rec: dict[str, Any]) -> Error:
    """Recurrence of a type 8 meeting: daily, weekly or monthly, ending once."""
    rec_type = rec.get("type")
    if not _is_int(rec_type) or rec_type not in MAX_REPEAT_INTERVAL:
        return "recurrence.type: must be 1 (daily), 2 (weekly) or 3 (monthly)"
    interval = rec.get("repeat_interval")
    if interval is not None and (
        not _is_int(interval) or not 1 <= interval <= MAX_REPEAT_INTERVAL[rec_type]
    ):
        return f"recurrence.repeat_interval: must be 1..{MAX_REPEAT_INTERVAL[rec_type]}"
    if rec_type == 2:
        days = rec.get("weekly_days")
        if not isinstance(days, str) or not WEEKLY_DAYS_RE.fullmatch(days):
            return "recurrence.weekly_days: required for weekly recurrence (e.g. \"2,4\", 1 = Sunday)"
    if rec_type == 3:
        error = _check_monthly(rec)
        if error:
            return error
    return _check_recurrence_end(rec)


def _check_monthly(rec: dict[str, Any]) -> Error:
    day = rec.get("monthly_day")
    week = rec.get("monthly_week")
    if day is not None:
        if not _is_int(day) or not 1 <= day <= 31:
            return "recurrence.monthly_day: must be 1..31"
        return None
    if week is None:
        return "recurrence.monthly_day: required for monthly recurrence (or monthly_week)"
    if not _is_int(week) or week not in (-1, 1, 2, 3, 4):
        return "recurrence.monthly_week: must be -1, 1, 2, 3 or 4"
    week_day = rec.get("monthly_week_day")
    if not _is_int(week_day) or not 1 <= week_day <= 7:
        return "recurrence.monthly_week_day: required with monthly_week (1..7)"
    return None


def _check_recurrence_end(rec: dict[str, Any]) -> Error:
    end_times = rec.get("end_times")
    end_date_time = rec.get("end_date_time")
    if end_times is not None and end_date_time is not None:
        return "recurrence.end_times: cannot be combined with end_date_time"
    if end_times is not None and (
        not _is_int(end_times) or not 1 <= end_times <= MAX_END_TIMES
    ):
        return f"recurrence.end_times: must be 1..{MAX_END_TIMES}"
    if end_date_time is not None:
        return _check_datetime(
            "recurrence.end_date_time", end_date_time, END_DATE_TIME_RE, "yyyy-MM-ddTHH:mm:ssZ"
        )
    return None


# -- bulkImport / bulkDisassociate ------------------------------------------------


def bulk_items(body: Any) -> list[Any] | None:
    """The item list of either body shape, or None when the shape is neither."""
    if isinstance(body, list):
        return body
    items = body.get("meetingList") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    user_id = body.get("userId")
    return items if user_id is None or isinstance(user_id, str) else None


def normalize_item(item: Any) -> dict[str, Any] | None:
    """One association item with its meeting id as a string, or None if a field is missing."""
    if not isinstance(item, dict):
        return None
    meeting_id = item.get("meetingId")
    if _is_int(meeting_id):
        meeting_id = str(meeting_id)
    if not _non_empty_str(meeting_id):
        return None
    if not (_non_empty_str(item.get("contextId")) and _non_empty_str(item.get("domain"))):
        return None
    course_id = item.get("courseId")
    if course_id is not None and not isinstance(course_id, str):
        return None
    return {
        "meetingId": meeting_id,
        "contextId": item["contextId"],
        "domain": item["domain"],
        "courseId": course_id,
    }


async def read_json(request: Request) -> Any:
    """A request's JSON body; None when it is empty or not JSON (the endpoint then refuses the body)."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
