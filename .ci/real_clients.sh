#!/usr/bin/env bash
# Real MCP clients against `loopwright serve`: MCP Inspector 2.12.0 (--cli), Claude Code
# 2.1.330, Codex 0.169.0, Gemini CLI 0.61.0 and the Cline CLI 3.0.65, each registered the
# README's way and driven headless against a scripted model on 127.0.0.1; and the README's
# install lines (pipx install ., uv tool install ., uvx --from .) run from a copy of the checkout.
# Pinned npm packages are installed once into $LOOPWRIGHT_CI_CACHE (default
# ~/.cache/loopwright-ci) and reused; codex and gemini come from .ci/real_agents.sh's cache.
# With CI=true a client that is missing fails the run.
# Expects the venv with loopwright installed first on PATH (as .ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LOOPWRIGHT_CI_CACHE:-$HOME/.cache/loopwright-ci}"
export LOOPWRIGHT_CI_CACHE="$cache"
export LOOPWRIGHT_AGENTS_CACHE="${LOOPWRIGHT_AGENTS_CACHE:-$cache/agents}"

install() {  # install DIR PACKAGE VERSION: npm install --prefix, skipped when that version is there
  local dir="$cache/$1" pkg="$2" version="$3"
  local meta="$dir/node_modules/$pkg/package.json"
  if [ -f "$meta" ] && grep -q "\"version\": \"$version\"" "$meta"; then
    echo "$pkg@$version: cached in $dir"
    return
  fi
  echo "$pkg@$version: installing into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$pkg@$version"
}

readme_installs() (  # the README's Install lines from a copy of the checkout, each to a demo
  local tools="$cache/install-tools" pins="pipx==1.18.4 uv==0.13.9" work t0=$SECONDS
  if [ "$(cat "$tools/.stamp" 2>/dev/null)" != "$pins" ]; then
    rm -rf "$tools"
    python3 -m venv "$tools"
    # shellcheck disable=SC2086
    "$tools/bin/pip" install -q --disable-pip-version-check $pins \
      2> >(grep -v "is ignored: it is neither" >&2)
    echo "$pins" >"$tools/.stamp"
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/loopwright-install.XXXXXX")
  mkdir "$work/checkout"
  git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -xf - -C "$work/checkout"
  export UV_CACHE_DIR="$cache/uv" UV_TOOL_DIR="$work/uv-tools" UV_TOOL_BIN_DIR="$work/uv-bin"
  export PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx-bin" PIPX_MAN_DIR="$work/pipx-man"
  local fail=0 way
  (cd "$work/checkout" && "$tools/bin/pipx" install . && "$tools/bin/uv" tool install .) \
    >"$work/log" 2>&1 || fail=1
  for way in "$PIPX_BIN_DIR/loopwright" "$UV_TOOL_BIN_DIR/loopwright" \
    "$tools/bin/uvx --from . loopwright"; do
    [ "$fail" -eq 0 ] || break
    # shellcheck disable=SC2086  # $way is a command line
    if (cd "$work/checkout" && $way --version && LOOPWRIGHT_HOME="$work/home" $way demo) \
      </dev/null >"$work/demo.log" 2>&1 && grep -q "^COMPLETED: completed" "$work/demo.log"; then
      echo "README install: $way: $(head -1 "$work/demo.log"), demo completed"
    else
      fail=1
      cat "$work/demo.log" >>"$work/log"
    fi
  done
  [ "$fail" -eq 0 ] || cat "$work/log" >&2
  rm -rf "$work"
  [ "$fail" -eq 0 ] || { echo "real_clients: a README install line failed" >&2; exit 1; }
  echo "README install lines: $((SECONDS - t0)) s"
)

command -v node >/dev/null || { echo "real_clients: node is required" >&2; exit 1; }
command -v loopwright >/dev/null || { echo "real_clients: loopwright not on PATH" >&2; exit 1; }
install claude @anthropic-ai/claude-code 2.1.330
install inspector @modelcontextprotocol/inspector 2.12.0
install cline cline 3.0.65
bash .ci/real_agents.sh --install-only  # codex and gemini, in the cache real_agents.sh uses
"$cache/claude/node_modules/.bin/claude" --version </dev/null
readme_installs
python -m pytest -q -p no:cacheprovider -m real_clients tests/server/test_real_clients.py \
  tests/server/test_real_consult.py tests/server/test_real_agent_clients.py
