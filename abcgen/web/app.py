"""The abcgen web app (Starlette): a form to generate tunes, notation drawn by abcjs, audio
from the render stage, a paste box to check/repair/render any ABC, and named songbooks of
kept tunes, all remembered in the library (web.library) across restarts.

`create_app(data_dir, model_path=None, host, port)` builds the app; `abcgen serve` runs it
with uvicorn. All JSON answers; a user's mistake is a 4xx with {"error": message}, never a
5xx. User text is only ever put into the page by the browser as text (textContent).

    GET  /, /tune/<id>          the page          GET  /api/status    model state, songbooks
    GET  /api/options           form choices      POST /api/generate  -> {"job": id} (202)
    POST /api/check, /api/repair   pasted ABC     POST /api/render    -> {"job": id} (202)
    POST /api/preview           the editor's text: cleaned ABC to draw, check's messages
    GET  /api/jobs/<id>[?seen=<version>]  progress/result (waits for a change after `seen`)
    GET  /api/tunes/<id>  one tune
    POST /api/keep              {"tune", "songbook"}   GET /api/tunes/<id>/wav  WAV on request
    POST /api/songbooks         {"name"}          POST /api/songbooks/<id>/remove {"tune"}
    POST /api/songbooks/<id>/order {"tunes"}      POST /api/songbook/build {"songbook"}
    POST /api/transpose {"tune", "key" or "semitones"} -> {"job": id} (202)
    GET  /files/jobs/<id>/<name>  a job's file    GET  /songbook/<id>/...  a built songbook

Every answer carries a Content-Security-Policy with `frame-ancestors 'none'`, and a request
whose Host header isn't the address the server listens on is refused (421): a page on
another site that rebinds its DNS name to 127.0.0.1 can't drive the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from abcgen.errors import AbcgenError
from abcgen.web import forms
from abcgen.web.audio import WAV_LINGER_S
from abcgen.web.forms import FormError
from abcgen.web.guard import Guard
from abcgen.web.jobs import (JOBS_DIR, SONGBOOK_DIR, JobBoard, ModelHolder, generation_work,
                             paste_work, render_wav, songbook_work)
from abcgen.web.library import Library

STATIC = Path(__file__).parent / "static"
JOB_ID = re.compile(r"[0-9a-f]{32}")
TUNE_ID = re.compile(r"[0-9a-f]{12}")
CLEAN_AGE_S = 7 * 24 * 3600  # unkept tunes' files last a week...
CLEAN_BYTES = 200 * 1024 * 1024  # ...or until all jobs' files pass this size, oldest first
OLD_KEPT_FILE = "kept.abc"  # where the app kept tunes before the library
JOB_WAIT_S = 1.0  # a job's poll waits at most this long for a change (the page's clock ticks)
JOB_WAIT_STEP_S = 0.02  # ...looking this often (a few attribute reads and a digest)


async def read_json(request: Request) -> dict:
    """The request's JSON object body; FormError for one too big (413), not JSON (415: a
    cross-site form can't send application/json without the browser asking us first) or
    not an object (400)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise FormError("send the form as application/json", 415)
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > forms.MAX_BODY_BYTES:
        raise FormError(f"request too large; a paste may be at most {forms.MAX_PASTE_BYTES:,} "
                        "bytes", 413)
    body = await request.body()
    if len(body) > forms.MAX_BODY_BYTES:
        raise FormError("request too large", 413)
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise FormError("the request is not valid JSON") from None
    if not isinstance(data, dict):
        raise FormError("the request must be a JSON object")
    return data


def _job_or_404(request: Request, job_id: str) -> dict:
    """A job as the page polls it: running ones from the board, finished ones (from before
    a restart too) from the library."""
    if JOB_ID.fullmatch(job_id):
        job = request.app.state.board.get(job_id)
        if job is not None and (job.state != "done" or job.result is not None):
            return job.to_dict()
        found = request.app.state.library.job(job_id)
        if found is not None:
            return found
    raise FormError(f"no such job {job_id[:40]!r}", 404)


def _tune_id(value) -> str:
    if not isinstance(value, str) or not TUNE_ID.fullmatch(value):
        raise FormError("no such tune", 404)
    return value


def _book_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FormError("no such songbook", 404) from None


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


