"""Typed, described tool parameters (the input schemas the calling model reads)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..config import LIST_LIMIT, MAX_GOAL_CHARS, PATCH_BYTES
from ..loop import vocab
from ..process.env import ENV_NAME
from ..runs.request import NO_CONTROL_PATTERN, TAG

RUN_ID_PATTERN = "^[0-9]{8}-[0-9]{9}-[0-9a-f]{6}$"
"""A run id (``runs.ids``), anchored for JSON Schema; ``[0-9]``, not ``\\d`` (Unicode digits)."""
PathText = Annotated[str, Field(min_length=1, pattern=NO_CONTROL_PATTERN)]
Spec = Annotated[str, Field(min_length=1, max_length=4096, pattern=NO_CONTROL_PATTERN)]
"""A backend spec: given means non-empty (the default is had by omitting it)."""
Specs = Annotated[list[Spec], Field(min_length=1, max_length=64)] | None
Goal = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_GOAL_CHARS,
        description="what the loop should achieve, in plain words",
    ),
]
Criteria = Annotated[
    list[str] | None,
    Field(description="checkable statements that mean done; drafted from the goal if omitted"),
]
BackendSpec = Annotated[
    Spec | None,
    Field(description="backend spec for every role (see list_backends); default 'scripted'"),
]
Planner = Annotated[Spec | None, Field(description="backend spec of the planner")]
Fallback = Annotated[
    Spec | None,
    Field(
        description="backend spec a role's calls go to when its spec names a model host "
        "(ollama:MODEL@NAME, ollama:MODEL@pool; see list_hosts) and no host can take them: a "
        "host_failover event says so; default: the config's run.fallback, else none (the call "
        "fails naming each host and why)"
    ),
]
Workers = Annotated[Specs, Field(description="backend specs of the workers")]
Reviewers = Annotated[Specs, Field(description="backend specs of the reviewers")]
Quorum = Annotated[
    vocab.Quorum | None,
    Field(description="how many reviewers must say complete (default: the config's, else all)"),
]
Cwd = Annotated[
    PathText | None,
    Field(
        description="absolute path of the repository (or a folder in it) to work on; omit "
        "for a fresh scratch git repository"
    ),
]
Argv = Annotated[list[Annotated[str, Field(pattern=NO_CONTROL_PATTERN)]], Field(min_length=1)]
Verify = Annotated[
    list[Argv] | None,
    Field(description="commands that must pass, each an argv list, e.g. [['pytest', '-q']]"),
]
VerifyEnv = Annotated[
    list[Annotated[str, Field(pattern=f"^{ENV_NAME.pattern}$", max_length=255)]] | None,
    Field(
        max_length=100,
        description="names of environment variables the verify commands get besides the "
        "allowlist (PATH, HOME, locale, proxies, toolchain dirs); nothing else of the "
        "server's environment reaches them, e.g. ['DATABASE_URL']",
    ),
]
MaxIterations = Annotated[int | None, Field(ge=1, le=1000, description="default 5")]
MaxSeconds = Annotated[float | None, Field(gt=0, le=604800, description="wall clock, default 3600")]
Route = Annotated[
    vocab.RoutePolicy,
    Field(
        description="which worker takes each subgoal: fixed (in turn), cloud (the first non-local "
        "worker), local-first (the fastest local model estimated to finish within "
        "local_max_seconds whose pass rate is near the cloud worker's; a local failure is "
        "retried on the cloud worker), planner (the plan assigns workers from a card of "
        "measured speeds, costs and pass rates)"
    ),
]
SpecialistTag = Annotated[str, Field(pattern=f"^{TAG.pattern}$")]
Specialists = Annotated[
    dict[SpecialistTag, Spec] | None,
    Field(
        max_length=16,
        description="tag -> backend spec, e.g. {'tests': 'ollama:qwen2.5-coder@gpu1', 'docs': "
        "'anthropic:claude-haiku-4-5'}: the planner is told these tags and may tag subgoals "
        "with them; a tagged subgoal goes to its tag's backend whatever the route (an "
        "untagged one takes the route). Merged over the config's [specialists] table, tag by "
        "tag",
    ),
]
LocalMaxSeconds = Annotated[
    float | None,
    Field(gt=0, le=86400, description="local-first: seconds a local worker may take, default 600"),
]
MaxCost = Annotated[float | None, Field(ge=0, le=100_000, description="default 20")]
Isolate = Annotated[
    bool,
    Field(
        description="true: work in a git worktree on branch loopwright/<run_id> and leave your "
        "checkout alone (the result's workspace names the branch); false: change cwd in place"
    ),
]
Questions = Annotated[
    vocab.RemoteQuestionPolicy,
    Field(description="auto: intake assumes defaults; ask: the run may stop to ask you first"),
]
Detach = Annotated[
    bool,
    Field(
        description="true: return at once and let the run go on in the background; false: "
        "block until it ends, with progress"
    ),
]
Preflight = Annotated[
    bool,
    Field(
        description="true: refuse at once, creating no run, when a verify program is not found "
        "or a backend cannot work (Ollama host down, agent CLI not logged in); false: skip that"
    ),
]
Sandbox = Annotated[
    vocab.SandboxMode | None,
    Field(
        description="what runs confined in bubblewrap (worktree and a private /tmp writable, "
        ".git and the rest read-only, home hidden, no network, caps): 'off' nothing, 'verify' "
        "the verify commands, 'all' also the agent CLIs and the tool loop's commands; omit "
        "for the server's default (LOOPWRIGHT_SANDBOX, else 'verify'). Refused, creating no "
        "run, when bubblewrap cannot work here"
    ),
]
AllowNetwork = Annotated[
    bool,
    Field(
        description="sandboxed commands share the machine's network (agent CLIs need their "
        "API host; with sandbox='all' the agents can then reach anything the machine can); "
        "false: they have none"
    ),
]
MemoryScope = Annotated[
    vocab.MemoryMode,
    Field(
        description="what the planner and clarifier recall of past runs, and whether this "
        "run is remembered when it ends: 'off' neither, 'repo' lessons of earlier runs in "
        "the same repository, 'all' of runs in any; the lessons recalled are in the "
        "memory_recalled event"
    ),
]
RunId = Annotated[
    str, Field(pattern=RUN_ID_PATTERN, description="the run_id returned by orchestrate")
]
Answers = Annotated[
    dict[str, str] | None, Field(description="question id -> answer, for a needs_input run")
]
Cursor = Annotated[
    str | None,
    Field(description="the cursor of the previous reply; omit to start at the first event"),
]
Limit = Annotated[int, Field(ge=1, le=1000, description="events at most")]
TailWait = Annotated[
    float, Field(ge=0, le=60, description="seconds to wait for new events when there are none yet")
]
ResultWait = Annotated[bool, Field(description="wait for the run to end (or ask)")]
Timeout = Annotated[float, Field(gt=0, le=86400, description="seconds to wait at most")]
StateName = Annotated[
    vocab.RunState | None,
    Field(description="only runs in this state"),
]
ListLimit = Annotated[int, Field(ge=LIST_LIMIT[0], le=LIST_LIMIT[1], description="runs at most")]
DoctorCwd = Annotated[PathText | None, Field(description="a working dir to check (absolute)")]

MaxBytes = Annotated[
    int, Field(ge=PATCH_BYTES[0], le=PATCH_BYTES[1], description="cap on the patch's size in bytes")
]
Iteration = Annotated[
    int | None,
    Field(ge=1, le=1000, description="only what this iteration changed (its checkpoint commit)"),
]
MergeCleanup = Annotated[
    bool,
    Field(description="after merging, remove the run as orchestrate_delete does (never forced)"),
]
Squash = Annotated[bool, Field(description="one squashed commit instead of a merge commit")]
Into = Annotated[
    Annotated[str, Field(min_length=1, max_length=255, pattern=NO_CONTROL_PATTERN)] | None,
    Field(description="branch to merge into (default: the branch checked out in the repo)"),
]

# --- consult, delegate, debate ------------------------------------------------------
PanelSpec = Spec
"""A backend spec of a pattern: checked as a run's (non-empty, no control character)."""
AskText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_GOAL_CHARS, description="the question, in plain words"),
]
TaskText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_GOAL_CHARS, description="the task, in plain words"),
]
Panel = Annotated[
    list[PanelSpec],
    Field(
        min_length=1,
        max_length=16,
        description="backend specs to ask, e.g. ['anthropic:claude-sonnet-4-5', "
        "'ollama:qwen3@gpu1', 'codex']; a spec may repeat",
    ),
]
DebatePanel = Annotated[
    list[PanelSpec],
    Field(min_length=2, max_length=16, description="backend specs of the participants (2-16)"),
]
Synthesizer = Annotated[
    PanelSpec | None,
    Field(description="backend spec that compares the answers and names where they agree and "
          "differ; omit for none"),
]  # fmt: skip
Judge = Annotated[
    PanelSpec | None,
    Field(description="backend spec that picks the best final draft; omit to let the "
          "participants vote"),
]  # fmt: skip
DelegateTo = Annotated[PanelSpec, Field(description="backend spec the task is handed to")]
DelegateReviewer = Annotated[
    PanelSpec | None,
    Field(description="your backend spec: it reviews the work against the task; omit to get "
          "the work back unreviewed"),
]  # fmt: skip
Rounds = Annotated[
    int, Field(ge=0, le=10, description="revision rounds after the blind drafts, at most")
]
ConvergeAt = Annotated[
    float | None,
    Field(ge=0, le=1, description="the drafts' disagreement (0-1) at or below which the debate "
          "has converged and stops early; default 0.1"),
]  # fmt: skip
MayEdit = Annotated[
    bool,
    Field(description="true: the delegate may change files (in a worktree of cwd with "
          "isolate=true); false: it only answers"),
]  # fmt: skip
PatternCwd = Annotated[
    PathText | None,
    Field(description="absolute path the models work in (agent CLIs read it; a delegate "
          "edits a worktree of it); omit for a fresh scratch git repository"),
]  # fmt: skip
CallTimeout = Annotated[
    float | None, Field(gt=0, le=86400, description="seconds one model call may take; default 1800")
]
MaxAgentCalls = Annotated[int | None, Field(ge=1, le=100_000, description="model calls at most")]
PatternSandbox = Annotated[
    vocab.SandboxMode | None,
    Field(
        description="as orchestrate's sandbox: 'all' confines the agent CLIs asked in "
        "bubblewrap (their repository and a private /tmp writable, home hidden, no network "
        "unless allow_network); 'verify' and 'off' leave them unconfined (a pattern has no "
        "verify commands); omit for the server's default (LOOPWRIGHT_SANDBOX, else the "
        "config's run.sandbox, else 'verify'). Refused, creating no run, when bubblewrap "
        "cannot work here and the mode is not 'off'"
    ),
]
