"""`repair_tune`: check, mend the first kind of error, read the tune back, check again.

Stages run in a fixed order (header before body, body marks before bar lengths, the title
last so the title writer sees the repaired header); each round runs the first stage that has
errors to fix. A tune with no errors is returned untouched; one that still has errors after
the rounds, or where a stage changes nothing, fails with the reason.
"""

from functools import partial

from abcgen.notation import Issue, Tune, check_tune, dumps, read_errors
from abcgen.repair import body, header, marks
from abcgen.notation.writer import read_back
from abcgen.repair.bars import mend_bars
from abcgen.repair.result import Edit, RepairResult, TitleWriter

# Stage order matters: each fix may change what later stages see (a new M: changes bar
# lengths; deleting characters changes durations; the title writer wants the final header).
STAGES = (
    (frozenset({"key-not-last"}), header.move_fields_before_key),
    (frozenset({"header-bar"}), header.strip_header_bars),
    (frozenset({"bad-parts"}), header.drop_parts),
    (frozenset({"invalid-tempo"}), header.drop_tempo),
    (frozenset({"hornpipe-meter"}), header.fix_hornpipe_meter),
    (frozenset({"missing-x", "bad-x", "duplicate-x"}), header.fix_reference_number),
    (frozenset({"missing-meter", "invalid-meter"}), header.fix_meter),
    (frozenset({"invalid-length"}), header.fix_unit_length),
    (frozenset({"missing-key", "invalid-key"}), header.fix_key),
    (frozenset({"bad-character", "unclosed-quote", "bad-duration", "bad-tuplet",
                "bad-broken-rhythm", "unequal-broken-rhythm", "misplaced-decoration"}),
     body.delete_bad_tokens),
    (frozenset({"octave-spelling"}), marks.respell_octaves),
    (frozenset({"invisible-bar"}), marks.plain_invisible_bars),
    (frozenset({"field-in-body"}), marks.drop_body_fields),
    (frozenset({"late-voice"}), header.drop_late_voice),
    (frozenset({"quoted-comma"}), marks.drop_quoted_commas),
    (frozenset({"swung-decoration", "fermata"}), marks.drop_length_decorations),
    (frozenset({"unclosed-chord", "unclosed-grace"}), body.close_groups),
    (frozenset({"bad-chord-symbol"}), body.annotate_chord_symbols),
    (frozenset({"unclosed-slur", "unclosed-tuplet"}), body.drop_unclosed_marks),
    (frozenset({"bad-tie"}), body.drop_bad_ties),
    (frozenset({"unclosed-repeat", "bad-ending"}), body.balance_repeats),
    (frozenset({"unopened-repeat"}), body.open_repeat_for_endings),
    (frozenset({"repeat-reopened", "ending-outside-repeat", "stray-repeat",
                "repeat-not-closed"}), marks.mend_played_repeats),
    (frozenset({"bar-length"}), lambda tune, issues: _first_change(
        tune, issues, body.close_final_bar, mend_bars)),
)
def _first_change(tune: Tune, issues: list[Issue], *repairs) -> tuple[Tune, list[Edit]]:
    """The first of `repairs` that changes the tune."""
    for repair in repairs:
        mended, edits = repair(tune, issues)
        if edits:
            return mended, edits
    return tune, []


TITLE_CODES = frozenset({"missing-title", "empty-title"})
# Errors no edit can fix: the tune fails with the checker's message as its reason.
HOPELESS_CODES = frozenset({"no-notes"})
MAX_ROUNDS = 64
# Longer bodies (a 100,000-bar tune) fail at once instead of being checked round after round.
MAX_BODY_CHARS = 200_000


def errors_of(tune: Tune, mend: frozenset[str] = frozenset()) -> list[Issue]:
    """The tune's errors, and its warnings whose codes are in `mend`."""
    return [issue for issue in check_tune(tune) if issue.severity == "error"
            or issue.code in mend]


def _stage_for(issues: list[Issue], title_writer: TitleWriter | None):
    """The first stage with errors to fix, and those errors."""
    codes = {issue.code for issue in issues}
    for stage_codes, stage in STAGES:
        if codes & stage_codes:
            return stage, [i for i in issues if i.code in stage_codes]
    if codes & TITLE_CODES:
        return partial(header.write_title, title_writer=title_writer), \
            [i for i in issues if i.code in TITLE_CODES]
    return None, []


def _reason(issues: list[Issue]) -> str:
    first = next((i for i in issues if i.code in HOPELESS_CODES), issues[0])
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{first.code} at {first.line}:{first.col}: {first.message}{more}"


def repair_tune(tune: Tune, title_writer: TitleWriter | None = None,
                mend: frozenset[str] = frozenset()) -> RepairResult:
    """Repair one tune into valid, titled ABC (see the module docstring), mending the
    warnings whose codes are in `mend` too. Never raises for a bad tune: what can't be mended
    comes back with status 'failed' and a reason."""
    unreadable = read_errors(tune)  # a NUL in the music: nothing to mend, the tune fails
    if unreadable:
        return RepairResult(tune, [], "failed", _reason(unreadable))
    size = sum(len(line.text) for line in tune.body)
    if size > MAX_BODY_CHARS:
        return RepairResult(tune, [], "failed", f"the body is {size} characters, over the "
                            f"{MAX_BODY_CHARS} a tune can have to be repaired")
    issues = errors_of(tune, mend)
    if not issues:
        return RepairResult(tune)
    edits: list[Edit] = []
    for _ in range(MAX_ROUNDS):
        stage, stage_issues = _stage_for(issues, title_writer)
        if stage is None:
            break  # only errors no edit can fix (no notes) are left
        before = dumps(tune)
        tune, new_edits = stage(tune, stage_issues)
        if dumps(tune) == before:
            break  # the stage could change nothing: the tune fails below
        edits.extend(new_edits)
        issues = errors_of(tune, mend)
        if not issues:
            return _finished(tune, edits, mend)
    return RepairResult(tune, edits, "failed", _reason(issues))


# Tidying a repaired tune gets (a clean tune is left alone): each is kept when the tune stays
# valid.
FINISHING = (body.open_repeats, body.add_final_bar)


def _finished(tune: Tune, edits: list[Edit], mend: frozenset[str]) -> RepairResult:
    """A repaired tune with its repeats opened and a final bar line, where that keeps it
    valid; failed when its written text, read back, is not that valid tune."""
    for finish in FINISHING:
        finished, new_edits = finish(tune)
        if new_edits and not errors_of(finished, mend):
            tune, edits = finished, edits + new_edits
    unread = _read_back_failure(tune, mend)
    return RepairResult(tune, edits, "failed" if unread else "repaired", unread or "")


def _read_back_failure(tune: Tune, mend: frozenset[str]) -> str | None:
    """Why the text repair writes for `tune` fails when a reader reads it (repair judged
    its own view of the tune; a reader judges the text), or None."""
    tunes = read_back(tune)
    if len(tunes) != 1:
        return f"the repaired text reads back as {len(tunes)} tunes, not one"
    issues = errors_of(tunes[0], mend)
    return f"the repaired text, read back, fails: {_reason(issues)}" if issues else None
