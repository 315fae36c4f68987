"""Work the web app does off the request thread: generating, rendering, building the songbook.

A `JobBoard` runs jobs on a small thread pool and keeps each job's progress for the page to
poll (`GET /api/jobs/<id>`). A `ModelHolder` loads the model once, in a background thread at
start-up, so the server answers at once and reports "model loading" until it is ready.

Files go under the app's data folder only:

    DATA/jobs/<job id>/book.abc, NNN-slug.{abc,mid,wav}       one generation or paste render
    DATA/kept.abc                                               the tunes kept for the songbook
    DATA/songbook/                                              make_songbook's output
"""

from __future__ import annotations

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
from abcgen.web.forms import MAX_TUNES, FormError, GenerateRequest, PasteRequest

WORKERS = 2  # jobs at once: the machine's CPUs are few and sampling uses them all
MAX_WAITING = 16  # queued or running jobs; beyond this a request is told to try later
KEPT_JOBS = 64  # finished jobs remembered (their files stay on disk)
MODEL_WAIT_SECONDS = 600  # a job waits this long for the model before giving up
JOBS_DIR, KEPT_NAME, SONGBOOK_DIR = "jobs", "kept.abc", "songbook"
SONGBOOK_TITLE = "My abcgen songbook"


class ModelHolder:
    """The model file, checked by loading it in a background thread at start-up.

    `state` is 'loading', 'ready' or 'failed' (with `message` saying why)."""

    def __init__(self, model_path: str | Path | None):
        self.requested = model_path
        self.path: Path | None = None
        self.loaded = None  # abcgen.generate.LoadedModel once ready
        self.state, self.message = "loading", "model loading"
        self._ready = threading.Event()

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
            while len(self.jobs) > KEPT_JOBS:
                self.jobs.popitem(last=False)
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
            job.state, job.error = "failed", f"internal error ({type(exc).__name__}: {exc})"

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _render_options(instrument: str, tempo: float | None):
    """The render stage's options: MIDI and WAV (the browser plays WAV; MP3 would cost 0.6 s
    of ffmpeg per tune before it could be heard, and the songbook makes MP3s). In this
    process: a job is a few tunes, and worker processes spawned from a threaded server would
    cost more than they save."""
    from abcgen.render import MidiOptions, RenderOptions

    return RenderOptions(formats=("mid", "wav"), midi=MidiOptions(instrument=instrument,
                                                                  tempo=tempo), jobs=1)


def _shown(pending: dict, entry: dict, abc_file: str | None) -> dict:
    """The render stage's `entry` for a tune as the page shows it: its number, title, ABC and
    .abc file kept from the `pending` preview."""
    files = {"abc": abc_file} if abc_file else {}
    return {**entry, "number": pending["number"], "title": pending["title"],
            "abc": pending["abc"], "files": {**files, **entry["files"]}}


def render_tunes(job: Job, text: str, instrument: str, tempo: float | None) -> dict:
    """Render each tune of `text` into the job's folder with the render stage
    (abcgen.render.batch.render_tunes) and write it beside as NNN-slug.abc; returns
    {"tunes": one entry per tune block of `text`, in order (status, files, error; a tune
    that can't be read is an error), "warnings": the render stage's (no FluidSynth ...)}.

    `job.preview` lists the tunes at once (status 'pending'), and each entry replaces its
    tune's there as soon as it is rendered, so the page shows notation, then audio tune by tune.
    """
    from abcgen.notation import dumps, read_tunes, tune_failure
    from abcgen.render.batch import check_options
    from abcgen.render.batch import render_tunes as render_book

    options = _render_options(instrument, tempo)
    warnings = check_options(options)
    blocks = read_tunes(text)  # every tune block, readable or not: the page shows them all
    if not blocks:
        raise FormError("no tune found: a tune starts with X: and has a K: line")
    if len(blocks) > MAX_TUNES:
        raise FormError(f"{len(blocks)} tunes pasted; render at most {MAX_TUNES} at a time")
    job.preview = [{"number": number, "title": block.title, "abc": dumps(block),
                    "status": "pending", "files": {}} for number, block in enumerate(blocks, 1)]
    readable = [index for index, block in enumerate(blocks) if tune_failure(block) is None]
    abc_files = {}
    for index, stem in zip(readable, tune_stems([blocks[i].title for i in readable]),
                           strict=True):
        abc_files[index] = atomic_write_text(inside(job.folder, f"{stem}.abc"),
                                             job.preview[index]["abc"]).name

    def show(entry: dict, done: int, total: int) -> None:  # entries come in the book's order
        index = done - 1
        job.preview[index] = _shown(job.preview[index], entry, abc_files.get(index))
        job.progress("rendering audio", done, total)

    render_book(blocks, job.folder, options, show)  # `show` fills every preview
    return {"tunes": list(job.preview), "warnings": warnings}


