#!/usr/bin/env bash
# Build llama.cpp's own OpenAI-compatible server (`llama-server`) from the source that llama-cpp-python's sdist
# vendors (MIT), into VENV/bin/llama-server. The embedded narrative model runs behind it
# (persona_assets/core/narratives/llama_server.py). Skips the build when the binary of the pinned version exists.
#
#   scripts/build_llama_server.sh [VENV]          (default: .venv)
#   scripts/build_llama_server.sh --tools [VENV]  only install cmake and ninja into VENV (the Makefile does this
#                                                 first, then builds in the background while pip installs the rest)
#
# cmake and ninja: the PyPI wheels installed into VENV (no root, no apt); CMAKE=… / NINJA=… override them.
# A portable build (GGML_NATIVE=OFF keeps AVX/AVX2/FMA/F16C, not tied to the build CPU), statically linked against
# its own libraries (one file to copy), without HTTPS, downloads or the web UI (the server is local only).
set -euo pipefail
TOOLS_ONLY=0
if [ "${1:-}" = "--tools" ]; then TOOLS_ONLY=1; shift; fi
VENV="${1:-.venv}"
VENV="$(cd "$VENV" && pwd)"
SOURCE_PACKAGE="llama-cpp-python==0.3.36"
CMAKE_VERSION="4.4.4"
NINJA_VERSION="1.13.2"
DEST="$VENV/bin/llama-server"
STAMP="$DEST.version"
JOBS="${LLAMA_SERVER_BUILD_JOBS:-$(nproc)}"
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
)
WANT="$SOURCE_PACKAGE ${CMAKE_FLAGS[*]}"
BUILT=0
if [ -x "$DEST" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then BUILT=1; fi
if [ "$BUILT" = 0 ] && { [ -z "${CMAKE:-}" ] || [ -z "${NINJA:-}" ]; }; then
  [ -x "$VENV/bin/cmake" ] && [ -x "$VENV/bin/ninja" ] \
    || "$VENV/bin/python" -m pip install -q "cmake==$CMAKE_VERSION" "ninja==$NINJA_VERSION"
fi
if [ "$TOOLS_ONLY" = 1 ]; then exit 0; fi
if [ "$BUILT" = 1 ]; then
  echo "llama-server ($SOURCE_PACKAGE) already built: $DEST"
  exit 0
fi
CMAKE="${CMAKE:-$VENV/bin/cmake}"
NINJA="${NINJA:-$VENV/bin/ninja}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
echo "building llama-server from $SOURCE_PACKAGE ($JOBS jobs; ~10 min on 2 cores)"
"$VENV/bin/python" -m pip download -q --no-deps --no-binary :all: "$SOURCE_PACKAGE" -d "$WORK"
tar -xzf "$WORK"/llama_cpp_python-*.tar.gz -C "$WORK"
SRC="$(echo "$WORK"/llama_cpp_python-*/vendor/llama.cpp)"
"$CMAKE" -S "$SRC" -B "$WORK/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$NINJA" "${CMAKE_FLAGS[@]}" >"$WORK/configure.log" \
  || { cat "$WORK/configure.log"; exit 1; }
"$NINJA" -C "$WORK/build" -j "$JOBS" llama-server >"$WORK/build.log" || { tail -50 "$WORK/build.log"; exit 1; }
install -m 0755 "$WORK/build/bin/llama-server" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
printf '%s\n' "$WANT" >"$STAMP"
echo "built $DEST in $(( $(date +%s) - start )) s"
