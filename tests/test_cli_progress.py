"""The progress line (ETA from calls, plain lines off a terminal, redraws
while nothing finishes) and the CLI's one-line logging and warnings."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest

from rankwise import cli
from rankwise._progress import Progress

HERE = Path(__file__).resolve().parent


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_time_left_comes_from_calls_and_the_plan():
    clock, out = FakeClock(), io.StringIO()
    p = Progress(10, True, stream=out, clock=clock, planned=100)
    clock.t = 10.0
    p.update(1, 50)  # half the planned calls in 10 s: 10 s left, whatever the queries say
    assert "1/10 queries" in p.line() and "50/100 calls" in p.line() and "0:00:10 left" in p.line()
    p.update(1, 50, planned=150)  # the plan grew (a new round)
    assert "0:00:20 left" in p.line()
    # without a plan: calls per finished query times the queries left
    q = Progress(10, True, stream=io.StringIO(), clock=clock)  # starts at t = 10
    clock.t = 30.0
    q.update(2, 40)  # 20 calls a query, 160 to go at 2 calls/s
    assert "0:01:20 left" in q.line()
    assert "left" not in Progress(None, True, stream=io.StringIO(), clock=clock).line()


def test_off_a_terminal_a_plain_line_every_n_seconds():
    clock, out = FakeClock(), io.StringIO()
    p = Progress(4, None, stream=out, clock=clock, log_every=30)
    assert p.mode == "log"
    clock.t = 5.0
    p.update(1, 10)
    assert out.getvalue() == ""  # not due yet
    clock.t = 31.0
    p.update(1, 12)
    clock.t = 62.0
    p.tick()  # nothing finished, the line still comes
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all("\r" not in ln and "\x1b" not in ln for ln in lines)
    assert lines[0].startswith("rerank: 1/4 queries · 12 calls") and "0:01:02" in lines[1]
    p.close()
    assert len(out.getvalue().splitlines()) == 3
    quiet = io.StringIO()
    Progress(4, None, stream=quiet, clock=clock).close()  # a short job off a terminal prints nothing
    assert quiet.getvalue() == ""
    off = io.StringIO()
    Progress(4, False, stream=off, clock=clock).update(1, 1, force=True)
    assert off.getvalue() == ""


def test_the_line_is_redrawn_while_the_driver_waits():
    out = io.StringIO()
    p = Progress(3, True, stream=out, interval=0.05)
    p.update(0, 0)
    deadline = time.monotonic() + 10
    while out.getvalue().count("\r") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    p.close()
    assert out.getvalue().count("\r") >= 3, "no redraw without updates"
    assert out.getvalue().endswith("\n")


def test_the_cli_logs_one_clean_line(capsys):
    cli._configure_logging()
    cli._configure_logging()  # once only
    logging.getLogger("rankwise").warning("retrying a call\n(HTTP 503)")
    assert capsys.readouterr().err == "rankwise: retrying a call (HTTP 503)\n"


@pytest.mark.slow
def test_a_scorer_warning_prints_no_python_source_line(tmp_path):
    from test_cli import RERANK, run_cli

    r = run_cli(*RERANK, "-o", tmp_path / "o.trec", RANKWISE_TEST_FAIL_QID="1129237")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert any(ln.startswith("rankwise: ScorerWarning: 1 queries kept their first-stage order") for ln in lines)
    assert not any(ln.startswith((" ", "\t")) or ".py:" in ln for ln in lines), r.stderr
