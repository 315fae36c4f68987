"""Web app benchmark (issue 9 part 4): `abcgen serve` on a free localhost port.

1. Start-up: seconds until the server first answers (target < 3 s), and until the model is
   loaded (in a background thread; the page says "model loading" meanwhile).
2. Generate in headless Chromium (playwright-core, as in the browser test): from the click on
   Generate to the first tune's notation drawn (`first_notation_s`, timed in the page: the page
   draws the cards a frame at a time, so the first shows before the others are drawn), to every
   tune card's notation seen by playwright (`notation_s`, as measured before) and to the
   audio playable (every card's <audio> fired `canplaythrough`: the OGG, since issue 19), for
   1 and 8 tunes (quick: 1 and 2).
3. Static pages: requests per second over keep-alive loopback connections from `CLIENTS`
   threads for `LOAD_SECONDS` each: the page alone, then a mix of the page, its CSS/JS, abcjs
   and /api/options. Client and server share the machine's CPUs, so this is a floor.

The model is $ABCGEN_WEB_TEST_MODEL, else the bundled one; without either (or without
Chromium) the browser part reports why it was skipped.
"""

import http.client
import json
import os
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from tests.test_songbook_browser import _why_skip
from tests.web_helpers import free_port, run_driver, start_server, stop_server, web_model

COUNTS = {True: (1, 2), False: (1, 8)}  # tunes per generation: quick, full
LOAD_SECONDS = {True: 2.0, False: 5.0}  # per static-load phase
CLIENTS = 4  # concurrent keep-alive connections
STATIC_MIX = ("/", "/static/app.js", "/static/app.css", "/assets/abcjs-basic-min.js",
              "/api/options")
SEED = 21
TARGET_START_S = 3.0  # issue 9: the server answers within this many seconds of starting

DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [base, profile, counts, seed] = process.argv.slice(2);
const LONG = { timeout: 300000 };
(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true, bypassCSP: true,  // for waitForFunction
    args: JSON.parse(process.env.CHROMIUM_ARGS) });
  const page = context.pages()[0] || await context.newPage();
  await page.goto(base + "/");
  await page.waitForSelector('body[data-model="ready"]', LONG);
  const runs = [];
  for (const n of JSON.parse(counts)) {
    await page.fill("input[name=n]", String(n));
    await page.fill("input[name=seed]", seed);
    await page.evaluate(() => {
      const tunes = document.querySelector("#tunes");
      tunes.replaceChildren();
      // the first card's notation as the page drew it (playwright's own polling may see it later)
      window.firstDrawn = null;
      const seen = new MutationObserver(() => {
        if (tunes.querySelector('section.tune[data-notation="ready"]')) { window.firstDrawn = Date.now(); seen.disconnect(); }
      });
      seen.observe(tunes, { childList: true, subtree: true, attributes: true });
    });
    const start = Date.now();
    await page.click("#generate");
    await page.waitForSelector('#tunes section.tune[data-notation="ready"]', LONG);
    await page.waitForFunction(() => { const tunes = document.querySelector("#tunes");  // every card
      return tunes.dataset.shown && Array.from(tunes.querySelectorAll("section.tune")).every((s) =>
        s.dataset.notation === "ready" || s.dataset.status === "error"); }, null, LONG);
    const notation = (Date.now() - start) / 1000;
    await page.waitForSelector("#tunes .summary", LONG);
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#tunes section.tune"))
      .filter((s) => s.querySelector("audio")).every((s) => s.dataset.audio === "ready"), null, LONG);
    const audio = (Date.now() - start) / 1000;
    const first = (await page.evaluate(() => window.firstDrawn) - start) / 1000;
    const tunes = await page.$$eval("#tunes section.tune", (ss) => ss.length);
    const job = Number((await page.textContent("#generate-status")).match(/[\d.]+/)[0]);
    runs.push({ asked: n, shown: tunes, first_notation_s: first, notation_s: notation, job_done_s: job,
      audio_playable_s: audio });
  }
  console.log(JSON.stringify(runs));
  await context.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def _wait_for_model(port: int, limit: float = 300) -> float:
    """Seconds until /api/status says the model is ready (raises if it failed)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status") as answer:
            state = json.load(answer)
        if state["model"] != "loading":
            if state["model"] != "ready":
                raise RuntimeError(state["message"])
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError("the model did not load")


def _client(port: int, paths: tuple[str, ...], until: float, counts: list[int]) -> None:
    """One keep-alive connection fetching `paths` in turn until `until`; counts ok/failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    turn = 0
    while time.monotonic() < until:
        try:
            connection.request("GET", paths[turn % len(paths)])
            answer = connection.getresponse()
            answer.read()
            counts[0 if answer.status == 200 else 1] += 1
        except (OSError, http.client.HTTPException):
            counts[1] += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        turn += 1
    connection.close()


def static_load(port: int, paths: tuple[str, ...], seconds: float) -> dict:
    """Requests per second from CLIENTS threads for `seconds`."""
    counts = [[0, 0] for _ in range(CLIENTS)]
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(port, paths, until, c)) for c in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
    return {"paths": list(paths), "clients": CLIENTS, "seconds": seconds, "requests": ok,
            "failed": failed, "requests_per_s": round(ok / seconds, 1)}


def _browser(port: int, work: Path, quick: bool) -> dict:
    if (reason := _why_skip()) is not None:
        return {"skipped": reason}
    runs = run_driver(DRIVER, work, f"http://127.0.0.1:{port}", str(work / "profile"),
                      json.dumps(COUNTS[quick]), str(SEED))
    return {"seed": SEED, "runs": runs}


def run(quick: bool = False) -> dict:
    model = web_model()
    if model is None:
        return {"skipped": "no model: the bundled model is missing and $ABCGEN_WEB_TEST_MODEL "
                           "is not set"}
    with tempfile.TemporaryDirectory() as folder:
        work, port = Path(folder), free_port()
        server, answered = start_server(work / "data", model, port)
        try:
            result = {"model": str(model), "load_average_1m": os.getloadavg()[0],
                      "server_answers_s": round(answered, 3),
                      "target_start_s": TARGET_START_S, "start_ok": answered < TARGET_START_S,
                      "model_ready_s": round(answered + _wait_for_model(port), 3)}
            result["generate"] = _browser(port, work, quick)
            result["static"] = [static_load(port, ("/",), LOAD_SECONDS[quick]),
                                static_load(port, STATIC_MIX, LOAD_SECONDS[quick])]
        finally:
            stop_server(server)
    return result
