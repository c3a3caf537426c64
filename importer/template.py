"""`importer template`: an empty schedule with the columns the importer understands."""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import InputError

TEMPLATE_COLUMNS = (
    "row_id", "userId", "contextId", "domain", "courseId", "topic", "type", "start_time", "duration",
    "timezone", "agenda", "password", "recurrence_type", "repeat_interval", "weekly_days", "monthly_day",
    "monthly_week", "monthly_week_day", "end_times", "end_date_time", "settings.host_video",
    "settings.participant_video", "settings.join_before_host", "settings.mute_upon_entry",
    "settings.waiting_room", "settings.auto_recording", "settings.alternative_hosts",
)


def write_template(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerow(TEMPLATE_COLUMNS)
    elif suffix == ".xlsx":
        import xlsxwriter

        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet("Schedule")
        bold = workbook.add_format({"bold": True})
        sheet.write_row(0, 0, TEMPLATE_COLUMNS, bold)
        sheet.freeze_panes(1, 0)
        workbook.close()
    else:
        raise InputError(f"{path}: a template is .xlsx or .csv")
