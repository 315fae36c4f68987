"""Shared by the web app's browser test and its benchmark: start `abcgen serve` on a free
localhost port, and run a playwright-core script against it in Debian's headless Chromium."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from abcgen.model.sample import PRETRAINED_MODEL

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = REPO / "node_modules" / "playwright-core"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]
MODEL_ENV = "ABCGEN_WEB_TEST_MODEL"  # another checkpoint, for working before the bundled one


def web_model() -> Path | None:
    """The checkpoint to serve: $ABCGEN_WEB_TEST_MODEL, else the bundled model if present."""
    named = os.environ.get(MODEL_ENV)
    if named:
        return Path(named)
    return PRETRAINED_MODEL if PRETRAINED_MODEL.is_file() else None


def served_model_or_skip(why_skip) -> Path:
    """The checkpoint a browser test serves; skips the test when Chromium, playwright
    (`why_skip()` says why) or a model is missing."""
    import pytest

    if (reason := why_skip()) is not None:
        pytest.skip(reason)
    if (model := web_model()) is None:
        pytest.skip(f"the bundled model {PRETRAINED_MODEL} is missing (make pretrained)")
    return model


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data: Path, model: Path, port: int) -> tuple[subprocess.Popen, float]:
    """`abcgen serve` in a child process; returns it and the seconds until it first answered."""
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "abcgen", "serve", "--port", str(port),
                               "--data", str(data), "--model", str(model)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while time.monotonic() - started < 30:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1).close()
            return server, time.monotonic() - started
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"abcgen serve exited: {server.stdout.read()}") from None
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("abcgen serve did not answer within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def run_driver(script: str, work: Path, *args: str, timeout: float = 600) -> dict:
    """Run the node `script` (playwright-core) with `args`; its last stdout line as JSON.
    Raises RuntimeError with its stderr when it fails."""
    path = work / "driver.js"
    path.write_text(script)
    env = {**os.environ, "HOME": str(work), "CHROMIUM": str(CHROMIUM),
           "PLAYWRIGHT_CORE": str(PLAYWRIGHT), "CHROMIUM_ARGS": json.dumps(CHROMIUM_ARGS)}
    done = subprocess.run(["node", str(path), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_job(client, job_id: str, seconds: float = 60) -> dict:
    """A web job through a TestClient, once it is done or failed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['state']} after {seconds} s")


def wait_encoded(client, tune_id: str, seconds: float = 60) -> dict:
    """The tune once its OGG for the page is made (after its job is done: web.audio)."""
    deadline = time.monotonic() + seconds
    while "ogg" not in (tune := client.get(f"/api/tunes/{tune_id}").json())["files"]:
        assert time.monotonic() < deadline, tune
        time.sleep(0.05)
    return tune
