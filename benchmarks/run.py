"""Throughput at the API's limit: the importer against a bare httpx loop, on the same simulator.

    make bench                                   # the full matrix, writes benchmarks/results.md
    .venv/bin/python benchmarks/run.py --quick   # a smoke run (< 1 minute)
    .venv/bin/python benchmarks/run.py --only target-l20,validate
    .venv/bin/python benchmarks/run.py --profile # pyinstrument reports in benchmarks/work/

What it does (see benchmarks/README.md for how to read the numbers):

- starts the project's simulator in its own process (`python -m importer simulate --port 0
  --latency L [--rate-limit R]`), one per latency/rate group, and POSTs /_sim/reset after
  every run so each run starts from an empty ledger;
- generates sheets into benchmarks/work/ (cached) and, for each, the exact createAndAssociate
  bodies the importer will send (through the importer's own schema check), as JSON for the
  bare loop;
- runs `importer run SHEET ... --quiet` and `benchmarks/bare_loop.py` as subprocesses,
  alternating A/B, and measures each with os.wait4 (wall, CPU, peak RSS of that process);
- counts requests, 429s and meetings in the simulator's ledger after every run;
- runs `importer validate` on a 100,000-row sheet and on a 5,000-row term, each against
  python-calamine merely reading the same file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
RESULTS = BENCH / "results.md"
PYTHON = sys.executable
SHEET_VERSION = 2  # bump when the generated sheet changes, to regenerate the cache

sys.path.insert(0, str(ROOT))
from importer.simulator.config import DEMO_KEY, DEMO_SECRET  # noqa: E402


def importer_command() -> list[str]:
    script = Path(PYTHON).with_name("importer")
    return [str(script)] if script.exists() else [PYTHON, "-m", "importer"]


# --- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    latency_ms: int
    concurrency: int
    rows: int
    pairs: int = 2
    sim_rate_limit: int = 0  # simulator: requests per 1-s window before 429 (0 = none)
    rate: float = 0.0  # importer --rate and bare loop pacing (0 = unlimited)
    target: str | None = None  # "wall" | "throughput" | "rate"
    progress_check: bool = False  # importer --quiet / log lines / live bar on a terminal (no bare loop)

    @property
    def ideal_s(self) -> float | None:
        """What a perfect client would take: n x latency / concurrency, or n / rate."""
        ideals = []
        if self.latency_ms > 0:
            ideals.append(self.rows * self.latency_ms / 1000 / self.concurrency)
        if self.rate > 0:
            ideals.append(self.rows / self.rate)
        return max(ideals) if ideals else None


def grid_rows(latency_ms: int, concurrency: int, cap_rows: int = 1000, max_ideal_s: float = 5.0) -> int:
    """`cap_rows`, fewer where n x latency / c would exceed a few seconds (c = 1 or 8 at 100 ms)."""
    if latency_ms == 0:
        return cap_rows
    rows = int(max_ideal_s * concurrency / (latency_ms / 1000) // 10 * 10)
    return max(20, min(cap_rows, rows))


def full_matrix() -> list[Case]:
    """The sizes the targets name, and a grid of 1,000-row runs (fewer where the ideal time
    would pass 5 s); the 20,000-row run is one pair. On the 2-core bench machine a request
    costs 3-15 ms of client CPU (httpx) and ~1 ms of simulator CPU; see benchmarks/README.md
    for how long the whole run takes."""
    cases = [Case(f"grid-l{lat}-c{c}", lat, c, grid_rows(lat, c))
             for lat in (0, 20, 100) for c in (1, 8, 32, 64)]
    cases += [
        Case("target-l20-c32-4000", 20, 32, 4000, target="wall"),
        Case("target-l0-c16-10000", 0, 16, 10000, target="throughput"),
        Case("progress-l0-c16-1000", 0, 16, 1000, progress_check=True),
        Case("big-l0-c32-20000", 0, 32, 20000, pairs=1),
        Case("ratelimit-20-c8-400", 0, 8, 400, sim_rate_limit=20, rate=20.0, target="rate"),
    ]
    return cases


def quick_matrix() -> list[Case]:
    return [
        Case("grid-l0-c8", 0, 8, 200),
        Case("target-l20-c32-4000", 20, 32, 300, target="wall"),
        Case("target-l0-c16-10000", 0, 16, 400, target="throughput"),
        Case("progress-l0-c16-1000", 0, 16, 200, progress_check=True),
        Case("ratelimit-20-c8-400", 0, 8, 40, sim_rate_limit=20, rate=20.0, target="rate"),
    ]


TARGETS = {
    "wall": "importer wall <= 1.15 x bare (20 ms, c32, 4,000 rows)",
    "throughput": "importer throughput >= 0.75 x bare (0 ms, c16, 10,000 rows)",
    "rate": "rate-limited 20/s with --rate 20: >= 19 rows/s and 429s <= 1% of requests",
    "validate": "validate 100k rows <= 5 x calamine read time; peak RSS <= 500 MB",
    "validate-term": "validate a 5,000-row term well under a second (judged: < 1.0 s end to end)",
}


# --- sheets ----------------------------------------------------------------------------------

HEADERS = ["userId", "contextId", "domain", "courseId", "topic", "type", "start_time", "duration", "timezone"]


def host_count(rows: int) -> int:
    """Enough hosts that none needs more than 100 creates (Zoom's daily limit): at most 60 each."""
    return max(300, math.ceil(rows / 60))


def sheet_row(n: int, hosts: int) -> list[Any]:
    start = datetime(2027, 1, 11, 8, 0) + timedelta(days=(n // 12) % 300, hours=n % 12)
    return [f"host{n % hosts}@bench.example.edu", f"ctx-{n}", "canvas.bench.example.edu", 100000 + n,
            f"BENCH {n:06d} Lecture: Section {n % 7}", 2, start, 50, "America/New_York"]


def sheet_path(rows: int) -> Path:
    return WORK / f"sheet-v{SHEET_VERSION}-{rows}.xlsx"


def make_sheet(rows: int) -> Path:
    """Written by XlsxWriter the way Excel writes a workbook: a shared string table and a
    <dimension> element. (openpyxl's write-only mode writes inline strings and no dimension,
    which makes openpyxl's reader parse the whole sheet twice: not what coordinators send.)"""
    path = sheet_path(rows)
    if path.exists():
        return path
    import xlsxwriter

    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp.xlsx")
    workbook = xlsxwriter.Workbook(str(tmp))
    sheet = workbook.add_worksheet("Schedule")
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, HEADERS)
    hosts = host_count(rows)
    for n in range(rows):
        for col, value in enumerate(sheet_row(n, hosts)):
            if isinstance(value, datetime):
                sheet.write_datetime(n + 1, col, value, when)
            else:
                sheet.write(n + 1, col, value)
    workbook.close()
    tmp.replace(path)
    log(f"  generated {path.name} ({rows:,} rows) in {time.perf_counter() - t0:.1f} s")
    return path


def make_bodies(rows: int) -> Path:
    """The createAndAssociate bodies the importer sends for this sheet, via its own schema."""
    path = WORK / f"bodies-v{SHEET_VERSION}-{rows}.json"
    if path.exists():
        return path
    from importer.run import ReadOptions, check_sheet

    sheet = make_sheet(rows)
    _, checks = check_sheet(sheet, ReadOptions())
    bad = [c for c in checks if c.request is None or c.errors]
    if bad:
        raise SystemExit(f"generated sheet has invalid rows, e.g. {bad[0].problems}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([c.request.body() for c in checks], ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


# --- processes -----------------------------------------------------------------------------


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    exit_code: int
    stdout: str
    sim_cpu_s: float | None = None  # the simulator's CPU during the run
    other_load: float | None = None  # CPUs busy with anything else (other users of the machine)


TICK = os.sysconf("SC_CLK_TCK")


def busy_cpu_s() -> float | None:
    """Seconds of CPU time the whole machine has spent busy (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICK


def process_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


# Linux starts a child's ru_maxrss at the RSS of the process it was forked from (recorded at
# exec), so children forked from this harness (which holds sheets and ledgers) would all report
# its size. They are spawned instead by this small process, started while the harness is small.
SPAWNER = r"""
import json, os, sys, time
os.chdir(sys.argv[1])
for line in sys.stdin:
    job = json.loads(line)
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(job["cmd"][0], job["cmd"], job["env"], file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
                      "exit": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class Spawner:
    """Runs children for `measure` and reports wait4's rusage for each."""

    _proc: subprocess.Popen[str] | None = None

    @classmethod
    def run(cls, cmd: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> dict[str, Any]:
        if cls._proc is None or cls._proc.poll() is not None:
            cls._proc = subprocess.Popen([PYTHON, "-S", "-c", SPAWNER, str(WORK)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env={"PATH": os.environ.get("PATH", "")})
        assert cls._proc.stdin is not None and cls._proc.stdout is not None
        executable = cmd[0] if os.sep in cmd[0] else (shutil.which(cmd[0]) or cmd[0])
        cls._proc.stdin.write(json.dumps({"cmd": [executable, *cmd[1:]], "env": env,
                                          "stdout": str(stdout), "stderr": str(stderr)}) + "\n")
        cls._proc.stdin.flush()
        line = cls._proc.stdout.readline()
        if not line:
            raise SystemExit("the spawner process died")
        return json.loads(line)

    @classmethod
    def close(cls) -> None:
        if cls._proc is not None and cls._proc.stdin is not None:
            cls._proc.stdin.close()
            cls._proc.wait(timeout=10)
            cls._proc = None


def measure(cmd: list[str], env: dict[str, str] | None = None, tag: str = "run",
            sim_pid: int | None = None) -> Measured:
    """Run one child to completion; wall from spawn to exit, CPU and peak RSS from wait4."""
    out_path, err_path = WORK / f"{tag}.stdout", WORK / f"{tag}.stderr"
    sim_before = process_cpu_s(sim_pid) if sim_pid else None
    busy_before = busy_cpu_s()
    done = Spawner.run(cmd, env if env is not None else dict(os.environ), out_path, err_path)
    busy_after = busy_cpu_s()
    sim_after = process_cpu_s(sim_pid) if sim_pid else None
    wall, cpu = done["wall"], done["cpu"]
    sim_cpu = sim_after - sim_before if sim_after is not None and sim_before is not None else None
    other = None
    if busy_after is not None and busy_before is not None:
        other = max(0.0, (busy_after - busy_before) - cpu - (sim_cpu or 0.0)) / wall
    return Measured(wall, cpu, done["maxrss_kb"] / 1024, done["exit"], out_path.read_text(errors="replace"),
                    sim_cpu, other)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTI_", "IMPORTER_"))}
    env.update(LTI_KEY=DEMO_KEY, LTI_SECRET=DEMO_SECRET, NO_COLOR="1", PYTHONPATH=str(ROOT))
    return env


class Simulator:
    """The project's simulator in its own process on a free loopback port."""

    def __init__(self, latency_ms: int, rate_limit: int, stock: bool = False) -> None:
        self.latency_ms, self.rate_limit = latency_ms, rate_limit
        # benchmarks/sim_server.py: the same app and demo config, with an indexed ledger (see there);
        # --stock-simulator: `importer simulate` exactly as shipped.
        launcher = ["-m", "importer", "simulate"] if stock else [str(BENCH / "sim_server.py")]
        cmd = [PYTHON, *launcher, "--port", "0", "--latency", str(latency_ms / 1000)]
        if rate_limit:
            cmd += ["--rate-limit", str(rate_limit)]
        self._log = (WORK / "simulator.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
                                     cwd=WORK, env=child_env())
        line = self._first_line(timeout=20.0)
        match = re.search(r"(http://127\.0\.0\.1:\d+)(/\S*)", line)
        if not match:
            self.stop()
            raise SystemExit(f"simulator did not start: {line!r} (see {WORK / 'simulator.log'})")
        self.root, self.base_url = match.group(1), match.group(1) + match.group(2)
        threading.Thread(target=self._drain, daemon=True).start()
        self._http = httpx.Client(timeout=120.0)
        deadline = time.monotonic() + 20
        while True:  # wait until it answers
            try:
                self.reset()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("simulator does not answer") from None
                time.sleep(0.05)

    def _first_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
        return self.proc.stdout.readline().decode(errors="replace")

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._log.write(chunk)

    def reset(self) -> None:
        self._http.post(self.root + "/_sim/reset").raise_for_status()

    def ledger_counts(self) -> dict[str, Any]:
        """Requests, 429s and meetings of the run that just ended, then an empty ledger."""
        ledger = self._http.get(self.root + "/_sim/ledger").json()
        creates = [r for r in ledger["requests"] if r["endpoint"] == "createAndAssociate"]
        statuses = Counter(r["http_status"] for r in creates)
        stamps = sorted(m["created_at"] for m in ledger["meetings"])
        steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else None
        counts = {"requests": len(ledger["requests"]), "creates": len(creates), "http_429": statuses.get(429, 0),
                  "meetings": len(ledger["meetings"]), "steady_rows_s": steady,
                  "bad_signature": sum(1 for r in creates if r["outcome"] == "bad-signature")}
        del ledger
        self.reset()
        return counts

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_http"):
            self._http.close()
        self._log.close()


# --- one case ------------------------------------------------------------------------------


@dataclass
class Run:
    case: str
    who: str  # "importer" | "importer-loud" | "importer-tty-quiet" | "importer-tty" | "bare"
    pair: int
    m: Measured
    ledger: dict[str, Any]
    ok: bool
    note: str = ""


@dataclass
class CaseResult:
    case: Case
    runs: list[Run] = field(default_factory=list)

    def of(self, who: str) -> list[Run]:
        """The runs of one side that did the whole job: a bad run (see judge_run) is not a timing."""
        return [r for r in self.runs if r.who == who and r.ok]

    def median(self, who: str, attr: str) -> float | None:
        values = [getattr(r.m, attr) for r in self.of(who)]
        return statistics.median(values) if values else None

    def ledger_median(self, who: str, key: str) -> float | None:
        values = [r.ledger[key] for r in self.of(who) if r.ledger.get(key) is not None]
        return statistics.median(values) if values else None

    def ratio(self, who: str = "importer", against: str = "bare") -> float | None:
        """Median of the per-pair wall ratios (each pair ran back to back)."""
        a = {r.pair: r.m.wall_s for r in self.of(who)}
        b = {r.pair: r.m.wall_s for r in self.of(against)}
        ratios = [a[p] / b[p] for p in a if p in b]
        return statistics.median(ratios) if ratios else None

    def total(self, who: str, key: str) -> int:
        return sum(r.ledger.get(key, 0) for r in self.of(who))


def run_case(case: Case, sim: Simulator, profile: bool = False) -> CaseResult:
    sheet, bodies = make_sheet(case.rows), make_bodies(case.rows)
    result = CaseResult(case)
    env = child_env()
    out = WORK / "out-run.xlsx"
    journal = WORK / "journal-run.sqlite3"

    def importer_cmd(quiet: bool) -> list[str]:
        cmd = importer_command() + ["run", str(sheet), "--base-url", sim.base_url, "--journal", str(journal),
                                    "--rate", f"{case.rate:g}", "--concurrency", str(case.concurrency),
                                    "-o", str(out)]
        return cmd + (["--quiet"] if quiet else [])

    bare_cmd = [PYTHON, str(BENCH / "bare_loop.py"), "--base-url", sim.base_url, "--bodies", str(bodies),
                "--concurrency", str(case.concurrency), "--rate", f"{case.rate:g}"]

    # The live bar is compared with --quiet under the same pseudo-terminal (`script` costs too).
    order = ([("importer", True), ("importer-loud", False), ("importer-tty-quiet", True), ("importer-tty", False)]
             if case.progress_check else [("importer", True), ("bare", None)])
    for pair in range(case.pairs):
        for who, quiet in order:
            if who == "bare":
                m = measure(bare_cmd, env, tag=f"{case.name}-bare", sim_pid=sim.proc.pid)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{journal}{suffix}").unlink(missing_ok=True)
                cmd, run_env = importer_cmd(bool(quiet)), env
                if who.startswith("importer-tty"):
                    cmd, run_env = on_terminal(cmd), {**env, "TERM": "xterm-256color", "COLUMNS": "120"}
                m = measure(cmd, run_env, tag=f"{case.name}-{who}", sim_pid=sim.proc.pid)
            ledger = sim.ledger_counts()
            ok, note = judge_run(case, who, m, ledger)
            if not ok:  # keep what it printed: the next run of the case overwrites the file
                for stream in ("stdout", "stderr"):
                    kept = WORK / f"{case.name}-{who}.{stream}"
                    if kept.exists():
                        shutil.copyfile(kept, WORK / f"{case.name}-{who}-pair{pair}-bad.{stream}")
            result.runs.append(Run(case.name, who, pair, m, ledger, ok, note))
            log(f"  {case.name:<22} {who:<13} pair {pair}: {m.wall_s:7.2f} s wall, {m.cpu_s:6.2f} s CPU, "
                f"{m.maxrss_mb:5.0f} MB, sim {fmt(m.sim_cpu_s)} s CPU, other load {fmt(m.other_load)}, "
                f"{ledger['creates']} requests, {ledger['http_429']} x 429, "
                f"{ledger['meetings']} meetings{'' if ok else '  !! ' + note}")
    return result


def on_terminal(cmd: list[str]) -> list[str]:
    """Run `cmd` with a pseudo-terminal as its stdout (util-linux `script`), so the importer draws
    its live progress bar as it would for a coordinator; wait4 still counts the child's CPU."""
    return ["script", "--quiet", "--return", "--command", shlex.join(cmd), "/dev/null"]


def judge_run(case: Case, who: str, m: Measured, ledger: dict[str, Any]) -> tuple[bool, str]:
    """Did the run do the whole job? (Every row created once, no bad signature.)"""
    problems = []
    if ledger["meetings"] != case.rows:
        problems.append(f"{ledger['meetings']} meetings for {case.rows} rows")
    if ledger["bad_signature"]:
        problems.append(f"{ledger['bad_signature']} bad signatures")
    if who.startswith("importer") and m.exit_code != 0:
        problems.append(f"exit code {m.exit_code}")
    if who == "bare" and m.exit_code != 0:
        problems.append(f"bare loop exit code {m.exit_code}")
    if who == "bare" and case.sim_rate_limit and ledger["http_429"]:
        # The floor has no retries: a 429 loses the row. Expected at the limit; noted, not an error.
        return True, f"{ledger['http_429']} rows refused with 429 (the bare loop does not retry)"
    return not problems, "; ".join(problems)


# --- validate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidateCase:
    name: str
    rows: int
    target: str  # a key of TARGETS
    smoke: bool = False  # --quick: not the size the target names


def validate_cases(quick: bool) -> list[ValidateCase]:
    """The 100,000-row validate (issue 12: <= 5 x calamine's read, <= 500 MB) and a term of
    5,000 rows, a large university's size (well under a second, start-up included)."""
    return [ValidateCase("validate-100k", 3000 if quick else 100000, "validate", smoke=quick),
            ValidateCase("validate-5k", 5000, "validate-term")]


@dataclass
class ValidateResult:
    case: ValidateCase
    importer: list[Measured] = field(default_factory=list)
    calamine: list[Measured] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.case.rows

    def pair_ratios(self) -> list[float]:
        return [i.wall_s / c.wall_s for i, c in zip(self.importer, self.calamine, strict=False)]


CALAMINE_READ = ("import sys, python_calamine; "
                 "rows = python_calamine.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).to_python(); "
                 "print(len(rows))")


VALIDATE_PAIRS = 4


def run_validate(case: ValidateCase, pairs: int) -> ValidateResult:
    sheet = make_sheet(case.rows)
    result = ValidateResult(case)
    env = child_env()
    out = WORK / f"out-{case.name}.xlsx"
    for pair in range(pairs):
        m = measure(importer_command() + ["validate", str(sheet), "-o", str(out)], env, tag=f"{case.name}-importer")
        result.importer.append(m)
        log(f"  {case.name:<22} importer      pair {pair}: {m.wall_s:7.2f} s wall, "
            f"{m.cpu_s:6.2f} s CPU, {m.maxrss_mb:5.0f} MB, exit {m.exit_code}, other load {fmt(m.other_load)}")
        c = measure([PYTHON, "-c", CALAMINE_READ, str(sheet)], env, tag=f"{case.name}-calamine")
        result.calamine.append(c)
        log(f"  {case.name:<22} calamine      pair {pair}: {c.wall_s:7.2f} s wall, {c.cpu_s:6.2f} s CPU, "
            f"{c.maxrss_mb:5.0f} MB, {c.stdout.strip()} rows read, other load {fmt(c.other_load)}")
    return result


def validate_verdict(v: ValidateResult) -> tuple[str, str]:
    wall = statistics.median(m.wall_s for m in v.importer)
    read = statistics.median(m.wall_s for m in v.calamine)
    rss = max(m.maxrss_mb for m in v.importer)
    exited = all(m.exit_code == 0 for m in v.importer)
    if v.case.target == "validate":
        ok = wall <= 5 * read and rss <= 500 and exited
        detail = f"{wall / read:.2f} x calamine ({wall:.2f} s vs {read:.2f} s; <= 5), peak RSS {rss:.0f} MB (<= 500)"
    else:
        ok = wall < 1.0 and exited
        detail = (f"{wall:.2f} s end to end, interpreter start-up included (< 1.0); {wall / read:.2f} x calamine "
                  f"({read:.2f} s), peak RSS {rss:.0f} MB")
    return ("PASS" if ok else "FAIL"), detail + ("" if exited else "; a run exited non-zero")


# --- start-up floor --------------------------------------------------------------------------


VALIDATE_IMPORTS = ("import importer.cli, importer.run, importer.reader, importer.columns, importer.cells, "
                    "importer.schema, importer.lifecycle, importer.statuses, importer.report, "
                    "importer.journal, importer.resultsheet, importer.display, python_calamine, xlsxwriter")


def startup_floor() -> dict[str, float]:
    """Interpreter start-up and imports alone: part of every wall time in the table."""
    env = child_env()
    probes = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "bare loop imports": [PYTHON, "-c", "import httpx, importer.signing"],
        "importer --version": importer_command() + ["--version"],
        # What `importer validate` and `importer run` load (openpyxl is only the reader's fallback
        # for files calamine refuses; the HTTP side is loaded only to send).
        "importer validate imports": [PYTHON, "-c", VALIDATE_IMPORTS],
        "importer run imports": [PYTHON, "-c", VALIDATE_IMPORTS + ", importer.sending, importer.client, "
                                 "importer.pool, importer.reassociate, importer.settings"],
    }
    return {name: statistics.median(measure(cmd, env, tag="startup").wall_s for _ in range(3))
            for name, cmd in probes.items()}


def ledger_check(sizes: tuple[int, ...] = (1000, 10000, 20000)) -> dict[int, tuple[float, float]]:
    """Milliseconds one create's association costs the simulator's ledger with n associations
    already recorded: the stock SimState vs the indexed one benchmarks/sim_server.py uses."""
    sys.path.insert(0, str(BENCH))
    from sim_server import IndexedSimState

    from importer.simulator.state import SimState

    def item(meeting: str, context: str) -> dict[str, Any]:
        return {"meetingId": meeting, "contextId": context, "domain": "d.example.edu", "courseId": None}

    def per_create_ms(state: SimState) -> float:
        t0 = time.perf_counter()
        for k in range(20):
            state.associate([item(f"new{k}", "ctx-new")], "create")
        return (time.perf_counter() - t0) / 20 * 1000

    out = {}
    for n in sizes:
        stock = SimState()
        stock.associations = [{**item(str(i), f"ctx-{i}"), "via": "create"} for i in range(n)]
        indexed = IndexedSimState()
        indexed.associate([item(str(i), f"ctx-{i}") for i in range(n)], "create")
        out[n] = (per_create_ms(stock), per_create_ms(indexed))
    return out


# --- profiles --------------------------------------------------------------------------------


def run_profiles(rows_run: int, rows_validate: int, stock: bool, do_run: bool = True,
                 do_validate: bool = True) -> list[str]:
    """pyinstrument on `importer run` (0 ms, c16) and on `importer validate` (100k rows)."""
    env = child_env()
    written: list[str] = []
    pyinstrument = [PYTHON, "-m", "pyinstrument", "-r", "pyisession"]
    if do_run:
        written += _profile_run(rows_run, stock, env, pyinstrument)
    if do_validate:
        written += _profile_validate(rows_validate, env, pyinstrument)
    return written


def _profile_run(rows_run: int, stock: bool, env: dict[str, str], pyinstrument: list[str]) -> list[str]:
    written = []
    sim = Simulator(0, 0, stock)
    try:
        sheet = make_sheet(rows_run)
        journal = WORK / "journal-profile.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{journal}{suffix}").unlink(missing_ok=True)
        session = WORK / f"profile-run-l0-c16-{rows_run}.pyisession"
        session.unlink(missing_ok=True)  # never render a stale profile of an earlier run
        cmd = pyinstrument + ["-o", str(session), "-m", "importer", "run", str(sheet), "--base-url", sim.base_url,
                              "--journal", str(journal), "--rate", "0", "--concurrency", "16", "--quiet",
                              "-o", str(WORK / "out-profile.xlsx")]
        m = measure(cmd, env, tag="profile-run", sim_pid=sim.proc.pid)
        counts = sim.ledger_counts()
        log(f"  profiled importer run ({rows_run:,} rows, 0 ms, c16): {m.wall_s:.2f} s wall under the profiler, "
            f"exit {m.exit_code}, {counts['meetings']} meetings, simulator {fmt(m.sim_cpu_s)} s CPU, "
            f"other load {fmt(m.other_load)} CPUs")
        written += render_profile(session, f"importer run, {rows_run:,} rows, 0 ms latency, concurrency 16",
                                  rows_run)
        # The floor under the same profiler: how much of the httpx time is the same in both.
        session = WORK / f"profile-bare-l0-c16-{rows_run}.pyisession"
        session.unlink(missing_ok=True)  # never render a stale profile of an earlier run
        cmd = pyinstrument + ["-o", str(session), str(BENCH / "bare_loop.py"), "--base-url", sim.base_url,
                              "--bodies", str(make_bodies(rows_run)), "--concurrency", "16"]
        m = measure(cmd, env, tag="profile-bare", sim_pid=sim.proc.pid)
        sim.ledger_counts()
        log(f"  profiled bare loop ({rows_run:,} rows, 0 ms, c16): {m.wall_s:.2f} s wall under the profiler")
        written += render_profile(session, f"bare loop, {rows_run:,} rows, 0 ms latency, concurrency 16", rows_run)
    finally:
        sim.stop()
    return written


def _profile_validate(rows_validate: int, env: dict[str, str], pyinstrument: list[str]) -> list[str]:
    written = []
    sheet = make_sheet(rows_validate)
    session = WORK / f"profile-validate-{rows_validate}.pyisession"
    session.unlink(missing_ok=True)  # never render a stale profile of an earlier run
    cmd = pyinstrument + ["-o", str(session), "-m", "importer", "validate", str(sheet),
                          "-o", str(WORK / "out-profile-validate.xlsx")]
    m = measure(cmd, env, tag="profile-validate")
    log(f"  profiled importer validate ({rows_validate:,} rows): {m.wall_s:.2f} s wall under the profiler, "
        f"exit {m.exit_code}")
    written += render_profile(session, f"importer validate, {rows_validate:,} rows")
    return written


STDLIB_DIR = f"/lib/python{sys.version_info.major}.{sys.version_info.minor}/"
IDLE_FUNCTIONS = {"poll", "epoll.poll", "poll.poll", "select", "select.select", "kqueue.control"}


def _owner(path: str | None) -> str:
    """Who a frame's code belongs to: importer/<module>, lib:<package>, stdlib:<module>, or <built-in>."""
    if not path:
        return "<built-in>"
    p = path.replace("\\", "/")
    if "/site-packages/" in p:
        return "lib:" + p.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if p.startswith(str(ROOT / "importer")):
        return "importer/" + p[len(str(ROOT / "importer")) + 1:]
    if p.startswith("<frozen "):
        return "stdlib:" + p[len("<frozen "):].rstrip(">").split(".", 1)[0]
    if STDLIB_DIR in p:
        return "stdlib:" + p.split(STDLIB_DIR, 1)[1].split("/", 1)[0].removesuffix(".py")
    if p == "<built-in>":
        return "<built-in>"
    return p.rsplit("/", 1)[-1]


@dataclass
class ProfileTotals:
    per_function: Counter[tuple[str, str]] = field(default_factory=Counter)  # self time
    per_owner: Counter[str] = field(default_factory=Counter)  # self time
    inclusive: Counter[tuple[str, str]] = field(default_factory=Counter)  # importer functions
    httpx_post: float = 0.0  # inclusive time in httpx AsyncClient.post: the part the bare loop also pays


def _profile_totals(root: Any) -> ProfileTotals:
    """Self time per function and per owner, and inclusive time per importer function.

    A C function (<built-in>) counts for the code that called it (json `loads` called by
    httpx is httpx's time); waiting in poll/select counts as "idle (event loop waiting)";
    anything under an import statement counts as "start-up: module imports".
    """
    totals = ProfileTotals()
    stack: list[tuple[Any, str, bool, frozenset[tuple[str, str]]]] = [(root, "?", False, frozenset())]
    while stack:
        frame, caller_owner, in_import, seen = stack.pop()
        if frame.is_synthetic:
            continue
        owner = _owner(frame.file_path)
        function = frame.function or "?"
        if frame.class_name:
            function = f"{frame.class_name}.{function}"
        in_import = in_import or (function == "_find_and_load" and owner.startswith("stdlib:importlib"))
        if owner == "<built-in>":
            key = (caller_owner, f"{function} (C)")
            bucket = "idle (event loop waiting)" if function in IDLE_FUNCTIONS else caller_owner
        else:
            key = (owner, function)
            bucket = owner
        if in_import:
            bucket = "start-up: module imports"
        self_time = frame.total_self_time
        totals.per_function[key] += self_time
        totals.per_owner[bucket] += self_time
        if owner.startswith("importer/") and key not in seen:  # count recursion once
            totals.inclusive[key] += frame.time
            seen = seen | {key}
        if key == ("lib:httpx", "AsyncClient.post"):
            totals.httpx_post += frame.time  # (never nested: httpx does not call itself)
        next_owner = caller_owner if owner == "<built-in>" else owner
        stack.extend((child, next_owner, in_import, seen) for child in frame.children)
    return totals


def render_profile(session_path: Path, title: str, requests: int = 0) -> list[str]:
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    if not session_path.exists() or session_path.stat().st_size == 0:
        log(f"  no profile written to {session_path.name} (did the command fail? see benchmarks/work/*.stderr)")
        return []
    session = Session.load(str(session_path))
    stem = session_path.with_suffix("")
    tree = stem.with_name(stem.name + ".txt")
    tree.write_text(ConsoleRenderer(unicode=True, color=False, short_mode=False).render(session), encoding="utf-8")
    full = stem.with_name(stem.name + ".all.txt")
    full.write_text(ConsoleRenderer(unicode=True, color=False, show_all=True).render(session), encoding="utf-8")
    root = session.root_frame()
    total = root.time if root else 1.0
    t = _profile_totals(root) if root else ProfileTotals()
    lines = [f"# Profile: {title}", "",
             f"pyinstrument {session.duration:.2f} s wall, {session.cpu_time:.2f} s CPU, "
             f"{session.sample_count} samples. Self time; C functions count for their caller.", "",
             "## Self time by owner", ""]
    importer_total = sum(v for o, v in t.per_owner.items() if o.startswith("importer/"))
    lib_total = sum(v for o, v in t.per_owner.items() if o.startswith("lib:"))
    std_total = sum(v for o, v in t.per_owner.items() if o.startswith("stdlib:"))
    for label, value in (("ALL importer/ code", importer_total), ("ALL libraries (site-packages)", lib_total),
                         ("ALL standard library", std_total)):
        lines.append(f"{label:<44} {value:8.2f} s  {100 * value / total:5.1f} %")
    if t.httpx_post:
        per = f", {1000 * t.httpx_post / requests:.2f} ms per request" if requests else ""
        lines.append(f"{'inside httpx AsyncClient.post (inclusive)':<44} {t.httpx_post:8.2f} s  "
                     f"{100 * t.httpx_post / total:5.1f} %{per}")
        if requests:
            rest = total - t.httpx_post
            lines.append(f"{'everything else':<44} {rest:8.2f} s  {100 * rest / total:5.1f} %, "
                         f"{1000 * rest / requests:.2f} ms per request")
    lines.append("")
    for owner, value in t.per_owner.most_common(30):
        lines.append(f"{owner:<44} {value:8.2f} s  {100 * value / total:5.1f} %")
    lines += ["", "## Top functions by self time", ""]
    for (owner, function), value in t.per_function.most_common(40):
        lines.append(f"{owner + ' ' + function:<76} {value:8.2f} s  {100 * value / total:5.1f} %")
    lines += ["", "## importer/ functions by inclusive time (their callees included)", ""]
    for (owner, function), value in t.inclusive.most_common(30):
        lines.append(f"{owner + ' ' + function:<76} {value:8.2f} s  {100 * value / total:5.1f} %")
    summary = stem.with_name(stem.name + ".summary.txt")
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log("\n".join(lines[:60]))
    return [str(tree), str(full), str(summary)]


# --- reporting -------------------------------------------------------------------------------


def log(text: str) -> None:
    print(text, flush=True)


def fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def machine_info() -> list[str]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import httpx as _httpx

    return [f"- machine: {platform.platform()}, {os.cpu_count()} CPUs ({model or platform.processor()}), "
            f"{memory:.0f} GiB RAM",
            f"- python {platform.python_version()} ({platform.python_implementation()}), httpx {_httpx.__version__}",
            f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]


def target_verdict(result: CaseResult) -> tuple[str, str]:
    case = result.case
    ratio = result.ratio()
    if case.target == "wall":
        ok = ratio is not None and ratio <= 1.15
        return ("PASS" if ok else "FAIL"), f"wall ratio {fmt(ratio)} (<= 1.15)"
    if case.target == "throughput":
        share = 1 / ratio if ratio else None
        ok = share is not None and share >= 0.75
        return ("PASS" if ok else "FAIL"), f"throughput {fmt(share)} x bare (>= 0.75)"
    if case.target == "rate":
        wall = result.median("importer", "wall_s")
        rows_s = case.rows / wall if wall else None
        creates = result.total("importer", "creates")
        share_429 = result.total("importer", "http_429") / creates if creates else None
        steady = result.ledger_median("importer", "steady_rows_s")
        ok = rows_s is not None and rows_s >= 19 and share_429 is not None and share_429 <= 0.01
        return ("PASS" if ok else "FAIL"), (
            f"{fmt(rows_s, '.1f')} rows/s over the whole run (>= 19; {fmt(steady, '.1f')} rows/s between the "
            f"first and last create), 429s {fmt(share_429 * 100 if share_429 is not None else None, '.2f')} % "
            f"of {creates} requests (<= 1 %)")
    return "", ""


def case_row(result: CaseResult) -> str:
    c = result.case
    iw, bw = result.median("importer", "wall_s"), result.median("bare", "wall_s")
    icpu, bcpu = result.median("importer", "cpu_s"), result.median("bare", "cpu_s")
    ideal = c.ideal_s
    i429 = result.total("importer", "http_429")
    b429 = result.total("bare", "http_429")
    ireq = result.total("importer", "creates")
    verdict, _ = target_verdict(result)
    bad = sum(1 for r in result.runs if not r.ok)
    label = c.name + (" (rate-limited 20/s)" if c.sim_rate_limit else "")
    cells = [
        label + (f" **{bad} bad run(s)**" if bad else ""),
        str(c.latency_ms), str(c.concurrency), f"{c.rows:,}", str(len(result.of("importer"))),
        fmt(c.rows / iw if iw else None, ".0f"), fmt(c.rows / bw if bw else None, ".0f"),
        fmt(result.ledger_median("importer", "steady_rows_s"), ".0f"),
        fmt(iw), fmt(bw), fmt(result.ratio()),
        fmt(iw / ideal if iw and ideal else None),
        fmt(icpu * 1000 / c.rows if icpu is not None else None),
        fmt(bcpu * 1000 / c.rows if bcpu is not None else None),
        fmt(result.median("importer", "maxrss_mb"), ".0f"),
        f"{i429} / {b429}" + (f" ({100 * i429 / ireq:.1f} %)" if ireq and i429 else ""),
        fmt(statistics.median(r.m.other_load for r in result.runs if r.m.other_load is not None)
            if any(r.m.other_load is not None for r in result.runs) else None),
        verdict,
    ]
    return "| " + " | ".join(cells) + " |"


TABLE_HEADER = ("| case | latency ms | conc. | rows | pairs | importer rows/s | bare rows/s | importer steady rows/s "
                "| importer wall s | bare wall s | importer / bare (wall) | importer / ideal "
                "| importer CPU s per 1k rows | bare CPU s per 1k rows | importer peak RSS MB "
                "| 429s importer / bare | other load (CPUs) | target |")
TABLE_RULE = "|" + "---|" * 18


def report(results: list[CaseResult], validates: list[ValidateResult], startup: dict[str, float] | None,
           started: datetime, elapsed_s: float, args: argparse.Namespace, info: list[str],
           ledger: dict[int, tuple[float, float]] | None = None) -> str:
    lines = ["# Benchmark results: the importer against a bare httpx loop", "",
             f"Run {started.strftime('%Y-%m-%d %H:%M UTC')} by `benchmarks/run.py"
             f"{' ' + ' '.join(args.argv) if args.argv else ''}`, {elapsed_s / 60:.1f} minutes in all.", ""]
    lines += info
    simulator = ("`importer simulate` as shipped (--stock-simulator)" if args.stock_simulator else
                 "benchmarks/sim_server.py (the project's simulator app and demo config, indexed ledger)")
    lines += [f"- load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
              f"- simulator: {simulator}", "",
              "Both sides are subprocesses timed from spawn to exit (interpreter start-up included) against",
              "the same simulator process on loopback, alternating importer / bare loop; walls are medians,",
              "the ratio is the median of per-pair ratios. See benchmarks/README.md for every column.", ""]
    smoke = " (smoke sizes, not the target's)" if args.quick else ""
    verdicts = [(r.case, *target_verdict(r)) for r in results if r.case.target]
    validates = [v for v in validates if v.importer and v.calamine]
    if verdicts or validates:
        lines += ["## Targets", "", "| target | result | measured |", "|---|---|---|"]
        for case, verdict, detail in verdicts:
            lines.append(f"| {TARGETS[case.target or '']}{smoke} | **{verdict}** | {case.rows:,} rows: {detail} |")
        for v in validates:
            verdict, detail = validate_verdict(v)
            lines.append(f"| {TARGETS[v.case.target]}{smoke if v.case.smoke else ''} | **{verdict}** | "
                         f"{v.rows:,} rows: {detail} |")
        lines.append("")
    if results:
        lines += ["## Sending: importer vs bare loop", "", TABLE_HEADER, TABLE_RULE]
        lines += [case_row(r) for r in results]
        lines.append("")
    for r in (r for r in results if r.case.progress_check):
        lines += ["## Progress display cost", "",
                  f"{r.case.name}, {len(r.of('importer'))} interleaved rounds; each display against `--quiet` "
                  "with stdout the same kind of file:", "",
                  "| display | wall s | CPU s | `--quiet` wall s | `--quiet` CPU s | wall | median of per-round ratios "
                  "| CPU |", "|---|---|---|---|---|---|---|---|"]
        for who, base, what in (("importer-loud", "importer", "plain log lines (stdout a file)"),
                                ("importer-tty", "importer-tty-quiet", "live progress bar (stdout a terminal)")):
            wall, cpu = r.median(who, "wall_s"), r.median(who, "cpu_s")
            qwall, qcpu = r.median(base, "wall_s"), r.median(base, "cpu_s")
            if wall is None or not qwall:
                continue
            lines.append(f"| {what} | {wall:.2f} | {fmt(cpu)} | {qwall:.2f} | {fmt(qcpu)} | "
                         f"{100 * (wall - qwall) / qwall:+.1f} % | {100 * ((r.ratio(who, base) or 1) - 1):+.1f} % | "
                         f"{100 * ((cpu or 0) - (qcpu or 0)) / (qcpu or 1):+.1f} % |")
        lines.append("")
    for v in validates:
        lines += [f"## Reading: `importer validate` on a {v.rows:,}-row sheet vs python-calamine", "",
                  "| who | runs | wall s (median) | each run s | CPU s | peak RSS MB | rows/s | other load (CPUs) "
                  "| exit codes |", "|---|---|---|---|---|---|---|---|---|"]
        for who, ms in (("importer validate (read, check, write result sheet)", v.importer),
                        ("python-calamine read only", v.calamine)):
            wall = statistics.median(m.wall_s for m in ms)
            loads = [m.other_load for m in ms if m.other_load is not None]
            lines.append(f"| {who} | {len(ms)} | {wall:.2f} | {', '.join(f'{m.wall_s:.2f}' for m in ms)} | "
                         f"{statistics.median(m.cpu_s for m in ms):.2f} | {max(m.maxrss_mb for m in ms):.0f} | "
                         f"{v.rows / wall:,.0f} | {fmt(statistics.median(loads) if loads else None)} | "
                         f"{', '.join(str(m.exit_code) for m in ms)} |")
        ratios = v.pair_ratios()
        lines += ["", f"importer / calamine per pair: {', '.join(f'{r:.2f}' for r in ratios)} "
                  f"(median {statistics.median(ratios):.2f}; the target uses the ratio of the median walls).", ""]
    if ledger:
        lines += ["## Simulator ledger: cost of one create's association with n meetings already recorded", "",
                  "| n | stock SimState.associate ms | indexed (sim_server.py) ms |", "|---|---|---|"]
        lines += [f"| {n:,} | {a:.3f} | {b:.4f} |" for n, (a, b) in ledger.items()]
        largest = max(ledger)
        if ledger[largest][0] > 0.1:
            lines += ["", "The stock ledger rebuilds the set of every association on each create (O(n) per request);",
                      "with it a 10,000-row run measures the simulator, not the importer.", ""]
        else:
            lines += ["", "The stock ledger is indexed too (O(1) per create): benchmarks/sim_server.py and",
                      "`importer simulate` now behave the same.", ""]
    if startup:
        lines += ["## Start-up floor (included in every wall time above)", "",
                  "| process | wall s (median of 3) |", "|---|---|"]
        lines += [f"| `{name}` | {t:.3f} |" for name, t in startup.items()]
        lines.append("")
    if results:
        lines += ["## Every run", "",
                  "| case | who | pair | wall s | CPU s | peak RSS MB | simulator CPU s | other load (CPUs) "
                  "| requests | 429s | meetings | server steady rows/s | ok |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            for run in r.runs:
                lines.append(f"| {run.case} | {run.who} | {run.pair} | {run.m.wall_s:.2f} | {run.m.cpu_s:.2f} | "
                             f"{run.m.maxrss_mb:.0f} | {fmt(run.m.sim_cpu_s)} | {fmt(run.m.other_load)} | "
                             f"{run.ledger['creates']} | {run.ledger['http_429']} | "
                             f"{run.ledger['meetings']} | {fmt(run.ledger['steady_rows_s'], '.0f')} | "
                             f"{'yes' if run.ok else 'NO'}{': ' + run.note if run.note else ''} |")
        lines.append("")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmarks: the importer against a bare httpx loop.")
    parser.add_argument("--quick", action="store_true", help="a small matrix for a smoke run (< 1 minute)")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help="run only the cases whose name contains one of these (e.g. target-l20, validate, "
                             "validate-5k)")
    parser.add_argument("--profile", action="store_true",
                        help="run pyinstrument on the importer (0 ms/c16 run, 100k validate) and write "
                             "benchmarks/work/profile-*.txt; runs nothing else")
    parser.add_argument("--pairs", type=int,
                        help="A/B pairs per case (default: 2; 1 for the 20,000-row run, 4 for validate)")
    parser.add_argument("--stock-simulator", action="store_true",
                        help="serve `importer simulate` exactly as shipped (its ledger is O(n) per create) "
                             "instead of benchmarks/sim_server.py")
    parser.add_argument("--output", type=Path,
                        help="markdown report (default: benchmarks/results.md for a full run, "
                             "benchmarks/work/results-partial.md for --quick/--only)")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    WORK.mkdir(exist_ok=True)
    Spawner.run([PYTHON, "-c", "pass"], child_env(), WORK / "spawner.stdout", WORK / "spawner.stderr")  # start it small

    if args.profile:
        log("Profiling (pyinstrument) ...")
        wanted_profiles = [w.strip() for w in args.only.split(",")] if args.only else ["run", "validate"]
        files = run_profiles(400 if args.quick else 10000, 5000 if args.quick else 100000, args.stock_simulator,
                             do_run=any(w in "run" for w in wanted_profiles),
                             do_validate=any(w in "validate" for w in wanted_profiles))
        log("Profile reports:\n  " + "\n  ".join(files))
        return 0

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    info = machine_info()
    cases = quick_matrix() if args.quick else full_matrix()
    vcases = validate_cases(args.quick)
    wanted = [w.strip() for w in args.only.split(",")] if args.only else None
    if wanted:
        cases = [c for c in cases if any(w in c.name for w in wanted)]
        log(f"Cases: {', '.join(c.name for c in cases) or '(none)'}")
    if args.pairs:
        cases = [Case(**{**c.__dict__, "pairs": args.pairs}) for c in cases]
    if wanted:
        vcases = [v for v in vcases if any(w in v.name for w in wanted)]
    partial = bool(args.quick or wanted or args.pairs)
    output = args.output or (WORK / "results-partial.md" if partial else RESULTS)

    log("\n".join(info))
    log("Preparing sheets ...")
    for rows in sorted({c.rows for c in cases}):
        make_bodies(rows)
    for v in vcases:
        make_sheet(v.rows)

    log("Warming up (start-up floor) ...")
    startup = startup_floor()
    for name, t in startup.items():
        log(f"  {name:<24} {t:.3f} s")

    results: list[CaseResult] = []
    groups: dict[tuple[int, int], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.latency_ms, case.sim_rate_limit), []).append(case)
    for (latency, rate_limit), group in groups.items():
        log(f"Simulator: latency {latency} ms{f', rate limit {rate_limit}/s' if rate_limit else ''}")
        sim = Simulator(latency, rate_limit, args.stock_simulator)
        try:
            for case in group:
                results.append(run_case(case, sim))
        finally:
            sim.stop()
    results.sort(key=lambda r: cases.index(r.case))

    validates = []
    for v in vcases:
        log(f"Validate {v.rows:,} rows vs python-calamine ...")
        # Four pairs: one run's wall varies by 10-20 % on a shared machine.
        validates.append(run_validate(v, args.pairs or VALIDATE_PAIRS))

    ledger = None if args.quick else ledger_check()
    text = report(results, validates, startup, started, time.perf_counter() - t0, args, info, ledger)
    output.write_text(text, encoding="utf-8")
    log("")
    log(text)
    log(f"Written: {output}")
    Spawner.close()
    bad = sum(1 for r in results for run in r.runs if not run.ok)
    bad += sum(1 for v in validates for m in v.importer if m.exit_code != 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
