"""Tune -> ABC text (`dumps`), and `clean_tune`, the normalised form the corpus keeps.

A clean tune round-trips: `dumps(parse(text)) == text` but for whitespace at line ends.
"""

import re

from abcgen.notation.fields import CANONICAL_ORDER, is_hornpipe
from abcgen.notation.lexer import SHORT_DECORATIONS, body_field, strip_comment, tokenize_line
from abcgen.notation.model import BodyLine, Field, Tune
from abcgen.notation.parse import field_line, read_tunes
from abcgen.notation.score import ANNOTATION_PREFIXES, CHORD_ROOTS, bass_ok, score_tune

# Body field lines kept by `clean_tune`: key, meter, unit, tempo changes and part labels.
MUSIC_BODY_FIELDS = frozenset("KMLQP")
# Fields that, met between K: and the first music line, were meant for the header.
HEADER_ONLY_FIELDS = frozenset("TMLQR")
_SPACES = re.compile(r"[ \t]+")


def _field_text(field: Field) -> str:
    if field.name == "%":
        return f"%{field.value}"
    return f"{field.name}:{field.value}"


def dumps(tune: Tune) -> str:
    """The tune as ABC text, header then body, ending with a newline."""
    lines = [_field_text(f) for f in tune.header] + [line.text.rstrip() for line in tune.body]
    return "\n".join(lines).rstrip("\n") + "\n"


def dumps_book(tunes: list[Tune]) -> str:
    """Tunes separated by one blank line."""
    return "\n".join(dumps(tune) for tune in tunes)


def read_back(tune: Tune) -> list[Tune]:
    """The tunes a reader finds in `dumps(tune)`, read below the tune's file header as in
    its book: one, unless the text lost the tune's shape (a body line written `X:...`
    starts a second tune). Whatever writes a tune judges what this returns, not `tune`."""
    file_header = "".join(f"{_field_text(f)}\n" for f in tune.file_header)
    return read_tunes(f"{file_header}\n{dumps(tune)}" if file_header else dumps(tune),
                      tune.source)


def _canonical_header(tune: Tune) -> list[Field]:
    """Music-carrying fields in canonical order X, T, M, L, Q, R, P, K, one of each: the
    first title, and of the others the value in force (`Tune.header_field`, the file
    header's defaults written into the tune)."""
    chosen: list[Field] = []
    for name in CANONICAL_ORDER:
        if name == "T":
            title = next((f for f in tune.header if f.name == "T"), None)
            chosen += [Field("T", title.value.strip(), title.line)] if title else []
            continue
        fld = tune.header_field(name)
        if fld is not None and fld.value.strip():
            chosen.append(Field(name, _SPACES.sub(" ", fld.value.strip()), fld.line))
    return chosen


def _first_voice_lines(body: list[BodyLine]) -> list[BodyLine]:
    """Body lines of the first voice only (V: lines and [V:] at line start switch voices)."""
    kept, first, current = [], None, None
    for line in body:
        field = body_field(line.text)
        voice = _line_voice(line.text, field)
        if voice is not None:
            first = voice if first is None else first
            current = voice
            if field is not None:
                continue
        if current is None or current == first:
            kept.append(line)
    return kept


def _line_voice(text: str, field: tuple[str, str] | None) -> str | None:
    if field is not None and field[0] == "V":
        return field[1].split()[0] if field[1].split() else ""
    if text.startswith("[V:"):
        return text[3:].split("]")[0].split()[0] if text[3:].split("]")[0].split() else ""
    return None


def _normalised_tokens(music: str) -> str:
    """Drop decoration letters no U: defines (O'Neill's and Ryan's `k` stress mark): they are
    not ABC, and a model should not learn them. Write `:|:` as `::`, its equal, which
    abc2midi 4.84 reads correctly, and quoted fingerings or marks that are no chord (`"4"`)
    as annotations (`"^4"`)."""
    edits = []
    for kind, _, _, match in tokenize_line(music, 0):
        if kind == "short_deco" and match.group(0) not in SHORT_DECORATIONS:
            edits.append((match.span(), ""))
        elif kind == "bar" and match.group(0) == ":|:":
            edits.append((match.span(), "::"))
        elif kind == "quoted" and _not_a_chord(match["qtext"]):
            edits.append((match.span(), f'"^{match["qtext"]}"'))  # keep it, as an annotation
    for (start, end), text in reversed(edits):
        music = music[:start] + text + music[end:]
    return music


