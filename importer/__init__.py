"""importer: put a term's schedule of Zoom class meetings into LMS courses through LTI Pro.

The public surface is what `__all__` lists (tests/test_public_api.py pins it); every other
module is the implementation and may change:

    validate_file(path, output, read)                  check every row, send nothing
    import_file(path, output, connection, options, ...)  check, create, link, write the result sheet

Both return a `Report`: each row's `Outcome` (its `Status`, meeting id, code, message and
next step) and the result sheet's path. What stops a command is an `ImporterError`.
"""

__version__ = "0.1.0"

from .errors import ConfigError, ImporterError, InputError, JournalError
from .models import Outcome, Problem, RowResult
from .options import Canvas, Connection, ImportOptions, Progress, ReadOptions, StopRequest
from .report import Report
from .run import import_file, validate_file
from .statuses import Status

__all__ = [
    "Canvas",
    "ConfigError",
    "Connection",
    "ImportOptions",
    "ImporterError",
    "InputError",
    "JournalError",
    "Outcome",
    "Problem",
    "Progress",
    "ReadOptions",
    "Report",
    "RowResult",
    "Status",
    "StopRequest",
    "__version__",
    "import_file",
    "validate_file",
]
