"""Work the web app does off the request thread: generating, rendering, building the songbook.

A `JobBoard` runs jobs on a small thread pool and keeps each job's progress for the page to
poll (`GET /api/jobs/<id>`, which waits for a change: web.app). A `ModelHolder` loads the model
once, in a background thread at start-up, so the server answers at once and reports "model
loading" until it is ready (and warmed up: `warm_up`).

Files go under the app's data folder only:

    DATA/jobs/<job id>/book.abc, NNN-slug.{abc,mid,wav,ogg}   one generation or paste render
    DATA/library.sqlite3                    every tune, job and songbook (web.library)
    DATA/songbook/<id>.abc, <id>/           a songbook's tunes and make_songbook's output
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.fileio import atomic_write_text, inside, tune_stems
from abcgen.songbook.tempo import with_played_tempo, with_tempo
from abcgen.web.audio import PAGE_FORMAT, Encoder, has_encoder
from abcgen.web.forms import MAX_TUNES, FormError, GenerateRequest, PasteRequest
from abcgen.web.library import new_tune_id

LOG = logging.getLogger(__name__)
WORKERS = 2  # jobs at once: the machine's CPUs are few and sampling uses them all
MAX_WAITING = 16  # queued or running jobs; beyond this a request is told to try later
KEPT_JOBS = 64  # finished jobs remembered (their files stay on disk)
MAX_OTHER_MODELS = 2  # checkpoints from runs/ kept loaded beside the served model
MODEL_WAIT_SECONDS = 600  # a job waits this long for the model before giving up
JOBS_DIR, SONGBOOK_DIR = "jobs", "songbook"
WARM_UP_TUNES, WARM_UP_CHARS = 2, 400  # sampled once the model is loaded (warm_up)


class ModelHolder:
    """The model file, checked by loading it in a background thread at start-up.

    `state` is 'loading', 'ready' or 'failed' (with `message` saying why)."""

    def __init__(self, model_path: str | Path | None):
        self.requested = model_path
        self.path: Path | None = None
        self.loaded = None  # abcgen.generate.LoadedModel once ready
        self.state, self.message = "loading", "model loading"
        self._ready = threading.Event()
        self._others: dict[Path, object] = {}  # checkpoints from runs/ a form chose
        self._others_lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._load, name="abcgen-model", daemon=True).start()

    def _load(self) -> None:
        started = time.monotonic()
        try:  # torch is imported here, never at server start
            from abcgen.generate import load_generator
            from abcgen.model.sample import resolve_model_path

            self.path = resolve_model_path(self.requested)
            # Loaded once, here: torch's import (~2 s) is paid at start-up, not by the first
            # request, and every generation reuses these weights.
            self.loaded = load_generator(self.path)
            warm_up(self.loaded)
            self.state = "ready"
            self.message = f"model ready ({self.path.name}, {time.monotonic() - started:.1f} s)"
        except Exception as exc:  # noqa: BLE001 - any failure is shown on the page
            self.state, self.message = "failed", f"model unavailable: {exc}"
        finally:
            self._ready.set()

    def wait(self):
        """The loaded model once ready; raises AbcgenError if it failed or never came."""
        if not self._ready.wait(MODEL_WAIT_SECONDS) or self.state != "ready":
            raise AbcgenError(self.message)
        return self.loaded

    def get(self, path: Path | None):
        """The model at `path` (a checkpoint the form offered), loaded on first use and kept;
        None: the served model (`wait`)."""
        if path is None:
            return self.wait()
        from abcgen.generate import load_generator

        with self._others_lock:  # one load at a time; the next job reuses it
            if path not in self._others:
                while len(self._others) >= MAX_OTHER_MODELS:
                    self._others.pop(next(iter(self._others)))
                self._others[path] = load_generator(path)
            return self._others[path]


def warm_up(loaded) -> None:
    """Sample two short tunes, unseen, so the first musician's tunes don't pay what a
    process's first sampling costs (~0.25 s of 0.6 s for one tune on a busy 2-CPU machine:
    thread pools, masks, allocations); ~0.8 s at start-up, before the model is 'ready'."""
    from abcgen.model.sample import SampleSettings, header_template, sample_tunes

    sample_tunes(loaded.model, loaded.vocab, WARM_UP_TUNES, header_template(),
                 SampleSettings(seed=0, constrained=True, max_chars=WARM_UP_CHARS),
                 loaded.runtime)


@dataclass
class Job:
    """One piece of work and what the page shows of it."""

    id: str
    kind: str
    folder: Path
    state: str = "queued"  # queued, running, done, failed
    stage: str = "waiting for a worker"
    done: int = 0
    total: int = 0
    result: dict | None = None
    preview: list[dict] | None = None
    """The tunes' numbers, titles and ABC as soon as they are known (notation before audio)."""
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    encoding: object | None = None
    """The web.audio.Encoder making the page's OGGs, if any (cleanup waits for it)."""

    def progress(self, stage: str, done: int = 0, total: int = 0) -> None:
        self.stage, self.done, self.total = stage, done, total

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "stage": self.stage,
                "done": self.done, "total": self.total, "result": self.result,
                "preview": None if self.result else self.preview,
                "error": self.error, "seconds": round(time.monotonic() - self.started, 2)}


