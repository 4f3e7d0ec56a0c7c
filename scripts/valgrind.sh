#!/bin/sh
# The seed flow (PROTOCOL.md §7.6, F6 TEST 1-4) under valgrind memcheck:
#
#   1. the F6 cases of the flows test (in-process agent server, resource,
#      auth server and the client library), one Criterion job at a time;
#   2. the seed scenario through the tools (suites/unit/seed_cli.sh) with
#      aauth-reference and every aauth-delegate run under valgrind.
#
# usage: scripts/valgrind.sh [BUILD_DIR]        (make valgrind)
# Exit 0 when valgrind reports no error and no definite/possible leak in
# any process, 1 otherwise (the per-process logs are kept in
# BUILD_DIR/valgrind/ and their summaries printed), 2 on setup problems.
#
# Criterion has no "no fork" switch: it fork/execs one worker per test
# (its doc/debug.rst), so valgrind follows children (--trace-children=yes)
# and every process, runner and workers alike, writes its own log
# (%p = pid). --error-exitcode only reaches the runner through the
# worker's status, so the logs are the verdict: any "ERROR SUMMARY" other
# than 0 fails the run.
set -u

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLOWS="$B/suites/test_flows"
REF="$B/reference/aauth-reference"
DG="$B/reference/aauth-delegate"
OUT="$B/valgrind"

command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind is not installed (scripts/deps.sh test)" >&2; exit 2; }
for f in "$FLOWS" "$REF" "$DG"; do
  [ -x "$f" ] || { echo "valgrind.sh: $f missing: build first (make build)" >&2; exit 2; }
done
rm -rf "$OUT"
mkdir -p "$OUT/flows" "$OUT/tools" "$OUT/bin"

VG="valgrind --quiet --trace-children=yes --leak-check=full --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible --track-fds=no --num-callers=30"

# ---- 1. the F6 flow cases ------------------------------------------------------------
echo "== valgrind: test_flows --filter 'flows/f6_*' --jobs 1"
# shellcheck disable=SC2086
$VG --error-exitcode=1 --log-file="$OUT/flows/vg.%p.log" \
  "$FLOWS" --jobs 1 --timeout 600 --filter 'flows/f6_*' --verbose
flows_rc=$?

# ---- 2. the tools ---------------------------------------------------------------------
# Wrappers run each tool under valgrind; 99 marks a valgrind finding so it
# cannot be mistaken for the tool's own exit status.
for t in aauth-reference aauth-delegate; do
  cat >"$OUT/bin/$t" <<EOF
#!/bin/sh
exec $VG --error-exitcode=99 --log-file="$OUT/tools/$t.%p.log" "$(cd "$(dirname "$B/reference/$t")" && pwd)/$t" "\$@"
EOF
  chmod +x "$OUT/bin/$t"
done
echo "== valgrind: suites/unit/seed_cli.sh (aauth-reference and aauth-delegate under valgrind)"
"$ROOT/suites/unit/seed_cli.sh" "$OUT/bin/aauth-reference" "$OUT/bin/aauth-delegate" "$OUT/seed-cli"
tools_rc=$?
[ "$tools_rc" -eq 77 ] && tools_rc=0

# ---- verdict --------------------------------------------------------------------------
bad=0
nlogs=0
for log in "$OUT"/flows/vg.*.log "$OUT"/tools/*.log; do
  [ -f "$log" ] || continue
  nlogs=$((nlogs + 1))
  # --quiet logs hold only errors; any "ERROR SUMMARY: N" with N > 0 or any
  # leak record is a finding.
  if grep -qE 'ERROR SUMMARY: [1-9]|definitely lost in|possibly lost in|Invalid (read|write|free)|uninitialised|Mismatched free' "$log"; then
    bad=$((bad + 1))
    echo "---- $log"
    sed -n '1,80p' "$log"
  fi
done
echo "== valgrind: $nlogs process logs, $bad with findings; flows exit $flows_rc, seed_cli exit $tools_rc"
if [ "$bad" -ne 0 ] || [ "$flows_rc" -ne 0 ] || [ "$tools_rc" -ne 0 ]; then
  echo "valgrind.sh: FAILED (logs in $OUT)"
  exit 1
fi
echo "valgrind.sh: clean"
exit 0
