"""`make bench`: HTTP throughput and latency of the real server on a large SQLite database.

Seeds a fresh SQLite file (100,000 items with tags, 1,000,000 attempts over 90 days, through
`seed.py`), measures the cold start of `last-whisper serve` (process start until `/health`
answers 200), then serves `bench_app.py` (the production app plus `GET /bench/hello`, the
ceiling, in the same process) with uvicorn as `last-whisper serve` does, and loads every
endpoint with wrk on 127.0.0.1: once with 32 connections (throughput, latency under load) and
once with 1 connection (latency of one request at a time). The server's CPU time per request is
read from /proc, which stays meaningful when other processes share the machine. Writes
bench/RESULTS.md.

    .venv/bin/python bench/run_bench.py [--items 100000] [--attempts 1000000] [--duration 10]
        [--connections 32] [--threads 2] [--database PATH] [--profile DIR] [--only NAME ...]

`--database` keeps the seeded file there (a copy is served, so reruns start from the same
data); `--profile DIR` records py-spy (raw stacks, one file per endpoint) during the loaded runs.
wrk comes from Debian's package: installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_SCRIPTS = BENCH / "wrk"
RESULTS = BENCH / "RESULTS.md"
sys.path.insert(0, str(BENCH))

from seed import create_database  # noqa: E402  (bench/ is not a package)

HELLO = "/bench/hello"
LIST_QUERY = "/v1/items?tag=basics&difficulty=2..3&locale=fi&per_page=20"
# Ratio goals: this many back-to-back (ceiling, endpoint) pairs, half a loaded run each. The
# machine's speed drifts within minutes (a shared VM); a ratio of two runs made far apart
# measures that drift too.
PAIRED_ROUNDS = 3
DEADLINE_SECONDS = 540.0  # the whole run, seeding included: `make bench` stays under 10 minutes
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkRun:
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx responses plus socket errors
    cpu_ms_per_request: float  # server process, all threads


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> tuple[int, float, float, float, float, int]:
    """(requests, seconds, req/s, p50 ms, p99 ms, errors) from `wrk --latency` output."""
    total = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m),", output)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (total and rps and p50 and p99):
        raise ValueError(f"cannot parse wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    seconds = _ms(total.group(2) + total.group(3)) / 1000
    return (
        int(total.group(1)),
        seconds,
        float(rps.group(1)),
        _ms(p50.group(1)),
        _ms(p99.group(1)),
        errors,
    )


def ensure_wrk() -> str:
    """wrk from Debian's package; apt-get update only when the plain install fails."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get install -y wrk)")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True, timeout=300).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=300, check=True)
        subprocess.run(install, capture_output=True, timeout=300, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def process_cpu_ticks(pid: int) -> int:
    """utime + stime of the whole process (every thread), in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


# ---------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(database: Path, scratch: Path, port: int) -> dict[str, str]:
    """The environment of a production server on this database; no inherited app settings."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("TTS_", "DATABASE_", "QUEUE_", "AUDIO_", "API_KEY"))
    }
    return base | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "AUDIO_DIR": str(scratch / "audio"),
        "TTS_PROVIDER": "fake",  # every seeded item is ready: no synthesis runs
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "warning",
        "RELOAD": "false",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    started: float
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_healthy(self, timeout: float) -> float:
        """Seconds from process start to the first 200 from /health."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        tail = self.log.read_text()[-3000:]
        raise RuntimeError(f"server not healthy within {timeout} s:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def running(command: Sequence[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[Server]:
    log = cwd / f"server-{port}.log"
    with log.open("ab") as sink:
        started = time.monotonic()
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=sink, stderr=sink)
    server = Server(process, f"http://127.0.0.1:{port}", started, log)
    try:
        yield server
    finally:
        server.stop()


def production_command() -> list[str]:
    return [str(Path(sys.executable).parent / "last-whisper"), "serve"]


def bench_command(port: int) -> list[str]:
    """uvicorn with the options `last-whisper serve` passes (entrypoints/cli.py), one worker."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bench_app:create",
        "--factory",
        "--app-dir",
        str(ROOT),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--proxy-headers",
        "--timeout-keep-alive",
        "75",
    ]


