# scripts/lib.sh: what bench/run.sh and scripts/load.sh share. Sourced
# once the script has set REF (the aauth-reference binary), LIB_NAME (its
# name, the prefix of its messages) and LIB_TAG (the name of its scratch
# directory); both run under `set -eu`.
#
#   TMP                 a scratch directory, removed on exit (kept, and
#                       named on stderr, when LIB_KEEP_TMP is non-empty)
#   PIDS                background processes, all stopped on exit
#   start_ref/stop_ref  aauth-reference servers on free ports
#   alive/rss_kib       a process's liveness and resident memory
#
# Loopback only: every server listens on 127.0.0.1 (aauth-reference's
# default bind).

TMP=$(mktemp -d "${TMPDIR:-/tmp}/aauth-$LIB_TAG.XXXXXX")
PIDS=""
lib_cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  if [ -n "${LIB_KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap lib_cleanup EXIT INT TERM

alive() { kill -0 "$1" 2>/dev/null; }
# Resident set of process $1 in KiB (0 once it is gone).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_ref NAME ARGS...: aauth-reference ARGS in the background, its
# output in $TMP/NAME.log; sets REF_PID and REF_URL (the listen origin of
# its startup line). Exits the script when the server does not start.
start_ref() {
  name=$1; shift
  : >"$TMP/$name.log"
  "$REF" "$@" >>"$TMP/$name.log" 2>&1 &
  REF_PID=$!
  PIDS="$PIDS $REF_PID"
  REF_URL=""
  i=0
  while [ $i -lt 200 ]; do
    REF_URL=$(awk '/^(agent server|resource|auth server) +http/ { for (f = 1; f <= NF; f++) if ($f ~ /^http:/) { print $f; exit } }' "$TMP/$name.log")
    [ -n "$REF_URL" ] && return 0
    alive "$REF_PID" || break
    sleep 0.05
    i=$((i + 1))
  done
  echo "$LIB_NAME: $name did not start:" >&2
  cat "$TMP/$name.log" >&2
  exit 1
}

# stop_ref PID: stop one server started by start_ref (no longer in PIDS).
stop_ref() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}
