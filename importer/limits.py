"""The limits that shape a term import, each stated once here: Zoom's and LTI Pro's (API.md),
and the spreadsheet's.

The simulator states the server's side of them on its own (`importer/simulator/`), as it
does signing: a fake that imported these could not catch a wrong one.
"""

from __future__ import annotations

#: Characters in a meeting's topic.
TOPIC_MAX_CHARS = 200
#: Characters in a meeting's agenda.
AGENDA_MAX_CHARS = 2000
#: Characters in a meeting passcode (letters, digits, @ - _ *).
PASSWORD_MAX_CHARS = 10
#: Occurrences of one recurring meeting (end_times, or the classes a timetable row makes).
MAX_OCCURRENCES = 50
#: repeat_interval's ceiling per recurrence type: daily 90 days, weekly 12 weeks, monthly 3 months.
REPEAT_MAX = {1: 90, 2: 12, 3: 3}
#: Meeting creates (and updates) per host user per UTC day.
DAILY_CREATES_PER_HOST = 100
#: Zoom REST calls per second per account, by Zoom's rate-limit category, at the Pro plan's
#: level (Business and up allow more; 429s with Retry-After handle the rest). Listing a host's
#: meetings is Medium; getting, updating and deleting one are Light.
ZOOM_LIGHT_PER_S = 30.0
ZOOM_MEDIUM_PER_S = 20.0
#: Meetings in one bulkImport (or bulkDisassociate) call.
BULK_MAX = 400
#: Rows in one Excel worksheet, the header row included.
EXCEL_MAX_ROWS = 1_048_576
