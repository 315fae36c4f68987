"""Synthesise a performance to audio: FluidSynth with a General MIDI soundfont, or a sine fallback.

- One `Synthesizer` per process keeps one `fluidsynth.Synth` with the soundfont loaded, so a
  batch pays the soundfont load once (0.02 s for TimGM6mb, 1.7 s for an .sf3).
- Output is 44.1 kHz stereo 16-bit, `TAIL_SECONDS` longer than the performance so the last
  note and the reverb can ring out, and peak-normalised to `PEAK_DBFS` (FluidSynth's own level
  is about -25 dBFS; a render that clips is redone at half the gain, so nothing clips).
- Without FluidSynth (pyfluidsynth or libfluidsynth missing, no soundfont, or the environment
  variable `ABCGEN_NO_FLUIDSYNTH` set) pretty_midi's sine synthesis plays instead, and
  `Synthesizer.warning` says why.
- MP3, OGG (Vorbis) and FLAC are encoded by pydub through ffmpeg; WAV needs nothing.
"""

from __future__ import annotations

import io
import os
import shutil
import warnings
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from abcgen.errors import InputError, ToolMissingError
from abcgen.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import pretty_midi

SAMPLE_RATE = 44100  # Hz
CHANNELS = 2  # stereo
TAIL_SECONDS = 1.0  # silence-to-decay after the performance's end
FADE_SECONDS = 0.1  # the tail's last part fades to zero: a note still ringing never clicks
PEAK_DBFS = -1.0  # the loudest sample after normalising, in dB below full scale
SYNTH_GAIN = 1.0  # FluidSynth's master gain for the first try (its default 0.2 is very quiet)
FLUSH_SECONDS = 1.0  # rendered and dropped before each tune so reverb from the last one dies
FLUID_BLOCK_FRAMES = 64  # FluidSynth renders in blocks of this many frames
DRUM_CHANNEL = 9  # GM percussion; melodic tracks never use it

NO_FLUIDSYNTH_ENV = "ABCGEN_NO_FLUIDSYNTH"
SOUNDFONT_ENV = "ABCGEN_SOUNDFONT"
# Searched in order after --soundfont and $ABCGEN_SOUNDFONT; Debian's default-GM links first.
SYSTEM_SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"))
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")

AUDIO_FORMATS = ("wav", "mp3", "ogg", "flac")
# pydub export arguments per compressed format (all go through ffmpeg).
ENCODINGS = {
    "mp3": {"format": "mp3", "bitrate": "192k"},
    "ogg": {"format": "ogg", "codec": "libvorbis"},
    "flac": {"format": "flac"},
}


def _candidate_soundfonts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in SOUNDFONT_SUFFIXES)
    return sorted(found, key=lambda p: not p.name.startswith("default-GM"))


def bundled_soundfont() -> Path | None:
    """pretty_midi's own copy of TimGM6mb.sf2, if pretty_midi is installed with it."""
    import pretty_midi

    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path | None:
    """The soundfont to play with: `explicit`, else $ABCGEN_SOUNDFONT, else the first in
    /usr/share/sounds/sf2 and sf3 (broken links skipped), else pretty_midi's TimGM6mb.sf2;
    None when there is none. A named file that does not exist raises InputError."""
    for named, what in ((explicit, "--soundfont"), (os.environ.get(SOUNDFONT_ENV), SOUNDFONT_ENV)):
        if named:
            if not Path(named).is_file():
                raise InputError(f"soundfont {named} (from {what}) does not exist")
            return Path(named)
    for folder in SYSTEM_SOUNDFONT_DIRS:
        for path in _candidate_soundfonts(folder):
            if path.resolve().is_file():
                return path.resolve()
    return bundled_soundfont()


def fluidsynth_missing() -> str | None:
    """Why FluidSynth can't be used here, or None when it can."""
    if os.environ.get(NO_FLUIDSYNTH_ENV):
        return f"{NO_FLUIDSYNTH_ENV} is set"
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        return f"pyfluidsynth or the FluidSynth library is missing ({exc})"
    if not hasattr(fluidsynth, "Synth"):
        return "the Python module 'fluidsynth' is not pyfluidsynth (pip install pyfluidsynth)"
    return None


