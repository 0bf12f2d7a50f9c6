#!/usr/bin/env bash
# Real coding-agent CLIs as loopwright workers: install the pinned versions into a cache
# reused between runs, put them on PATH, run the `real_clients` tests in tests/backends/agents.
# With CI=true a missing program fails the tests instead of skipping them.
# `real_agents.sh --install-only` just fills the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LOOPWRIGHT_AGENTS_CACHE:-$HOME/.cache/loopwright-ci/agents}"
mkdir -p "$cache"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# name|package@version|bin (bumping a pin re-installs: the stamp holds the spec)
npm_pins=(
  "claude|@anthropic-ai/claude-code@2.1.330|claude"
  "codex|@openai/codex@0.169.0|codex"
  "opencode|opencode-ai@1.18.33|opencode"
  "gemini|@google/gemini-cli@0.61.0|gemini"
)
aider_pin="aider-chat==0.86.2"

install_npm() {
  local name=$1 spec=$2 bin=$3 dir="$cache/$1"
  if [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$spec" ] && [ -x "$dir/node_modules/.bin/$bin" ]; then
    return
  fi
  local t0=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  npm install --silent --no-save --prefix "$dir" "$spec" >/dev/null
  echo "$spec" >"$dir/.stamp"
  echo "installed $spec in $((SECONDS - t0)) s"
}

install_aider() {
  local dir="$cache/aider"
  if [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$aider_pin" ] && [ -x "$dir/venv/bin/aider" ]; then
    return
  fi
  local t0=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  # its own venv: aider's pins (mcp 1.x among them) clash with ours
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q --disable-pip-version-check "$aider_pin" \
    2> >(grep -v "is ignored: it is neither" >&2)
  echo "$aider_pin" >"$dir/.stamp"
  echo "installed $aider_pin in $((SECONDS - t0)) s"
}

# one installer at a time per cache (two CI jobs on one machine share it)
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock"
  flock -w 1800 9
fi

pids=()
for pin in "${npm_pins[@]}"; do
  IFS='|' read -r name spec bin <<<"$pin"
  install_npm "$name" "$spec" "$bin" &
  pids+=($!)
done
install_aider &
pids+=($!)
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
[ "$failed" -eq 0 ] || { echo "installing the agent CLIs failed" >&2; exit 1; }

# only aider's own entry point, not its python: the venv's python must stay ours
mkdir -p "$cache/bin"
ln -sf "$cache/aider/venv/bin/aider" "$cache/bin/aider"
for pin in "${npm_pins[@]}"; do
  IFS='|' read -r name spec bin <<<"$pin"
  ln -sf "$cache/$name/node_modules/.bin/$bin" "$cache/bin/$bin"
done
[ "${1:-}" = "--install-only" ] && exit 0

export PATH="$cache/bin:$PATH"  # the pinned CLIs, not whatever else is installed
export LOOPWRIGHT_REAL_AGENTS_REQUIRED="${CI:-}"
python -m pytest -q -p no:cacheprovider -m real_clients tests/backends/agents
