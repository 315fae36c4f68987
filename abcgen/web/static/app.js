// abcgen's page: the form, progress polling, notation (abcjs), the practice player (player.js),
// tune links, songbooks. The page's state is in its address: /?job=<id> while a job's tunes are
// shown, /tune/<id> for one tune, so a reload or a server restart comes back to them.
// User and model text only ever enters the page through textContent or attribute values, and
// abcjs only ever draws ABC the server has cleaned (a tune's `shown_abc`).
"use strict";

const POLL_MS = 30; // between a job's polls; each waits on the server for a change (?seen=)
const FRAME_MS = 16; // drawing cards longer than this at once yields, so the first shows at once
const $ = (selector) => document.querySelector(selector);
let options = {};
let books = [];

function element(tag, attributes = {}, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
  if (!response.ok) throw new Error(data.error || `request failed (${response.status})`);
  return data;
}

function say(target, text, isError = false) {
  target.textContent = text;
  target.classList.toggle("error", isError);
}

// Polls a job until it ends; `onPreview(job)` gets each poll's tunes-so-far (job.preview).
// Each poll names the version last seen, and the server answers when the job changes.
async function waitForJob(id, statusLine, onPreview = null) {
  let seen = "";
  for (;;) {
    const job = await api(`/api/jobs/${id}` + (seen ? `?seen=${seen}` : ""));
    seen = job.version || "";
    if (job.state === "done") return job;
    if (job.state === "failed") throw new Error(job.error);
    if (job.preview && onPreview) onPreview(job);
    const count = job.total ? ` ${job.done}/${job.total}` : "";
    say(statusLine, `${job.stage}${count} (${job.seconds.toFixed(1)} s)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function fillMenus() {
  for (const select of document.querySelectorAll("select[data-options]")) {
    for (const choice of options[select.dataset.options]) {
      const [value, label] = typeof choice === "string" ? [choice, choice] : [choice.value, choice.label];
      select.append(element("option", { value }, label));
    }
  }
  $("select[name=instrument]").value = options.default_instrument;
  $("input[name=n]").max = options.max_tunes;
}

// The mode needs a key (the server refuses one without); the tempo hint follows the rhythm.
function followForm() {
  const tonic = $("select[name=tonic]");
  const mode = $("select[name=mode]");
  mode.disabled = !tonic.value;
  if (!tonic.value) mode.value = "";
  const rhythm = $("select[name=rhythm]").value;
  const usual = options.rhythm_tempos[rhythm];
  say($("#tempo-hint"), usual
    ? `Tempo counts ${usual.beat} a minute; a ${rhythm}'s usual is ${usual.bpm} (in ${usual.meter}). Blank: the usual.`
    : "Tempo counts the tune's beat a minute: a jig's dotted quarter, a reel's quarter " +
      `(jig ${options.rhythm_tempos.jig.bpm}, reel ${options.rhythm_tempos.reel.bpm}, ` +
      `hornpipe ${options.rhythm_tempos.hornpipe.bpm}). Blank: the rhythm's usual.`);
}

function fileLink(href, text, name) {
  return element("a", { href, download: name }, text);
}

function downloads(tune) {
  const links = element("p", { class: "downloads" }, "Download: ");
  const base = `/files/jobs/${tune.job}/`;
  const names = { abc: "ABC", mid: "MIDI", ogg: "OGG" };
  for (const [kind, text] of Object.entries(names)) {
    if (tune.files[kind]) links.append(fileLink(base + tune.files[kind], text, tune.files[kind]), " ");
  }
  if (tune.files.mid) links.append(fileLink(`/api/tunes/${tune.id}/wav`, "WAV", ""), " ");
  return links;
}

// The tune's compressed audio (OGG, MP3); its WAV only where there is none (no ffmpeg): the
// "WAV" download asks for it.
function player(tune, card) {
  const audio = element("audio", { controls: "", preload: "auto" });
  const base = `/files/jobs/${tune.job}/`;
  const kinds = [["ogg", "audio/ogg"], ["mp3", "audio/mpeg"]].filter(([kind]) => tune.files[kind]);
  for (const [kind, type] of kinds.length ? kinds : [["wav", "audio/wav"]]) {
    if (tune.files[kind]) audio.append(element("source", { src: base + tune.files[kind], type }));
  }
  audio.addEventListener("canplaythrough", () => { if (!card.dataset.audio) card.dataset.audio = "ready"; });
  audio.addEventListener("ended", () => { card.dataset.audio = "ended"; });
  audio.addEventListener("error", () => { card.dataset.audio = "error"; }, true);
  return audio;
}

// Draws the server-cleaned ABC; returns abcjs's tune object (null without abcjs).
function drawNotation(target, abc) {
  if (!abc) return null;
  if (window.ABCJS) {
    return window.ABCJS.renderAbc(target, abc, { responsive: "resize", add_classes: true })[0];
  }
  target.append(element("pre", {}, abc));
  return null;
}

function tuneLink(tune) {
  return new URL(`/tune/${tune.id}`, location.href).href;
}

function shareButtons(tune) {
  const copy = element("button", { type: "button", class: "copy-link" }, "Copy link");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(tuneLink(tune));
      copy.textContent = "Link copied";
    } catch (e) {
      copy.replaceWith(element("input", { value: tuneLink(tune), readonly: "", size: 40 }));
    }
  });
  return copy;
}

