"""Everything git, through ``gitcmd`` (no hooks, no prompts, always a timeout): a run's
worktree and checkpoints, parallel subgoals, merge and diff, the pool of checkouts, and
the guards (``safety``) that keep any reset, clean or delete from destroying work."""
