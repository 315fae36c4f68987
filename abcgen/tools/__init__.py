"""Wrappers around external reference programs (abc2midi) that tests and benchmarks compare against.

Nothing here knows ABC syntax: the wrappers hand ABC text to the real program and read back what it
says (its messages) and what it plays (its MIDI file).
"""
