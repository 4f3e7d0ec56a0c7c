#!/bin/sh
# Ensure the Debian packages a make target needs are installed.
#   scripts/deps.sh [core|test|bench|fuzz]...
# As root: installs what is missing with apt-get. Otherwise prints the
# exact apt-get line and exits 1 so `make` stops with a clear message.
set -eu

pkgs_core="cmake make gcc pkg-config libc6-dev libssl-dev libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev"
pkgs_test="libcriterion-dev libxml2-utils python3 python3-jsonschema valgrind"
pkgs_bench="wrk python3"
pkgs_fuzz="clang libclang-rt-14-dev"

want=""
[ $# -eq 0 ] && set -- core
for set in "$@"; do
  case "$set" in
    core) want="$want $pkgs_core" ;;
    test) want="$want $pkgs_core $pkgs_test" ;;
    bench) want="$want $pkgs_core $pkgs_bench" ;;
    fuzz) want="$want $pkgs_core $pkgs_fuzz" ;;
    *) echo "deps.sh: unknown set '$set' (core|test|bench|fuzz)" >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: not a Debian system; install the equivalents of:$want" >&2
  exit 0
fi

missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "deps.sh: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || apt-get update
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
else
  echo "Missing Debian packages. Run as root:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
