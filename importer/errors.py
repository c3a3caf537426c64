"""What stops a run.

    ImporterError            one line for the coordinator, exit code 2
    +-- ConfigError          missing credentials, bad option values, refused base URL
    +-- InputError           unreadable file, wrong format, missing required columns
    +-- JournalError         the journal cannot be opened or written

Per-row trouble is never an exception: it is a `Problem` (schema) or an `Outcome`
(client/pool), carried as data to the result sheet.
"""

from __future__ import annotations


class ImporterError(Exception):
    """Stops the whole run. Its message is one line telling the coordinator what to do."""


class ConfigError(ImporterError):
    pass


class InputError(ImporterError):
    pass


class JournalError(ImporterError):
    pass
