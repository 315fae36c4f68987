"""The web app's library: every tune it wrote or rendered, the jobs that made them, and named
songbooks of kept tunes in order, in one SQLite file (DATA/library.sqlite3, Python's sqlite3).

A tune's id is its stable address (`/tune/<id>`): the row holds its ABC, the settings, seed
and model it was made with, and the names of its files under DATA/jobs/<job>/, which
`cleanup` may delete for tunes no songbook keeps (the ABC stays, so the tune still opens).

The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[n]` takes version n to n+1,
and opening a library applies the ones it lacks, each in one transaction.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from abcgen.web.audio import PAGE_FORMAT
from abcgen.web.forms import FormError

LIBRARY_NAME = "library.sqlite3"
DEFAULT_SONGBOOK = "My abcgen songbook"
MAX_SONGBOOK_NAME = 80
MIGRATIONS = (
    """
    CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL,
                       state TEXT NOT NULL, settings TEXT NOT NULL, result TEXT, error TEXT);
    CREATE TABLE tunes (id TEXT PRIMARY KEY, created REAL NOT NULL,
                        job TEXT REFERENCES jobs(id), number INTEGER, title TEXT NOT NULL,
                        abc TEXT NOT NULL, shown_abc TEXT NOT NULL, settings TEXT NOT NULL,
                        seed INTEGER, model TEXT, status TEXT NOT NULL, error TEXT,
                        files TEXT NOT NULL, seconds REAL);
    CREATE TABLE songbooks (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                            created REAL NOT NULL);
    CREATE TABLE songbook_tunes (songbook INTEGER NOT NULL REFERENCES songbooks(id)
                                     ON DELETE CASCADE,
                                 tune TEXT NOT NULL REFERENCES tunes(id),
                                 position REAL NOT NULL, PRIMARY KEY (songbook, tune));
    CREATE INDEX tunes_by_job ON tunes(job);
    """,
)
UNFINISHED = "the server stopped before this job finished; run it again"


def new_tune_id() -> str:
    """A tune's id: 12 hex digits, unguessable enough that a link names one tune only."""
    return secrets.token_hex(6)