// "Transpose to [key] or by [n] semitones": a new tune, notation and audio, in this card's place.
function transposeControls(tune, card) {
  const box = element("p", { class: "transpose" }, "Transpose to ");
  const key = element("select", { class: "transpose-key", "aria-label": "Transpose to key" });
  key.append(element("option", { value: "" }, "a key…"), ...options.tonics.map((t) => element("option", { value: t }, t)));
  const semitones = element("input", { type: "number", class: "transpose-semitones", min: -12, max: 12, value: 0,
    "aria-label": "Transpose by semitones" });
  const go = element("button", { type: "button", class: "transpose-go" }, "Transpose");
  const line = element("span", { class: "status" });
  go.addEventListener("click", () => whileBusy(go, line, async () => {
    const body = key.value ? { tune: tune.id, key: key.value } : { tune: tune.id, semitones: semitones.value };
    const { job: id } = await api("/api/transpose", body);
    const job = await waitForJob(id, line);
    const moved = { ...job.result.tunes[0], job: id, number: tune.number };
    card.replaceWith(tuneCard(moved));
    if (location.pathname.startsWith("/tune/")) history.replaceState(null, "", `/tune/${moved.id}`);
  }));
  box.append(key, " or by ", semitones, " semitones ", go, " ", line);
  return box;
}

function cardHeading(tune) {
  const heading = element("h3", {});
  const title = `${tune.number}. ${tune.title || "(no title)"}`;
  heading.append(tune.id && tune.status === "ok" ? element("a", { href: `/tune/${tune.id}` }, title) : title);
  return heading;
}

function statusLine(tune) {
  if (tune.status === "pending") return element("p", { class: "pending" }, `${tune.stage || "rendering audio"}…`);
  if (tune.status !== "ok") return element("p", { class: "error" }, tune.error || "could not be rendered");
  return element("p", { class: "meta" }, `plays ${tune.seconds.toFixed(1)} s`);
}

