"""The launcher writes the seccomp filter on a pipe while bubblewrap mounts
(bubblewrap reads it last, just before it runs the command).  What that
relies on, held against the installed bubblewrap: the command never runs
before the whole filter is there, and never without it; a filter cut short
(the launcher died mid-way) or missing (died first) fails bubblewrap.  And
the filter fits one atomic pipe write."""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest

from stockade.sandbox import launcher
from stockade.sandbox.layout import namespace_args
from stockade.sandbox.netns import first_status_line
from stockade.sandbox.seccomp import build_filter
from tests.conftest import need_bwrap


def _bwrap(seccomp_fd: int, marker: Path, status_fd: int = -1) -> subprocess.Popen[bytes]:
    status = ["--json-status-fd", str(status_fd)] if status_fd >= 0 else []
    argv = [need_bwrap(), *namespace_args(), "--ro-bind", "/", "/", "--bind",
            str(marker.parent), str(marker.parent), "--seccomp", str(seccomp_fd), *status, "--",
            "/bin/sh", "-c", f"touch {marker}; grep ^Seccomp: /proc/self/status"]
    keep = (seccomp_fd, status_fd) if status_fd >= 0 else (seccomp_fd,)
    return subprocess.Popen(argv, pass_fds=keep, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_filter_fits_one_atomic_pipe_write() -> None:
    assert len(build_filter()) <= select.PIPE_BUF
    assert len(build_filter()) % 8 == 0


def test_the_command_waits_for_the_filter_and_runs_under_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    r, w = os.pipe()
    status_r, status_w = os.pipe()
    proc = _bwrap(r, marker, status_w)
    os.close(r)
    os.close(status_w)
    try:
        first, _ = first_status_line(status_r)  # the sandbox's process exists
        assert int(first["child-pid"]) > 0  # type: ignore[call-overload]
        time.sleep(0.5)  # and has long mounted everything by now (~20 ms)
        assert not marker.exists() and proc.poll() is None
        launcher._send_filter(w)  # writes and closes
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        os.close(status_r)
    assert proc.returncode == 0, err
    assert marker.exists()
    assert out.decode().split() == ["Seccomp:", "2"]  # filter mode


@pytest.mark.parametrize("cut", ["none", "half", "all-but-the-last", "whole"])
def test_a_missing_or_cut_filter_fails_bubblewrap(tmp_path: Path, cut: str) -> None:
    marker = tmp_path / "ran"
    program = build_filter()
    data = {"none": b"", "half": program[:len(program) // 16 * 8],
            "all-but-the-last": program[:-8], "whole": program}[cut]
    r, w = os.pipe()
    proc = _bwrap(r, marker)
    os.close(r)
    writer = threading.Thread(target=lambda: (os.write(w, data) if data else 0, os.close(w)))
    writer.start()
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        writer.join()
    if cut == "whole":  # the control: the same way, with all of it
        assert proc.returncode == 0, err
        assert marker.exists()
        return
    assert proc.returncode != 0
    assert not marker.exists(), (out, err)
    # refused by the kernel (bubblewrap's prctl), not failed some other way
    assert b"PR_SET_SECCOMP" in err and b"EINVAL" in err, err
