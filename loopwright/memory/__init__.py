"""Past runs as searchable memory, and their traces as training data.

``record`` turns a finished run (request, events, result) into a ``RunMemory``; ``store``
keeps them in SQLite with an FTS5 index (``<state>/memory.sqlite``); ``recall`` is the
``loop.recall.Memory`` a run's loop is handed; ``export`` writes runs as JSONL for
fine-tuning (SFT, DPO) or as whole trajectories. ``runs`` writes memory when a run ends;
the loop reads it only through the protocol it is handed.
"""
