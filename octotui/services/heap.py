"""How the process's heap is kept away from Python's cyclic garbage collector, in one place.

A large database is hundreds of thousands of parsed records that live as long as the app. The collector's full
collections walk every tracked object, and one runs on whichever thread allocates: the event loop's included, so a
keystroke would wait 100-300 ms for it at 30,000 records. What lives for good is therefore frozen (moved out of the
collector's sight; freed by reference counting as before when dropped): everything start-up loaded, once it is
painted, and each later whole-table read or index when it is made. While such a read allocates, the collector is
paused: it would only walk the records being made, several times over.

What is not frozen (screens, forms, the records of the last change) is still collected in full, but while the
app is idle (`collect_while_idle`, a second without input), not in the middle of a keystroke. Automatic full
collections are left only as a backstop for a process that is never idle (`FULL_COLLECTION_AFTER`).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# Young collections before an automatic full one: Python's default is 10 (with a quarter of the heap new),
# about every 70,000 objects kept; this is every 7 million, a burst no person typing comes near.
FULL_COLLECTION_AFTER = 1000

_lock = threading.Lock()
_paused = 0  # reads in progress that paused the collector
_enabled_before = True  # whether it ran before the first of them


def pause_for_start_up() -> None:
    """Start-up allocates a lot and frees almost nothing: nothing for the collector to find until `settle`."""
    gc.disable()


def settle() -> None:
    """Once start-up's work is painted: its garbage collected, what is left frozen, the collector back on, and
    the memory freed handed back to the system (glibc keeps it otherwise)."""
    global _enabled_before
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
    with _lock:
        if _paused:
            _enabled_before = True  # a read in a thread is under way: it turns the collector on when done
        else:
            gc.enable()
    _return_freed_memory()


def collect_while_idle() -> bool:
    """A full collection of what is not frozen, when anything reached the oldest generation since the last
    one (30-100 ms with a large database's screens open): called when nobody is typing. Whether it ran."""
    if gc.get_count()[2] == 0 or not gc.isenabled():  # nothing new there, or paused for a read or start-up
        return False
    gc.collect()
    return True


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Around the making of something kept as long as the app (a whole table parsed, an index of it): the
    collector paused meanwhile (in every thread: it is one per process), what was made frozen after.
    Nested and concurrent uses are counted; the last one out restores the collector as the first found it."""
    global _paused, _enabled_before
    with _lock:
        if _paused == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0:
                # Not collected first: the young objects are the records just made, and walking them is the
                # pause this avoids. A temporary cycle of the read stays frozen: bounded by the reads, few.
                gc.freeze()
                if _enabled_before:
                    gc.enable()


def _return_freed_memory() -> None:
    """glibc's malloc_trim: the memory a large file's tables took while they were checked once goes back to the
    system instead of staying with the process. Nothing to do where there is no such call."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
