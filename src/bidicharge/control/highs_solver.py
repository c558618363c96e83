"""A HiGHS instance for every LP of the project, with one thread count for the process.

HiGHS runs its parallel parts on one *global* task scheduler per process, sized by the
``threads`` option of the first instance that runs; an instance that later asks for another
count does not get it — ``run()`` refuses ("Option 'threads' is set to 1 but global scheduler
has already been initialized to use N threads") and the model status stays "Not Set". One LP
that left ``threads`` at its default (0, automatic) therefore broke every later LP that asked
for one thread, depending only on which test or component happened to solve first.

So every instance states its thread count (1 by default: the studies solve many small LPs, each
on one core), and a request for a different count resets the scheduler first.
"""

from __future__ import annotations

import highspy

_scheduler_threads: int | None = None


def new_highs(*, threads: int = 1) -> highspy.Highs:
    """A quiet HiGHS instance that runs with ``threads`` threads (>= 1)."""
    global _scheduler_threads
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotation here
    highs.setOptionValue("output_flag", False)
    if _scheduler_threads is not None and threads != _scheduler_threads:
        highspy.Highs.resetGlobalScheduler(True)
    highs.setOptionValue("threads", threads)
    _scheduler_threads = threads
    return highs
