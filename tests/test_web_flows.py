"""The web app's returning-musician flows in real Chromium (playwright-core), against `abcgen
serve` restarted half-way on the same data folder and port (issue 19):

before the restart: paste a tune with a `%%beginps` block and render it (abcjs hung on the
raw paste), practise it (150 %, loop its B part, count-in, the cursor on the staff), transpose
it to G, edit it (a long bar flagged at its line, Repair, notation and audio redrawn), reload
while a generation runs and find it again, keep tunes, reorder and remove one, open a tune's
link; after: the tune's link, the job's address and the songbook are all still there.
A failing step leaves a screenshot in out/test-screenshots/web-flows-<phase>.png.
"""

import pytest

from test_songbook_browser import SCREENSHOTS, _why_skip
from web_helpers import free_port, run_driver, served_model_or_skip, start_server, stop_server

DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [base, profile, phase, shots, saved] = process.argv.slice(2);
const LONG = { timeout: 240000 };
const PS_JIG = "X:1\nT:Tom & Jerry\nR:jig\nM:6/8\nL:1/8\nK:D\n%%beginps\n/x {0 0 moveto} def\n%%endps\n" +
  "|:AFA dFA|AFA BGE|AFA dFA|BGE D3:|\n|:ABc dcB|ABc d3|ABc dcB|AFD D3:|\n";
const card = (where) => `${where} section.tune`;

async function practise(page) {
  const tune = card("#edit-tunes");
  await page.selectOption(`${tune} .loop-part`, { index: 2 });  // the B part
  await page.$eval(`${tune} .speed`, (s) => { s.value = 150; s.dispatchEvent(new Event("input")); });
  await page.check(`${tune} .count-in`);
  await page.click(`${tune} button.play`);
  await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.looped || 0) >= 1,
    tune, { timeout: 30000 });
  return page.$eval(tune, (c) => {
    const audio = c.querySelector("audio");
    audio.pause();
    return { speed: c.dataset.speed, rate: audio.playbackRate, pitchKept: audio.preservesPitch,
      countIn: c.dataset.countIn, cursor: Number(c.dataset.cursor), looped: Number(c.dataset.looped),
      at: audio.currentTime, lit: c.querySelectorAll(".notation .playing").length,
      parts: Array.from(c.querySelectorAll(".loop-part option")).map((o) => o.textContent) };
  });
}

async function pasteAndRender(page) {
  await page.fill("#paste", PS_JIG);
  await page.click("#render");
  await page.waitForSelector(`${card("#edit-tunes")}[data-status="ok"] audio`, LONG);
  return page.$eval(card("#edit-tunes"), (c) => ({ id: c.dataset.id, address: location.search,
    noteheads: c.querySelectorAll(".abcjs-notehead").length,
    title: c.querySelector("h3").textContent }));
}

async function transpose(page) {
  const tune = card("#edit-tunes");
  const before = await page.$eval(tune, (c) => c.dataset.id);
  await page.selectOption(`${tune} .transpose-key`, "G");
  await page.click(`${tune} .transpose-go`);
  await page.waitForFunction((id) => { const c = document.querySelector("#edit-tunes section.tune");
    return c && c.dataset.id !== id && c.querySelector("audio"); }, before, LONG);
  return page.$eval(tune, (c) => ({ abc: c.querySelector("details pre").textContent,
    noteheads: c.querySelectorAll(".abcjs-notehead").length, sources: c.querySelectorAll("audio source").length }));
}

// Edit: the card's tune goes to the editor; a long bar typed is flagged at its line, Repair
// mends it, and notation and audio follow by themselves.
async function edit(page) {
  await page.click(`${card("#edit-tunes")} button.edit`);
  const opened = await page.inputValue("#paste");
  const rendered = await page.$eval(card("#edit-tunes"), (c) => c.dataset.id);
  const count = await page.$eval("#edit-preview", (p) => Number(p.dataset.drawn || 0));
  const longBar = PS_JIG.replace("|:ABc dcB|", "|:ABc dcBA|");
  await page.fill("#paste", longBar);
  await page.waitForFunction((n) => Number(document.querySelector("#edit-preview").dataset.drawn) > n &&
    document.querySelector("#edit-issues li.error"), count, LONG);
  const flagged = await page.$$eval("#edit-issues li.error", (ls) => ls.map((l) => l.dataset.line));
  const line = longBar.split("\n").findIndex((l) => l.startsWith("|:ABc dcBA|")) + 1;
  await page.click("#repair");
  await page.waitForFunction(() => /1 repaired/.test(document.querySelector("#edit-status").textContent), null, LONG);
  await page.waitForFunction((id) => { const c = document.querySelector("#edit-tunes section.tune");
    return c && c.dataset.id !== id && c.querySelector("audio"); }, rendered, LONG);  // re-rendered by itself
  return { opened, flagged, line, errorsAfter: await page.$$eval("#edit-issues li.error", (ls) => ls.length),
    preview: await page.$$eval("#edit-preview .abcjs-notehead", (n) => n.length) };
}

async function reloadMidJob(page) {
  await page.waitForSelector('body[data-model="ready"]', LONG);
  await page.fill("input[name=n]", "3");
  await page.fill("input[name=seed]", "5");
  await page.click("#generate");
  await page.waitForFunction(() => location.search.startsWith("?job="), null, LONG);
  const address = page.url();
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#tunes section.tune[data-status="ok"]').length === 3 &&
    document.querySelector("#tunes .summary"), null, LONG);
  return { same: page.url() === address, job: new URL(address).searchParams.get("job"),
    titles: await page.$$eval("#tunes section.tune h3", (hs) => hs.map((h) => h.textContent)) };
}