class Library:
    """The SQLite library; one connection shared by the app's threads under a lock."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.lock = threading.Lock()
        self.cleaning = threading.Lock()
        self.db = sqlite3.connect(data_dir / LIBRARY_NAME, check_same_thread=False,
                                  isolation_level=None)  # transactions are explicit
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self.lock:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], version):
                self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number + 1}; "
                                      "COMMIT;")
            self.db.execute("UPDATE jobs SET state = 'failed', error = ? "
                            "WHERE state NOT IN ('done', 'failed')", (UNFINISHED,))

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # jobs -------------------------------------------------------------------------------

    def job_started(self, job_id: str, kind: str, settings: dict) -> None:
        with self.lock:
            self.db.execute("INSERT INTO jobs VALUES (?, ?, ?, 'running', ?, NULL, NULL)",
                            (job_id, kind, time.time(), json.dumps(settings)))

    def job_failed(self, job_id: str, error: str) -> None:
        with self.lock:
            self.db.execute("UPDATE jobs SET state = 'failed', error = ? WHERE id = ?",
                            (error, job_id))

    def job_done(self, job_id: str, result: dict, settings: dict) -> None:
        """Store a finished job's result and each of its tunes (whose entries carry an "id")."""
        tunes = result.get("tunes", [])
        rows = [(t["id"], time.time(), job_id, t["number"], t.get("title") or "", t["abc"],
                 t.get("shown_abc") or "", json.dumps(settings), settings.get("seed"),
                 settings.get("model"), t["status"], t.get("error"),
                 json.dumps(t.get("files", {})), t.get("seconds")) for t in tunes]
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO tunes VALUES "
                                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("UPDATE jobs SET state = 'done', result = ? WHERE id = ?",
                            (json.dumps(result), job_id))
            self.db.execute("COMMIT")

    def job(self, job_id: str) -> dict | None:
        """A job as the page polls it (like `Job.to_dict`), or None when never recorded."""
        with self.lock:
            row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        result = json.loads(row["result"]) if row["result"] else None
        if result is not None:
            result["tunes"] = [self._with_files(row["id"], t) for t in result.get("tunes", [])]
        return {"id": row["id"], "kind": row["kind"], "state": row["state"],
                "stage": row["state"], "done": 0, "total": 0, "result": result, "preview": None,
                "error": row["error"], "seconds": 0.0, "settings": json.loads(row["settings"])}

    def _with_files(self, job_id: str, entry: dict) -> dict:
        """`entry` with the files on disk now: cleanup may have removed some, and the page's
        OGG is made after the job is done (web.audio)."""
        if job_id is None:  # imported from an older app: ABC only
            return {**entry, "files": {}}
        folder = self.data_dir / "jobs" / job_id
        names = list(entry.get("files", {}).values())
        stems = {Path(name).stem for name in names}
        found = {Path(name).suffix[1:]: name for name in names + [f"{stem}.{PAGE_FORMAT}"
                                                                 for stem in stems]
                 if (folder / name).is_file()}
        return {**entry, "files": found}

    # tunes ------------------------------------------------------------------------------

    def tune(self, tune_id: str) -> dict:
        """A tune as the page shows it; FormError (404) when there is none."""
        with self.lock:
            row = self.db.execute("SELECT * FROM tunes WHERE id = ?", (tune_id,)).fetchone()
            books = self.db.execute("SELECT songbook FROM songbook_tunes WHERE tune = ?",
                                    (tune_id,)).fetchall()
        if row is None:
            raise FormError(f"no tune {tune_id[:40]!r} in this library", 404)
        entry = {"id": row["id"], "job": row["job"], "number": row["number"],
                 "title": row["title"], "abc": row["abc"], "shown_abc": row["shown_abc"],
                 "settings": json.loads(row["settings"]), "seed": row["seed"],
                 "model": row["model"], "status": row["status"], "error": row["error"],
                 "files": json.loads(row["files"]), "seconds": row["seconds"],
                 "songbooks": [b[0] for b in books]}
        return self._with_files(row["job"], entry)

    # songbooks --------------------------------------------------------------------------

    def songbooks(self) -> list[dict]:
        """Every songbook (the default one made on first use), with its tunes in order."""
        with self.lock:
            if self.db.execute("SELECT COUNT(*) FROM songbooks").fetchone()[0] == 0:
                self.db.execute("INSERT INTO songbooks (name, created) VALUES (?, ?)",
                                (DEFAULT_SONGBOOK, time.time()))
            books = self.db.execute("SELECT id, name FROM songbooks ORDER BY id").fetchall()
            kept = self.db.execute(
                "SELECT s.songbook, t.id, t.title FROM songbook_tunes s JOIN tunes t "
                "ON t.id = s.tune ORDER BY s.songbook, s.position").fetchall()
        return [{"id": book["id"], "name": book["name"],
                 "tunes": [{"id": k["id"], "title": k["title"]} for k in kept
                           if k["songbook"] == book["id"]]} for book in books]

    def songbook(self, book_id: int) -> dict:
        found = [book for book in self.songbooks() if book["id"] == book_id]
        if not found:
            raise FormError(f"no songbook {book_id}", 404)
        return found[0]

    def new_songbook(self, name: str) -> dict:
        name = " ".join(str(name).split())
        if not name or len(name) > MAX_SONGBOOK_NAME:
            raise FormError(f"a songbook's name is 1 to {MAX_SONGBOOK_NAME} characters")
        try:
            with self.lock:
                made = self.db.execute("INSERT INTO songbooks (name, created) VALUES (?, ?)",
                                       (name, time.time()))
        except sqlite3.IntegrityError:
            raise FormError(f"there is a songbook named {name!r} already", 409) from None
        return self.songbook(made.lastrowid)

    def keep(self, book_id: int, tune_id: str) -> dict:
        """Add a tune at the end of a songbook (once); returns the songbook."""
        self.songbook(book_id)
        self.tune(tune_id)
        with self.lock:
            self.db.execute(
                "INSERT OR IGNORE INTO songbook_tunes VALUES (?, ?, (SELECT COALESCE(MAX("
                "position), 0) + 1 FROM songbook_tunes WHERE songbook = ?))",
                (book_id, tune_id, book_id))
        return self.songbook(book_id)

    def remove(self, book_id: int, tune_id: str) -> dict:
        with self.lock:
            self.db.execute("DELETE FROM songbook_tunes WHERE songbook = ? AND tune = ?",
                            (book_id, tune_id))
        return self.songbook(book_id)

    def reorder(self, book_id: int, tune_ids: list[str]) -> dict:
        """Put a songbook's tunes in the order `tune_ids` (which must be the same tunes)."""
        have = [t["id"] for t in self.songbook(book_id)["tunes"]]
        if sorted(have) != sorted(tune_ids):
            raise FormError("the new order must list the songbook's tunes, each once", 409)
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany("UPDATE songbook_tunes SET position = ? WHERE songbook = ? "
                                "AND tune = ?", [(i, book_id, t) for i, t in enumerate(tune_ids)])
            self.db.execute("COMMIT")
        return self.songbook(book_id)

    def songbook_abc(self, book_id: int) -> str:
        """A songbook's tunes as one tunebook, in its order."""
        with self.lock:
            rows = self.db.execute(
                "SELECT t.abc FROM songbook_tunes s JOIN tunes t ON t.id = s.tune "
                "WHERE s.songbook = ? ORDER BY s.position", (book_id,)).fetchall()
        return "\n".join(row[0].strip("\n") + "\n" for row in rows)

    def import_kept(self, path: Path) -> int:
        """Bring the tunes of an older app's kept-tunes file (DATA/kept.abc) into the first
        songbook, once: the file is renamed *.imported. Returns how many tunes came."""
        from abcgen.notation import clean_tune, dumps, read_tunes, tune_failure
        from abcgen.songbook.tempo import with_played_tempo

        if not path.is_file():
            return 0
        book = self.songbooks()[0]["id"]
        tunes = read_tunes(path.read_text(encoding="utf-8", errors="replace"))
        rows = [(new_tune_id(), time.time(), tune.title or "", dumps(tune),
                 "" if tune_failure(tune) else dumps(with_played_tempo(clean_tune(tune))))
                for tune in tunes]
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO tunes (id, created, title, abc, shown_abc, "
                                "settings, status, files) VALUES (?, ?, ?, ?, ?, "
                                "'{\"kind\": \"imported\"}', 'ok', '{}')", rows)
            self.db.executemany("INSERT INTO songbook_tunes VALUES (?, ?, ?)",
                                [(book, row[0], i) for i, row in enumerate(rows)])
            self.db.execute("COMMIT")
        path.rename(path.with_name(path.name + ".imported"))
        return len(rows)

    # cleanup ----------------------------------------------------------------------------

    def kept_files(self) -> set[Path]:
        """Files of tunes some songbook keeps, as paths less their suffix (NNN-slug: the
        .abc, .mid, .ogg and .wav): cleanup never removes these."""
        with self.lock:
            rows = self.db.execute("SELECT t.job, t.files FROM tunes t WHERE t.id IN "
                                   "(SELECT tune FROM songbook_tunes)").fetchall()
        jobs = self.data_dir / "jobs"
        return {jobs / job / Path(name).stem for job, files in rows
                for name in json.loads(files).values()}

    def cleanup(self, max_age_s: float, max_bytes: int, wav_linger_s: float,
                busy: set[str] = frozenset()) -> int:
        """Delete WAVs that have an OGG beside them after `wav_linger_s`; then the files of
        tunes no songbook keeps from job folders older than `max_age_s`, and from the oldest
        folders while all of them hold more than `max_bytes`. The `busy` jobs' folders are
        left alone. Returns the bytes freed."""
        with self.cleaning:  # one at a time: two would trip over each other's deletions
            return self._cleanup(max_age_s, max_bytes, wav_linger_s, busy)

    def _cleanup(self, max_age_s: float, max_bytes: int, wav_linger_s: float,
                 busy: set[str]) -> int:
        jobs = self.data_dir / "jobs"
        if not jobs.is_dir():
            return 0
        kept, now = self.kept_files(), time.time()
        folders = sorted((f for f in jobs.iterdir() if f.is_dir() and f.name not in busy),
                         key=lambda f: f.stat().st_mtime)
        freed = sum(_drop_encoded_wavs(folder, now - wav_linger_s) for folder in folders)
        total = sum(p.stat().st_size for f in folders for p in f.iterdir() if p.is_file())
        for folder in folders:
            if now - folder.stat().st_mtime <= max_age_s and total - freed <= max_bytes:
                break  # the rest are newer, and the total is small enough
            freed += _empty_folder(folder, kept)
        return freed


def _drop_encoded_wavs(folder: Path, before: float) -> int:
    """Remove `folder`'s WAVs older than `before` (a time) that have an OGG beside them."""
    freed = 0
    for wav in folder.glob("*.wav"):
        found = wav.stat()
        if found.st_mtime < before and wav.with_suffix(".ogg").is_file():
            wav.unlink(missing_ok=True)
            freed += found.st_size
    return freed


def _empty_folder(folder: Path, kept: set[Path]) -> int:
    """Remove `folder`'s files that are not `kept` (the folder too when nothing is left)."""
    freed = 0
    for path in folder.iterdir():
        if path.with_suffix("") in kept:
            continue
        if path.is_file():
            freed += path.stat().st_size
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    if not any(folder.iterdir()):
        folder.rmdir()
    return freed
