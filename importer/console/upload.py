"""A schedule uploaded to the console: the multipart body streamed straight into the private folder.

Starlette's own form parser spools files to the system's temporary folder; this one writes
the file where the console keeps its uploads (mode 0700) and stops keeping bytes at the size
limit, while still reading the rest of the body so that the browser gets the 413 page rather
than a reset connection.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

#: The largest schedule the console takes (a term of a few thousand rows is well under 1 MB).
UPLOAD_LIMIT = 20 * 1024 * 1024
#: A body this much larger than the limit is not read to its end: the connection is dropped instead.
DRAIN_LIMIT = 4 * UPLOAD_LIMIT
FIELD_LIMIT = 1024  # bytes of a plain form field (the form token)
FILE_FIELD = "schedule"

_UNSAFE = re.compile(r"[^A-Za-z0-9._()-]+")


class UploadError(Exception):
    """The body is not a form this console sent: its message is one line for the page."""


@dataclass
class Upload:
    fields: dict[str, str]
    file_name: str | None = None  # as the coordinator's computer named it (for pages and messages)
    path: Path | None = None  # where its bytes are, under the folder given
    too_large: bool = False

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def shown_name(raw: str) -> str:
    """The uploaded file's own name, for pages: no folders, no control characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or "schedule"


def disk_name(name: str) -> str:
    """A name safe on any file system and in a Content-Disposition header, keeping the extension."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    safe_stem = _UNSAFE.sub("_", stem).strip("._") or "schedule"
    safe_suffix = _UNSAFE.sub("", suffix).lower()
    return f"{safe_stem[:100]}.{safe_suffix}" if safe_suffix else safe_stem[:100]


class _Parts:
    """The parser's callbacks: plain fields into `fields`, the schedule into a file under `folder`."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.upload = Upload(fields={})
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field: str | None = None
        self._value = bytearray()
        self._file: BinaryIO | None = None
        self._size = 0

    def on_part_begin(self) -> None:
        self._disposition, self._field, self._value = b"", None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._field = options.get(b"name", b"").decode("utf-8", "replace")
        if self._field == FILE_FIELD and b"filename" in options and self.upload.path is None:
            raw = options[b"filename"].decode("utf-8", "replace")
            if raw:
                self.upload.file_name = shown_name(raw)
                self.upload.path = self.folder / disk_name(self.upload.file_name)
                self._file = self.upload.path.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._size += end - start
            if self._size > self.limit:
                self.upload.too_large = True
                self.close_file()
                self.upload.discard()
            else:
                self._file.write(data[start:end])
        elif self._field is not None and len(self._value) < FIELD_LIMIT:
            self._value.extend(data[start:end][:FIELD_LIMIT - len(self._value)])

    def on_part_end(self) -> None:
        if self._file is not None:
            self.close_file()
        elif self._field and self._field != FILE_FIELD:
            self.upload.fields.setdefault(self._field, self._value.decode("utf-8", "replace"))
        self._field = None

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def receive_upload(request: Request, folder: Path, limit: int = UPLOAD_LIMIT) -> Upload:
    """The form's fields and its schedule file, written under `folder` (which must exist)."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError("the upload is not a form this page sent: reload the page and choose the file again")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > DRAIN_LIMIT:
        return Upload(fields={}, too_large=True)
    parts = _Parts(folder, limit)
    try:
        parser = MultipartParser(options[b"boundary"], {
            "on_part_begin": parts.on_part_begin, "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end, "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value, "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished})
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > DRAIN_LIMIT:
                parts.upload.too_large = True
                break
            if not parts.upload.too_large:
                parser.write(chunk)
        if not parts.upload.too_large:
            parser.finalize()
    except (FormParserError, OSError) as exc:
        parts.close_file()
        parts.upload.discard()
        raise UploadError(f"the upload could not be read ({exc}): choose the file again") from None
    finally:
        parts.close_file()
    return parts.upload
