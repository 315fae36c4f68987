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
