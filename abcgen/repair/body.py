"""Body repairs on tokens: characters that aren't ABC, unclosed groups and marks, ties between
different pitches, unbalanced repeats and endings, and the final bar line.

Each repair takes the tune and the issues of its codes and returns the mended tune and its
edits; positions come from the lexer's tokens (abcgen.notation.edit), never from our own
reading of the text.
"""

import re
from collections.abc import Callable

from abcgen.notation import Issue, Tune, check_tune
from abcgen.notation.edit import (FINAL_BAR, BodyEdit, Score, apply_body_edits,
                                  closing_repeat_text, length_span, rebuild, score_groups,
                                  tie_span, token_span, without_ending_text)
from abcgen.notation.lexer import Token
from abcgen.repair.result import Edit

# Bar lines that can open a repeat as well, and how they are written then (`::`, not `:|:`,
# which abc2midi 4.84 misreads as a bare `:|`).
OPENED_BARS = {"|": "|:", "||": "||:", ":|": "::", ":||": ":||:"}
OPENABLE_BARS = frozenset(OPENED_BARS)
# Tokens that carry music: the final bar line goes after the last of them.
_SOUNDING = frozenset({"note", "rest", "chord_end", "bar", "grace_end", "slur_end", "tuplet",
                       "broken", "quoted", "deco", "short_deco", "chord_start", "grace_start",
                       "slur_start", "ending"})


def replace_token(token: Token, text: str) -> BodyEdit:
    start, end = token_span(token)
    return BodyEdit(token[1], start, end, text)


def insert_after(token: Token, text: str) -> BodyEdit:
    end = token_span(token)[1]
    return BodyEdit(token[1], end, end, text)


def insert_before(token: Token, text: str) -> BodyEdit:
    start = token_span(token)[0]
    return BodyEdit(token[1], start, start, text)


def apply_edits(tune: Tune, body_edits: list[BodyEdit]) -> Tune:
    return rebuild(tune, body=apply_body_edits(tune.body, body_edits))


def _where(token: Token) -> tuple[int, int]:
    return token[1], token[2]


def token_at(tokens: list[Token], line: int, col: int) -> int | None:
    return next((i for i, t in enumerate(tokens) if t[1] == line and t[2] == col
                 and t[0] != "eol"), None)


def delete_bad_tokens(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Delete what isn't ABC (a stray character, a lone `"`, an unplayable tuplet, a `>` with
    no note before it); an absurd note length becomes one unit."""
    tokens = score_groups(tune).tokens
    body_edits, edits = [], []
    for issue in issues:
        index = token_at(tokens, issue.line, issue.col)
        if index is None or tokens[index][0] in ("bar", "field"):
            continue  # nothing to delete here (e.g. a whole tune too long): the tune fails
        token = tokens[index]
        span = length_span(token) if issue.code == "bad-duration" else None
        if span is not None:
            body_edits.append(BodyEdit(token[1], *span, ""))
            what = f"length '{token[3].group(0)}' set to one unit"
        else:
            body_edits.append(replace_token(token, ""))
            what = f"deleted '{token[3].group(0)}'"
        edits.append(Edit(issue.code, issue.line, issue.col, f"{what} ({issue.message})"))
    return apply_edits(tune, body_edits), edits


def rewrite_tokens(tune: Tune, issues: list[Issue], kind: str,
                   rewrite: Callable[[re.Match], tuple[str, str]]) -> tuple[Tune, list[Edit]]:
    """Each issue's token of `kind` replaced by `rewrite(match)`'s text, its message logged."""
    tokens = score_groups(tune).tokens
    body_edits, edits = [], []
    for issue in issues:
        index = token_at(tokens, issue.line, issue.col)
        if index is None or tokens[index][0] != kind:
            continue
        text, message = rewrite(tokens[index][3])
        body_edits.append(replace_token(tokens[index], text))
        edits.append(Edit(issue.code, issue.line, issue.col, message))
    return apply_edits(tune, body_edits), edits


def annotate_chord_symbols(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A quoted text that isn't a chord (`"4"`, `" Em"`) becomes an annotation above the
    staff (`"^4"`): what was written is kept, and nobody plays it as a chord."""
    return rewrite_tokens(tune, issues, "quoted", lambda match: (
        f'"^{match["qtext"]}"', f'"{match["qtext"]}" written as the annotation '
                                f'"^{match["qtext"]}"'))