def fallback_warning(soundfont: Path | None, wanted: bool = True) -> str | None:
    """The warning to show when audio must use the sine fallback, or None when FluidSynth plays
    (`wanted` False turns FluidSynth off on purpose)."""
    reason = None if wanted else "FluidSynth was turned off"
    reason = reason or fluidsynth_missing()
    if reason is None and soundfont is None:
        reason = "no soundfont was found (give --soundfont or set ABCGEN_SOUNDFONT)"
    if reason is None:
        return None
    return (f"FluidSynth is off ({reason}): audio uses pretty_midi's sine-wave synthesis; "
            "install fluidsynth and pyfluidsynth for instrument sounds")


def fade_out(audio: np.ndarray) -> np.ndarray:
    """`audio` with its last FADE_SECONDS ramped down to silence, so the end never clicks."""
    frames = min(len(audio), int(FADE_SECONDS * SAMPLE_RATE))
    if frames:
        ramp = np.linspace(1.0, 0.0, frames)[:, None]
        audio[-frames:] = np.round(audio[-frames:] * ramp).astype(audio.dtype)
    return audio


def normalise(samples: np.ndarray) -> np.ndarray:
    """Float or int samples scaled so the peak sits at PEAK_DBFS, as int16; silence stays 0."""
    peak = float(max(samples.max(initial=0), -samples.min(initial=0)))
    if peak == 0.0:
        return np.zeros(samples.shape, dtype=np.int16)
    target = 32767 * 10 ** (PEAK_DBFS / 20)
    scaled = np.multiply(samples, target / peak, dtype=np.float32)  # float32: half the work
    return np.rint(scaled, out=scaled).astype(np.int16)


class Synthesizer:
    """Turns PrettyMIDI performances into normalised stereo int16 audio at SAMPLE_RATE.

    Parameters
    ----------
    soundfont : path of an .sf2/.sf3 file; None searches (see `find_soundfont`).
    fluidsynth : False plays pretty_midi's sine waves even where FluidSynth works.

    Attributes: `backend` ('fluidsynth' or 'sine'), `soundfont` (Path or None) and `warning`
    (why the sine fallback is in use, else None).
    """

    def __init__(self, soundfont: str | os.PathLike | None = None, fluidsynth: bool = True):
        self.soundfont = find_soundfont(soundfont)
        self.warning = fallback_warning(self.soundfont, fluidsynth)
        self.backend = "sine" if self.warning else "fluidsynth"
        self._synth = None
        self._sfid = 0
        self._pulled = 0  # frames taken from the synth so far, to find its block boundaries
        if self.warning:
            warnings.warn(self.warning, RuntimeWarning, stacklevel=2)
        else:
            self._open_fluidsynth()

    def _open_fluidsynth(self) -> None:
        import fluidsynth

        self._synth = fluidsynth.Synth(gain=SYNTH_GAIN, samplerate=float(SAMPLE_RATE))
        self._sfid = self._synth.sfload(str(self.soundfont))
        if self._sfid < 0:
            raise InputError(f"FluidSynth could not load the soundfont {self.soundfont}")

    def render(self, midi: pretty_midi.PrettyMIDI, seconds: float) -> np.ndarray:
        """Audio for `midi`, (frames, 2) int16, `seconds` (or the last note's end, if later)
        plus TAIL_SECONDS long, peak at PEAK_DBFS."""
        end = max(seconds, midi.get_end_time()) + TAIL_SECONDS
        frames = int(round(end * SAMPLE_RATE))
        raw = _sine_render(midi, frames) if self._synth is None else \
            self._fluid_render_unclipped(midi, frames)
        return fade_out(normalise(raw))

    def _fluid_render_unclipped(self, midi: pretty_midi.PrettyMIDI, frames: int) -> np.ndarray:
        gain = SYNTH_GAIN
        while True:
            self._synth.setting("synth.gain", gain)
            audio = self._fluid_render(midi, frames)
            clipped = audio.max(initial=0) >= 32767 or audio.min(initial=0) <= -32768
            if not clipped or gain < 1e-3:
                return audio
            gain /= 2  # it clipped inside FluidSynth's int16 output: play it again quieter

    def _pull(self, frames: int) -> np.ndarray:
        """`frames` stereo frames from the synth, interleaved int16."""
        self._pulled += frames
        return self._synth.get_samples(frames)

    def _fluid_render(self, midi: pretty_midi.PrettyMIDI, frames: int) -> np.ndarray:
        """Play every note through the reused Synth, event by event: (frames, 2) int16."""
        synth = self._synth
        synth.system_reset()
        # Drop the last tune's reverb, and start on a block boundary so that the same MIDI
        # always renders to the same audio (events take effect at block starts).
        flush = int(FLUSH_SECONDS * SAMPLE_RATE)
        self._pull(flush + (-(self._pulled + flush)) % FLUID_BLOCK_FRAMES)
        chunks, now = [], 0
        for frame, is_on, channel, pitch, velocity in self._schedule(midi, frames):
            if frame > now:
                chunks.append(self._pull(frame - now))
                now = frame
            if is_on:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        if frames > now:
            chunks.append(self._pull(frames - now))
        return np.concatenate(chunks).reshape(-1, CHANNELS)[:frames]

    def _schedule(self, midi: pretty_midi.PrettyMIDI, frames: int) -> list[tuple]:
        """(frame, is_on, channel, pitch, velocity) for every note edge, offs before ons at
        the same frame so a repeated pitch restarts; programs are selected on the way."""
        melodic_channels = [c for c in range(16) if c != DRUM_CHANNEL]
        events = []
        for channel, instrument in zip(melodic_channels, midi.instruments, strict=False):
            self._synth.program_select(channel, self._sfid, 0, instrument.program)
            for note in instrument.notes:
                on = min(int(round(note.start * SAMPLE_RATE)), frames)
                off = min(int(round(note.end * SAMPLE_RATE)), frames)
                events += [(on, True, channel, note.pitch, note.velocity),
                           (off, False, channel, note.pitch, 0)]
        return sorted(events, key=lambda e: (e[0], e[1]))

    def close(self) -> None:
        """Free the FluidSynth instance (the object then plays sine waves)."""
        if self._synth is not None:
            self._synth.delete()
            self._synth = None


