"""Repairs for what abc2midi rejects although the standard allows it (notation.compat and
notation.repeats): note spellings, decorations that change a note's length, and repeat marks
abc2midi can't place. Like body.py, each repair edits tokens at the positions `check` gave.
"""

from abcgen.notation import Issue, Tune
from abcgen.notation.compat import SWING_BREAKERS, note_prefix_tokens
from abcgen.notation.edit import rebuild, score_groups, without_ending_text
from abcgen.notation.score import decoration_name
from abcgen.notation.lexer import Token
from abcgen.repair.body import (apply_edits, close_repeat_after, replace_token, rewrite_tokens,
                                 token_at)
from abcgen.repair.result import Edit


def _respelt(match) -> str:
    """`c,` -> `C`, `C'` -> `c` (the same pitch, spelt as abc2midi wants)."""
    letter, marks = match["letter"], match["oct"]
    letter = letter.upper() if letter.islower() else letter.lower()
    start, end = match.start("letter") - match.start(), match.end("oct") - match.start()
    text = match.group(0)
    return text[:start] + letter + marks[1:] + text[end:]


def respell_octaves(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Notes written `c,` or `C'` respelt `C` or `c`: same pitch, and abc2midi reads them."""
    return rewrite_tokens(tune, issues, "note", lambda match: (
        _respelt(match), f"wrote '{match.group(0)}' as '{_respelt(match)}' (the same pitch)"))


def drop_length_decorations(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Staccato, fermata and roll marks that abc2midi can't play in their place are removed
    from the note (a swung hornpipe pair, a bar a fermata would overfill)."""
    tokens = score_groups(tune).tokens
    body_edits, edits, removed = [], [], set()
    for issue in issues:
        note = token_at(tokens, issue.line, issue.col)
        if note is None:
            continue
        wanted = {"fermata"} if issue.code == "fermata" else SWING_BREAKERS
        for index in note_prefix_tokens(tokens, _marked_token(tokens, note)):
            if index not in removed and \
                    decoration_name(tokens[index][0], tokens[index][3]) in wanted:
                removed.add(index)
                body_edits.append(replace_token(tokens[index], ""))
                edits.append(Edit(issue.code, tokens[index][1], tokens[index][2],
                                  f"removed '{tokens[index][3].group(0)}' ({issue.message})"))
    return apply_edits(tune, body_edits), edits


def _marked_token(tokens: list[Token], note: int) -> int:
    """The note, or the chord it sits in: a chord's decorations stand before its `[`."""
    start = note
    while start > 0 and tokens[start - 1][0] == "note":
        start -= 1
    return start - 1 if start > 0 and tokens[start - 1][0] == "chord_start" else note


def _mended_mark(code: str, token: Token) -> str:
    """The text a repeat mark abc2midi rejects becomes (see mend_played_repeats)."""
    kind, _, _, match = token
    if code == "ending-outside-repeat":
        return without_ending_text(token)
    if kind == "ending":
        return ""
    if code == "repeat-reopened":
        return "::"
    if match["dcolon"]:
        return "|:"
    return without_ending_text(token).lstrip(":") or "|"


def _close_at_end(score, why: str):
    """`:|` on the last bar line (a `:[|]` abc2midi doesn't read as a close becomes `:|]`)."""
    index = score.bar_tokens[-1]
    token = score.tokens[index] if index is not None else None
    if token is not None and token[3].group(0).startswith(":"):
        return replace_token(token, ":|]"), Edit("repeat-not-closed", token[1], token[2],
                                                 f"made '{token[3].group(0)}' ':|]' ({why})")
    return close_repeat_after(score, len(score.bars) - 1, why)


# Tokens that take time (a note, a rest, a chord): a repeat opened after the last opens nothing.
_PLAYED_KINDS = frozenset({"note", "rest", "chord_end"})


def _opening_after_music(tokens: list[Token]) -> int | None:
    """The `|:` or `::` written after the tune's last note (it opens a repeat of nothing)."""
    for index in range(len(tokens) - 1, -1, -1):
        kind, _, _, match = tokens[index]
        if kind in _PLAYED_KINDS:
            return None
        if kind == "bar" and (match["rcolon"] or match["dcolon"]):
            return index
    return None


def _close_open_repeat(score, why: str):
    """A repeat left open: a `|:` after the last note loses its colon (`::` becomes `:|`);
    any other gets `:|` on the last bar line."""
    index = _opening_after_music(score.tokens)
    if index is None:
        return _close_at_end(score, why)
    token = score.tokens[index]
    text = ":|" if token[3]["dcolon"] else token[3].group(0).rstrip(":")
    return replace_token(token, text), Edit("repeat-not-closed", token[1], token[2],
                                            f"made '{token[3].group(0)}' '{text}': it opens a "
                                            f"repeat after the last note ({why})")


def mend_played_repeats(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Repeat marks abc2midi can't play: a second `|:` before the first is closed becomes
    `::`; an ending it can't place loses its number; a `:|` with nothing to close becomes `|`
    (a stray `::` becomes `|:`); a repeat left open gets `:|` on the last bar line."""
    score = score_groups(tune)
    tokens, body_edits, edits = score.tokens, [], []
    for issue in issues:
        index = token_at(tokens, issue.line, issue.col)
        if issue.code == "repeat-not-closed" and score.bars:
            body_edit, edit = _close_open_repeat(score, issue.message)
            body_edits.append(body_edit)
            edits.append(Edit(issue.code, edit.line, edit.col, edit.message))
            continue
        if index is None or tokens[index][0] not in ("bar", "ending"):
            continue
        token = tokens[index]
        mended = _mended_mark(issue.code, token)
        if mended == token[3].group(0):
            continue
        body_edits.append(replace_token(token, mended))
        edits.append(Edit(issue.code, token[1], token[2], f"made '{token[3].group(0)}' "
                          f"'{mended}' ({issue.message})"))
    return apply_edits(tune, body_edits), edits


def plain_invisible_bars(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """`[|]` written `|`: the same bar line, shown, and one abc2midi reads."""
    return rewrite_tokens(tune, issues, "bar", lambda match: (
        match.group(0).replace("[|]", "|"), f"wrote '{match.group(0)}' as a plain bar line "
        "(abc2midi reads '[|]' as a chord)"))


def drop_body_fields(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Field lines abc2midi refuses in the tune body (`U:`, `N:` ...) are removed."""
    lines = {issue.line for issue in issues}
    body = [line for line in tune.body if line.line not in lines]
    edits = [Edit(issue.code, issue.line, issue.col, f"removed the line ({issue.message})")
             for issue in issues]
    return rebuild(tune, body=body), edits


def drop_quoted_commas(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Commas are taken out of chord symbols and annotations (music21 fails on them)."""
    return rewrite_tokens(tune, issues, "quoted", lambda match: (
        match.group(0).replace(",", ""), f"wrote {match.group(0)} without its commas (music21 "
                                         "fails on them)"))