def open_repeat_for_endings(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Endings in a part whose `:|` has no `|:`: open the repeat where the part begins, or,
    where no bar line can take the `|:`, the endings lose their numbers."""
    opened, edits = open_repeats(tune)
    if edits:
        return opened, edits
    score = score_groups(tune)
    body_edits = []
    for issue in issues:
        bar = _bar_at(score, issue.line, issue.col)
        dropped = None if bar is None else _drop_ending_number(score, bar, issue)
        if dropped is not None:
            body_edits.append(dropped[0])
            edits.append(dropped[1])
    return apply_edits(tune, body_edits), edits


def _drop_ending_number(score: Score, bar: int, issue: Issue) -> tuple[BodyEdit, Edit] | None:
    """The edit taking the number off the mark that starts ending `bar` (`[2`, `:|2`)."""
    mark = _ending_mark(score, bar)
    if mark is None:
        return None
    token = score.tokens[mark]
    return replace_token(token, without_ending_text(token)), Edit(
        issue.code, *_where(token), f"removed the ending number of '{token[3].group(0)}' "
        f"({issue.message})")


def close_groups(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A chord still open at its bar line is closed after its last note (or its empty `[`
    deleted); a `[` inside a chord and an unclosed `{` are deleted, the notes kept."""
    score = score_groups(tune)
    tokens, body_edits, edits = score.tokens, [], []
    for start, last in score.open_chords:
        if last is not None:
            body_edits.append(insert_after(tokens[last], "]"))
            edits.append(Edit("unclosed-chord", *_where(tokens[last]), "closed the chord with ]"))
        else:
            body_edits.append(replace_token(tokens[start], ""))
            edits.append(Edit("unclosed-chord", *_where(tokens[start]), "deleted an empty ["))
    for index in score.nested_chords:
        body_edits.append(replace_token(tokens[index], ""))
        edits.append(Edit("unclosed-chord", *_where(tokens[index]), "deleted a [ inside a chord"))
    for index in score.open_graces:
        body_edits.append(replace_token(tokens[index], ""))
        edits.append(Edit("unclosed-grace", *_where(tokens[index]),
                          "deleted an unclosed {; its notes are played as written"))
    return apply_edits(tune, body_edits), edits


def _open_slurs(tokens: list[Token]) -> list[int]:
    """Indexes of `(` that no `)` closes."""
    stack: list[int] = []
    for index, (kind, *_) in enumerate(tokens):
        if kind == "slur_start":
            stack.append(index)
        elif kind == "slur_end" and stack:
            stack.pop()
    return stack


def drop_unclosed_marks(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Delete slurs `(` never closed and a tuplet mark `(3` that lacks notes at the end."""
    score = score_groups(tune)
    tokens = score.tokens
    marks = _open_slurs(tokens) if any(i.code == "unclosed-slur" for i in issues) else []
    if score.open_tuplet is not None and any(i.code == "unclosed-tuplet" for i in issues):
        marks.append(score.open_tuplet)
    edits = [Edit("unclosed-slur" if tokens[i][0] == "slur_start" else "unclosed-tuplet",
                  *_where(tokens[i]), f"deleted '{tokens[i][3].group(0)}', never completed")
             for i in marks]
    return apply_edits(tune, [replace_token(tokens[i], "") for i in marks]), edits


def drop_bad_ties(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A tie between different pitches is removed (the issue points at the tie mark)."""
    tokens = score_groups(tune).tokens
    body_edits, edits = [], []
    for issue in issues:
        for token in tokens:
            span = tie_span(token) if token[1] == issue.line else None
            if span is not None and span[0] + 1 == issue.col:
                body_edits.append(BodyEdit(token[1], *span, ""))
                edits.append(Edit("bad-tie", issue.line, issue.col,
                                  "removed a tie to a note of another pitch"))
    return apply_edits(tune, body_edits), edits


def _bar_at(score: Score, line: int, col: int) -> int | None:
    return next((i for i, bar in enumerate(score.bars) if (bar.line, bar.col) == (line, col)),
                None)


def _section_last_bar(score: Score, first: int, endings: bool) -> int:
    """The last bar of the section (or, with `endings`, of the ending) starting at `first`."""
    bars = score.bars
    for index in range(first, len(bars)):
        following = bars[index + 1] if index + 1 < len(bars) else None
        if bars[index].section_end or following is None or following.open_repeat \
                or (endings and following.ending):
            return index
    return len(bars) - 1


def close_repeat_after(score: Score, bar: int, why: str) -> tuple[BodyEdit, Edit]:
    """An end repeat on the bar line that closes `bar` (appended at the end when none does)."""
    index = score.bar_tokens[bar]
    if index is not None:
        token = score.tokens[index]
        return replace_token(token, closing_repeat_text(token)), \
            Edit("unclosed-repeat", *_where(token), f"made '{token[3].group(0)}' "
                 f"'{closing_repeat_text(token)}' ({why})")
    last = last_music_token(score.tokens)
    return insert_after(score.tokens[last], ":|"), Edit("unclosed-repeat", *_where(
        score.tokens[last]), f"added :| at the end ({why})")


def _ending_mark(score: Score, bar: int) -> int | None:
    """The token that starts ending `bar` (`[2`, `|2`, `:|2`)."""
    first = score.bar_tokens[bar - 1] if bar > 0 and score.bar_tokens[bar - 1] is not None else 0
    stop = score.bar_tokens[bar] if score.bar_tokens[bar] is not None else len(score.tokens)
    for index in range(stop - 1, first - 1, -1):  # the last mark in the bar is the one in force
        kind, _, _, match = score.tokens[index]
        if kind == "ending" or (kind == "bar" and match["bnum"]):
            return index
    return None


def balance_repeats(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """`|:` never closed gets `:|` at the end of its section; an ending `[1` is closed by `:|`
    after it; a later ending with no repeat before it loses its number."""
    score = score_groups(tune)
    body_edits, edits = [], []
    located = [(issue, _bar_at(score, issue.line, issue.col)) for issue in issues]
    located = [(issue, bar) for issue, bar in located if bar is not None]
    first_endings = [(i, bar) for i, bar in located if score.bars[bar].ending[:1] == (1,)]
    for issue, bar in first_endings or located:  # closing [1 may settle the others
        if issue.code == "unclosed-repeat" or score.bars[bar].ending[:1] == (1,):
            last = _section_last_bar(score, bar, endings=issue.code == "bad-ending")
            body_edit, edit = close_repeat_after(score, last, issue.message)
        else:
            dropped = _drop_ending_number(score, bar, issue)
            if dropped is None:
                continue
            body_edit, edit = dropped
        body_edits.append(body_edit)
        edits.append(Edit(issue.code, edit.line, edit.col, edit.message))
    return apply_edits(tune, body_edits), edits


def last_music_token(tokens: list[Token]) -> int:
    return max((i for i, t in enumerate(tokens) if t[0] in _SOUNDING), default=0)


def add_final_bar(tune: Tune) -> tuple[Tune, list[Edit]]:
    """A tune whose music doesn't end on a bar line gets `|]`."""
    tokens = score_groups(tune).tokens
    if not tokens:
        return tune, []
    last = last_music_token(tokens)
    if tokens[last][0] == "bar":
        return tune, []
    return apply_edits(tune, [insert_after(tokens[last], FINAL_BAR)]), \
        [Edit("final-bar", *_where(tokens[last]), "added the final bar line |]")]


def close_final_bar(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """A short last bar that adds up with the pickup but ends on `|` or `||` gets `|]`,
    the end players expect of a short final bar. No edit when that isn't the case."""
    score = score_groups(tune)
    last_bar = score.bars[-1] if score.bars else None
    if last_bar is None or not any((i.line, i.col) == (last_bar.line, last_bar.col)
                                   for i in issues):
        return tune, []
    index = last_music_token(score.tokens)
    token = score.tokens[index]
    if token[0] != "bar" or token[3].group(0) not in ("|", "||"):
        return tune, []
    mended = apply_edits(tune, [replace_token(token, FINAL_BAR)])
    if any(i.code == "bar-length" for i in check_tune(mended)
           if (i.line, i.col) == (last_bar.line, last_bar.col)):
        return tune, []  # the bar is wrong in length, not only in its ending: mend_bars' job
    return mended, [Edit("bar-length", *_where(token), "ended the short last bar with |]")]


def _section_opening(score: Score, start: int) -> BodyEdit | None:
    """The edit that opens a repeat at bar `start`: `|:` on the bar line before it (`:|` ->
    `:|:`, `||` -> `||:`), or before the tune's first bar (after its pickup)."""
    if start > 0:
        index = _bar_line_before(score, start)
        token = score.tokens[index] if index is not None else None
        if token is None or token[3]["bnum"] or token[3].group(0) not in OPENABLE_BARS:
            return None
        return replace_token(token, OPENED_BARS[token[3].group(0)])
    first = score.bars[0]
    pickup = first.expected is not None and first.duration < first.expected
    if pickup and score.bar_tokens[0] is not None and len(score.bars) > 1:
        return _section_opening(score, 1)
    music = next((i for i, t in enumerate(score.tokens) if t[0] in _SOUNDING), None)
    return None if music is None else insert_before(score.tokens[music], "|:")


def _bar_line_before(score: Score, bar: int) -> int | None:
    """The last bar-line token before bar `bar`'s first note (stray empty bars included)."""
    groups = score.bar_groups(bar)
    if not groups:
        return score.bar_tokens[bar - 1]
    return next((i for i in range(groups[0].token - 1, -1, -1)
                 if score.tokens[i][0] == "bar"), None)


def open_repeats(tune: Tune) -> tuple[Tune, list[Edit]]:
    """`:|` without `|:` gets `|:` where its part begins (the standard plays it from there
    anyway; abc2midi rejects endings in such a part)."""
    score = score_groups(tune)
    body_edits, edits, start, opened = [], [], 0, False
    for index, bar in enumerate(score.bars):
        opened = opened or bar.open_repeat
        if bar.close_repeat and not opened:
            body_edit = _section_opening(score, start)
            if body_edit is not None:
                body_edits.append(body_edit)
                edits.append(Edit("unopened-repeat", bar.line, bar.col,
                                  f"opened the repeat that bar {index + 1} closes with |:"))
        if bar.close_repeat or (bar.section_end and not opened):
            start, opened = index + 1, False
    return apply_edits(tune, body_edits), edits
