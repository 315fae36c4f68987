"""Tune body -> tokens. One master regex; each alternative has the standard's section above it.

A token is a tuple `(kind, line, col, match)`; `match` holds the groups the timeline reads.
Body lines that are fields (`w:`, `P:A`, `K:G`, `V:2` ...) become 'field' tokens.
"""

import re
from collections.abc import Iterator

from abcgen.notation.model import BodyLine

# Kinds of token, in the order the master regex tries them (the first that matches wins).
_TOKEN = re.compile(r"""
  (?P<space>[ \t`]+)
# http://abcnotation.com/wiki/abc:standard:v2.1#pitch, #accidentals, #note_lengths
# (Notes come first: they are most tokens, and no other rule starts with ^ _ = or A-G a-g.)
| (?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<oct>[,']*)(?P<len>\d*/*\d*)
          (?P<tie>\.?-)?)
# http://abcnotation.com/wiki/abc:standard:v2.1#inline_field_definition
| (?P<inline>\[(?P<iname>[A-Za-z]):(?P<ivalue>[^\]\n]*)\])
# http://abcnotation.com/wiki/abc:standard:v2.1#chord_symbols and #annotations
| (?P<quoted>"(?P<qtext>[^"\n]*)")
| (?P<open_quote>")
# http://abcnotation.com/wiki/abc:standard:v2.1#decorations (`+trill+` is the 2.0 dialect)
| (?P<deco>!(?P<dname>[^!\n\s]{1,40})!|\+(?P<pname>[A-Za-z<>().0-9]{1,40})\+)
# http://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols, #first_and_second_repeats
| (?P<bar>(?P<lcolon>:*)\.?(?P<btype>\[\|\]|\[\||\|\]|\|\||\|)(?P<rcolon>:*)
         (?P<bnum>\d+(?:[,\-]\d+)*)?
         |(?P<dcolon>::+))
# http://abcnotation.com/wiki/abc:standard:v2.1#variant_endings
| (?P<ending>\[(?P<enums>\d+(?:[,\-]\d+)*))
# http://abcnotation.com/wiki/abc:standard:v2.1#chords_and_unisons
| (?P<chord_start>\[)
| (?P<chord_end>\](?P<clen>\d*/*\d*)(?P<ctie>\.?-)?)
# http://abcnotation.com/wiki/abc:standard:v2.1#grace_notes
| (?P<grace_start>\{(?P<acciaccatura>/?))
| (?P<grace_end>\})
# http://abcnotation.com/wiki/abc:standard:v2.1#voice_overlay — `(&` ... `&` ... `&)` spans bars
| (?P<overlay>\(&|&\)|&)
# http://abcnotation.com/wiki/abc:standard:v2.1#duplets_triplets_quadruplets_etc
| (?P<tuplet>\((?P<tp>[1-9]\d*)(?::(?P<tq>\d*))?(?::(?P<tr>\d*))?)
# http://abcnotation.com/wiki/abc:standard:v2.1#ties_and_slurs
| (?P<slur_start>\.?\()
| (?P<slur_end>\))
# http://abcnotation.com/wiki/abc:standard:v2.1#rests
| (?P<rest>(?P<rkind>[zxZX])(?P<rlen>\d*/*\d*))
# http://abcnotation.com/wiki/abc:standard:v2.1#broken_rhythm
| (?P<broken>>{1,3}|<{1,3})
# http://abcnotation.com/wiki/abc:standard:v2.1#decorations (shorthands; U: may redefine them)
| (?P<short_deco>[~.HLMOPSTuvhijklmnopqrstw])
# http://abcnotation.com/wiki/abc:standard:v2.1#continuation_of_input_lines
| (?P<continuation>\\)
# http://abcnotation.com/wiki/abc:standard:v2.1#typesetting_line-breaks, #voice_overlay, spacer
| (?P<linebreak>[$!])
| (?P<spacer>y)
| (?P<bad>.)
""", re.X)

# http://abcnotation.com/wiki/abc:standard:v2.1#comments_and_remarks — `%` to the end of line,
# `\%` is a literal percent sign.
_COMMENT = re.compile(r"(?<!\\)%.*$")
# A body line that is a field: `w:`, `P:A`, `K:G` ... but not `A:|` or `a::`, which are music.
_BODY_FIELD = re.compile(r"^(?P<name>[A-Za-z+]):(?![|:])(?P<value>.*)$")

SHORT_DECORATIONS = {"~": "roll", ".": "staccato", "H": "fermata", "L": "accent",
                     "M": "lowermordent", "O": "coda", "P": "uppermordent", "S": "segno",
                     "T": "trill", "u": "upbow", "v": "downbow"}

Token = tuple[str, int, int, re.Match | None]


def body_field(text: str) -> tuple[str, str] | None:
    """('w', 'la la') for a body field line, else None."""
    match = _BODY_FIELD.match(text)
    return (match["name"], match["value"].strip()) if match else None


def token_field(token: Token) -> tuple[str, str] | None:
    """(name, value) of a 'field' token (a body field line) or an 'inline' one (`[K:D]`)."""
    kind, _, _, match = token
    if kind == "field":
        return match["name"], match["value"]
    if kind == "inline":
        return match["iname"], match["ivalue"]
    return None


def strip_comment(text: str) -> str:
    """The line without its `%` comment."""
    return _COMMENT.sub("", text)


def tokenize_line(text: str, line: int) -> Iterator[Token]:
    """Tokens of one music line; a field line gives one 'field' token; comments are dropped."""
    return iter(list(tokenize((BodyLine(text, line),)))[:-1])  # all but its 'eol' token


def tokenize(lines) -> Iterator[Token]:
    """Tokens of a body given as BodyLine objects (text, line), with an 'eol' token per line.

    One generator for the whole body (`tokenize_line` is built on it): a token passes through
    no inner generator, which matters at a few hundred thousand tokens a second."""
    finditer = _TOKEN.finditer
    for body_line in lines:
        text, line = body_line.text, body_line.line
        if not text.startswith("%"):
            field = _BODY_FIELD.match(text)
            if field is not None:
                yield ("field", line, 1, field)
            else:
                for match in finditer(_COMMENT.sub("", text) if "%" in text else text):
                    kind = match.lastgroup
                    if kind != "space":
                        yield (kind, line, match.start() + 1, match)
        yield ("eol", line, len(text) + 1, None)
