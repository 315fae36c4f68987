// abcgen's page: the form, progress polling, notation (abcjs), audio, keep and songbook.
// User and model text only ever enters the page through textContent or attribute values.
"use strict";

const POLL_MS = 300; // job progress polling interval
const $ = (selector) => document.querySelector(selector);

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
async function waitForJob(id, statusLine, onPreview = null) {
  for (;;) {
    const job = await api(`/api/jobs/${id}`);
    if (job.state === "done") return job;
    if (job.state === "failed") throw new Error(job.error);
    if (job.preview && onPreview) onPreview(job);
    const count = job.total ? ` ${job.done}/${job.total}` : "";
    say(statusLine, `${job.stage}${count} (${job.seconds.toFixed(1)} s)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function fillMenus(options) {
  for (const select of document.querySelectorAll("select[data-options]")) {
    for (const value of options[select.dataset.options]) {
      const label = select.name === "mode" ? (value || "major") : value;
      select.append(element("option", { value }, label));
    }
  }
  $("select[name=instrument]").value = options.default_instrument;
  $("input[name=n]").max = options.max_tunes;
}

function downloads(jobId, files) {
  const links = element("p", { class: "downloads" }, "Download: ");
  for (const [kind, name] of Object.entries(files)) {
    links.append(element("a", { href: `/files/jobs/${jobId}/${name}`, download: name }, kind), " ");
  }
  return links;
}

function player(jobId, tune, card) {
  const audio = element("audio", { controls: "", preload: "auto" });
  for (const [kind, type] of [["mp3", "audio/mpeg"], ["wav", "audio/wav"]]) {
    if (tune.files[kind]) audio.append(element("source", { src: `/files/jobs/${jobId}/${tune.files[kind]}`, type }));
  }
  audio.addEventListener("canplaythrough", () => { if (!card.dataset.audio) card.dataset.audio = "ready"; });
  audio.addEventListener("ended", () => { card.dataset.audio = "ended"; });
  audio.addEventListener("error", () => { card.dataset.audio = "error"; }, true);
  return audio;
}

function drawNotation(target, abc) {
  if (window.ABCJS) {
    window.ABCJS.renderAbc(target, abc, { responsive: "resize", add_classes: true });
  } else {
    target.append(element("pre", {}, abc));
  }
}

function tuneCard(jobId, tune) {
  const card = element("section", { class: "tune", "data-number": tune.number, "data-status": tune.status });
  card.append(element("h3", {}, `${tune.number}. ${tune.title || "(no title)"}`));
  if (tune.status === "pending") {
    card.append(element("p", { class: "pending" }, "rendering audio…"));
  } else if (tune.status !== "ok") {
    card.append(element("p", { class: "error" }, tune.error || "could not be rendered"));
  } else {
    card.append(element("p", {}, `plays ${tune.seconds.toFixed(1)} s`));
  }
  const notation = element("div", { class: "notation" });
  card.append(notation);
  drawNotation(notation, tune.abc);
  card.dataset.notation = "ready";
  if (tune.status === "ok") card.append(player(jobId, tune, card));
  card.append(downloads(jobId, tune.files));
  const keep = element("button", { type: "button", class: "keep" }, "Keep in songbook");
  keep.addEventListener("click", () => keepTune(jobId, tune.number, keep));
  const abc = element("details", {});
  abc.append(element("summary", {}, "ABC"), element("pre", {}, tune.abc));
  if (tune.status !== "pending") card.append(keep);
  card.append(abc);
  return card;
}

function summaryLine(result) {
  const s = result.summary || {};
  const kinds = Object.entries(s.repairs_by_kind || {}).map(([k, n]) => `${k} ×${n}`).join(", ");
  const failed = (s.failures || []).length;
  return `Seed ${result.seed}: ${s.written ?? "?"} of ${s.asked ?? "?"} tunes written, ` +
    `${s.clean ?? 0} clean, ${s.repaired ?? 0} repaired` + (kinds ? ` (repairs: ${kinds})` : "") +
    (failed ? `, ${failed} failed` : "") + ".";
}

// Shows a job's tunes in `target`, redrawing only the cards whose status changed.
function showTunes(target, job) {
  if (target.dataset.job !== job.id) {
    target.replaceChildren();
    target.dataset.job = job.id;
  }
  for (const tune of job.result ? job.result.tunes : job.preview) {
    const old = target.querySelector(`section.tune[data-number="${tune.number}"]`);
    if (old && old.dataset.status === tune.status) continue;
    const card = tuneCard(job.id, tune);
    if (old) old.replaceWith(card); else target.append(card);
  }
  if (!job.result) return;
  // the render stage's warnings (no FluidSynth: sine-wave audio) come above the tunes
  for (const warning of job.result.warnings || []) target.prepend(element("p", { class: "warning" }, warning));
  if (job.result.summary) target.prepend(element("p", { class: "summary" }, summaryLine(job.result)));
}

// Runs `work` with `button` disabled (one job per click); what it throws is said on `statusLine`.
async function whileBusy(button, statusLine, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    say(statusLine, error.message, true);
  } finally {
    button.disabled = false;
  }
}

function runJob(start, statusLine, target, button) {
  return whileBusy(button, statusLine, async () => {
    const { job: id } = await start();
    const job = await waitForJob(id, statusLine, (partial) => showTunes(target, partial));
    showTunes(target, job);
    say(statusLine, `done in ${job.seconds.toFixed(1)} s`);
  });
}

async function keepTune(jobId, number, button) {
  try {
    const { kept } = await api("/api/keep", { job: jobId, number });
    button.textContent = "Kept";
    button.disabled = true;
    await refreshStatus();
    say($("#songbook-status"), `${kept} tune(s) kept`);
  } catch (error) {
    say($("#songbook-status"), error.message, true);
  }
}

function buildSongbook() {
  const statusLine = $("#songbook-status");
  return whileBusy($("#build-songbook"), statusLine, async () => {
    const { job: id } = await api("/api/songbook/build", { instrument: $("select[name=instrument]").value });
    const job = await waitForJob(id, statusLine);
    const links = $("#songbook-links");
    links.replaceChildren();
    if (job.result.pdf) links.append(element("a", { id: "songbook-pdf", href: `/songbook/${job.result.pdf}` }, "Songbook PDF"), " ");
    if (job.result.html) links.append(element("a", { id: "songbook-html", href: `/songbook/${job.result.html}` }, "Songbook web page"));
    // a kept tune that could not be repaired or rendered says why, as the CLI does
    const failed = job.result.failures.map((f) => `failed: ${f.title || "(no title)"} (${f.reason})`);
    say(statusLine, [`${job.result.tunes} tune(s) in the book`, ...job.result.warnings, ...failed].join("; "),
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
    $("#edit-output").textContent = issues.length ? issues.map((i) =>
      `X:${i.x ?? "?"} line ${i.line}:${i.col} ${i.severity} ${i.code}: ${i.message}`).join("\n") : "No problems found.";
    say($("#edit-status"), `${issues.length} issue(s)`);
  } catch (error) { say($("#edit-status"), error.message, true); }
}

async function repairPaste() {
  try {
    const { abc, report } = await api("/api/repair", pasted());
    $("#paste").value = abc;
    $("#edit-output").textContent = report.results.map((t) => [`X:${t.x} ${t.title}: ${t.status} ${t.reason}`,
      ...t.edits.map((e) => `  line ${e.line}: ${e.kind}: ${e.message}`)].join("\n")).join("\n");
    say($("#edit-status"), `${report.repaired} repaired, ${report.clean} clean, ${report.failed} failed`);
  } catch (error) { say($("#edit-status"), error.message, true); }
}

async function refreshStatus() {
  const state = await api("/api/status");
  say($("#model-status"), state.message, state.model === "failed");
  document.body.dataset.model = state.model;
  $("#kept").textContent = state.kept.length ? `Kept: ${state.kept.join(" · ")}` : "No tunes kept yet.";
  return state;
}

async function watchModel() {
  const state = await refreshStatus().catch(() => ({ model: "loading" }));
  if (state.model === "loading") setTimeout(watchModel, 1000);
}

document.addEventListener("DOMContentLoaded", async () => {
  fillMenus(await api("/api/options"));
  watchModel();
  $("#generate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runJob(() => api("/api/generate", formValues(event.target)), $("#generate-status"),
      $("#tunes"), $("#generate"));
  });
  $("#check").addEventListener("click", checkPaste);
  $("#repair").addEventListener("click", repairPaste);
  $("#render").addEventListener("click", () => runJob(() => api("/api/render", pasted()),
    $("#edit-status"), $("#edit-tunes"), $("#render")));
  $("#build-songbook").addEventListener("click", buildSongbook);
  document.body.dataset.page = "ready";
});
