"""Which external tools are here, and which features each missing one turns off."""

import importlib.util
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    """An external program or Python package a feature needs."""

    name: str
    feature: str
    how: str
    is_python: bool = False

    def available(self) -> bool:
        if self.is_python:
            return importlib.util.find_spec(self.name) is not None
        return shutil.which(self.name) is not None


TOOLS = (
    Tool("torch", "training, generating and scoring", "make setup", True),
    Tool("music21", "the default corpus (music21's folk collections)", "make setup", True),
    Tool("abc2midi", "golden tests and abc2midi comparisons", "apt-get install abcmidi"),
    Tool("fluidsynth", "real instrument audio (else a sine-wave fallback)",
         "apt-get install fluidsynth timgm6mb-soundfont"),
    Tool("ffmpeg", "MP3/OGG/FLAC export", "apt-get install ffmpeg"),
    Tool("abcm2ps", "printed PDF songbooks", "apt-get install abcm2ps"),
    Tool("ps2pdf", "printed PDF songbooks", "apt-get install ghostscript"),
)


def tool_status() -> list[tuple[Tool, bool]]:
    """Every tool with whether it is installed."""
    return [(tool, tool.available()) for tool in TOOLS]