def _hornpipe_in_common_time(header: list[Field]) -> list[Field]:
    """`R:hornpipe` in `M:C|` or `2/2` is written `M:C`: the same bar, and the meter abc2midi
    accepts for hornpipes."""
    rhythm = next((f.value for f in header if f.name == "R"), "")  # one R: (canonical)
    if not is_hornpipe(rhythm):
        return header
    fixed = []
    for field in header:
        if field.name == "M" and field.value.replace(" ", "") in ("C|", "2/2"):
            field = Field("M", "C", field.line)
        fixed.append(field)
    return fixed


def _not_a_chord(text: str) -> bool:
    """Quoted text that is neither an annotation nor a chord symbol (the checker's rule)."""
    return text[:1] not in ANNOTATION_PREFIXES and (text[:1] not in CHORD_ROOTS
                                                    or not bass_ok(text))


def _final_bar_line(body: list[BodyLine]) -> list[BodyLine]:
    """End the tune with `|]` where its last bar line is a plain `|` or `||`."""
    if not body:
        return body
    last = body[-1]
    tokens = [(kind, match) for kind, _, _, match in tokenize_line(last.text, 0)]
    if not tokens or tokens[-1][0] != "bar" or tokens[-1][1].group(0) not in ("|", "||"):
        return body
    start, end = tokens[-1][1].span()
    return body[:-1] + [BodyLine(last.text[:start] + "|]" + last.text[end:], last.line)]


def _clean_body_line(text: str) -> str | None:
    """A music line without comments, directives, lyrics or non-music fields; None to drop it."""
    if text.startswith("%"):
        return None
    field = body_field(text)
    if field is not None:
        return f"{field[0]}:{field[1]}" if field[0] in MUSIC_BODY_FIELDS else None
    music = _SPACES.sub(" ", _normalised_tokens(strip_comment(text))).strip()
    if not music:
        return None
    # ` X:|abc|` is music (a reader sees no field after a space); without its space it would
    # be a field line, and `X:` would start a new tune
    return f" {music}" if field_line(music) is not None else music


def _split_late_header(tune: Tune) -> tuple[list[Field], list[BodyLine]]:
    """Header fields written after K: but before the music (`K:D` then `L:1/16`) belong in
    the header; return them and the rest of the body."""
    late: list[Field] = []
    for line in tune.body:
        field = body_field(line.text)
        if field is None and line.text.strip() and not line.text.startswith("%"):
            break
        if field is not None and field[0] in HEADER_ONLY_FIELDS:
            late.append(Field(field[0], field[1], line.line))
    moved = {f.line for f in late}
    return late, [line for line in tune.body if line.line not in moved]


def without_bad_ties(tune: Tune) -> list[BodyLine]:
    """Body lines with every tie between different pitches removed (O'Neill's transcribers
    wrote `G3-A` for a slur): abc2midi rejects them and a model should not learn them."""
    marks = {(issue.line, issue.col) for issue in score_tune(tune, strict=False)[1]
             if issue.code == "bad-tie"}
    lines = []
    for line in tune.body:
        text = line.text
        for col in sorted((c for ln, c in marks if ln == line.line), reverse=True):
            width = 2 if text[col - 1:col + 1] == ".-" else int(text[col - 1:col] == "-")
            text = text[:col - 1] + text[col - 1 + width:]
        lines.append(BodyLine(text, line.line))
    return lines


def clean_tune(tune: Tune) -> Tune:
    """The normalised tune the corpus keeps: canonical header, one voice, no comments,
    directives, lyrics, non-music fields, unknown decoration letters or ties between
    different pitches; marks that are no chord as annotations; `|]` at the end; single
    spaces."""
    tune = Tune(header=tune.header, body=without_bad_ties(tune), file_header=tune.file_header,
                source=tune.source, start_line=tune.start_line)
    late, music = _split_late_header(tune)
    header_source = Tune(header=[f for f in tune.header if f.name != "K"] + late
                         + [f for f in tune.header if f.name == "K"],
                         file_header=tune.file_header)
    body = []
    for line in _first_voice_lines(music):
        text = _clean_body_line(line.text)
        if text is not None:
            body.append(BodyLine(text, line.line))
    header = _hornpipe_in_common_time(_canonical_header(header_source))
    return Tune(header=header, body=_final_bar_line(body),
                file_header=[], source=tune.source, start_line=tune.start_line)