async def status(request: Request) -> JSONResponse:
    model: ModelHolder = request.app.state.model
    books = await run_in_threadpool(request.app.state.library.songbooks)
    kept = [t["title"] for t in books[0]["tunes"]] if books else []
    return JSONResponse({"model": model.state, "message": model.message, "songbooks": books,
                         "kept": kept})


async def options(request: Request) -> JSONResponse:
    models = forms.model_choices(request.app.state.runs_dir)
    served = request.app.state.model.requested or "the bundled model"
    return JSONResponse({**forms.options(), "models": [
        {"value": name, "label": f"{Path(str(served)).name} (served)" if not name else name}
        for name in models]})


def _submit(request: Request, kind: str, settings: dict, work):
    """Queue `work` on the board, recorded in the library: the job when it starts, its tunes
    when it ends; then unkept tunes' old files are cleaned up."""
    app = request.app
    library, board = app.state.library, app.state.board

    def recorded(job):
        library.job_started(job.id, kind, settings)
        try:
            result = work(job)
        except Exception as exc:
            library.job_failed(job.id, str(exc))
            raise
        library.job_done(job.id, result, {**settings, "model": result.get("model")})
        app.state.cleanup(busy={job.id})
        return result

    return board.submit(kind, recorded)


async def generate(request: Request) -> JSONResponse:
    models = await run_in_threadpool(forms.model_choices, request.app.state.runs_dir)
    wanted = forms.generate_request(await read_json(request), models)
    settings = {"kind": "generate", **wanted.__dict__, "model": None}
    job = _submit(request, "generate", settings,
                  generation_work(wanted, request.app.state.model))
    return JSONResponse({"job": job.id, "seed": wanted.seed}, status_code=202)


async def render(request: Request) -> JSONResponse:
    wanted = forms.paste_request(await read_json(request))
    settings = {"kind": "render", "instrument": wanted.instrument, "tempo": wanted.tempo}
    job = _submit(request, "render", settings, paste_work(wanted))
    return JSONResponse({"job": job.id}, status_code=202)


async def check(request: Request) -> JSONResponse:
    from abcgen.notation import check_text

    pasted = forms.paste_request(await read_json(request))
    issues = await run_in_threadpool(check_text, pasted.abc, "pasted")
    return JSONResponse({"issues": [issue.to_dict() for issue in issues]})


async def repair(request: Request) -> JSONResponse:
    from abcgen.repair import repair_text

    pasted = forms.paste_request(await read_json(request))
    report = await run_in_threadpool(repair_text, pasted.abc, "pasted")
    return JSONResponse({"abc": report.text, "report": report.to_dict()})


def _preview(abc: str) -> dict:
    """What the editor shows as the text changes: each tune's cleaned ABC for abcjs (or why it
    can't be read) and `check`'s messages with their lines."""
    from abcgen.notation import check_text, read_tunes, tune_failure
    from abcgen.web.jobs import preview_entry

    tunes = [preview_entry(number, block, tune_failure(block))
             for number, block in enumerate(read_tunes(abc)[:forms.MAX_TUNES], 1)]
    return {"tunes": [{k: t[k] for k in ("number", "title", "shown_abc", "error")}
                      for t in tunes],
            "issues": [issue.to_dict() for issue in check_text(abc, "edited")]}


async def preview(request: Request) -> JSONResponse:
    pasted = forms.paste_request(await read_json(request))
    return JSONResponse(await run_in_threadpool(_preview, pasted.abc))


def _version(job: dict) -> str:
    """What the page has seen of a job: a digest of all it shows but the clock."""
    shown = json.dumps({k: v for k, v in job.items() if k != "seconds"}, sort_keys=True,
                       default=str)
    return hashlib.blake2b(shown.encode(), digest_size=8).hexdigest()


async def job_state(request: Request) -> JSONResponse:
    """The job; with `?seen=<version>` (the `version` of the page's last answer), answered
    when it changes or after JOB_WAIT_S: the page learns of a tune the moment it is ready,
    not up to a polling interval later, and asks no more often than the job changes."""
    job_id = request.path_params["job_id"]
    job = _job_or_404(request, job_id)
    seen = request.query_params.get("seen")
    waited = 0.0
    while (seen == _version(job) and job["state"] in ("queued", "running")
           and waited < JOB_WAIT_S):
        await asyncio.sleep(JOB_WAIT_STEP_S)
        waited += JOB_WAIT_STEP_S
        job = _job_or_404(request, job_id)
    return JSONResponse({**job, "version": _version(job)})