# ----------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # the request path, or the template given to a Lua script
    script: str | None = None
    goal: str = ""
    met: Callable[[Row, float], bool] | None = None  # (row, ceiling req/s)
    paired: bool = False  # judged by its ratio to the ceiling, measured in PAIRED_ROUNDS


@dataclass
class Row:
    case: Case
    loaded: WrkRun | None = None
    single: WrkRun | None = None
    profile: Path | None = None
    pairs: list[float] = field(default_factory=list)  # endpoint / ceiling req/s, per round

    def ratio(self, ceiling: float) -> float:
        if self.pairs:
            return statistics.median(self.pairs)
        return self.loaded.rps / ceiling if self.loaded and ceiling else 0.0


def _p50_single(limit_ms: float) -> Callable[[Row, float], bool]:
    return lambda row, _: row.single is not None and row.single.p50_ms <= limit_ms


def cases(connections: int) -> list[Case]:
    week_ago = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    stats = "p50 ≤ 50 ms (1 conn)"
    return [
        Case("GET /bench/hello (ceiling)", HELLO),
        Case(
            "GET /v1/items/{id}",
            "/v1/items/%d",
            "random_id.lua",
            "≥ 60% of ceiling",
            lambda row, ceiling: row.ratio(ceiling) >= 0.60,
            paired=True,
        ),
        Case(
            f"GET {LIST_QUERY}",
            LIST_QUERY,
            goal="p50 ≤ 5 ms (1 conn)",
            met=_p50_single(5.0),
        ),
        Case("GET /v1/stats/summary", "/v1/stats/summary", goal=stats, met=_p50_single(50.0)),
        Case(
            "GET /v1/stats/summary?since=(7 days ago)",
            f"/v1/stats/summary?since={week_ago}",
            goal=stats,
            met=_p50_single(50.0),
        ),
        Case(
            "GET /v1/stats/practice-log?per_page=20",
            "/v1/stats/practice-log?per_page=20",
            goal=stats,
            met=_p50_single(50.0),
        ),
        Case(
            "GET /v1/stats/items/{id}",
            "/v1/stats/items/%d",
            "random_id.lua",
            goal=stats,
            met=_p50_single(50.0),
        ),
        Case(
            "GET /v1/stats/progress?days=30",
            "/v1/stats/progress?days=30",
            goal=stats,
            met=_p50_single(50.0),
        ),
        Case("GET /v1/attempts?per_page=20", "/v1/attempts?per_page=20"),
        # Last: it adds attempts (a few thousand to the million) and takes the write lock.
        Case(
            "POST /v1/attempts",
            "/v1/attempts",
            "post_attempt.lua",
            f"p99 ≤ 10 ms ({connections} conn)",
            lambda row, _: row.loaded is not None and row.loaded.p99_ms <= 10.0,
        ),
    ]


@dataclass
class Bench:
    wrk: str
    server: Server
    items: int
    threads: int
    profile_dir: Path | None
    deadline: float
    runs: list[str] = field(default_factory=list)

    def wrk_run(
        self, case: Case, connections: int, seconds: float, record: bool, keep: bool = True
    ) -> WrkRun:
        if time.monotonic() + seconds > self.deadline:
            raise TimeoutError("the benchmark ran out of its time budget")
        url = self.server.url + (case.path if case.script is None else "")
        command = [
            self.wrk,
            f"-t{min(self.threads, connections)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "--latency",
        ]
        env = os.environ | {"BENCH_ITEMS": str(self.items), "BENCH_PATH": case.path}
        if case.script is not None:
            command += ["-s", str(WRK_SCRIPTS / case.script)]
        command.append(url)
        spy: subprocess.Popen[bytes] | None = None
        if record and self.profile_dir is not None:
            target = self.profile_dir / (re.sub(r"[^a-z0-9]+", "-", case.name.lower()) + ".txt")
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(self.server.pid),
                    "--duration",
                    str(max(1, int(seconds) - 2)),
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--output",
                    str(target),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        before = process_cpu_ticks(self.server.pid)
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 30
        )
        after = process_cpu_ticks(self.server.pid)
        if spy is not None:
            spy.wait(timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stderr}")
        if keep:
            self.runs.append(" ".join([Path(command[0]).name, *command[1:-1], case.path]))
        requests, elapsed, rps, p50, p99, errors = parse_wrk(result.stdout)
        cpu_ms = (after - before) * 1000 / CLK_TCK / requests if requests else 0.0
        return WrkRun(connections, requests, elapsed, rps, p50, p99, errors, cpu_ms)

    def warm_up(self, case: Case) -> None:
        self.wrk_run(case, 8, 1, record=False, keep=False)

    def pairs(self, ceiling: Case, case: Case, connections: int, seconds: float) -> list[float]:
        """The endpoint's req/s over the ceiling's, each pair run back to back."""
        ratios = []
        for _ in range(PAIRED_ROUNDS):
            top = self.wrk_run(ceiling, connections, seconds, record=False, keep=False)
            run = self.wrk_run(case, connections, seconds, record=False, keep=False)
            ratios.append(run.rps / top.rps if top.rps else 0.0)
        return ratios