// A tune's card; `drawn` is the notation an older card of the same tune drew ({ abc, notation,
// visual }), taken over rather than drawn again when its ABC is the same.
function tuneCard(tune, drawn = null) {
  const card = element("section", { class: "tune", "data-number": tune.number, "data-status": tune.status });
  if (tune.id) card.dataset.id = tune.id;
  card.append(cardHeading(tune), statusLine(tune));
  const reuse = drawn && drawn.abc === tune.shown_abc;
  const notation = reuse ? drawn.notation : element("div", { class: "notation" });
  card.append(notation);
  const visual = reuse ? drawn.visual : drawNotation(notation, tune.shown_abc);
  card.drawn = { abc: tune.shown_abc, notation, visual };
  if (tune.shown_abc) card.dataset.notation = "ready";
  if (tune.status === "ok" && Object.keys(tune.files).length) {
    const audio = player(tune, card);
    const practice = new window.Practice(card, visual, audio);
    card.append(audio, practice.controls(), transposeControls(tune, card), downloads(tune));
    const keep = element("button", { type: "button", class: "keep" }, "Keep in songbook");
    keep.addEventListener("click", () => keepTune(tune.id, keep));
    const edit = element("button", { type: "button", class: "edit" }, "Edit");
    edit.addEventListener("click", () => editTune(tune));
    card.append(element("p", { class: "actions" }, ""));
    card.lastChild.append(keep, " ", edit, " ", shareButtons(tune));
  } else if (tune.status === "ok") {
    const again = element("button", { type: "button", class: "edit" }, "Open in the editor");
    again.addEventListener("click", () => editTune(tune));
    const note = element("p", { class: "meta" }, "Its audio files are gone (cleaned up, or made before the library); the editor plays it again. ");
    note.append(again, " ", shareButtons(tune));
    card.append(note);
  }
  const abc = element("details", {});
  abc.append(element("summary", {}, "ABC"), element("pre", {}, tune.abc));
  card.append(abc);
  return card;
}

function summaryLine(result) {
  const s = result.summary || {};
  const failed = (s.failures || []).length;
  const renamed = (s.repairs_by_kind || {})["duplicate-title"] || 0;
  const fixes = Object.entries(s.repairs_by_kind || {}).filter(([k]) => k !== "duplicate-title")
    .map(([k, n]) => `${k.replace(/-/g, " ")} ×${n}`).join(", ");
  const parts = [`Seed ${result.seed}: ${s.written ?? "?"} of ${s.asked ?? "?"} tunes written`,
    `${s.clean ?? 0} played as the model wrote them`, `${s.repaired ?? 0} needed repairs` + (fixes ? ` (${fixes})` : "")];
  if (renamed) parts.push(`${renamed} retitled to keep titles apart`);
  if (failed) parts.push(`${failed} could not be repaired`);
  return parts.join("; ") + ".";
}

function clearTunes(target) {
  target.replaceChildren();
  delete target.dataset.job;
  delete target.dataset.shown;
  target.drawing = (target.drawing || 0) + 1; // cards still to be drawn for the old job: none
}

// Runs `work` once the browser has painted what is drawn so far (a frame), or after 50 ms where
// it paints none (a tab in the background).
function afterPaint(work) {
  let started = false;
  const start = () => { if (!started) { started = true; setTimeout(work, 0); } };
  requestAnimationFrame(start);
  setTimeout(start, 50);
}

// Shows a job's tunes in `target`, making only the cards whose status changed (a card keeps its
// notation). Cards past FRAME_MS of drawing come in later tasks, so the browser shows the
// first tune while abcjs draws the others; `data-shown` counts the cards once all are there.
function showTunes(target, job) {
  if (target.dataset.job !== job.id) {
    clearTunes(target);
    target.dataset.job = job.id;
  }
  const tunes = job.result ? job.result.tunes : job.preview;
  const turn = (target.drawing = (target.drawing || 0) + 1); // a newer answer takes over
  let next = 0;
  const drawSome = () => {
    if (target.drawing !== turn) return;
    const started = performance.now();
    while (next < tunes.length) {
      const tune = tunes[next++];
      const old = target.querySelector(`section.tune[data-number="${tune.number}"]`);
      if (old && old.dataset.status === tune.status) continue;
      const card = tuneCard({ ...tune, job: job.id }, old && old.drawn);
      if (old) old.replaceWith(card); else target.append(card);
      if (performance.now() - started > FRAME_MS && next < tunes.length) {
        afterPaint(drawSome);
        return;
      }
    }
    target.dataset.shown = String(tunes.length);
    showSummary(target, job);
  };
  drawSome();
}

function showSummary(target, job) {
  if (!job.result || target.querySelector(".summary, .warning")) return;
  // the render stage's warnings (no FluidSynth: sine-wave audio) come above the tunes
  for (const warning of job.result.warnings || []) target.prepend(element("p", { class: "warning" }, warning));
  if (job.result.summary) target.prepend(element("p", { class: "summary" }, summaryLine(job.result)));
}

