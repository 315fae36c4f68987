"""The web app in a real browser: Debian's headless Chromium driven by playwright-core (npm),
the same way as tests/test_songbook_browser.py, against `abcgen serve` on a free port.

A musician's session: fill the form, generate two tunes (a second tab generating at the same
time), see their notation, play one tune's audio to its end, keep it, build the songbook and
download its PDF. A screenshot goes to out/test-screenshots/web.png (web-failed.png when a
step fails).
"""

import shutil
import subprocess

import pytest

from test_songbook_browser import SCREENSHOTS, _why_skip
from web_helpers import free_port, run_driver, served_model_or_skip, start_server, stop_server

DRIVER = r"""
const fs = require("fs");
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [base, shot, profile, pdfPath] = process.argv.slice(2);
const LONG = { timeout: 240000 };
const BROKEN = "X:1\nT:Long Bar\nM:4/4\nL:1/8\nK:G\n|:GABc dBGA|cBAG FGAF:|\n|:GABc dBGAB|cBAG FGAF:|\n";
let refusing = false;
const errors = [];  // console and page errors, and failed requests, of both tabs
const MARKUP = '<img src=x onerror="document.title=1"><script>alert(1)</script>';

async function fillForm(page, n, seed) {
  await page.goto(base + "/");
  await page.waitForSelector('body[data-model="ready"]', LONG);
  await page.fill("input[name=n]", String(n));
  await page.selectOption("select[name=meter]", "6/8");
  await page.selectOption("select[name=rhythm]", "jig");
  await page.fill("input[name=seed]", String(seed));
  await page.fill("input[name=temperature]", "0.9");
  await page.selectOption("select[name=instrument]", "fiddle");
  await page.fill("input[name=tempo]", "400");  // the fastest allowed: short audio
}

function describeTunes() {
  return Array.from(document.querySelectorAll("#tunes section.tune")).map((s) => ({
    title: s.querySelector("h3").textContent,
    svgs: s.querySelectorAll(".notation svg").length,
    noteheads: s.querySelectorAll(".notation svg .abcjs-notehead").length,
    audio: Array.from(s.querySelectorAll("audio source")).map((a) => a.src) }));
}

async function playToEnd() {
  const audio = document.querySelector("#tunes section.tune audio");
  audio.playbackRate = 4;
  await audio.play();
  await new Promise((resolve, reject) => {
    if (audio.ended) resolve();
    audio.addEventListener("ended", resolve);
    audio.addEventListener("error", () => reject(new Error("audio error " + audio.error.code)));
    setTimeout(() => reject(new Error("audio did not end in 60 s")), 60000);
  });
  return { duration: audio.duration, ended: audio.ended, error: audio.error };
}

// The edit box: a broken tune repaired and rendered; then a title with markup refused.
async function editAndRefuse(page) {
  await page.fill("#paste", BROKEN);
  await page.click("#repair");
  await page.waitForFunction(() => /repaired/.test(document.querySelector("#edit-status").textContent), null, LONG);
  const repairLog = await page.textContent("#edit-output");
  await page.click("#render");
  await page.waitForSelector('#edit-tunes section.tune[data-status="ok"] audio', LONG);
  refusing = true;  // Chromium logs the expected 400 answer as a console error
  await page.fill("input[name=title]", MARKUP);
  await page.click("#generate");
  await page.waitForSelector("#generate-status.error", LONG);
  return { repairLog, refused: await page.textContent("#generate-status"),
           injected: await page.$$eval("img, script:not([src])", (found) => found.length) };
}

(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM, headless: true, bypassCSP: true,  // for waitForFunction
    args: JSON.parse(process.env.CHROMIUM_ARGS),
    viewport: { width: 1100, height: 1400 } });
  const watch = (page) => {
    page.on("console", (m) => {
      if (m.type() === "error" && !(refusing && m.text().includes("status of 400"))) errors.push("console: " + m.text());
    });
    page.on("pageerror", (e) => errors.push("page: " + e.message));
    page.on("requestfailed", (r) => errors.push("request: " + r.url()));
  };
  const page = context.pages()[0] || await context.newPage();
  try {
    await session(context, page, watch);
  } catch (error) {  // what the page showed when it failed
    await page.screenshot({ path: shot.replace(/\.png$/, "-failed.png"), fullPage: true });
    throw error;
  } finally {
    await context.close();
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });

async function session(context, page, watch) {
  const other = await context.newPage();
  watch(page); watch(other);
  await fillForm(page, 2, 11);
  await fillForm(other, 1, 12);
  await Promise.all([page.click("#generate"), other.click("#generate")]);
  await page.waitForSelector("#tunes .summary", LONG);
  await other.waitForSelector("#tunes .summary", LONG);
  await page.waitForFunction(() => document.querySelectorAll('#tunes section.tune[data-notation="ready"]').length >= 2, null, LONG);
  const tunes = await page.evaluate(describeTunes);
  const otherTunes = await other.evaluate(describeTunes);
  await other.close();  // a background tab draws no frames, so no screenshot could be taken
  await page.bringToFront();
  const played = await page.evaluate(playToEnd);
  await page.screenshot({ path: shot, fullPage: true });
  await page.click("#tunes section.tune button.keep");
  await page.waitForSelector("#tunes section.tune button.keep[disabled]");
  await page.click("#build-songbook");
  await page.waitForSelector("#songbook-pdf", LONG);
  const response = await page.request.get(await page.$eval("#songbook-pdf", (a) => a.href));
  fs.writeFileSync(pdfPath, await response.body());
  const edit = await editAndRefuse(page);
  console.log(JSON.stringify({ tunes, otherTunes, played, pdfStatus: response.status(), edit, errors }));
}
"""


@pytest.mark.slow
def test_generate_see_hear_keep_and_download_the_songbook_in_chromium(tmp_path):
    model = served_model_or_skip(_why_skip)
    port = free_port()
    server, start_seconds = start_server(tmp_path / "data", model, port)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "web.png"
    try:
        result = run_driver(DRIVER, tmp_path, f"http://127.0.0.1:{port}", str(shot),
                            str(tmp_path / "profile"), str(tmp_path / "songbook.pdf"))
    finally:
        stop_server(server)
    print(f"screenshot: {shot}; server answered after {start_seconds:.2f} s (bench_web times it)")
    assert result["errors"] == []
    assert len(result["tunes"]) == 2 and len(result["otherTunes"]) == 1, result
    for tune in result["tunes"] + result["otherTunes"]:
        assert tune["svgs"] >= 1 and tune["noteheads"] >= 1, tune
        assert tune["audio"], tune
    assert result["played"]["ended"] and result["played"]["duration"] > 0.5
    pdf = (tmp_path / "songbook.pdf").read_bytes()
    assert result["pdfStatus"] == 200 and pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "songbook.pdf"), "-"],
                              capture_output=True, text=True).stdout
        kept_title = result["tunes"][0]["title"].split(". ", 1)[1]  # "1. Title"
        printed = " ".join(text.replace("\u2019", "'").split())  # abcm2ps prints ' as ’
        assert " ".join(kept_title.split()) in printed
    assert "bar-length" in result["edit"]["repairLog"]
    assert "markup" in result["edit"]["refused"] and result["edit"]["injected"] == 0
    assert shot.stat().st_size > 10_000
