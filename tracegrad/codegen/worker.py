"""The second thread of compiled programs whose large kernels split in two.

Such a program's entry takes (sync, part): the calling thread runs part 0 while a persistent
worker thread runs part 1 of the same entry; they take ranges of each split kernel from a
shared counter and meet at a barrier in native code after every kernel (`emit._Parallel`).
ctypes releases the GIL for the duration of each call, so both run at once. One program at
a time uses the worker; a call that finds it busy (another Python thread's program) runs
alone, as does every call with `threads` set to 1.
"""
from __future__ import annotations

import os
import queue
import threading


# Threads a program may use: `tracegrad.config.threads` sets this; else TRACEGRAD_THREADS;
# else two when the machine has two cores or more.
THREADS: int | None = None


def threads() -> int:
    if THREADS is not None:
        return THREADS
    value = os.environ.get("TRACEGRAD_THREADS", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"TRACEGRAD_THREADS must be an integer, got {value!r}") from None
    return min(2, os.cpu_count() or 1)


class ThreadChoice:
    """One or two threads for one program, by measurement: after a warm-up call, calls
    alternate between them; later calls take the one with the lower mean time (a stall
    counts in full), and every `PERIOD` calls it is measured again. Two threads lose when the
    other core is busy (the worker is descheduled holding a range and the caller waits for
    it): then the program runs on one until the core is free again."""

    PROBES = 4      # calls timed per thread count and period
    PERIOD = 200

    __slots__ = ("calls", "samples", "choice")

    def __init__(self):
        self.calls = 0
        self.samples: dict = {1: [], 2: []}
        self.choice = 2

    def next(self) -> tuple[int, bool]:
        """(threads for this call, whether to time it)."""
        phase = self.calls % self.PERIOD - 1   # the first call of a period warms up
        self.calls += 1
        if 0 <= phase < 2 * self.PROBES:
            return (2 if phase % 2 == 0 else 1), True
        return self.choice, False

    def record(self, threads_: int, seconds: float) -> None:
        self.samples[threads_].append(seconds)
        if all(len(v) >= self.PROBES for v in self.samples.values()):
            one, two = (sum(self.samples[n]) for n in (1, 2))
            self.choice = 2 if two < one else 1
            self.samples = {1: [], 2: []}


class Worker:
    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue | None = None

    def _start(self) -> None:
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._loop, args=(self._jobs,), name="tracegrad-worker",
                         daemon=True).start()

    @staticmethod
    def _loop(jobs) -> None:
        while True:
            cfunc, addresses, sync, state = jobs.get()
            cfunc(*addresses, sync, 1)
            del cfunc, addresses, sync, state   # hold nothing between jobs

    def run(self, cfunc, cfunc_addresses, args: list, addresses: list, sync, state) -> None:
        """Call the entry as part 0 here (`cfunc(*args, sync, 0)`) and part 1 on the worker
        (`cfunc_addresses(*addresses, sync, 1)`, the arguments as bare addresses) when no
        other thread's program has it. Returns when the call is complete: if the worker
        joined, the entry's last barrier waited for it; if it started too late, the caller
        did everything and the worker's part returns before reading any argument but `sync`
        (`state`, the array behind it, is kept alive by the job)."""
        if not self._lock.acquire(blocking=False):
            cfunc(*args, sync, 0)
            return
        try:
            if self._jobs is None:
                self._start()
            self._jobs.put((cfunc_addresses, addresses, sync, state))
            cfunc(*args, sync, 0)
        finally:
            self._lock.release()

    def _after_fork(self) -> None:
        # The child has no worker thread (and maybe a lock held by a thread that is gone).
        self._lock = threading.Lock()
        self._jobs = None


WORKER = Worker()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WORKER._after_fork)
