"""Header repairs: X:, M:, L:, K: and K: last; the title is written last (see `write_title`).

Each repair takes the tune and the issues of its codes and returns the mended tune (read back
from its new text) and the edits it made. Header fields are changed as `Field`s; body lines
only through abcgen.notation.edit.
"""

from fractions import Fraction

from abcgen.notation import Field, Issue, MeterError, Tune, build_timeline, parse_meter
from abcgen.notation.edit import (BodyEdit, apply_body_edits, meter_from_bars, rebuild,
                                  score_groups, token_span, unit_for_meter)
from abcgen.notation.errors import UnitLengthError
from abcgen.notation.fields import CANONICAL_ORDER, parse_unit_length, rhythm_meter
from abcgen.notation.lexer import body_field, tokenize
from abcgen.repair.infer import content_title, infer_key
from abcgen.repair.result import Edit, TitleWriter

# Fields a tune has once: a copy written after K: replaces the header's (it was in effect).
SINGLE_FIELDS = frozenset("MLQRK")
DEFAULT_METER = "4/4"  # the commonest folk meter, when neither bars nor R: say anything
TITLE_MAX_CHARS = 80


def insert_field(header: list[Field], new: Field) -> list[Field]:
    """`header` with `new` after the last field that comes before it in the canonical order
    (X, T, M, L, Q, R, P, K), and never after K:."""
    rank = CANONICAL_ORDER.index(new.name) if new.name in CANONICAL_ORDER else len(CANONICAL_ORDER)
    position = 0
    for index, fld in enumerate(header):
        if fld.name in CANONICAL_ORDER[:rank] and fld.name != "K":
            position = index + 1
    keys = [index for index, fld in enumerate(header) if fld.name == "K"]
    if keys and new.name != "K":
        position = min(position, keys[0])
    elif new.name == "K":
        position = len(header)
    return header[:position] + [new] + header[position:]


def _header_field_at(tune: Tune, line: int) -> Field | None:
    return next((fld for fld in tune.header if fld.line == line), None)


def _drop_body_token(tune: Tune, issue: Issue) -> tuple[Tune, list[Edit]]:
    """Remove a body field or inline field that can't be read (`[M:foo]`, `K:Gx` in the body)."""
    for token in tokenize(tune.body):
        if token[1:3] == (issue.line, issue.col) and token[0] in ("field", "inline"):
            start, end = token_span(token)
            body = apply_body_edits(tune.body, [BodyEdit(issue.line, start, end, "")])
            return rebuild(tune, body=body), [Edit(issue.code, issue.line, issue.col,
                                                   f"removed {token[3].group(0).strip()}: "
                                                   f"{issue.message}")]
    return tune, []


