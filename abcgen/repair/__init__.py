"""abcgen.repair: generated or hand-written tunes mended into valid, titled ABC.

`repair_tune(tune, title_writer=None)` mends one tune by the smallest edits that clear every
error `check` reports, logging each; `repair_text` does a whole tunebook (X: unique and
sequential, titles unique), `repair_file` one of any size a tune at a time; `repair_samples`
is what `abcgen generate` calls on model output.
Titles come from a `title_writer` the caller passes in (the model, in `generate`), so this
package imports no torch.
"""

from abcgen.repair.book import repair_book, repair_file, repair_samples, repair_text
from abcgen.repair.result import Edit, RepairReport, RepairResult, TitleWriter, TuneReport
from abcgen.repair.tune import repair_tune

__all__ = ["Edit", "RepairReport", "RepairResult", "TitleWriter", "TuneReport",
           "repair_book", "repair_file", "repair_samples", "repair_text", "repair_tune"]