// Runs `work` with `button` disabled (one job per click); what it throws is said on `line`.
async function whileBusy(button, line, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    say(line, error.message, true);
  } finally {
    button.disabled = false;
  }
}

function targetOf(kind) {
  return kind === "render" ? [$("#edit-tunes"), $("#edit-status")] : [$("#tunes"), $("#generate-status")];
}

// Follows job `id` into its panel; the address names it, so a reload comes back here.
async function followJob(id, kind) {
  const [target, line] = targetOf(kind);
  history.replaceState(null, "", `/?job=${id}`);
  const job = await waitForJob(id, line, (partial) => showTunes(target, partial));
  showTunes(target, job);
  say(line, job.seconds ? `done in ${job.seconds.toFixed(1)} s` : "done");
}

function runJob(start, kind, button) {
  const [target, line] = targetOf(kind);
  clearTunes(target); // the last action's cards go: they no longer answer this one
  return whileBusy(button, line, async () => {
    const { job: id } = await start();
    await followJob(id, kind);
  });
}

async function showTunePage(id) {
  try {
    const tune = await api(`/api/tunes/${id}`);
    clearTunes($("#tunes"));
    $("#tunes").append(tuneCard(tune));
    document.title = `${tune.title} – abcgen`;
  } catch (error) {
    say($("#generate-status"), error.message, true);
  }
}

function currentBook() {
  return books.find((b) => String(b.id) === $("#songbook").value) || books[0];
}

async function keepTune(id, button) {
  try {
    const { songbook } = await api("/api/keep", { tune: id, songbook: currentBook().id });
    button.textContent = `Kept in ${songbook.name}`;
    button.disabled = true;
    await refreshStatus();
  } catch (error) {
    say($("#songbook-status"), error.message, true);
  }
}

function keptItem(book, tune, index) {
  const item = element("li", { "data-id": tune.id });
  item.append(element("a", { href: `/tune/${tune.id}` }, tune.title || "(no title)"), " ");
  const order = book.tunes.map((t) => t.id);
  const move = (by) => {
    const moved = order.splice(index, 1)[0];
    order.splice(index + by, 0, moved);
    return changeBook(`/api/songbooks/${book.id}/order`, { tunes: order });
  };
  const buttons = [["↑", "Move up", "move-up", () => move(-1), index === 0],
    ["↓", "Move down", "move-down", () => move(1), index === order.length - 1],
    ["Remove", "Remove from the songbook", "remove", () => changeBook(`/api/songbooks/${book.id}/remove`, { tune: tune.id }), false]];
  for (const [text, label, name, act, disabled] of buttons) {
    const button = element("button", { type: "button", "aria-label": label, class: name }, text);
    button.disabled = disabled;
    button.addEventListener("click", act);
    item.append(button, " ");
  }
  return item;
}

async function changeBook(path, body) {
  try {
    await api(path, body);
    await refreshStatus();
  } catch (error) {
    say($("#songbook-status"), error.message, true);
  }
}

function showBooks() {
  const select = $("#songbook");
  const chosen = select.value;
  select.replaceChildren(...books.map((b) => element("option", { value: b.id }, b.name)));
  if (books.some((b) => String(b.id) === chosen)) select.value = chosen;
  const book = currentBook();
  $("#kept").replaceChildren(...book.tunes.map((tune, i) => keptItem(book, tune, i)));
  $("#kept-empty").hidden = book.tunes.length > 0;
}

async function newBook() {
  try {
    const made = await api("/api/songbooks", { name: $("#new-songbook-name").value });
    $("#new-songbook-name").value = "";
    await refreshStatus();
    $("#songbook").value = made.id;
    showBooks();
  } catch (error) {
    say($("#songbook-status"), error.message, true);
  }
}

