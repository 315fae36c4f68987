"""The songbook's records: one manifest entry per input tune, and report.md for people.

A manifest entry: `number` (in the book; None when left out), `title`, `x` and `line` (where
the tune began in the input), `status` 'ok' or 'failed', `repair` ('clean', 'repaired',
'failed'), `repairs` (the repair log), `rhythm`/`key`/`meter`, `page` (where it starts in
the PDF), `files` (names under tunes/), `seconds` of music, `up_to_date` (skipped this run),
`typeset_errors` (abcm2ps's complaints) and `reason` for a failure.
"""

from __future__ import annotations

from abcgen.songbook.pdf import PdfResult
from abcgen.songbook.tunes import BookTune, RejectedTune

STATUS_WORDS = {"ok": "ok", "failed": "**failed**"}


def _book_entry(tune: BookTune, files: dict, fresh: bool, pdf: PdfResult) -> dict:
    rendered = files.get("status") == "ok"
    reason = None if rendered else f"render: {files.get('error') or 'not rendered'}"
    return {"number": tune.number, "title": tune.title, "x": tune.x, "line": tune.line,
            "status": "ok" if rendered else "failed", "repair": tune.status,
            "repairs": tune.edits, "rhythm": tune.rhythm, "key": tune.key, "meter": tune.meter,
            "page": pdf.pages.get(tune.number),
            "files": {"abc": f"{tune.stem}.abc", **files.get("files", {})},
            "seconds": files.get("seconds"), "up_to_date": fresh,
            "typeset_errors": pdf.tune_errors.get(tune.number, []), "reason": reason}


def _rejected_entry(tune: RejectedTune) -> dict:
    return {"number": None, "title": tune.title, "x": tune.x, "line": tune.line,
            "status": "failed", "repair": "failed", "repairs": tune.edits, "rhythm": None,
            "key": None, "meter": None, "page": None, "files": {}, "seconds": None,
            "up_to_date": False, "typeset_errors": [], "reason": f"repair: {tune.reason}"}


def manifest_entries(book: list[BookTune], rejected: list[RejectedTune],
                     files: dict[int, dict], up_to_date: set[int], pdf: PdfResult) -> list[dict]:
    """Every input tune's entry, in input order."""
    entries = [_book_entry(t, files.get(t.number, {}), t.number in up_to_date, pdf)
               for t in book]
    entries += [_rejected_entry(t) for t in rejected]
    return sorted(entries, key=lambda entry: entry["line"])


def cell(text) -> str:
    """`text` safe inside a Markdown table cell: one line, pipes and markup escaped."""
    flat = " ".join(str(text if text is not None else "").split())
    for char in "\\|*_`[]<>":
        flat = flat.replace(char, "\\" + char)
    return flat[:120]


def _summary(manifest: dict) -> list[str]:
    tunes = manifest["tunes"]
    in_book = [t for t in tunes if t["number"] is not None]
    pdf = manifest["pdf"]
    lines = [f"# Songbook report: {cell(manifest['title'])}", "",
             f"- source: `{cell(manifest['source'])}`",
             f"- tunes in the input: {len(tunes)}; in the book: {len(in_book)}; "
             f"repaired: {sum(t['repair'] == 'repaired' for t in tunes)}; "
             f"failed: {sum(t['status'] == 'failed' for t in tunes)}; "
             f"up to date (not rendered again): {sum(t['up_to_date'] for t in tunes)}",
             f"- PDF: {pdf['status']}" + (f", {pdf['pages']} pages" if pdf["status"] == "ok"
                                          else f" ({cell(pdf['error'])})" if pdf["error"] else "")]
    lines += [f"- warning: {cell(w)}" for w in manifest["warnings"]]
    return lines


def _table(tunes: list[dict]) -> list[str]:
    rows = ["", "## Tunes", "", "| No. | Title | Rhythm | Key | Page | Status | Repairs |",
            "|---:|---|---|---|---:|---|---:|"]
    rows += [f"| {t['number'] or '-'} | {cell(t['title'])} | {cell(t['rhythm'])} | "
             f"{cell(t['key'])} | {t['page'] or '-'} | {STATUS_WORDS[t['status']]} | "
             f"{len(t['repairs'])} |" for t in tunes]
    return rows


def _details(tunes: list[dict]) -> list[str]:
    lines = ["", "## Repairs", ""]
    repaired = [t for t in tunes if t["repairs"]]
    for tune in repaired:
        lines.append(f"- line {tune['line']}, {cell(tune['title'])}:")
        lines += [f"  - {cell(e['kind'])} at {e['line']}:{e['col']}: {cell(e['message'])}"
                  for e in tune["repairs"]]
    lines += [] if repaired else ["None."]
    lines += ["", "## Failures", ""]
    failed = [t for t in tunes if t["status"] == "failed"]
    lines += [f"- line {t['line']}, X:{cell(t['x'])} {cell(t['title'])}: {cell(t['reason'])}"
              for t in failed] or ["None."]
    return lines


def report_markdown(manifest: dict) -> str:
    """report.md: a summary, a table of every tune, the repairs and the failures."""
    return "\n".join(_summary(manifest) + _table(manifest["tunes"])
                     + _details(manifest["tunes"])) + "\n"
