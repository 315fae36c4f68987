"""The HTML songbook in a real browser: Debian's headless Chromium, driven by playwright-core
(npm, pinned in package.json) through a small node script.

playwright-core rather than chromedriver + selenium: it is one npm package beside abcjs (no
Python dependency, no driver whose version must match the browser), it reports console
messages, page errors and failed requests directly, and it waits on a selector.
"""

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from abcgen.songbook import SongbookOptions, make_songbook
from abcgen.songbook.html import find_abcjs

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = REPO / "node_modules" / "playwright-core"
SCREENSHOTS = REPO / "out" / "test-screenshots"  # git-ignored (out/)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Opens the page, waits for songbook.js to say the notation is drawn, reports per tune what
# was drawn and which audio files the page points at, tries the title filter, and lists
# every console error, page error and failed request.
DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [url, shot, profile, filterText] = process.argv.slice(2);
(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true,
    args: JSON.parse(process.env.CHROMIUM_ARGS), viewport: { width: 1000, height: 1300 } });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => errors.push("page: " + e.message));
  page.on("requestfailed", (r) => errors.push("request: " + r.url()));
  await page.goto(url);
  await page.waitForSelector('body[data-notation="ready"]', { timeout: 60000 });
  const tunes = await page.$$eval("section.tune", (sections) => sections.map((s) => ({
    id: s.id, svgs: s.querySelectorAll(".notation svg").length,
    noteheads: s.querySelectorAll(".notation svg .abcjs-notehead").length,
    audio: Array.from(s.querySelectorAll("audio source")).map((a) => a.src) })));
  await page.screenshot({ path: shot });
  await page.fill("#filter-title", filterText);
  const visible = await page.$$eval("section.tune",
    (ss) => ss.filter((s) => !s.hidden).map((s) => s.id));
  console.log(JSON.stringify({ tunes, visible, errors }));
  await context.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""

TUNES = """X:1
T:The Irish Washerwoman
R:jig
M:6/8
L:1/8
K:G
|:dc|BGG DGG|BGB dcB|cAA EAA|cBc edc|BGG DGG|BGB dcB|cBc Adc|BGG G:|

X:2
T:Drowsy Maggie
R:reel
M:4/4
L:1/8
K:Edor
|:E2BE dEBE|E2BE AFDF|E2BE dEBE|BABc dAFD:|

X:3
T:Drowsy Maggie
R:reel
M:4/4
L:1/8
K:D
|:d2fd Adfd|d2fd BGBd|d2fd Adfd|BABc dAFA:|
"""


def _why_skip() -> str | None:
    for need, what in ((CHROMIUM, "Debian's chromium"), (PLAYWRIGHT, "playwright-core (npm ci)")):
        if not need.exists():
            return f"{what} is not installed ({need} missing)"
    if shutil.which("node") is None:
        return "node is not installed"
    if find_abcjs() is None:
        return "abcjs is not installed (run npm ci in the repository)"
    return None


