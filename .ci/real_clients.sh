#!/usr/bin/env bash
# Real MCP clients against `loopwright serve`: MCP Inspector 2.12.0 (--cli) and Claude Code
# 2.1.330 (mcp add/list, and `claude -p` against a scripted endpoint on 127.0.0.1).
# Pinned npm packages are installed once into $LOOPWRIGHT_CI_CACHE (default
# ~/.cache/loopwright-ci) and reused. With CI=true a client that is missing fails the run.
# Expects the venv with loopwright installed first on PATH (as .ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LOOPWRIGHT_CI_CACHE:-$HOME/.cache/loopwright-ci}"
export LOOPWRIGHT_CI_CACHE="$cache"

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

command -v node >/dev/null || { echo "real_clients: node is required" >&2; exit 1; }
command -v loopwright >/dev/null || { echo "real_clients: loopwright not on PATH" >&2; exit 1; }
install claude @anthropic-ai/claude-code 2.1.330
install inspector @modelcontextprotocol/inspector 2.12.0
"$cache/claude/node_modules/.bin/claude" --version </dev/null
python -m pytest -q -p no:cacheprovider -m real_clients tests/server/test_real_clients.py