def generation_work(request: GenerateRequest, model: ModelHolder) -> Callable[[Job], dict]:
    """The job that samples and repairs `request.n` tunes (abcgen.generate), then renders."""

    def work(job: Job) -> dict:
        from abcgen.generate import generate
        from abcgen.model.sample import SampleSettings, header_template

        job.progress(model.message if model.state == "loading" else "waiting for the model")
        loaded = model.wait()
        job.progress(f"writing {request.n} tune(s)", 0, request.n)
        template = header_template(request.title, request.meter, request.key, request.rhythm)
        made = generate(loaded, request.n, template,
                        SampleSettings(temperature=request.temperature, seed=request.seed,
                                       constrained=True))  # as `abcgen generate` does
        job.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job.folder / "book.abc", made.text)
        if not made.text.strip():
            raise AbcgenError("the model wrote no playable tune; try another seed")
        rendered = render_tunes(job, made.text, request.instrument, request.tempo)
        return {"seed": request.seed, "summary": made.summary, **rendered, "book": "book.abc"}

    return work


def paste_work(request: PasteRequest) -> Callable[[Job], dict]:
    """The job that renders pasted ABC as it stands (repair it first with /api/repair)."""

    def work(job: Job) -> dict:
        job.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job.folder / "book.abc", request.abc)
        return {**render_tunes(job, request.abc, request.instrument, request.tempo),
                "book": "book.abc"}

    return work


class Songbook:
    """The tunes kept on disk (DATA/kept.abc) and the songbook built from them."""

    def __init__(self, data_dir: Path):
        self.kept = data_dir / KEPT_NAME
        self.out = data_dir / SONGBOOK_DIR
        self.lock = threading.Lock()  # kept.abc and the titles read from it
        self.building = threading.Lock()  # one build at a time in DATA/songbook
        self._titles: list[str] = []
        self._read_as: tuple | None = None  # kept.abc's stat when _titles was read

    def _stat(self) -> tuple | None:
        """What changes when kept.abc does (an atomic write gives a new inode)."""
        try:
            found = self.kept.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

    def _text(self) -> str:
        return self.kept.read_text(encoding="utf-8") if self.kept.is_file() else ""

    def _remember(self, text: str, read_as: tuple | None) -> None:
        from abcgen.notation import read_tunes

        self._titles, self._read_as = [tune.title for tune in read_tunes(text)], read_as

    def keep(self, abc: str) -> int:
        """Append one tune's ABC; returns how many tunes are kept now."""
        with self.lock:
            old = self._text()
            text = (old.rstrip("\n") + "\n\n" if old.strip() else "") + abc.strip("\n") + "\n"
            atomic_write_text(self.kept, text)
            self._remember(text, self._stat())
            return len(self._titles)

    def titles(self) -> list[str]:
        """The kept tunes' titles, read again only when kept.abc has changed (the page asks
        on every status poll)."""
        with self.lock:
            now = self._stat()  # before reading: a change while reading is seen next time
            if now != self._read_as:
                self._remember(self._text(), now)
            return list(self._titles)

    def work(self, instrument: str | None) -> Callable[[Job], dict]:
        """The job that builds the songbook (PDF, HTML, per-tune files) with make_songbook."""

        def build(job: Job) -> dict:
            from abcgen.songbook import SongbookOptions, make_songbook

            if not self.kept.is_file():
                raise FormError("keep a tune first: the songbook is empty")
            options = SongbookOptions(title=SONGBOOK_TITLE, instrument=instrument, jobs=1)
            # Not under self.lock: kept.abc is only ever replaced whole, so the build reads
            # it safely while a tune is kept or the page asks for the titles.
            with self.building:
                made = make_songbook(self.kept, self.out, options,
                                     lambda done, total, _: job.progress("building", done, total))
            return {"pdf": made.pdf.name if made.pdf else None,
                    "html": made.html.name if made.html else None, "tunes": made.tunes,
                    "failures": made.failures, "warnings": made.warnings}

        return build
