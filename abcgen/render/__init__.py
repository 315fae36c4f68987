"""Render tunes to MIDI (pretty_midi) and audio (FluidSynth, pydub): stands on abcgen.notation.

`render_file` renders a whole tunebook with a manifest; `tune_to_midi`/`timeline_to_midi`
perform one tune; `Synthesizer` turns a performance into audio; `write_audio` encodes it.
"""

from abcgen.render.audio import Synthesizer, find_soundfont, write_audio
from abcgen.render.batch import RenderOptions, parse_formats, render_file
from abcgen.render.midi import (
    MAX_SECONDS,
    MidiOptions,
    Performance,
    RenderError,
    TooLongError,
    timeline_to_midi,
    tune_to_midi,
)

__all__ = [
    "MAX_SECONDS", "MidiOptions", "Performance", "RenderError", "RenderOptions", "Synthesizer",
    "TooLongError", "find_soundfont", "parse_formats", "render_file", "timeline_to_midi",
    "tune_to_midi", "write_audio",
]
