"""Write a PrettyMIDI performance with one tempo as a Standard MIDI File (format 1).

pretty_midi's own `write` converts every event through its tempo map and has mido validate
each message: 2.5 ms a tune, more than parsing the ABC. Our performances have one tempo, so
seconds turn into ticks by one multiplication; this writer does the same job in a tenth of
the time and pretty_midi reads its files back unchanged (tests/test_render.py).

Format: https://www.midi.org/specifications (SMF 1.0): an `MThd` chunk, then a conductor
track (tempo, time signature) and one `MTrk` per instrument, events as variable-length
delta times plus channel messages.
"""

from __future__ import annotations

import operator
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pretty_midi

DRUM_CHANNEL = 9
NOTE_OFF, NOTE_ON, PROGRAM_CHANGE = 0x80, 0x90, 0xC0
META_TRACK_NAME, META_TEMPO, META_TIME_SIGNATURE, META_END = 0x03, 0x51, 0x58, 0x2F
TICK_THEN_OFF_FIRST = operator.itemgetter(0, 1)  # sorts (tick, 0 = off / 1 = on, ...) edges


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits a byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + _vlq(len(data)) + data


def _events_bytes(events: list[tuple[int, bytes]]) -> bytearray:
    """Delta-timed track bytes for (absolute tick, event bytes) in time order from tick 0."""
    body, now = bytearray(), 0
    for tick, event in events:
        body += _vlq(tick - now) + event
        now = tick
    return body


def _track(body: bytearray) -> bytes:
    """An MTrk chunk: `body`'s events, then the end-of-track event."""
    body += _vlq(0) + _meta(META_END, b"")
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _conductor(midi: pretty_midi.PrettyMIDI, qpm: float) -> bytes:
    events = [(0, _meta(META_TEMPO, round(60_000_000 / qpm).to_bytes(3, "big")))]
    for sig in midi.time_signature_changes[:1]:
        power = max(0, sig.denominator.bit_length() - 1)  # the denominator as a power of 2
        events.append((0, _meta(META_TIME_SIGNATURE, bytes([sig.numerator, power, 24, 8]))))
    return _track(_events_bytes(events))


def _note_events(instrument: pretty_midi.Instrument, channel: int,
                 ticks_per_second: float) -> bytes:
    """One instrument's note-ons and note-offs as delta-timed track bytes from tick 0,
    note-offs before note-ons on the same tick. Written out by hand (plain tuples and ints,
    one bytes() at the end): this runs for every note of a book."""
    edges = []
    append, on_status, off_status = edges.append, NOTE_ON | channel, NOTE_OFF | channel
    for note in instrument.notes:
        pitch = note.pitch
        on, off = round(note.start * ticks_per_second), round(note.end * ticks_per_second)
        append((on, 1, on_status, pitch, note.velocity))
        append((off if off > on else on + 1, 0, off_status, pitch, 0))
    edges.sort(key=TICK_THEN_OFF_FIRST)
    body, now = [], 0
    for tick, _, status, pitch, velocity in edges:
        delta = tick - now
        if delta < 0x80:  # a one-byte delta, the usual case
            body += (delta, status, pitch, velocity)
        else:
            body += (*_vlq(delta), status, pitch, velocity)
        now = tick
    return bytes(body)


def _instrument_track(instrument: pretty_midi.Instrument, channel: int,
                      ticks_per_second: float) -> bytes:
    name = instrument.name.encode("latin-1", "replace")
    body = _events_bytes([(0, _meta(META_TRACK_NAME, name)),
                          (0, bytes([PROGRAM_CHANGE | channel, instrument.program]))])
    return _track(body + _note_events(instrument, channel, ticks_per_second))


def smf_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    """The bytes of a format-1 MIDI file for `midi`, which must have a single tempo."""
    qpm = float(midi.get_tempo_changes()[1][0])
    ticks_per_second = midi.resolution * qpm / 60
    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    tracks = [_conductor(midi, qpm)]
    tracks += [_instrument_track(inst, channel, ticks_per_second)
               for inst, channel in zip(midi.instruments, channels, strict=False)]
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), midi.resolution)
    return header + b"".join(tracks)
