"""The nouns of repair: one Edit, a tune's RepairResult, a book's RepairReport."""

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from abcgen.notation import Tune

# Given the repaired header text up to and including `T:`, returns the title (one line).
TitleWriter = Callable[[str], str]


@dataclass(frozen=True)
class Edit:
    """One change: `kind` (the check code it fixes, or a book-level kind such as 'renumber-x'),
    where (1-based line and column in the text as it stood when the edit was made; 0 for the
    header as a whole) and a message saying what was done and why."""

    kind: str
    line: int
    col: int
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RepairResult:
    """One tune after repair: status 'clean' (no errors, left alone), 'repaired' or 'failed'
    (with `reason`; `tune` is then the last attempt, which still has errors)."""

    tune: Tune
    edits: list[Edit] = field(default_factory=list)
    status: str = "clean"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class TuneReport:
    """A tune's entry in a book's report: where it began in the input, its X: and title in
    the output, status, reason and edits."""

    line: int
    x: str | None
    title: str
    status: str
    reason: str
    edits: list[Edit]

    def to_dict(self) -> dict:
        return {"line": self.line, "x": self.x, "title": self.title, "status": self.status,
                "reason": self.reason, "edits": [edit.to_dict() for edit in self.edits]}


@dataclass
class RepairReport:
    """A repaired tunebook: the output `text` (failed tunes left out) and one entry per
    input tune, in input order."""

    text: str
    tunes: list[TuneReport]
    source: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for tune in self.tunes if tune.status == status)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def edits_by_kind(self) -> Counter:
        return Counter(edit.kind for tune in self.tunes for edit in tune.edits)

    def to_dict(self) -> dict:
        return {"source": self.source, "tunes": len(self.tunes), "clean": self.count("clean"),
                "repaired": self.count("repaired"), "failed": self.failed,
                "edits_by_kind": dict(self.edits_by_kind().most_common()),
                "results": [tune.to_dict() for tune in self.tunes]}
