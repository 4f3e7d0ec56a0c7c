#!/bin/sh
# Regenerate the committed seed corpora fuzz/corpus/<target>/.
#
#   fuzz/seeds.sh [BUILD_DIR]
#
# With BUILD_DIR (a build with fuzz/ configured, e.g. build-fuzz), the seed
# generator fuzz_seedgen is built there and its validly signed requests and
# tokens are added; without it only vectors/ (and ../shared when present)
# are used. See fuzz/seeds.py for what is extracted from where.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gen_args=""
tmp=""
cleanup() { [ -n "$tmp" ] && rm -rf "$tmp"; return 0; }
trap cleanup EXIT INT TERM

if [ $# -ge 1 ]; then
    build=$1
    cmake --build "$build" --target fuzz_seedgen >/dev/null
    tmp=$(mktemp -d)
    "$build/fuzz/fuzz_seedgen" "$tmp" >/dev/null
    gen_args="--seedgen $tmp"
fi
# shellcheck disable=SC2086
python3 "$here/seeds.py" $gen_args
