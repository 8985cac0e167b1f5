"""Headless Chromium for browser tests: load a page, let its scripts run, return the resulting DOM.

How the wait works: `--virtual-time-budget` runs the page on a virtual clock that only advances while
nothing is pending, and it stays paused while network requests are in flight. So `fetch()` calls
against a real server are awaited whatever their real duration (checked against a local
`python -m http.server`-style server that answered after 3 s and after 20 s, longer than the budget),
and the budget only bounds the page's own timers. `--dump-dom` then prints the DOM once the budget is
spent or the page went idle. That is the simplest robust option: one subprocess call, no DevTools
protocol. A server that never answers would stall Chromium, hence the real `timeout` as well.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile

CHROMIUM = "/usr/bin/chromium"


def chromium_available() -> bool:
    """Whether Debian's Chromium is installed (`make browser` installs it)."""
    return os.access(CHROMIUM, os.X_OK)


def render_dom(url: str, *, budget_ms: int = 15000, timeout: float = 60) -> str:
    """Load `url` in a fresh headless Chromium profile, let its scripts and fetches finish within
    `budget_ms` of virtual time, and return the serialised DOM. Raises RuntimeError with Chromium's
    stderr if it fails, or if it has not finished after `timeout` real seconds."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        # Own process group, so a timeout kills the renderer and helper processes too.
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, err = proc.communicate()
            raise RuntimeError(f"chromium did not finish {url} within {timeout}s:\n{err[-4000:]}") from None
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"chromium failed on {url} (exit {proc.returncode}):\n{err[-4000:]}")
    return out
