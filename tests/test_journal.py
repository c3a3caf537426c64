"""The journal: the record that keeps a meeting from being created twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from importer.errors import JournalError
from importer.journal import Journal


def test_mark_sending_refuses_a_row_already_sent_or_made(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", "scope") as journal:
        assert journal.mark_sending("id:a", "h:a", 2) is True
        assert journal.mark_sending("id:a", "h:a", 2) is False  # still in flight
        journal.record_meeting("id:a", "created", "919")
        assert journal.mark_sending("id:a", "h:a", 2) is False
        journal.record_meeting("id:a", "failed", None, "503", "unavailable")
        assert journal.mark_sending("id:a", "h:a", 2) is True  # failed: nothing exists, may be sent
        assert journal.meetings()["id:a"].state == "sending"
        assert journal.meetings()["id:a"].content_key == "h:a"


def test_recover_turns_in_flight_rows_unknown_and_scopes_are_separate(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path, "one") as journal:
        journal.mark_sending("k", "h", 2)
    with Journal(path, "two") as other:
        assert other.recover() == 0
        assert other.meetings() == {}
    with Journal(path, "one") as journal:
        assert journal.recover() == 1
        entry = journal.meetings()["k"]
        assert (entry.state, entry.error_code) == ("unknown", "lost")


def test_a_second_run_cannot_hold_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with subprocess.Popen(
            [sys.executable, "-c",
             "import sys, time; from importer.journal import Journal; j = Journal(sys.argv[1], 's'); j.lock(); "
             "print('locked', flush=True); time.sleep(30)", str(path)],
            stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            with Journal(path, "s") as journal, pytest.raises(JournalError, match="another importer run"):
                journal.lock()
        finally:
            holder.kill()
    with Journal(path, "s") as journal:
        journal.lock()  # a killed holder released it


def test_unusable_journal_path_is_a_journal_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(JournalError, match="cannot be opened"):
        Journal(tmp_path / "file" / "j.sqlite3", "s")
