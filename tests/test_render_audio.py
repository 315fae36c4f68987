"""Audio: FluidSynth output is audible, as long as the tune plus the tail, peaks at -1 dBFS
without clipping; compressed formats decode back; without FluidSynth the sine fallback plays
and says so."""

import io
import shutil
import wave
from fractions import Fraction as F

import numpy as np
import pytest

from abcgen.errors import InputError, ToolMissingError
from abcgen.notation.model import Bar, ChordSymbolEvent, NoteEvent, Timeline
from abcgen.render.audio import (
    NO_FLUIDSYNTH_ENV,
    PEAK_DBFS,
    SAMPLE_RATE,
    SOUNDFONT_ENV,
    TAIL_SECONDS,
    Synthesizer,
    encoded_bytes,
    find_soundfont,
    fluidsynth_missing,
    require_ffmpeg,
    wav_bytes,
    write_audio,
)
from abcgen.render import audio
from abcgen.render.midi import timeline_to_midi

needs_fluidsynth = pytest.mark.skipif(fluidsynth_missing() is not None or find_soundfont() is None,
                                      reason=f"FluidSynth is off: {fluidsynth_missing()}")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


@pytest.fixture(scope="module")
def performance():
    """Four bars of a D-major scale tune in 4/4 at 120 qpm with a chord: 8.0 s of music."""
    events, bars = [], []
    for bar in range(4):
        bars.append(Bar(bar, F(bar), F(1), F(1)))
        events += [NoteEvent(62 + (2 * i + bar) % 12, F(4 * bar) + F(i, 2), F(1, 2), bar=bar)
                   for i in range(8)]
    timeline = Timeline(events=events, bars=bars, total=F(16),
                        chord_symbols=[ChordSymbolEvent("D", F(0), 2, "maj")])
    return timeline_to_midi(timeline)


@pytest.fixture(scope="module")
def fluid_audio(performance):
    synth = Synthesizer()
    yield synth, synth.render(performance.midi, performance.seconds)
    synth.close()


def peak_dbfs(audio: np.ndarray) -> float:
    return 20 * np.log10(np.max(np.abs(audio.astype(np.int32))) / 32767)


def assert_audible_and_timed(audio: np.ndarray, seconds: float) -> None:
    assert audio.dtype == np.int16 and audio.shape[1] == 2
    assert audio.shape[0] / SAMPLE_RATE == pytest.approx(seconds + TAIL_SECONDS, rel=0.01)
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    assert rms > 300  # about -40 dBFS: clearly not silence
    assert peak_dbfs(audio) == pytest.approx(PEAK_DBFS, abs=0.1)
    assert np.max(np.abs(audio.astype(np.int32))) < 32767  # no clipping


@needs_fluidsynth
def test_fluidsynth_audio_is_audible_timed_and_normalised(fluid_audio, performance):
    synth, audio = fluid_audio
    assert synth.backend == "fluidsynth" and synth.warning is None
    assert performance.seconds == pytest.approx(8.0)
    assert_audible_and_timed(audio, performance.seconds)
    assert not np.array_equal(audio[:, 0], audio[:, 1])  # real stereo from the soundfont


@needs_fluidsynth
def test_reused_synth_renders_the_same_tune_the_same_way(fluid_audio, performance):
    synth, audio = fluid_audio
    again = synth.render(performance.midi, performance.seconds)
    # nothing left over from the previous render; only dither and chorus phase differ
    assert np.max(np.abs(again.astype(np.int32) - audio)) < 0.01 * 32767


