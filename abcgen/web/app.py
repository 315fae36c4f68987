"""The abcgen web app (Starlette): a form to generate tunes, notation drawn by abcjs, audio
from the render stage, a paste box to check/repair/render any ABC, and a kept-tunes songbook.

`create_app(data_dir, model_path=None)` builds the app; `abcgen serve` runs it with uvicorn.
All JSON answers; a user's mistake is a 4xx with {"error": message}, never a 5xx. User text is
only ever put into the page by the browser as text (textContent), never as HTML.

    GET  /                      the page          GET  /api/status    model state, kept tunes
    GET  /api/options           form choices      POST /api/generate  -> {"job": id} (202)
    POST /api/check, /api/repair   pasted ABC     POST /api/render    -> {"job": id} (202)
    GET  /api/jobs/<id>         progress/result   POST /api/keep      {"job", "number"}
    POST /api/songbook/build    -> {"job": id}     (kept titles are in /api/status)
    GET  /files/jobs/<id>/<name>  a job's file    GET  /songbook/...  the built songbook
"""

from __future__ import annotations

import json
import re
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
from abcgen.web.forms import FormError
from abcgen.web.jobs import SONGBOOK_DIR, JobBoard, ModelHolder, Songbook, generation_work, paste_work

STATIC = Path(__file__).parent / "static"
JOB_ID = re.compile(r"[0-9a-f]{32}")
# Our page loads only its own scripts; abcjs sets inline styles on the SVG it draws.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                           "img-src 'self' data:; object-src 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


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


def _job_or_404(request: Request, job_id: str):
    job = request.app.state.board.get(job_id) if JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise FormError(f"no such job {job_id[:40]!r} (finished jobs are forgotten after a while)",
                        404)
    return job


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)


async def status(request: Request) -> JSONResponse:
    model: ModelHolder = request.app.state.model
    titles = await run_in_threadpool(request.app.state.songbook.titles)
    return JSONResponse({"model": model.state, "message": model.message, "kept": titles})


async def options(request: Request) -> JSONResponse:
    return JSONResponse(forms.options())


async def generate(request: Request) -> JSONResponse:
    wanted = forms.generate_request(await read_json(request))
    job = request.app.state.board.submit("generate",
                                         generation_work(wanted, request.app.state.model))
    return JSONResponse({"job": job.id, "seed": wanted.seed}, status_code=202)


async def render(request: Request) -> JSONResponse:
    wanted = forms.paste_request(await read_json(request))
    job = request.app.state.board.submit("render", paste_work(wanted))
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


async def job_state(request: Request) -> JSONResponse:
    return JSONResponse(_job_or_404(request, request.path_params["job_id"]).to_dict())


async def job_file(request: Request) -> FileResponse:
    from abcgen.fileio import inside

    job = _job_or_404(request, request.path_params["job_id"])
    try:
        path = inside(job.folder, request.path_params["name"])
    except AbcgenError:
        raise FormError("no such file", 404) from None
    if not path.is_file():
        raise FormError("no such file", 404)
    return FileResponse(path)


async def keep(request: Request) -> JSONResponse:
    body = await read_json(request)
    job = _job_or_404(request, str(body.get("job", "")))
    tunes = (job.result or {}).get("tunes", [])
    number = forms.number_field(body, "number", int, 1, max(1, len(tunes)))
    if number > len(tunes):
        raise FormError("that job has no tunes yet", 409)
    count = await run_in_threadpool(request.app.state.songbook.keep, tunes[number - 1]["abc"])
    return JSONResponse({"kept": count})


async def build_songbook(request: Request) -> JSONResponse:
    body = await read_json(request)
    instrument = forms.instrument_field(body)
    job = request.app.state.board.submit("songbook", request.app.state.songbook.work(instrument))
    return JSONResponse({"job": job.id}, status_code=202)


async def user_error(request: Request, exc: Exception) -> JSONResponse:
    status_code = exc.status if isinstance(exc, FormError) else 400
    return JSONResponse({"error": str(exc)}, status_code=status_code)


ROUTES = [
    Route("/", page), Route("/api/status", status), Route("/api/options", options),
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/render", render, methods=["POST"]),
    Route("/api/check", check, methods=["POST"]), Route("/api/repair", repair, methods=["POST"]),
    Route("/api/jobs/{job_id}", job_state),
    Route("/files/jobs/{job_id}/{name}", job_file),
    Route("/api/keep", keep, methods=["POST"]),
    Route("/api/songbook/build", build_songbook, methods=["POST"]),
]


def create_app(data_dir: str | Path, model_path: str | Path | None = None) -> Starlette:
    """The web app, keeping every file it writes under `data_dir` (created if missing) and
    generating with the model at `model_path` (None: the bundled model), loaded once in a
    background thread when the app starts."""
    from abcgen.songbook.html import ASSETS_DIR, copy_assets

    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    abcjs_warning = copy_assets(data)  # abcjs from node_modules, as the songbook does
    model, board = ModelHolder(model_path), JobBoard(data)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        model.start()
        yield
        board.close()

    mounts = [Mount("/static", StaticFiles(directory=STATIC)),
              Mount("/assets", StaticFiles(directory=data / ASSETS_DIR)),
              Mount("/songbook", StaticFiles(directory=data / SONGBOOK_DIR, html=True,
                                             check_dir=False))]
    app = Starlette(routes=ROUTES + mounts, lifespan=lifespan,
                    exception_handlers={AbcgenError: user_error})
    app.state.model, app.state.board, app.state.songbook = model, board, Songbook(data)
    app.state.data_dir, app.state.abcjs_warning = data, abcjs_warning
    return app