class JobBoard:
    """Runs jobs on `WORKERS` threads and remembers the last `KEPT_JOBS` of them."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="abcgen-job")
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()

    def submit(self, kind: str, work: Callable[[Job], dict]) -> Job:
        """Queue `work(job) -> result`; raises FormError (429) when too many are waiting."""
        with self.lock:
            if sum(j.state in ("queued", "running") for j in self.jobs.values()) >= MAX_WAITING:
                raise FormError("the server is busy with other tunes; try again shortly", 429)
            job_id = uuid.uuid4().hex
            job = Job(job_id, kind, self.data_dir / JOBS_DIR / job_id)
            self.jobs[job_id] = job
            self._forget_finished()
        self.pool.submit(self._run, job, work)
        return job

    @staticmethod
    def _run(job: Job, work: Callable[[Job], dict]) -> None:
        job.state = "running"
        try:
            job.result = work(job)
            job.state, job.stage = "done", "done"
        except AbcgenError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug shows on the page, the server lives
            LOG.exception("job %s (%s) failed", job.id, job.kind)
            job.state, job.error = "failed", f"internal error ({type(exc).__name__}: {exc})"

    def _forget_finished(self) -> None:
        """Forget the oldest finished jobs past KEPT_JOBS (a queued or running job's page
        keeps asking for it). Called with the lock held."""
        finished = [key for key, job in self.jobs.items() if job.state in ("done", "failed")]
        for key in finished[:len(self.jobs) - KEPT_JOBS]:
            del self.jobs[key]

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _render_options(instrument: str, formats: tuple[str, ...] = ("mid", "wav")):
    """The render stage's options: MIDI and WAV (web.audio makes the page's OGG of it). In
    this process: a job is a few tunes, and worker processes spawned from a threaded server
    would cost more than they save. The tempo is the tune's Q: (songbook.tempo writes it)."""
    from abcgen.render import MidiOptions, RenderOptions

    return RenderOptions(formats=formats, midi=MidiOptions(instrument=instrument), jobs=1)


def _shown(pending: dict, entry: dict, abc_file: str | None) -> dict:
    """The render stage's `entry` for a tune as the page shows it: its id, number, title, ABC
    and .abc file kept from the `pending` preview."""
    files = {"abc": abc_file} if abc_file else {}
    keep = ("id", "number", "title", "abc", "shown_abc")
    return {**entry, **{k: pending[k] for k in keep}, "files": {**files, **entry["files"]}}