# ------------------------------------------------------------------------------ cold start


@dataclass(frozen=True)
class ColdStart:
    label: str
    seconds: list[float]
    cpu_seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def cold_start(database: Path, scratch: Path, tts: str, runs: int) -> ColdStart:
    """`last-whisper serve` (migration check included) until /health answers 200."""
    seconds: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        port = free_port()
        env = server_env(database, scratch, port) | {"TTS_PROVIDER": tts}
        with running(production_command(), env, scratch, port) as server:
            seconds.append(server.wait_healthy(timeout=60))
            cpu.append(process_cpu_ticks(server.pid) / CLK_TCK)
    return ColdStart(f"`last-whisper serve`, TTS_PROVIDER={tts}", seconds, cpu)


# ---------------------------------------------------------------------------------- report


def _fmt_ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def render(
    rows: list[Row],
    starts: list[ColdStart],
    args: argparse.Namespace,
    seeding_seconds: float,
    load_before: str,
    runs: list[str],
) -> str:
    ceiling = rows[0].loaded.rps if rows and rows[0].loaded else 0.0
    c = args.connections
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run_bench.py); do not edit by hand.",
        "",
        f"- When: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; commit {git_revision()}",
        f"- Machine: {os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}, "
        f"Python {platform.python_version()}; load average before the run: {load_before}",
        f"- Data: SQLite, {args.items:,} items (0–2 tags each), {args.attempts:,} attempts over "
        f"90 days; seeded and migrated to head in {seeding_seconds:.1f} s",
        f"- Server: uvicorn, 1 worker, uvloop + httptools, no access log, log level warning; "
        f"the production app with `GET {HELLO}` added (bench/bench_app.py)",
        f"- Load: wrk -t{args.threads}, {c} connections for {args.duration:g} s, and 1 "
        f"connection for {args.single_duration:g} s, after a 1 s warm-up; 127.0.0.1",
        "",
        f"| Endpoint | req/s ({c} conn) | p50 ms | p99 ms | ratio to ceiling "
        f"| server CPU ms/req | p50 ms (1 conn) | p99 ms (1 conn) | errors | goal | met? |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for row in rows:
        loaded, single = row.loaded, row.single
        if loaded is None or single is None:
            continue
        errors = loaded.errors + single.errors
        ratio = f"{row.ratio(ceiling):.0%}"
        if row.pairs:
            # A tenth of a point: a median of 59.7% printed as "60%" would read as met.
            ratio = f"{row.ratio(ceiling):.1%} (pairs: {', '.join(f'{r:.1%}' for r in row.pairs)})"
        met = "" if row.case.met is None else "yes" if row.case.met(row, ceiling) else "**no**"
        if errors and met:
            met += " (errors)"
        lines.append(
            f"| {row.case.name} | {loaded.rps:,.0f} | {_fmt_ms(loaded.p50_ms)} "
            f"| {_fmt_ms(loaded.p99_ms)} | {ratio} "
            f"| {loaded.cpu_ms_per_request:.2f} | {_fmt_ms(single.p50_ms)} "
            f"| {_fmt_ms(single.p99_ms)} | {errors} | {row.case.goal} | {met} |"
        )
    lines += [
        "",
        "| Cold start (process start → `/health` 200) | median s | runs s | CPU s at healthy "
        "| goal | met? |",
        "|---|--:|---|--:|---|---|",
    ]
    for start in starts:
        met = "yes" if start.median <= 2.0 else "**no**"
        lines.append(
            f"| {start.label} | {start.median:.2f} "
            f"| {', '.join(f'{s:.2f}' for s in start.seconds)} "
            f"| {statistics.median(start.cpu_seconds):.2f} | ≤ 2 s | {met} |"
        )
    lines += [
        "",
        "Notes",
        "",
        f"- With {c} connections wrk keeps {c} requests in flight, so latency there is mostly "
        f"queueing: p50 ≈ {c} / (req/s) (Little's law). The latency goals of single requests "
        "(list, statistics) are judged at 1 connection; the POST goal at "
        f"{c} connections, as stated.",
        f"- A ratio goal is judged by the median of {PAIRED_ROUNDS} pairs: the ceiling and the "
        f"endpoint loaded back to back ({c} connections, {args.duration / 2:g} s each), after the "
        "runs above. The machine's speed drifts (a shared VM), so a ratio of two runs made "
        "minutes apart would measure that drift as well.",
        "- Server CPU ms/req is the server process's CPU time (all threads) over the loaded "
        "run divided by its requests: unlike req/s, it does not depend on what else runs on "
        "the machine.",
        "- Errors count non-2xx responses and socket errors (timeouts after 10 s) of both runs; "
        "a goal is not met when there are any.",
        "- Why a goal is missed (profiles, what was fixed, what remains): README, section "
        '"What the hot paths do, and what the missed goals cost".',
        "",
        "wrk commands:",
        "",
        "```",
        *runs,
        "```",
        "",
    ]
    return "\n".join(lines)


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            # The previous report itself does not make the code under test differ.
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench/RESULTS.md",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' with uncommitted changes' if dirty else ''}"


