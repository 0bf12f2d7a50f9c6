"""Where models run and how fast: ``profiles`` (the measured speed of every call, per
model x host, in one SQLite store), ``summary`` (medians, p90 and trends of them) and
``routing`` (the performance card the planner reads, and which subgoal goes to which
worker); the pool of named hosts (``named``, ``pool``, ``health``) and what held hosts
cost (``ledger``); GPUs rented on Vast.ai: ``vast`` (the REST client), ``vast_onstart``
and ``vast_proxy`` (what the instance runs: Ollama behind a bearer-token proxy),
``vast_rent`` (rent and give back), ``keeper`` (the process that destroys an idle or
expired host) and ``rented`` (the store of rented hosts). Below the backends: nothing here
imports ``backends``, ``loop`` or ``runs``."""