@needs_fluidsynth
def test_the_tail_rings_out_after_the_last_note(fluid_audio, performance):
    _, audio = fluid_audio
    end = int(performance.seconds * SAMPLE_RATE)
    tail = audio[end:end + SAMPLE_RATE // 10].astype(np.float64)
    assert np.sqrt(np.mean(tail ** 2)) > 10  # the release is heard, not cut off
    assert np.max(np.abs(audio[-10:].astype(np.int32))) <= 1  # faded out: no click at the end


@needs_fluidsynth
def test_a_loud_cluster_is_replayed_quieter_instead_of_clipping():
    # 18 notes at velocity 127 overflow FluidSynth's int16 output at full gain; clipped
    # samples would all sit at the peak after normalising
    events = [NoteEvent(pitch, F(0), F(4), velocity=127) for pitch in range(48, 84, 2)]
    timeline = Timeline(events=events, bars=[Bar(0, F(0), F(1), F(1))], total=F(4))
    performance = timeline_to_midi(timeline)
    synth = Synthesizer()
    audio = synth.render(performance.midi, performance.seconds).astype(np.int32)
    synth.close()
    peak = np.max(np.abs(audio))
    assert peak_dbfs(audio) == pytest.approx(PEAK_DBFS, abs=0.1)
    assert np.count_nonzero(np.abs(audio) >= peak - 1) <= 4


def test_without_fluidsynth_the_sine_fallback_plays_and_warns(monkeypatch, performance):
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")
    with pytest.warns(RuntimeWarning, match="FluidSynth is off"):
        synth = Synthesizer()
    assert synth.backend == "sine" and NO_FLUIDSYNTH_ENV in synth.warning
    assert_audible_and_timed(synth.render(performance.midi, performance.seconds),
                             performance.seconds)


def test_wav_file_is_44k_stereo_16_bit(tmp_path, performance, monkeypatch):
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")  # the container is what is tested here
    with pytest.warns(RuntimeWarning):
        audio = Synthesizer().render(performance.midi, performance.seconds)
    path = write_audio(audio, tmp_path / "t.wav", "wav")
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (44100, 2, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert np.array_equal(frames, audio)


@needs_ffmpeg
@pytest.mark.filterwarnings("ignore:'audioop' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "flac"])
def test_compressed_formats_decode_back(fmt):
    from pydub import AudioSegment

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE  # one second of A440, -1 dBFS
    tone = (0.89 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    audio = np.stack([tone, tone], axis=1)
    decoded = AudioSegment.from_file(io.BytesIO(encoded_bytes(audio, fmt)), format=fmt)
    assert decoded.frame_rate == SAMPLE_RATE and decoded.channels == 2
    assert decoded.duration_seconds == pytest.approx(1.0, abs=0.06)  # encoder padding
    assert decoded.dBFS == pytest.approx(20 * np.log10(0.89 / np.sqrt(2)), abs=1.0)


def test_compressed_export_without_ffmpeg_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no ffmpeg can be found
    with pytest.raises(ToolMissingError, match="ffmpeg"):
        require_ffmpeg(["mid", "mp3"])
    require_ffmpeg(["mid", "wav"])  # WAV needs no ffmpeg
    assert wav_bytes(np.zeros((10, 2), np.int16)).startswith(b"RIFF")


def test_soundfont_search_order(monkeypatch, tmp_path):
    mine = tmp_path / "mine.sf2"
    mine.write_bytes(b"RIFF")
    monkeypatch.setenv(SOUNDFONT_ENV, str(mine))
    assert find_soundfont() == mine
    other = tmp_path / "other.sf2"
    other.write_bytes(b"RIFF")
    assert find_soundfont(other) == other  # --soundfont wins over the environment
    with pytest.raises(InputError, match="missing.sf2"):
        find_soundfont(tmp_path / "missing.sf2")
    monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(InputError, match=SOUNDFONT_ENV):
        find_soundfont()
    monkeypatch.delenv(SOUNDFONT_ENV)
    system = tmp_path / "sf2"
    system.mkdir()
    (system / "broken.sf2").symlink_to(tmp_path / "nowhere.sf2")
    (system / "default-GM.sf2").write_bytes(b"RIFF")
    (system / "a-first-by-name.sf2").write_bytes(b"RIFF")
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONT_DIRS", (tmp_path / "none", system))
    assert find_soundfont() == system / "default-GM.sf2"  # Debian's default, broken links skipped
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONT_DIRS", (tmp_path / "none",))
    monkeypatch.setattr(audio, "bundled_soundfont", lambda: None)
    assert find_soundfont() is None