async function keepReorderRemove(page) {
  const buttons = await page.$$("#tunes section.tune button.keep");
  for (const button of buttons) {
    const before = await page.$$eval("#kept li", (l) => l.length);
    await button.click();
    await page.waitForFunction((n) => document.querySelectorAll("#kept li").length === n + 1, before);
  }
  const kept = () => page.$$eval("#kept li a", (as) => as.map((a) => a.textContent));
  const first = await kept();
  await page.click("#kept li:first-child button.move-down");
  await page.waitForFunction((t) => document.querySelector("#kept li a").textContent !== t, first[0]);
  const moved = await kept();
  await page.click("#kept li:last-child button.remove");
  await page.waitForFunction(() => document.querySelectorAll("#kept li").length === 2);
  return { first, moved, left: await kept() };
}

async function openLink(page) {
  await page.click("#tunes section.tune h3 a");
  await page.waitForSelector('#tunes section.tune[data-notation="ready"] audio', LONG);
  return { path: new URL(page.url()).pathname, cards: await page.$$eval("#tunes section.tune", (s) => s.length) };
}

async function before(page) {
  await page.goto(base + "/");
  const pasted = await pasteAndRender(page);
  const practice = await practise(page);
  const moved = await transpose(page);
  const edited = await edit(page);
  const reload = await reloadMidJob(page);
  const songbook = await keepReorderRemove(page);
  const link = await openLink(page);
  return { pasted, practice, moved, edited, reload, songbook, link };
}

async function after(page) {
  const { link, job } = JSON.parse(saved);
  await page.goto(base + link.path);
  await page.waitForSelector('#tunes section.tune[data-notation="ready"] audio', LONG);
  const tune = await page.$eval("#tunes section.tune h3", (h) => h.textContent);
  await page.goto(`${base}/?job=${job}`);
  await page.waitForFunction(() => document.querySelectorAll("#tunes section.tune").length === 3, null, LONG);
  // the songbook list arrives by its own request: wait for it rather than read it half-filled
  await page.waitForFunction(() => document.querySelectorAll("#kept li").length > 0, null, LONG);
  return { tune, jobCards: 3, kept: await page.$$eval("#kept li a", (as) => as.map((a) => a.textContent)) };
}

(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true, bypassCSP: true,
    args: JSON.parse(process.env.CHROMIUM_ARGS), viewport: { width: 1100, height: 1400 } });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push("page: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  try {
    const result = await (phase === "before" ? before(page) : after(page));
    console.log(JSON.stringify({ ...result, errors }));
  } catch (error) {
    await page.screenshot({ path: `${shots}/web-flows-${phase}.png`, fullPage: true });
    throw error;
  } finally {
    await context.close();
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


@pytest.mark.slow
def test_paste_practise_reload_keep_share_and_come_back_after_a_restart(tmp_path):
    model = served_model_or_skip(_why_skip)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port, data = free_port(), tmp_path / "data"
    base, profile = f"http://127.0.0.1:{port}", str(tmp_path / "profile")
    server, _ = start_server(data, model, port)
    try:
        first = run_driver(DRIVER, tmp_path, base, profile, "before", str(SCREENSHOTS), "{}")
    finally:
        stop_server(server)
    saved = {"link": first["link"], "job": first["reload"]["job"]}
    server, _ = start_server(data, model, port)  # the same folder and port, a new process
    try:
        second = run_driver(DRIVER, tmp_path, base, profile, "after", str(SCREENSHOTS),
                            __import__("json").dumps(saved))
    finally:
        stop_server(server)

    assert first["errors"] == [] and second["errors"] == []
    pasted = first["pasted"]
    assert pasted["noteheads"] > 20 and pasted["title"] == "1. Tom & Jerry"
    assert pasted["address"].startswith("?job=")
    practice = first["practice"]
    assert practice["parts"][1:] == ["A part (bars 1–4)", "B part (bars 5–8)"]
    assert practice["rate"] == 1.5 and practice["pitchKept"] and practice["countIn"] == "done"
    assert practice["looped"] >= 1 and practice["cursor"] >= 0
    assert practice["at"] >= 8 * 60 * 2 / 110 - 0.2  # inside the B part (jig: 110 a minute)
    moved = first["moved"]
    assert "K:G" in moved["abc"] and moved["noteheads"] > 20 and moved["sources"] >= 1
    edited = first["edited"]
    assert "K:G" in edited["opened"]  # the transposed tune went to the editor
    assert str(edited["line"]) in edited["flagged"]  # the long bar, at its line
    assert edited["errorsAfter"] == 0 and edited["preview"] > 20
    reload = first["reload"]
    assert reload["same"] and len(reload["titles"]) == 3
    songbook = first["songbook"]
    assert len(songbook["first"]) == 3
    assert songbook["moved"] == [songbook["first"][1], songbook["first"][0], songbook["first"][2]]
    assert songbook["left"] == songbook["moved"][:2]
    assert first["link"]["path"].startswith("/tune/") and first["link"]["cards"] == 1
    assert second["tune"] and second["kept"] == songbook["left"]
