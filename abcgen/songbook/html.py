"""`DIR/index.html`: the songbook for a screen, working offline from `file://`.

A table of contents, a filter by title, rhythm and key, and for each tune its notation
(drawn in the browser by abcjs, copied into `DIR/assets` from the npm package at build
time), an audio player for its MP3/WAV with the web app's practice player (assets/player.js:
speed, loop, cursor, count-in) and download links for its files. The tunes' ABC is embedded
in the page as JSON (a browser won't fetch local files from a `file://` page), with the Q:
the audio was rendered at, so the cursor keeps time with it. When abcjs isn't installed the
page still works and shows each tune's ABC text instead (and plain audio players).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import replace
from pathlib import Path

from abcgen.fileio import atomic_write_bytes, atomic_write_text
from abcgen.notation import dumps
from abcgen.songbook.index_pages import rhythm_groups
from abcgen.songbook.pdf import PDF_NAME, info_line
from abcgen.songbook.tempo import with_played_tempo
from abcgen.songbook.tunefiles import TUNES_DIR
from abcgen.songbook.tunes import BookTune

HTML_NAME = "index.html"
ASSETS_DIR = "assets"
ABCJS_FILE = "abcjs-basic-min.js"
ABCJS_ENV = "ABCGEN_ABCJS"  # path of abcjs-basic-min.js, when not in the repo's node_modules
OWN_ASSETS = ("songbook.css", "songbook.js", "player.js")  # player.js: the web app's too
DOWNLOADS = (("abc", "ABC"), ("mid", "MIDI"), ("wav", "WAV"), ("mp3", "MP3"))
SHOWN_ABOVE = frozenset({"T", "R"})  # title and rhythm: in the page's heading, not the drawing
AUDIO_TYPES = (("mp3", "audio/mpeg"), ("wav", "audio/wav"))  # the player tries them in order
# Characters that could end the embedding <script> element or start markup inside it.
SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def find_abcjs() -> Path | None:
    """abcjs's browser build: $ABCGEN_ABCJS, else node_modules/ of the repository (where
    `npm ci` puts it) or of the current folder; None when none is installed."""
    explicit = os.environ.get(ABCJS_ENV)
    candidates = [Path(explicit)] if explicit else []
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidates.append(root / "node_modules" / "abcjs" / "dist" / ABCJS_FILE)
    return next((path for path in candidates if path.is_file()), None)


def copy_assets(out_dir: Path) -> str | None:
    """Copy the page's CSS/JS and abcjs (with its licence) into DIR/assets; returns a
    warning when abcjs is missing."""
    assets = out_dir / ASSETS_DIR
    for name in OWN_ASSETS:
        atomic_write_bytes(assets / name, (Path(__file__).parent / "assets" / name).read_bytes())
    abcjs = find_abcjs()
    if abcjs is None:
        return (f"abcjs not found (run `npm ci` in the repository, or set {ABCJS_ENV}): "
                "index.html shows ABC text instead of notation")
    atomic_write_bytes(assets / ABCJS_FILE, abcjs.read_bytes())
    licence = abcjs.parents[1] / "LICENSE.md"
    if licence.is_file():
        atomic_write_bytes(assets / "abcjs-LICENSE.md", licence.read_bytes())
    return None


def _notation_abc(tune: BookTune) -> str:
    """The ABC abcjs draws: the tune without the fields the page shows above it, with the
    tempo its audio plays at as Q: (abcjs's timing drives the practice player's cursor)."""
    played = with_played_tempo(tune.tune)
    return dumps(replace(played, header=[f for f in played.header
                                         if f.name not in SHOWN_ABOVE]))


def _links(files: dict[str, str]) -> str:
    links = [f'<a href="{TUNES_DIR}/{html.escape(files[ext])}" download>{label}</a>'
             for ext, label in DOWNLOADS if ext in files]
    return f'<p class="downloads">Download: {" · ".join(links)}</p>' if links else ""


def _player(files: dict[str, str], problem: str | None) -> str:
    sources = "".join(f'<source src="{TUNES_DIR}/{html.escape(files[ext])}" type="{kind}">'
                      for ext, kind in AUDIO_TYPES if ext in files)
    if sources:
        return f'<audio controls preload="none">{sources}</audio>'
    return f'<p class="no-audio">No audio: {html.escape(problem)}</p>' if problem else ""


def _section(tune: BookTune, index: int, group: str, entry: dict) -> str:
    files = {"abc": f"{tune.stem}.abc", **entry.get("files", {})}
    return (f'<section class="tune" id="tune-{tune.number}" data-index="{index}" '
            f'data-title="{html.escape(tune.title.casefold())}" '
            f'data-rhythm="{html.escape(group)}" data-key="{html.escape(tune.key)}">\n'
            f'<h2><span class="number">{tune.number}.</span> {html.escape(tune.title)}</h2>\n'
            f'<p class="meta">{html.escape(info_line(tune))}</p>\n'
            f'<div class="notation" role="img" aria-label="{html.escape(tune.title)}"></div>\n'
            f'{_player(files, entry.get("error"))}\n{_links(files)}\n</section>')


def _options(values: list[str], everything: str) -> str:
    return f'<option value="">{everything}</option>' + "".join(
        f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)


def _contents(tunes: list[BookTune]) -> str:
    items = "".join(f'<li data-number="{t.number}"><a href="#tune-{t.number}">'
                    f'{html.escape(t.title)}</a> <span class="meta">'
                    f'{html.escape(info_line(t))}</span></li>\n' for t in tunes)
    return f'<nav id="contents"><h2>Contents</h2>\n<ol>\n{items}</ol>\n</nav>'


def _controls(groups: dict[str, list[BookTune]], tunes: list[BookTune]) -> str:
    keys = sorted({t.key for t in tunes if t.key})
    return ('<form id="filters" role="search" onsubmit="return false">'
            '<input type="search" id="filter-title" placeholder="Filter by title" '
            'aria-label="Filter by title"> '
            '<select id="filter-rhythm" aria-label="Rhythm">'
            f'{_options(list(groups), "All rhythms")}'
            f'</select> <select id="filter-key" aria-label="Key">{_options(keys, "All keys")}'
            '</select> <span id="filter-count" aria-live="polite"></span></form>')


def page_html(title: str, tunes: list[BookTune], entries: dict[int, dict],
              has_pdf: bool, has_abcjs: bool = True) -> str:
    """The whole index.html; `entries` maps a tune's number to its rendered files entry."""
    groups = rhythm_groups(tunes)
    group_of = {t.number: name for name, group in groups.items() for t in group}
    sections = "\n".join(_section(t, i, group_of[t.number], entries.get(t.number, {}))
                         for i, t in enumerate(tunes))
    data = json.dumps([_notation_abc(t) for t in tunes], ensure_ascii=False)
    for char, escape in SCRIPT_ESCAPES.items():
        data = data.replace(char, escape)
    pdf = f' · <a href="{PDF_NAME}">Printable PDF</a>' if has_pdf else ""
    count = f"{len(tunes)} tune{'s' if len(tunes) != 1 else ''}"
    abcjs = f'<script src="{ASSETS_DIR}/{ABCJS_FILE}"></script>\n' if has_abcjs else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{ASSETS_DIR}/songbook.css">
</head>
<body>
<header><h1>{html.escape(title)}</h1><p class="subtitle">{count}{pdf}</p>
{_controls(groups, tunes)}</header>
{_contents(tunes)}
<main>
{sections}
</main>
<script type="application/json" id="songbook-tunes">{data}</script>
{abcjs}<script src="{ASSETS_DIR}/player.js"></script>
<script src="{ASSETS_DIR}/songbook.js"></script>
</body>
</html>
"""


def make_html(title: str, tunes: list[BookTune], entries: dict[int, dict], out_dir: Path,
              has_pdf: bool) -> str | None:
    """Write DIR/index.html and DIR/assets; returns a warning when abcjs is missing."""
    warning = copy_assets(out_dir)
    atomic_write_text(out_dir / HTML_NAME,
                      page_html(title, tunes, entries, has_pdf, has_abcjs=warning is None))
    return warning
