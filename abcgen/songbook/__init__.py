"""Songbooks: a tunebook repaired and made into a printed PDF, an offline HTML page with
notation and audio, and each tune's own files.

    DIR/songbook.pdf      title page, tunes in order, index by title and by rhythm (pdf.py)
    DIR/index.html        contents, filter, abcjs notation, audio, downloads (html.py)
    DIR/assets/           the page's CSS/JS and abcjs
    DIR/tunes/NNN-slug.{abc,mid,wav,mp3}   (tunefiles.py; names: abcgen.fileio.tune_stems)
    DIR/manifest.json, DIR/report.md       every tune's status, repairs, failure reason
    DIR/.songbook/        stamps that let a rerun skip finished tunes; temporary files

Stands on abcgen.notation, abcgen.repair and abcgen.render; `make_songbook` is the one entry.
"""

from abcgen.songbook.build import (BOOK_FORMATS, SongbookOptions, SongbookResult, make_songbook,
                                   parse_book_formats)

__all__ = ["BOOK_FORMATS", "SongbookOptions", "SongbookResult", "make_songbook",
           "parse_book_formats"]
