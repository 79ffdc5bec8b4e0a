"""The job runner with real worker processes: outcomes, cancel, GPU lock, kills, restarts, retry."""

from __future__ import annotations

import os
import signal
import time

import pytest

from lorakit.events import Commands
from lorakit.jobs.runner import JobRunner
from lorakit.jobs.store import JobError, NotFound


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _progress_seen(runner, job_id, count=1):
    return lambda: sum(e.type == "progress" for e in runner.events(job_id)) >= count


def test_echo_completes_with_result_and_ordered_events(runner):
    job = runner.submit("echo", {"x": [1, 2]})
    assert job.state in ("queued", "running")
    done = runner.wait(job.id, timeout=60)
    assert done.state == "completed"
    assert done.result["params"] == {"x": [1, 2]}
    assert done.result["pid"] != os.getpid()  # it ran in its own process
    # Workspace-relative (issue #10 defect 11): the API never shows the server's folders.
    assert done.run_dir == f"jobs/{done.id}/out" and (runner.workspace.root / done.run_dir).is_dir()
    events = runner.events(done.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.data["state"] for e in events if e.type == "status"] == ["queued", "running", "completed"]
    assert [e.seq for e in runner.events(done.id, since=3)] == [s for s in range(4, len(events) + 1)]


def test_user_error_and_crash_are_failed_with_a_message(runner):
    user = runner.submit("fail", {"message": "The folder is empty."})
    crash = runner.submit("fail", {"how": "crash"})
    user, crash = runner.wait(user.id, 60), runner.wait(crash.id, 60)
    assert user.state == "failed" and user.error["message"] == "The folder is empty."
    assert user.error["fix"]
    assert crash.state == "failed" and "RuntimeError: a deliberate crash" in crash.error["message"]
    assert "Traceback" in (runner.job_dir(crash.id) / "worker.log").read_text()
    assert any(e.type == "error" for e in runner.events(crash.id))


def test_cancel_running_job_cooperatively(runner):
    job = runner.submit("sleep", {"steps": 400, "seconds": 40})
    _wait_for(_progress_seen(runner, job.id))
    runner.cancel(job.id)
    done = runner.wait(job.id, 30)
    assert done.state == "cancelled"
    assert runner.events(job.id)[-1].data["state"] == "cancelled"
    with pytest.raises(JobError, match="already cancelled"):
        runner.cancel(job.id)


def test_cancel_escalates_to_sigterm_when_the_job_ignores_commands(runner, monkeypatch):
    job = runner.submit("sleep", {"steps": 400, "seconds": 40})
    _wait_for(_progress_seen(runner, job.id))
    # A job that never polls its inbox: swallow the cooperative command so only SIGTERM can stop it.
    monkeypatch.setattr(Commands, "send", staticmethod(lambda inbox, name: None))
    runner.cancel(job.id)
    assert runner.wait(job.id, 30).state == "cancelled"


def test_follow_yields_every_event_until_the_end(runner):
    job = runner.submit("sleep", {"steps": 5, "seconds": 0.5})
    seen = list(runner.follow(job.id, timeout=60))
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    assert sum(e.type == "progress" for e in seen) == 5 and seen[-1].data["state"] == "completed"


def test_stop_command_ends_job_early_as_stopped(runner):
    job = runner.submit("sleep", {"steps": 400, "seconds": 40})
    _wait_for(_progress_seen(runner, job.id))
    runner.send(job.id, "stop")
    done = runner.wait(job.id, 30)
    assert done.state == "stopped" and done.result["stopped"] is True
    assert runner.events(job.id)[-1].data["state"] == "stopped"
    assert not done.resumable  # a sleep cannot resume: stopped, but retry is the way to run it again
    with pytest.raises(JobError, match="cannot be resumed"):
        runner.resume(done.id)


def test_process_killed_from_outside_is_interrupted_and_one_that_exits_is_failed(runner):
    job = runner.submit("sleep", {"steps": 400, "seconds": 40})
    _wait_for(_progress_seen(runner, job.id))
    os.kill(runner.get(job.id).pid, signal.SIGKILL)
    done = runner.wait(job.id, 30)
    assert done.state == "interrupted"
    assert "killed by signal 9" in done.error["message"] and "stopped from outside" in done.error["fix"]
    assert runner.events(job.id)[-1].data["state"] == "interrupted"
    exited = runner.wait(runner.submit("fail", {"how": "exit", "code": 5}).id, 60)
    assert exited.state == "failed" and "exited with code 5" in exited.error["message"]