def drop_late_voice(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """The one voice's V: written after the music began goes (one per round: the positions
    of the others move)."""
    return _drop_body_token(tune, issues[0])


def fix_reference_number(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """One X: first, holding a positive number (the book renumbers it later)."""
    xs = [fld for fld in tune.header if fld.name == "X"]
    number = xs[0].value.strip() if xs and xs[0].value.strip().isdigit() \
        and int(xs[0].value.strip()) > 0 else "1"
    header = [Field("X", number, xs[0].line if xs else 0)] + \
        [fld for fld in tune.header if fld.name != "X"]
    edits = [Edit(issue.code, issue.line, issue.col, f"X:{number} first and once ({issue.message})")
             for issue in issues]
    return rebuild(tune, header=header), edits


def _with_meter(tune: Tune, value: str) -> list[Field]:
    """The header with M:`value`, plus the L: the notes were read with when the new meter's
    default unit would change their lengths."""
    old_unit = build_timeline(tune, strict=False).unit
    header = [fld for fld in tune.header if fld.name != "M"]
    header = insert_field(header, Field("M", value))
    if tune.get("L") is None and unit_for_meter(value) != old_unit:
        header = insert_field(header, Field("L", str(old_unit)))
    return header


def fix_meter(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A missing or unreadable M: inferred from the bar lengths, else from R:, else 4/4."""
    header_issues = [i for i in issues if i.code == "missing-meter" or
                     _header_field_at(tune, i.line) is not None]
    if not header_issues:
        return _drop_body_token(tune, issues[0])
    flagged = {i.line for i in header_issues}
    if any(f.name == "M" and f.line not in flagged for f in tune.header):
        header = [f for f in tune.header if not (f.name == "M" and f.line in flagged)]
        return rebuild(tune, header=header), [Edit(i.code, i.line, i.col, f"removed that M: "
                                                   f"line ({i.message})") for i in header_issues]
    score = score_groups(Tune(header=[f for f in tune.header if f.name != "M"], body=tune.body,
                              source=tune.source))
    hint = rhythm_meter(tune.get("R"))
    meter = meter_from_bars(score.bars, score.groups, hint)
    why = "from the bar lengths" if meter else ("from R:" if hint else "the commonest meter")
    meter = meter or hint or DEFAULT_METER
    issue = header_issues[0]
    edit = Edit(issue.code, issue.line, issue.col, f"M:{meter} ({why}; {issue.message})")
    return rebuild(tune, header=_with_meter(tune, meter)), [edit]


def fix_unit_length(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """An unreadable L: becomes the default unit of the tune's meter."""
    issue = issues[0]
    fld = _header_field_at(tune, issue.line)
    if fld is None:
        return _drop_body_token(tune, issue)
    if sum(1 for f in tune.header if f.name == "L") > 1:  # another L: line stays
        header = [f for f in tune.header if f is not fld]
        return rebuild(tune, header=header), [Edit(issue.code, issue.line, issue.col,
                                                   f"removed L:{fld.value} ({issue.message})")]
    unit = _unit_for(fld.value, tune)
    header = [Field("L", str(unit), f.line) if f is fld else f for f in tune.header]
    return rebuild(tune, header=header), [Edit(issue.code, issue.line, issue.col,
                                               f"L:{unit} (the meter's default; {issue.message})")]


def fix_key(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A missing or unreadable K: inferred from the melody's pitches, written last."""
    issue = next((i for i in issues if i.code == "missing-key"
                  or _header_field_at(tune, i.line) is not None), None)
    if issue is None:
        return _drop_body_token(tune, issues[0])
    key = infer_key(build_timeline(tune, strict=False).events)
    header = [f for f in tune.header if not (f.name == "K" and f.line == issue.line)]
    header = [f for f in header if f.name != "K"] + [Field("K", key)]
    return rebuild(tune, header=header), [Edit(issue.code, issue.line, issue.col,
                                               f"K:{key} (from the melody's pitches; "
                                               f"{issue.message})")]


def move_fields_before_key(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Fields written between K: and the music move into the header before K: (a later
    M:, L:, Q:, R: or K: replaces the header's, since it was the one in effect)."""
    lines = {issue.line for issue in issues}
    header, edits = list(tune.header), []
    for body_line in tune.body:
        if body_line.line not in lines:
            continue
        name, value = body_field(body_line.text)
        if name == "K":
            header = [Field("K", value) if f.name == "K" else f for f in header]
        else:
            if name in SINGLE_FIELDS:
                header = _without_field(header, name, tune, value)
            header = insert_field(header, Field(name, value))
        edits.append(Edit("key-not-last", body_line.line, 1, f"moved {name}:{value} into the "
                          "header before K:, which must end it"))
    body = [line for line in tune.body if line.line not in lines]
    return rebuild(tune, header=header, body=body), edits


def _without_field(header: list[Field], name: str, tune: Tune, value: str) -> list[Field]:
    """Drop header field `name`; keep the notes' unit when a moved M: changes the default L:."""
    kept = [f for f in header if f.name != name]
    if name == "M" and tune.get("L") is None:
        unit = build_timeline(tune, strict=False).unit
        if _default_unit(value) not in (None, unit):
            kept = insert_field(kept, Field("L", str(unit)))
    return kept


def _unit_for(value: str, tune: Tune) -> Fraction | str:
    """The L: to write for an L: that `check` refused: `L:1` as abc2midi spells it (`1/1`,
    the same unit); otherwise the meter's default, since `L:8` or `L:3/8` is a slip (the
    bars, written in the usual unit, then fit)."""
    try:
        if parse_unit_length(value) == 1:
            return "1/1"
    except UnitLengthError:
        pass
    return _default_unit(tune.get("M") or DEFAULT_METER) or build_timeline(tune, strict=False).unit


def _default_unit(meter: str) -> Fraction | None:
    try:
        return unit_for_meter(meter)
    except MeterError:  # an unreadable M: is fixed by fix_meter next round
        return None


def _drop_field_lines(tune: Tune, issues: list[Issue], name: str) -> tuple[Tune, list[Edit]]:
    """Drop the `name:` fields (header or body lines, inline `[P:A1]`) the issues point at."""
    lines, places = {issue.line for issue in issues}, {(i.line, i.col) for i in issues}
    inline = [BodyEdit(t[1], *token_span(t), "") for t in tokenize(tune.body)
              if t[0] == "inline" and t[3]["iname"] == name and t[1:3] in places]
    header = [f for f in tune.header if not (f.name == name and f.line in lines)]
    body = [line for line in apply_body_edits(tune.body, inline)
            if not (line.line in lines and (body_field(line.text) or ("",))[0] == name)]
    edits = [Edit(issue.code, issue.line, issue.col, f"dropped {name}: ({issue.message})")
             for issue in issues]
    return rebuild(tune, header=header, body=body), edits


def fix_hornpipe_meter(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """R:hornpipe in C| or 2/2 becomes M:C (the same bar, which abc2midi accepts); in any other
    meter the R: goes, since the rhythm named doesn't fit the music."""
    meter = tune.get("M") or ""
    issue = issues[0]
    if parse_meter(meter).bar == 1:
        return rebuild(tune, header=_with_meter(tune, "C")), [Edit(
            issue.code, issue.line, 1, f"M:{meter} written as M:C, the same bar ({issue.message})")]
    return _drop_field_lines(tune, issues, "R")


def drop_parts(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A header P: that is no play order, or names parts the body never labels, is dropped
    (the body's parts then play in written order); so is a body P: that is no part letter."""
    return _drop_field_lines(tune, issues, "P")


def strip_header_bars(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A header value written after a `|` (`T:|oulley Lasses`) loses the bar lines in front."""
    lines = {issue.line for issue in issues}
    header = [Field(f.name, f.value.lstrip().lstrip("|").lstrip(), f.line) if f.line in lines
              else f for f in tune.header]
    edits = [Edit(issue.code, issue.line, issue.col, f"removed the '|' before the value "
                  f"({issue.message})") for issue in issues]
    return rebuild(tune, header=header), edits


def drop_tempo(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A Q: that can't be read as a tempo is dropped (players ignore it anyway)."""
    return _drop_field_lines(tune, issues, "Q")


def write_title(tune: Tune, issues: list[Issue],
                title_writer: TitleWriter | None) -> tuple[Tune, list[Edit]]:
    """A missing or empty T: gets a title from `title_writer` (given the header up to `T:`),
    or one made from the tune's own content when there is none or it gives nothing."""
    header = [f for f in tune.header if not (f.name == "T" and not f.value.strip())]
    header = insert_field(header, Field("T", ""))
    at = next(index for index, f in enumerate(header) if f.name == "T" and not f.value)
    prompt = "\n".join(f"{f.name}:{f.value}" for f in header[:at + 1])
    title, how = _written_title(prompt, title_writer)
    if not title:
        title = content_title("\n".join(line.text for line in tune.body), tune.get("M"),
                              tune.get("R"))
        how = f"made from the tune's content ({how})"
    header[at] = Field("T", title)
    issue = issues[0]
    return rebuild(tune, header=header), [Edit(issue.code, issue.line, issue.col,
                                               f"T:{title} ({how})")]


def _written_title(prompt: str, title_writer: TitleWriter | None) -> tuple[str, str]:
    """The writer's title cleaned to one line of text, and how it came about."""
    if title_writer is None:
        return "", "no title writer given"
    try:
        raw = title_writer(prompt)
    except Exception as exc:  # noqa: BLE001 - a failing model must not lose the tune
        return "", f"the title writer failed: {exc}"
    line = (raw or "").split("\n")[0].replace("%", "").strip()[:TITLE_MAX_CHARS].strip()
    return line, "written by the model" if line else "the title writer wrote nothing"
