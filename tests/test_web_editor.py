"""The web app's editor and audio in real Chromium (playwright-core), against `abcgen serve`:

check's messages at their lines: a long bar far down a pasted tune is marked in the gutter
beside its line (where that line is drawn, the text scrolled to it), the message on hover and
under the editor when the cursor is on the line; and the cards of a job just run (a paste
rendered, a tune generated) play compressed audio (OGG): no WAV is fetched unless asked for.
The editor is pictured in out/test-screenshots/web-editor.png (web-editor-failed.png: the page
where a step failed).
"""

import pytest

from test_songbook_browser import SCREENSHOTS, _why_skip
from web_helpers import free_port, run_driver, served_model_or_skip, start_server, stop_server

LINES, LONG_BAR_LINE = 30, 27  # the text is 30 lines; the long bar is on line 27


def _long_tune() -> str:
    header = ["X:1", "T:Gutter Reel", "R:reel", "M:4/4", "L:1/8", "K:Edor"]
    body = ["|E2BE dEBE|E2BE AFDF|"] * (LINES - len(header))
    body[LONG_BAR_LINE - len(header) - 1] = "|E2BE dEBEA|E2BE AFDF|"  # 9 eighths in 4/4
    body[-1] = "|E2BE dEBE|E2BE AFDF|]"
    return "\n".join(header + body) + "\n"


CLEAN = "X:1\nT:Ogg Polka\nR:polka\nM:2/4\nL:1/8\nQ:1/4=300\nK:D\n|:A>B AF|ED EF|A>B AF|E2 D2:|\n"

DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [base, profile, shot, text, clean, wanted] = process.argv.slice(2);
const LONG = { timeout: 240000 };

async function marks(page) {
  await page.fill("#paste", text);
  await page.waitForSelector("#edit-gutter div.issue", LONG);
  const found = await page.$$eval("#edit-gutter div.issue", (ds) => ds.map((d) => ({
    line: Number(d.dataset.line), classes: d.className, title: d.title })));
  const listed = await page.$$eval("#edit-issues li",
    (ls) => ls.map((l) => Number(l.dataset.line)));
  await page.$eval("#paste", (t) => { t.scrollTop = t.scrollHeight; });
  await page.waitForFunction(() => document.querySelector("#edit-gutter").scrollTop > 0);
  const place = await page.evaluate((line) => {
    const text = document.querySelector("#paste");
    const gutter = document.querySelector("#edit-gutter").getBoundingClientRect();
    const mark = document.querySelector(`#edit-gutter div[data-line="${line}"]`)
      .getBoundingClientRect();
    const style = getComputedStyle(text);
    const lineTop = text.getBoundingClientRect().top + parseFloat(style.paddingTop) +
      (line - 1) * parseFloat(style.lineHeight) - text.scrollTop;
    return { markTop: mark.top, lineTop, scrolled: text.scrollTop,
      inside: mark.top >= gutter.top && mark.bottom <= gutter.bottom };
  }, Number(wanted));
  await page.hover(`#edit-gutter div[data-line="${wanted}"]`);
  await page.click(`#edit-gutter div[data-line="${wanted}"]`);  // goes to the line
  const here = await page.textContent("#edit-here");
  await page.locator("#edit-panel").screenshot({ path: shot.replace("-failed.png", ".png") });
  await page.click("#paste", { position: { x: 40, y: 10 } });  // a line with nothing to say
  await page.evaluate(() => { const t = document.querySelector("#paste"); t.setSelectionRange(0, 0);
    t.dispatchEvent(new KeyboardEvent("keyup")); });
  const elsewhere = await page.textContent("#edit-here");
  return { found, listed, place, here, elsewhere };
}

const playing = (where) => page.$eval(where, (c) => ({ status: c.dataset.status,
  src: c.querySelector("audio").currentSrc, sources: c.querySelectorAll("audio source").length,
  wav: (c.querySelector(".downloads a[href$='/wav']") || {}).href }));
let page;

async function audio(requests) {
  await page.fill("#paste", clean);
  await page.click("#render");
  await page.waitForSelector('#edit-tunes section.tune[data-audio="ready"]', LONG);
  const rendered = await playing("#edit-tunes section.tune");
  await page.waitForSelector('body[data-model="ready"]', LONG);
  await page.fill("input[name=n]", "1");
  await page.fill("input[name=seed]", "3");
  await page.fill("input[name=tempo]", "400");
  await page.click("#generate");
  await page.waitForSelector('#tunes section.tune[data-audio="ready"]', LONG);
  const generated = await playing("#tunes section.tune");
  const wav = await page.request.get(rendered.wav);
  return { rendered, generated, wavStatus: wav.status(), requested: requests.slice(),
    wavHead: (await wav.body()).slice(0, 4).toString() };
}

(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true, bypassCSP: true,
    args: JSON.parse(process.env.CHROMIUM_ARGS), viewport: { width: 1100, height: 1400 } });
  page = context.pages()[0] || await context.newPage();
  const errors = [], requests = [];
  page.on("pageerror", (e) => errors.push("page: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("request", (r) => { if (/\/files\/jobs\//.test(r.url())) requests.push(r.url()); });
  try {
    await page.goto(base + "/");
    const editor = await marks(page);
    const sound = await audio(requests);
    console.log(JSON.stringify({ editor, sound, errors }));
  } catch (error) {
    await page.screenshot({ path: shot, fullPage: true });
    throw error;
  } finally {
    await context.close();
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


@pytest.mark.slow
def test_check_marks_its_lines_and_just_run_cards_play_ogg(tmp_path):
    model = served_model_or_skip(_why_skip)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server, _ = start_server(tmp_path / "data", model, port)
    try:
        result = run_driver(DRIVER, tmp_path, f"http://127.0.0.1:{port}", str(tmp_path / "profile"),
                            str(SCREENSHOTS / "web-editor-failed.png"), _long_tune(), CLEAN,
                            str(LONG_BAR_LINE))
    finally:
        stop_server(server)
    assert result["errors"] == []
    editor = result["editor"]
    (mark,) = [m for m in editor["found"] if m["line"] == LONG_BAR_LINE]
    assert "error" in mark["classes"] and "bar" in mark["title"].lower()
    assert LONG_BAR_LINE in editor["listed"]  # the list stays, under the text
    place = editor["place"]
    assert place["scrolled"] > 0 and place["inside"]  # the text scrolled; the mark came along
    assert abs(place["markTop"] - place["lineTop"]) <= 2, place  # beside its own line
    assert editor["here"].startswith(f"line {LONG_BAR_LINE}: error:")
    assert editor["elsewhere"] == ""
    sound = result["sound"]
    for card in (sound["rendered"], sound["generated"]):
        assert card["status"] == "ok" and card["src"].endswith(".ogg") and card["sources"] == 1
    assert sound["requested"] and all(url.endswith(".ogg") for url in sound["requested"])
    assert sound["wavStatus"] == 200 and sound["wavHead"] == "RIFF"  # a WAV when asked for