def test_gpu_jobs_never_overlap(runner):
    first = runner.submit("gpu_sleep", {"steps": 3, "seconds": 0.6})
    second = runner.submit("gpu_sleep", {"steps": 3, "seconds": 0.6})
    assert runner.get(second.id).state == "queued"
    first, second = runner.wait(first.id, 60), runner.wait(second.id, 60)
    assert first.state == second.state == "completed"
    assert second.started_at >= first.finished_at


def test_unknown_and_finished_jobs(runner):
    with pytest.raises(NotFound):
        runner.get("nope")
    with pytest.raises(NotFound):
        runner.events("nope")
    with pytest.raises(JobError, match="no job kind"):
        runner.submit("no-such-kind", {})
    done = runner.wait(runner.submit("echo", {"n": 1}).id, 60)
    again = runner.retry(done.id)
    assert again.retry_of == done.id and runner.wait(again.id, 60).result["params"] == {"n": 1}
    with pytest.raises(JobError):
        runner.resume(done.id)  # echo is not resumable
    with pytest.raises(JobError):
        runner.send(done.id, "stop")


def test_restart_adopts_live_jobs_and_interrupts_dead_ones(tmp_path):
    first = JobRunner(tmp_path / "ws", poll_s=0.05)
    # Long enough to outlive any restart however slow the machine; the new runner stops it (no time margin).
    alive = first.submit("sleep", {"steps": 400, "seconds": 40})
    dead = first.submit("sleep", {"steps": 400, "seconds": 40})
    _wait_for(_progress_seen(first, alive.id))
    _wait_for(_progress_seen(first, dead.id))
    first._closing.set()  # the old runner "dies": it stops watching without cleaning up
    first._thread.join()
    os.kill(first.get(dead.id).pid, signal.SIGKILL)
    _wait_for(lambda: first._children[dead.id].poll() is not None)

    with JobRunner(tmp_path / "ws", poll_s=0.05) as second:
        lost = second.get(dead.id)
        assert lost.state == "interrupted" and "restarted" in lost.error["message"]
        assert second.get(alive.id).state == "running"  # adopted, not interrupted
        second.send(alive.id, "stop")  # commands reach an adopted job
        adopted = second.wait(alive.id, 60)
        assert adopted.state == "stopped" and adopted.result["stopped"] is True
        assert [e.data["state"] for e in second.events(alive.id) if e.type == "status"][-1] == "stopped"
    first.store.close()


def test_resumable_means_a_saved_state_exists(tmp_path):
    from lorakit.jobs.store import CANCELLED, COMPLETED, FAILED, INTERRUPTED, STOPPED

    with JobRunner(tmp_path / "ws", paused=True) as paused:  # nothing starts: only the bookkeeping is tested
        run_dir = tmp_path / "ws" / "outputs" / "x"
        run_dir.mkdir(parents=True)
        for state in (STOPPED, CANCELLED, FAILED, INTERRUPTED):
            job = paused.store.add("train", {"config": "configs/x.toml"}, gpu=True)
            paused.store.update(job.id, state=state, run_dir=str(run_dir))
            assert not paused.get(job.id).resumable, state  # a run folder, but nothing saved in it
            with pytest.raises(JobError, match="saved no state"):
                paused.resume(job.id)
        (run_dir / "state").mkdir()
        (run_dir / "state" / "latest.json").write_text('{"folder": "step-00000003", "step": 3}')
        for state in (STOPPED, CANCELLED, FAILED, INTERRUPTED):
            job = paused.store.add("train", {"config": "configs/x.toml"}, gpu=True)
            paused.store.update(job.id, state=state, run_dir="outputs/x")  # workspace-relative works too
            assert paused.get(job.id).resumable, state
            again = paused.resume(job.id)
            assert again.resume_of == job.id and again.state == "queued" and again.params == job.params
        done = paused.store.add("train", {"config": "configs/x.toml"}, gpu=True)
        paused.store.update(done.id, state=COMPLETED, run_dir=str(run_dir))
        assert not paused.get(done.id).resumable
        with pytest.raises(JobError, match="nothing left to resume"):
            paused.resume(done.id)
        paused.store.update(done.id, state=INTERRUPTED, run_dir=None)  # never got as far as a run folder
        assert not paused.get(done.id).resumable