def _sine_render(midi: pretty_midi.PrettyMIDI, frames: int) -> np.ndarray:
    """pretty_midi's additive sine synthesis, padded or cut to `frames`, as (frames, 2)."""
    mono = midi.synthesize(fs=SAMPLE_RATE)
    mono = np.pad(mono, (0, max(0, frames - mono.size)))[:frames]
    return np.repeat(mono[:, None], CHANNELS, axis=1)


def wav_bytes(audio: np.ndarray) -> bytes:
    """A 16-bit PCM WAV file of (frames, channels) int16 audio at SAMPLE_RATE."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(audio.shape[1])
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.ascontiguousarray(audio, dtype="<i2").tobytes())
    return buffer.getvalue()


def require_ffmpeg(formats: list[str] | tuple[str, ...]) -> None:
    """Raise ToolMissingError when a compressed format is asked for and ffmpeg is missing."""
    compressed = [f for f in formats if f in ENCODINGS]
    if compressed and shutil.which("ffmpeg") is None:
        raise ToolMissingError(f"{', '.join(compressed).upper()} export needs ffmpeg, which is "
                               "not installed (apt-get install ffmpeg), or ask for mid,wav only")


def encoded_bytes(audio: np.ndarray, fmt: str) -> bytes:
    """`audio` ((frames, channels) int16) encoded as 'wav', 'mp3', 'ogg' or 'flac'."""
    if fmt == "wav":
        return wav_bytes(audio)
    require_ffmpeg([fmt])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub's audioop DeprecationWarning on import
        from pydub import AudioSegment

    segment = AudioSegment(data=np.ascontiguousarray(audio, dtype="<i2").tobytes(),
                           sample_width=2, frame_rate=SAMPLE_RATE, channels=audio.shape[1])
    buffer = io.BytesIO()
    segment.export(buffer, **ENCODINGS[fmt])
    return buffer.getvalue()


def write_audio(audio: np.ndarray, path: str | os.PathLike, fmt: str) -> Path:
    """Encode `audio` as `fmt` and write it to `path` atomically."""
    return atomic_write_bytes(path, encoded_bytes(audio, fmt), durable=False)