def preview_entry(number: int, block, failure) -> dict:
    """A tune's card before its audio: `abc` as it will be kept, `shown_abc` the cleaned ABC
    that abcjs draws (no directives, comments or second voices: abcjs 6.7.2 hangs on some
    `%%` blocks), empty for a tune that can't be read, whose card says why instead."""
    from abcgen.notation import clean_tune, dumps

    shown = "" if failure is not None else dumps(with_played_tempo(clean_tune(block)))
    return {"id": new_tune_id(), "number": number, "title": block.title, "abc": dumps(block),
            "shown_abc": shown, "status": "pending" if failure is None else "error",
            "error": None if failure is None else str(failure), "files": {}}


def render_into_job(job: Job, text: str, instrument: str, tempo: float | None) -> dict:
    """Render each tune of `text` into the job's folder with the render stage
    (abcgen.render.batch.render_tunes) and write it beside as NNN-slug.abc; returns
    {"tunes": one entry per tune block of `text`, in order (id, status, files, error; a tune
    that can't be read is an error), "warnings": the render stage's (no FluidSynth ...)}.
    `tempo` (beats per minute of each tune's beat) is written into the tunes as Q:.

    `job.preview` lists the tunes at once (status 'pending'), and each entry replaces its
    tune's there as soon as its audio is ready, so the page shows notation, then audio tune
    by tune: the page's OGG (web.audio), encoded while the next tunes render; the WAV where
    ffmpeg is missing or fails. The job is done when every tune's audio is ready.
    """
    from abcgen.notation import read_tunes, tune_failure
    from abcgen.render.batch import check_options
    from abcgen.render.batch import render_tunes

    options = _render_options(instrument)
    warnings = check_options(options)
    blocks = read_tunes(text)  # every tune block, readable or not: the page shows them all
    if not blocks:
        raise FormError("no tune found: a tune starts with X: and has a K: line")
    if len(blocks) > MAX_TUNES:
        raise FormError(f"{len(blocks)} tunes pasted; render at most {MAX_TUNES} at a time")
    failures = [tune_failure(block) for block in blocks]
    if tempo is not None:
        blocks = [with_tempo(b, tempo) if f is None else b
                  for b, f in zip(blocks, failures, strict=True)]
    job.preview = [preview_entry(number, block, failure) for number, (block, failure)
                   in enumerate(zip(blocks, failures, strict=True), 1)]
    readable = [index for index, failure in enumerate(failures) if failure is None]
    abc_files = {}
    for index, stem in zip(readable, tune_stems([blocks[i].title for i in readable]),
                           strict=True):
        abc_files[index] = atomic_write_text(inside(job.folder, f"{stem}.abc"),
                                             job.preview[index]["abc"]).name

    encoder = Encoder() if has_encoder() else None
    if encoder is None:
        warnings.append("ffmpeg is missing: the page plays WAV files (apt-get install ffmpeg)")

    def show(entry: dict, done: int, total: int) -> None:  # entries come in the book's order
        index = done - 1
        shown = _shown(job.preview[index], entry, abc_files.get(index))
        if encoder is None or "wav" not in shown["files"]:
            job.preview[index] = shown  # its WAV (no ffmpeg), or why it failed
        else:
            job.preview[index] = {**shown, "status": "pending", "stage": "encoding audio"}
            encoder.submit(job.folder / shown["files"]["wav"],
                           lambda name: _settle(job, index, shown, name),
                           lambda: _settle(job, index, shown, None))
        job.progress("rendering audio", done, total)  # after the entry: a poll sees both

    render_tunes(blocks, job.folder, options, show)  # `show` fills every preview
    if encoder is not None:
        job.encoding = encoder
        job.progress("encoding audio", len(blocks), len(blocks))
        encoder.wait()
    return {"tunes": list(job.preview), "warnings": warnings}


def _settle(job: Job, index: int, shown: dict, ogg: str | None) -> None:
    """Tune `index`'s entry once its OGG is made (`ogg`, which its card plays), or ffmpeg
    failed (None: it plays its WAV)."""
    files = shown["files"] if ogg is None else {PAGE_FORMAT: ogg, **shown["files"]}
    job.preview[index] = {**shown, "files": files}


