"""Tool descriptions, written for the calling model (a snapshot test pins them)."""

from __future__ import annotations

STATES = (
    "States: queued/running (live), paused (live: a usage limit resets at resume_at, then it "
    "goes on by itself; orchestrate_resume wakes it now), needs_input (answer with "
    "orchestrate_resume), completed (criteria met), stopped (budget or criteria not met), "
    "failed, cancelled, interrupted (its process died; orchestrate_resume continues it)."
)

ORCHESTRATE = f"""Start a coding loop: a planner splits the goal into subgoals, workers change \
the files (in a git worktree of cwd on branch loopwright/<run_id> by default, or in cwd \
itself with isolate=false), verify commands and reviewers judge the result, and the loop \
repeats until the success criteria hold or a budget runs out.

Use detach=true (the default) for anything that may take more than a minute: it returns at \
once with status "running", a run_id and a tail_command; the run goes on in its own process \
even after this client exits. Then poll with orchestrate_tail(run_id, cursor, wait=30) (pass \
back the cursor it returns) or block with orchestrate_result(run_id, wait=true); stop it with \
orchestrate_cancel(run_id). With detach=false the call blocks until the run ends, sending \
progress on every phase and iteration; cancelling the call cancels the run.

Without cwd the run works in a fresh scratch git repository (the reply's cwd says where; \
the result's workspace names the branch, worktree path and changed files). \
cwd must be an absolute path inside the client's roots. With questions="ask" the loop may \
first ask clarifying questions: you get them as a form if the client supports elicitation, \
otherwise status "needs_input" with questions: answer with orchestrate_resume. {STATES}"""

RESUME = f"""Continue a run that is needs_input (give answers: question id -> answer; every \
question must be answered), interrupted (answers not needed; it continues from its last \
completed iteration; a consult, delegate or debate from the calls its log holds, not asking \
them again) or paused (it goes on now instead of at resume_at). detach=true \
returns at once with status "running"; detach=false blocks until the run ends, with \
progress. {STATES}"""

TAIL = """Events of a run since cursor (omit it for the first call), oldest first, with the \
cursor to pass next time, whether the run is still running, its state, and more=true when \
more events are already waiting. wait (seconds, up to 60) long-polls: the call returns as \
soon as there are new events or the run ends, so loop on orchestrate_tail(run_id, cursor, \
wait=30) until running is false. Event types: run_started, intake, questions, answers, plan, \
worker_started, worker_finished, verify_started, verify_finished, review, checkpoint, \
iteration_finished, budget_exhausted, cancelled, interrupted, paused, resumed, error, \
run_finished."""

STATUS = f"""A run's state, phase, iteration, usage (agent calls, tokens, cost) and elapsed \
seconds; cheap, never waits. A run whose process died is reported interrupted. {STATES}"""

RESULT = """A run's result once it has ended: state, stop_reason, summary, per-subgoal \
results, verify results, reviewer verdicts, usage, cwd. With wait=true it waits (up to \
timeout seconds, default 600) for the run to end or ask questions; done=false means it is \
still running: call again. needs_input comes with the questions for orchestrate_resume."""

CANCEL = """Stop a run now: its workers are killed and it ends as cancelled. Changes already \
made in cwd stay. Cancelling an ended run just returns its state."""

LIST = """Recent runs, newest first (run_id, state, goal, cwd, backend, times); filter by \
state. Runs whose process died are marked interrupted first."""

BACKENDS = """The backends loopwright can drive (for orchestrate's backend, planner, workers \
and reviewers): each with its kind, whether it is available here, why not, and how to fix \
it. "scripted" is a deterministic built-in backend for tests and demos."""

DOCTOR = """Check this installation: versions (python, loopwright, mcp, git), each agent \
CLI's path and version, whether API credentials are set (never their values), the state dir, \
the cwd you pass (absolute, exists, writable, git repository, inside the allowed roots) and \
advice on client timeouts. Use it when a run fails to start."""

DIFF = """What a run changed, from its base commit to its branch loopwright/<run_id>: the \
files (status A/M/D/R with old_path for renames), insertion and deletion counts, and the \
patch, cut at max_bytes (truncated=true when cut). Works for runs that used a git worktree \
(isolate=true, the default); a run that committed nothing has no files. iteration=N shows \
only what iteration N changed (its checkpoint commit)."""

MERGE = """Bring a finished run's work into the user's branch: into (default: the branch \
checked out in the repository), as a merge commit or with squash=true as one commit. It \
refuses, changing nothing, when the run is still live, when the merge would conflict \
(listing the paths), or when the checkout has uncommitted changes in the files the run \
touched; a branch that is not checked out is updated without touching any checkout. A \
branch that already has the run's work is no error: already=true, nothing changed. \
cleanup=true then removes the run as orchestrate_delete does. Ask the user before merging."""

FOLLOW = """It runs as a run: detach=true (the default) returns at once with a run_id; follow \
it with orchestrate_tail(run_id, cursor, wait=30) (every model exchange is an "exchange" \
event: spec, host, tokens, latency, cost, text), read it with orchestrate_result(run_id, \
wait=true) (the pattern's result is result.extra) and stop it with orchestrate_cancel(run_id). \
detach=false blocks until it ends. The budget (max_seconds, max_cost_usd, max_agent_calls) \
stops it with what it gathered."""

CONSULT = f"""Ask several models the same question at once, each on its own: no model sees \
another's answer. The result lists every answer attributed to its backend spec with its \
tokens, latency and cost, a measured disagreement (mean pairwise word-set Jaccard distance, \
0 = same words, 1 = none shared) and, with a synthesizer, a synthesis that names where the \
answers agree and where they differ. Models answer read-only. {FOLLOW}"""

DELEGATE = f"""Hand a task to another backend (e.g. a local model) and have your own backend \
(reviewer) review the work against the task. With may_edit=true (the default) the delegate \
changes files in a git worktree of cwd on branch loopwright/<run_id> (your checkout is not \
touched; orchestrate_diff and orchestrate_merge work on it), and the reviewer sees its \
report and the diff. The result (result.extra) holds the work, the patch and the verdict. \
{FOLLOW}"""

DEBATE = f"""Let several models debate a question: round 0, each drafts an answer without \
seeing the others; then up to `rounds` rounds where each sees the others' drafts, critiques \
them and revises its own or keeps it. It stops early when the drafts converge (everyone \
kept their draft, or their disagreement is at most converge_at), then a judge backend picks \
the best draft, or the participants vote. The result (result.extra) holds every round's \
drafts, the disagreement per round and the pick; the event log is the transcript. {FOLLOW}"""
