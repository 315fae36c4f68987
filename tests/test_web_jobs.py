"""The web app's job board: a job that fails on a bug leaves its traceback in the log, and a
job still running is never forgotten to make room for new ones."""

import logging
import threading
import time

from abcgen.web import jobs
from abcgen.web.jobs import JobBoard


def wait_for(job, state: str) -> None:
    deadline = time.monotonic() + 10
    while job.state != state and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.state == state


def test_a_job_that_fails_on_a_bug_logs_its_traceback(tmp_path, caplog):
    def broken(job):
        raise RuntimeError("boom")

    board = JobBoard(tmp_path)
    with caplog.at_level(logging.ERROR, logger=jobs.__name__):
        job = board.submit("render", broken)
        wait_for(job, "failed")
    board.close()
    assert job.error == "internal error (RuntimeError: boom)"
    (record,) = [r for r in caplog.records if r.name == jobs.__name__]
    assert job.id in record.getMessage() and isinstance(record.exc_info[1], RuntimeError)


def test_a_running_job_is_kept_when_finished_ones_make_room(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "KEPT_JOBS", 3)
    board = JobBoard(tmp_path)
    release = threading.Event()
    slow = board.submit("generate", lambda job: release.wait(10) and {})
    wait_for(slow, "running")
    for _ in range(5):
        wait_for(board.submit("render", lambda job: {}), "done")
    assert board.get(slow.id) is slow and len(board.jobs) == 3
    release.set()
    board.close()