def _drive(page: Path, shot: Path, profile: Path, filter_text: str) -> dict:
    script = profile.parent / "driver.js"
    script.write_text(DRIVER)
    env = {**os.environ, "HOME": str(profile.parent), "CHROMIUM": str(CHROMIUM),
           "PLAYWRIGHT_CORE": str(PLAYWRIGHT), "CHROMIUM_ARGS": json.dumps(CHROMIUM_ARGS)}
    done = subprocess.run(["node", str(script), page.as_uri(), str(shot), str(profile),
                           filter_text], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_songbook_page_draws_notation_and_links_audio_in_chromium(tmp_path):
    if (reason := _why_skip()) is not None:
        pytest.skip(reason)
    source = tmp_path / "session.abc"
    source.write_text(TUNES)
    book = make_songbook(source, tmp_path / "book",
                         SongbookOptions(title="Browser Test", formats=("html", "wav"), jobs=1))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "songbook.png"
    result = _drive(book.html, shot, tmp_path / "profile", "maggie")
    print(f"screenshot: {shot}")
    assert result["errors"] == []
    assert [t["id"] for t in result["tunes"]] == ["tune-1", "tune-2", "tune-3"]
    for tune in result["tunes"]:
        assert tune["svgs"] >= 1 and tune["noteheads"] >= 16, tune
        assert tune["audio"], tune
        for url in tune["audio"]:
            path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
            assert path.is_file() and path.stat().st_size > 1000, url
    assert result["visible"] == ["tune-2", "tune-3"]
    assert shot.stat().st_size > 10_000


# The practice player on the songbook page opened from file://, with every request that isn't
# a file of the book refused and reported: the B part looped at 150 % after a count-in, the
# notes lit as they sound.
PRACTICE_DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [url, profile, shot] = process.argv.slice(2);
(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true,
    args: JSON.parse(process.env.CHROMIUM_ARGS), viewport: { width: 1000, height: 1300 } });
  const page = context.pages()[0] || await context.newPage();
  const errors = [], outside = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => errors.push("page: " + e.message));
  await context.route("**/*", (route) => {
    const wanted = route.request().url();
    if (/^(file|data|blob):/.test(wanted)) return route.continue();
    outside.push(wanted);
    return route.abort();
  });
  try {
    await page.goto(url);
    await page.waitForSelector('body[data-notation="ready"]', { timeout: 60000 });
    const tune = "#tune-1";
    const parts = await page.$$eval(`${tune} .loop-part option`,
      (os) => os.map((o) => o.textContent));
    await page.selectOption(`${tune} .loop-part`, { index: 2 });  // the B part
    await page.$eval(`${tune} .speed`,
      (s) => { s.value = 150; s.dispatchEvent(new Event("input")); });
    await page.check(`${tune} .count-in`);
    const started = Date.now();
    await page.click(`${tune} button.play`);
    const wait = (test) => page.waitForFunction(test, tune, { timeout: 60000 });
    await wait((sel) => document.querySelector(sel).dataset.countIn === "done");
    const countInSeconds = (Date.now() - started) / 1000;
    await wait((sel) => document.querySelectorAll(`${sel} .notation .playing`).length > 0);
    const lit = await page.$$eval(`${tune} .notation .playing`, (ns) => ns.length);
    await wait((sel) => Number(document.querySelector(sel).dataset.looped || 0) >= 1);
    const state = await page.$eval(tune, (c) => {
      const audio = c.querySelector("audio");
      audio.pause();
      return { speed: c.dataset.speed, rate: audio.playbackRate, pitchKept: audio.preservesPitch,
        countIn: c.dataset.countIn, cursor: Number(c.dataset.cursor),
        looped: Number(c.dataset.looped), at: audio.currentTime, source: audio.currentSrc };
    });
    const players = await page.$$eval("section.tune",
      (ss) => ss.map((s) => s.querySelectorAll(".practice").length));
    console.log(JSON.stringify({ parts, countInSeconds, lit, state, players, errors, outside }));
  } catch (error) {
    await page.screenshot({ path: shot, fullPage: true });
    throw error;
  } finally {
    await context.close();
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""

TWO_PARTS = """X:1
T:The Kesh
R:jig
M:6/8
L:1/8
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA:|
|:GAB ABA|GAB AGE|GAB dBd|edB dBA:|

X:2
T:Drowsy Maggie
R:reel
M:4/4
L:1/8
K:Edor
|:E2BE dEBE|E2BE AFDF|E2BE dEBE|BABc dAFD:|
"""


@pytest.mark.slow
def test_songbook_page_practice_player_loops_a_part_offline_in_chromium(tmp_path):
    from web_helpers import run_driver

    if (reason := _why_skip()) is not None:
        pytest.skip(reason)
    source = tmp_path / "session.abc"
    source.write_text(TWO_PARTS)
    book = make_songbook(source, tmp_path / "book",
                         SongbookOptions(title="Practice", formats=("html", "wav"), jobs=1))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    result = run_driver(PRACTICE_DRIVER, tmp_path, book.html.as_uri(), str(tmp_path / "profile"),
                        str(SCREENSHOTS / "songbook-practice-failed.png"), timeout=180)
    assert result["errors"] == [] and result["outside"] == []  # offline: nothing but the book
    assert result["players"] == [1, 1]
    assert result["parts"][1:] == ["A part (bars 1–4)", "B part (bars 5–8)"]
    state = result["state"]
    assert state["rate"] == 1.5 and state["speed"] == "150" and state["pitchKept"]
    assert state["source"].startswith("file://") and state["source"].endswith(".wav")
    # one 6/8 bar of clicks at the jig's 110 dotted quarters a minute, sped up: ~0.73 s
    assert state["countIn"] == "done" and result["countInSeconds"] >= 0.6
    assert result["lit"] > 0 and state["cursor"] >= 0 and state["looped"] >= 1
    bar = 2 * 60 / 110  # seconds of one 6/8 bar at 110 dotted quarters a minute
    assert 8 * bar - 0.2 <= state["at"] <= 12 * bar + 0.3  # inside the B part, looped back