def render_wav(folder: Path, entry: dict, instrument: str) -> str:
    """Render one tune's WAV beside its other files (the page streams OGG; WAV is made when
    asked for); returns the file's name."""
    from abcgen.notation import read_tunes
    from abcgen.render.batch import LazySynthesizer, render_tune

    stem = Path(entry["files"]["mid"]).stem
    options = _render_options(instrument, ("wav",))
    (tune,) = read_tunes(entry["abc"])[:1] or (None,)
    made = render_tune(tune, inside(folder, stem), options, LazySynthesizer(options))
    if made["status"] != "ok":
        raise AbcgenError(made["error"])
    return made["files"]["wav"]


def primed(template: list, key: str | None, start: str | None) -> list:
    """`template` (model.sample's) followed by the musician's first bars: after K:, which
    the model writes itself when the form gave no key. The model goes on from the bars."""
    from abcgen.model.sample import MODEL_LINE

    if start is None:
        return template
    tail = ([] if key is not None else ["K:", MODEL_LINE]) + [start]
    merged: list = []
    for item in list(template) + tail:  # verbatim texts side by side become one
        if item is not MODEL_LINE and merged and merged[-1] is not MODEL_LINE:
            merged[-1] += item
        else:
            merged.append(item)
    return merged


def generation_work(request: GenerateRequest, model: ModelHolder) -> Callable[[Job], dict]:
    """The job that samples and repairs `request.n` tunes (abcgen.generate), then renders."""

    def work(job: Job) -> dict:
        from abcgen.generate import generate
        from abcgen.model.sample import SampleSettings, header_template

        job.progress(model.message if model.state == "loading" else "waiting for the model")
        loaded = model.get(request.model)
        job.progress(f"writing {request.n} tune(s)", 0, request.n)
        template = primed(header_template(request.title, request.meter, request.key,
                                          request.rhythm), request.key, request.start)
        made = generate(loaded, request.n, template,
                        SampleSettings(temperature=request.temperature, seed=request.seed,
                                       constrained=True))  # as `abcgen generate` does
        job.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job.folder / "book.abc", made.text)
        if not made.text.strip():
            raise AbcgenError("the model wrote no playable tune; try another seed")
        rendered = render_into_job(job, made.text, request.instrument, request.tempo)
        used = request.model or model.path
        return {"seed": request.seed, "summary": made.summary, **rendered, "book": "book.abc",
                "model": str(used) if used else None}

    return work


def paste_work(request: PasteRequest) -> Callable[[Job], dict]:
    """The job that renders pasted ABC as it stands (repair it first with /api/repair)."""

    def work(job: Job) -> dict:
        job.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job.folder / "book.abc", request.abc)
        return {**render_into_job(job, request.abc, request.instrument, request.tempo),
                "book": "book.abc"}

    return work


def songbook_work(library, book_id: int, instrument: str | None,
                  building: threading.Lock) -> Callable[[Job], dict]:
    """The job that builds one songbook (PDF, HTML, per-tune files) with make_songbook into
    DATA/songbook/<id>/, from its tunes in the library, in their order."""

    def build(job: Job) -> dict:
        from abcgen.songbook import SongbookOptions, make_songbook

        book = library.songbook(book_id)
        if not book["tunes"]:
            raise FormError(f"keep a tune first: {book['name']!r} is empty")
        out = library.data_dir / SONGBOOK_DIR / str(book_id)
        options = SongbookOptions(title=book["name"], instrument=instrument, jobs=1)
        with building:  # one build at a time: each takes the CPUs
            source = atomic_write_text(out.parent / f"{book_id}.abc",
                                       library.songbook_abc(book_id))
            made = make_songbook(source, out, options,
                                 lambda done, total, _: job.progress("building", done, total))
        base = f"{book_id}/"
        return {"pdf": base + made.pdf.name if made.pdf else None,
                "html": base + made.html.name if made.html else None, "tunes": made.tunes,
                "failures": made.failures, "warnings": made.warnings}

    return build