async def job_file(request: Request) -> FileResponse:
    from abcgen.fileio import inside

    job_id = request.path_params["job_id"]
    if not JOB_ID.fullmatch(job_id):
        raise FormError("no such file", 404)
    try:
        path = inside(request.app.state.data_dir / JOBS_DIR / job_id, request.path_params["name"])
    except AbcgenError:
        raise FormError("no such file", 404) from None
    if not path.is_file():
        raise FormError("no such file (files of tunes not kept are cleaned up after a while)",
                        404)
    return FileResponse(path)


async def tune(request: Request) -> JSONResponse:
    tune_id = _tune_id(request.path_params["tune_id"])
    return JSONResponse(await run_in_threadpool(request.app.state.library.tune, tune_id))


async def tune_wav(request: Request) -> FileResponse:
    """The tune's WAV, rendered now if it wasn't (the page streams OGG)."""
    library = request.app.state.library
    entry = await run_in_threadpool(library.tune, _tune_id(request.path_params["tune_id"]))
    folder = request.app.state.data_dir / JOBS_DIR / entry["job"]
    name = entry["files"].get("wav")
    if name is None:
        if entry["status"] != "ok" or "mid" not in entry["files"]:
            raise FormError("this tune has no audio: render it again", 409)
        instrument = entry["settings"].get("instrument") or forms.WEB_INSTRUMENT
        name = await run_in_threadpool(render_wav, folder, entry, instrument)
    return FileResponse(folder / name, filename=name)


async def transpose(request: Request) -> JSONResponse:
    """Move a tune to a key or by semitones (notation.transpose): a new tune, rendered as a
    job like a paste, with the old one's instrument; its tempo is in its Q: already."""
    from abcgen.notation.transpose import transpose_book

    body = await read_json(request)
    semitones, key = forms.transpose_request(body)
    old = await run_in_threadpool(request.app.state.library.tune, _tune_id(body.get("tune")))
    moved = await run_in_threadpool(transpose_book, old["abc"], semitones, key)
    if moved.failures:
        raise FormError(f"can't transpose this tune: {moved.failures[0]}", 422)
    instrument = old["settings"].get("instrument") or forms.WEB_INSTRUMENT
    wanted = forms.PasteRequest(moved.text, instrument, None)
    shift = moved.shifts[0][1] if moved.shifts else 0
    settings = {"kind": "transpose", "from": old["id"], "semitones": shift,
                "instrument": instrument, "tempo": old["settings"].get("tempo")}
    job = _submit(request, "transpose", settings, paste_work(wanted))
    return JSONResponse({"job": job.id, "semitones": shift}, status_code=202)


async def keep(request: Request) -> JSONResponse:
    body = await read_json(request)
    library = request.app.state.library
    if "tune" in body:
        tune_id = _tune_id(body["tune"])
    else:  # {"job", "number"}: the tune numbered so in a finished job
        tunes = (_job_or_404(request, str(body.get("job", ""))).get("result") or {}).get(
            "tunes", [])
        number = forms.number_field(body, "number", int, 1, max(1, len(tunes)))
        if number > len(tunes):
            raise FormError("that job has no tunes yet", 409)
        tune_id = tunes[number - 1]["id"]
    books = await run_in_threadpool(library.songbooks)
    book_id = _book_id(body.get("songbook") or books[0]["id"])
    book = await run_in_threadpool(library.keep, book_id, tune_id)
    return JSONResponse({"kept": len(book["tunes"]), "songbook": book})


async def new_songbook(request: Request) -> JSONResponse:
    name = forms.songbook_name(await read_json(request))
    book = await run_in_threadpool(request.app.state.library.new_songbook, name)
    return JSONResponse(book, status_code=201)


async def remove_from_songbook(request: Request) -> JSONResponse:
    body = await read_json(request)
    book = await run_in_threadpool(request.app.state.library.remove,
                                   _book_id(request.path_params["book"]), _tune_id(body.get("tune")))
    return JSONResponse(book)


async def order_songbook(request: Request) -> JSONResponse:
    body = await read_json(request)
    tunes = body.get("tunes")
    if not isinstance(tunes, list):
        raise FormError("tunes must be a list of tune ids")
    book = await run_in_threadpool(request.app.state.library.reorder,
                                   _book_id(request.path_params["book"]),
                                   [_tune_id(t) for t in tunes])
    return JSONResponse(book)