function buildSongbook() {
  const line = $("#songbook-status");
  return whileBusy($("#build-songbook"), line, async () => {
    const { job: id } = await api("/api/songbook/build", { songbook: currentBook().id,
      instrument: $("select[name=instrument]").value });
    const job = await waitForJob(id, line);
    const links = $("#songbook-links");
    links.replaceChildren();
    if (job.result.pdf) links.append(element("a", { id: "songbook-pdf", href: `/songbook/${job.result.pdf}` }, "Songbook PDF"), " ");
    if (job.result.html) links.append(element("a", { id: "songbook-html", href: `/songbook/${job.result.html}` }, "Songbook web page"));
    // a kept tune that could not be repaired or rendered says why, as the CLI does
    const failed = job.result.failures.map((f) => `failed: ${f.title || "(no title)"} (${f.reason})`);
    say(line, [`${job.result.tunes} tune(s) in the book`, ...job.result.warnings, ...failed].join("; "),
      failed.length > 0);
  });
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function pasted() {
  return { abc: $("#paste").value, instrument: $("select[name=instrument]").value,
    tempo: $("input[name=tempo]").value };
}

async function checkPaste() {
  try {
    const { issues } = await api("/api/check", pasted());
    markLines(issues);
    $("#edit-output").textContent = issues.length ? issues.map((i) =>
      `X:${i.x ?? "?"} line ${i.line}:${i.col} ${i.severity} ${i.code}: ${i.message}`).join("\n") : "No problems found.";
    say($("#edit-status"), `${issues.length} issue(s)`);
  } catch (error) { say($("#edit-status"), error.message, true); }
}

async function repairPaste() {
  try {
    const { abc, report } = await api("/api/repair", pasted());
    $("#paste").value = abc;
    markLines([]); // the lines moved: check's marks come back with the redraw
    clearTunes($("#edit-tunes")); // drawn from the text before the repair
    $("#edit-output").textContent = report.results.map((t) => [`X:${t.x} ${t.title}: ${t.status} ${t.reason}`,
      ...t.edits.map((e) => `  line ${e.line}: ${e.kind}: ${e.message}`)].join("\n")).join("\n");
    say($("#edit-status"), `${report.repaired} repaired, ${report.clean} clean, ${report.failed} failed`);
    redraw();
  } catch (error) { say($("#edit-status"), error.message, true); }
}

// The editor: the text redrawn (server-cleaned) as it changes, check's messages at their lines,
// and once the text reads with no error, rendered again so the audio follows.
const EDIT_DELAY_MS = 400;
const RENDER_DELAY_MS = 1500;
let editTimer = null;
let renderTimer = null;
let lastRendered = null; // the text last sent to Render, not sent again unchanged

function goToLine(line) {
  const text = $("#paste");
  const lines = text.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  text.focus();
  text.setSelectionRange(start, start + (lines[line - 1] || "").length);
  sayHere();
}

// check's messages at their lines: the gutter beside the text numbers its lines and marks
// those with messages (read on hover, go there on click), and the line the cursor is on says
// its messages under the editor.
let lineIssues = new Map(); // line number -> [issue], from the last check of the text

function markLines(issues) {
  lineIssues = new Map();
  for (const issue of issues) {
    if (!lineIssues.has(issue.line)) lineIssues.set(issue.line, []);
    lineIssues.get(issue.line).push(issue);
  }
  numberLines();
  sayHere();
}

function numberLines() {
  const gutter = $("#edit-gutter");
  const count = $("#paste").value.split("\n").length;
  const rows = [];
  for (let line = 1; line <= count; line++) {
    const row = element("div", { "data-line": line }, String(line));
    const found = lineIssues.get(line);
    if (found) {
      row.classList.add("issue", found.some((i) => i.severity === "error") ? "error" : "warning");
      row.title = found.map((i) => `${i.severity}: ${i.message}`).join("\n");
      row.addEventListener("click", () => goToLine(line));
    }
    rows.push(row);
  }
  rows.push(element("div", {})); // room for the text's horizontal scrollbar
  gutter.replaceChildren(...rows);
  gutter.scrollTop = $("#paste").scrollTop;
}

function sayHere() {
  const text = $("#paste");
  const line = text.value.slice(0, text.selectionStart).split("\n").length;
  const found = lineIssues.get(line) || [];
  $("#edit-here").textContent = found.map((i) => `line ${line}: ${i.severity}: ${i.message}`).join("; ");
  $("#edit-here").classList.toggle("error", found.some((i) => i.severity === "error"));
}

function issueItem(issue) {
  const item = element("li", { class: issue.severity, "data-line": issue.line });
  const at = element("button", { type: "button", class: "line" }, `line ${issue.line}`);
  at.addEventListener("click", () => goToLine(issue.line));
  item.append(at, ` ${issue.severity}: ${issue.message}`);
  return item;
}

async function redraw() {
  const text = $("#paste").value;
  if (!text.trim()) return;
  try {
    const { tunes, issues } = await api("/api/preview", pasted());
    if ($("#paste").value !== text) return; // typed on meanwhile
    $("#edit-issues").replaceChildren(...issues.map(issueItem));
    markLines(issues);
    const target = $("#edit-preview");
    target.replaceChildren();
    for (const tune of tunes) {
      const box = element("div", {});
      target.append(box);
      if (tune.shown_abc) drawNotation(box, tune.shown_abc);
      else box.append(element("p", { class: "error" }, `${tune.number}. ${tune.title || "(no title)"}: ${tune.error}`));
    }
    target.dataset.drawn = String(Number(target.dataset.drawn || 0) + 1);
    const clean = tunes.length && !issues.some((i) => i.severity === "error") && tunes.every((t) => t.shown_abc);
    clearTimeout(renderTimer);
    if (clean && text !== lastRendered) {
      renderTimer = setTimeout(() => { if (!$("#render").disabled) $("#render").click(); }, RENDER_DELAY_MS);
    }
  } catch (error) { say($("#edit-status"), error.message, true); }
}

function edited() {
  numberLines();
  clearTimeout(editTimer);
  clearTimeout(renderTimer);
  if ($("#live").checked) editTimer = setTimeout(redraw, EDIT_DELAY_MS);
}

function editTune(tune) {
  $("#paste").value = tune.abc;
  markLines([]);
  $("#edit-panel").scrollIntoView();
  redraw();
}

async function refreshStatus() {
  const state = await api("/api/status");
  say($("#model-status"), state.message, state.model === "failed");
  document.body.dataset.model = state.model;
  books = state.songbooks;
  showBooks();
  return state;
}

async function watchModel() {
  const state = await refreshStatus().catch(() => ({ model: "loading" }));
  if (state.model === "loading") setTimeout(watchModel, 1000);
}

// What the address names: a job (?job=) or a tune (/tune/<id>).
async function restore() {
  const tune = location.pathname.match(/^\/tune\/([0-9a-f]{12})$/);
  if (tune) return showTunePage(tune[1]);
  const job = new URLSearchParams(location.search).get("job");
  if (!job) return;
  try {
    const found = await api(`/api/jobs/${job}`);
    await followJob(job, found.kind);
  } catch (error) {
    say($("#generate-status"), error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  options = await api("/api/options");
  fillMenus();
  followForm();
  for (const name of ["tonic", "rhythm"]) $(`select[name=${name}]`).addEventListener("change", followForm);
  watchModel();
  $("#generate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runJob(() => api("/api/generate", formValues(event.target)), "generate", $("#generate"));
  });
  $("#paste").addEventListener("input", edited);
  $("#paste").addEventListener("scroll", () => { $("#edit-gutter").scrollTop = $("#paste").scrollTop; });
  for (const name of ["keyup", "click", "focus"]) $("#paste").addEventListener(name, sayHere);
  numberLines();
  $("#check").addEventListener("click", checkPaste);
  $("#repair").addEventListener("click", repairPaste);
  $("#render").addEventListener("click", () => {
    clearTimeout(renderTimer);
    lastRendered = $("#paste").value;
    runJob(() => api("/api/render", pasted()), "render", $("#render"));
  });
  $("#build-songbook").addEventListener("click", buildSongbook);
  $("#new-songbook").addEventListener("click", newBook);
  $("#songbook").addEventListener("change", showBooks);
  document.body.dataset.page = "ready";
  restore(); // a job still running is followed from here on
});