# ------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per loaded run")
    parser.add_argument("--single-duration", type=float, default=5.0, help="seconds, 1 conn")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--database", type=Path, help="keep the seeded database here")
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks per endpoint here")
    parser.add_argument("--only", nargs="*", help="endpoints whose name contains one of these")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # `timeout` (make bench) and Ctrl-C: unwind, so the servers and wrk are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    wrk = ensure_wrk()
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as scratch_name:
        scratch = Path(scratch_name)
        kept: Path = args.database or scratch / "seeded.db"
        seeding = 0.0
        if not kept.exists():
            print(f"seeding {args.items:,} items and {args.attempts:,} attempts ...", flush=True)
            begin = time.perf_counter()
            create_database(kept, args.items, args.attempts)
            seeding = time.perf_counter() - begin
            print(f"  seeded in {seeding:.1f} s", flush=True)
        database = scratch / "bench.db"
        shutil.copyfile(kept, database)  # writes (POST, WAL) never touch the kept file

        starts = [cold_start(database, scratch, tts, args.cold_starts) for tts in ("local", "fake")]
        for start in starts:
            print(f"cold start, {start.label}: {start.median:.2f} s", flush=True)

        port = free_port()
        with running(
            bench_command(port), server_env(database, scratch, port), scratch, port
        ) as server:
            server.wait_healthy(timeout=60)
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
            bench = Bench(wrk, server, args.items, args.threads, args.profile, deadline)
            rows = []
            for case in cases(args.connections):
                wanted = not args.only or any(word in case.name for word in args.only)
                if not wanted and case.path != HELLO:
                    continue
                row = Row(case)
                bench.warm_up(case)
                row.single = bench.wrk_run(case, 1, args.single_duration, record=False)
                row.loaded = bench.wrk_run(case, args.connections, args.duration, record=True)
                if case.paired and rows:
                    row.pairs = bench.pairs(rows[0].case, case, args.connections, args.duration / 2)
                rows.append(row)
                print(
                    f"{case.name}: {row.loaded.rps:,.0f} req/s, p50 {row.loaded.p50_ms:.2f} ms,"
                    f" p99 {row.loaded.p99_ms:.2f} ms, {row.loaded.cpu_ms_per_request:.2f} CPU"
                    f" ms/req; 1 conn p50 {row.single.p50_ms:.2f} ms;"
                    f"{f' pairs {[round(r, 3) for r in row.pairs]};' if row.pairs else ''}"
                    f" errors {row.loaded.errors + row.single.errors}",
                    flush=True,
                )
            runs = bench.runs

    report = render(rows, starts, args, seeding, load_before, runs)
    args.output.write_text(report)
    print(f"\n{report}\nwritten to {args.output} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