async def build_songbook(request: Request) -> JSONResponse:
    body = await read_json(request)
    instrument = forms.instrument_field(body)
    library = request.app.state.library
    books = await run_in_threadpool(library.songbooks)
    book = await run_in_threadpool(library.songbook,
                                   _book_id(body.get("songbook") or books[0]["id"]))
    job = request.app.state.board.submit(
        "songbook", songbook_work(library, book["id"], instrument, request.app.state.building))
    return JSONResponse({"job": job.id}, status_code=202)


async def user_error(request: Request, exc: Exception) -> JSONResponse:
    status_code = exc.status if isinstance(exc, FormError) else 400
    return JSONResponse({"error": str(exc)}, status_code=status_code)


ROUTES = [
    Route("/", page), Route("/tune/{tune_id}", page),
    Route("/api/status", status), Route("/api/options", options),
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/render", render, methods=["POST"]),
    Route("/api/check", check, methods=["POST"]), Route("/api/repair", repair, methods=["POST"]),
    Route("/api/preview", preview, methods=["POST"]),
    Route("/api/jobs/{job_id}", job_state),
    Route("/api/tunes/{tune_id}", tune), Route("/api/tunes/{tune_id}/wav", tune_wav),
    Route("/files/jobs/{job_id}/{name}", job_file),
    Route("/api/keep", keep, methods=["POST"]),
    Route("/api/transpose", transpose, methods=["POST"]),
    Route("/api/songbooks", new_songbook, methods=["POST"]),
    Route("/api/songbooks/{book}/remove", remove_from_songbook, methods=["POST"]),
    Route("/api/songbooks/{book}/order", order_songbook, methods=["POST"]),
    Route("/api/songbook/build", build_songbook, methods=["POST"]),
]


def create_app(data_dir: str | Path, model_path: str | Path | None = None,
               host: str = "127.0.0.1", port: int = 8000, clean_age_s: float = CLEAN_AGE_S,
               clean_bytes: int = CLEAN_BYTES, runs_dir: str | Path = "runs") -> Starlette:
    """The web app, keeping every file it writes under `data_dir` (created if missing) and
    generating with the model at `model_path` (None: the bundled model), loaded once in a
    background thread when the app starts. It answers requests addressed to `host`:`port`
    only; unkept tunes' files go after `clean_age_s` or beyond `clean_bytes` in all. The
    form offers the checkpoints `runs_dir`/*/best.pt too."""
    import threading

    from abcgen.songbook.html import ASSETS_DIR, copy_assets

    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    abcjs_warning = copy_assets(data)  # abcjs from node_modules, as the songbook does
    model, board, library = ModelHolder(model_path), JobBoard(data), Library(data)
    library.import_kept(data / OLD_KEPT_FILE)

    def cleanup(busy: set[str] = frozenset()) -> int:
        """Best effort: a file another request removes first, or a library closed at
        shutdown, only leaves the work for next time."""
        running = {j.id for j in list(board.jobs.values()) if j.state in ("queued", "running")
                   or (j.encoding is not None and j.encoding.busy)}
        try:
            return library.cleanup(clean_age_s, clean_bytes, WAV_LINGER_S,
                                   busy=set(busy) | running)
        except (OSError, sqlite3.Error):
            return 0

    @asynccontextmanager
    async def lifespan(app: Starlette):
        model.start()
        threading.Thread(target=cleanup, name="abcgen-cleanup", daemon=True).start()
        yield
        board.close()
        library.close()

    (data / SONGBOOK_DIR).mkdir(exist_ok=True)
    mounts = [Mount("/static", StaticFiles(directory=STATIC)),
              Mount("/assets", StaticFiles(directory=data / ASSETS_DIR)),
              Mount("/songbook", StaticFiles(directory=data / SONGBOOK_DIR, html=True))]
    app = Starlette(routes=ROUTES + mounts, lifespan=lifespan,
                    exception_handlers={AbcgenError: user_error})
    app.state.model, app.state.board, app.state.library = model, board, library
    app.state.data_dir, app.state.abcjs_warning = data, abcjs_warning
    app.state.cleanup, app.state.building = cleanup, threading.Lock()
    app.state.runs_dir = Path(runs_dir)
    app.add_middleware(Guard, host=host, port=port)
    return app
