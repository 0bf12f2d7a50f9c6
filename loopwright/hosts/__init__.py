"""Where models run and how fast: ``profiles`` (the measured speed of every call, per
model x host, in one SQLite store), ``summary`` (medians, p90 and trends of them) and
``routing`` (the performance card the planner reads, and which subgoal goes to which
worker). Below the backends: nothing here imports ``backends``, ``loop`` or ``runs``."""
