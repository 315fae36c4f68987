"""CPU time for the benchmarks, one reading for all of them.

Wall time on this shared machine grows with other programs' load; CPU time mostly does not.
Children count once they are waited for (abc2midi, fluidsynth, worker processes), so a
reference tool run as a subprocess is measured the same way as our own code.
"""

import resource


def cpu_times() -> tuple[float, float]:
    """(user, system) CPU seconds so far of this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def cpu_seconds() -> float:
    """User plus system CPU seconds so far (see `cpu_times`)."""
    return sum(cpu_times())
