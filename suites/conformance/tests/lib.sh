# suites/conformance/tests/lib.sh: shell helpers of the conformance CTest
# drivers (tests/cli.sh, suites/neg_*_ctest.sh, suites/*_tests.sh), sourced
# once the driver has set W (its work directory, emptied here) and, where it
# starts servers, REF (aauth-reference).
#
#   fail/ok/finish          count and print assertions; finish exits 0 or 1
#   run/py/contains/...     one command's status, a python3 assertion over
#                           files, fixed strings in a file
#   free_ports N            N distinct free loopback ports
#   ref_start/ref_stop_all  aauth-reference processes and their startup lines
#   judge_fault             a report.json of a run against a faulty server
#
# Design choice: a server's readiness is its startup line ("<role> <url>
# id=<id>", printed once it listens), read through a FIFO: a blocking read,
# never a sleep. Every process started here is stopped on exit.

rm -rf "$W"
mkdir -p "$W"
failures=0
REF_PIDS=""

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

need_python() {
  command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed" >&2; exit 77; }
}

# run WANT_STATUS NAME CMD...: stdout/stderr go to $W/NAME.out / .err; the
# status must be WANT_STATUS and stderr must hold no sanitizer report (case
# processes report sanitizer findings only there).
run() {
  want=$1 name=$2
  shift 2
  "$@" >"$W/$name.out" 2>"$W/$name.err"
  got=$?
  if [ "$got" -eq "$want" ]; then
    ok "$name: exit $got"
  else
    fail "$name: exit $got, expected $want: $*"
    echo "--- stdout" >&2; tail -n 60 "$W/$name.out" >&2
    echo "--- stderr" >&2; tail -n 40 "$W/$name.err" >&2
  fi
  if grep -qE "Sanitizer|runtime error:" "$W/$name.err"; then
    fail "$name: sanitizer report on stderr"
    sed -n 1,60p "$W/$name.err" >&2
  fi
}

# py NAME ARGS... <SCRIPT: a python3 assertion script (exit 0 = holds);
# what it prints is shown either way.
py() {
  name=$1
  shift
  if python3 - "$@" >"$W/$name.py.out" 2>&1; then
    ok "$name"
    cat "$W/$name.py.out"
  else
    fail "$name"
    cat "$W/$name.py.out" >&2
  fi
}

# A python prelude for the report.json assertions ($LOAD in a py script).
LOAD='
import json, sys, fnmatch
def load(p):
    with open(p, encoding="utf-8") as f:
        return json.load(f)
def by_id(rep):
    return {c["id"]: c for c in rep["checks"]}
def ours(rep, prefix):
    return {c["id"]: c for c in rep["checks"] if c["id"].startswith(prefix)}
'

# contains NAME FILE TEXT: FILE holds TEXT (a fixed string)
contains() {
  if grep -qF -- "$3" "$2"; then ok "$1"; else fail "$1: \"$3\" not in $2"; sed -n 1,60p "$2" >&2; fi
}
# has_line NAME FILE TEXT: FILE holds the line TEXT exactly
has_line() {
  if grep -qxF -- "$3" "$2"; then ok "$1"; else fail "$1: line \"$3\" not in $2"; fi
}
# lacks NAME FILE TEXT: FILE does not hold TEXT
lacks() {
  if grep -qF -- "$3" "$2"; then fail "$1: \"$3\" unexpectedly in $2"; else ok "$1"; fi
}

# free_ports N: N distinct ports free on 127.0.0.1 (all bound at once, so
# none repeats), space-separated.
free_ports() {
  python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# ref_start NAME NLINES ARGS...: aauth-reference ARGS -q in the background;
# returns once it printed its NLINES startup lines (one per role), kept in
# $W/NAME.lines for ref_url/ref_id; its stderr goes to $W/NAME.ref.err.
# Returns 1 (with its stderr shown) when it stops before that.
ref_start() {
  rs_name=$1 rs_n=$2
  shift 2
  rs_fifo="$W/$rs_name.fifo"
  rm -f "$rs_fifo"
  mkfifo "$rs_fifo" || return 1
  "$REF" "$@" -q >"$rs_fifo" 2>"$W/$rs_name.ref.err" &
  REF_PIDS="$REF_PIDS $!"
  exec 3<"$rs_fifo"
  : >"$W/$rs_name.lines"
  rs_i=0
  while [ "$rs_i" -lt "$rs_n" ]; do
    if ! IFS= read -r rs_line <&3; then
      exec 3<&-
      echo "aauth-reference $* stopped before it listened:" >&2
      cat "$W/$rs_name.ref.err" >&2
      return 1
    fi
    printf '%s\n' "$rs_line" >>"$W/$rs_name.lines"
    rs_i=$((rs_i + 1))
  done
  # keep draining its stdout so a later line can never block it
  cat <&3 >/dev/null &
  exec 3<&-
  return 0
}

# ref_url NAME ROLE / ref_id NAME ROLE: the listen origin / the identifier
# a started reference printed for ROLE ("agent", "resource", "auth").
ref_url() {
  awk -v r="$2" '$1 == r { for (i = 2; i <= NF; i++) if ($i ~ /^http/) { print $i; exit } }' \
    "$W/$1.lines"
}
ref_id() {
  awk -v r="$2" '$1 == r { for (i = 2; i <= NF; i++) if ($i ~ /^id=/) { print substr($i, 4); exit } }' \
    "$W/$1.lines"
}

ref_stop_all() {
  for p in $REF_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  REF_PIDS=""
}
trap ref_stop_all EXIT
trap 'ref_stop_all; exit 130' INT TERM

# judge_fault NAME REPORT PREFIX FAULT IDS LEAST ALLOWED: the checks of
# REPORT whose id starts with PREFIX, from a run against a server with the
# fault switch FAULT ("none" for the control run). The comma-separated IDS
# must be FAIL and no check ERROR; the control run needs at least LEAST
# checks and every outcome in the comma-separated ALLOWED.
judge_fault() {
  py "$1" "$2" "$3" "$4" "$5" "$6" "$7" <<EOF
$LOAD
rep = load(sys.argv[1]); prefix = sys.argv[2]; fault = sys.argv[3]
want = [i for i in sys.argv[4].split(",") if i]
least = int(sys.argv[5]); allowed = sys.argv[6].split(",")
got = ours(rep, prefix)
assert got, "no %s checks in the report" % prefix
assert len(got) >= (least if fault == "none" else len(want)), len(got)
errors = [(i, c.get("message")) for i, c in got.items() if c["outcome"] == "ERROR"]
assert not errors, errors
missing = [(i, got.get(i, {}).get("outcome")) for i in want if got.get(i, {}).get("outcome") != "FAIL"]
assert not missing, missing
if fault == "none":
    bad = [(i, c["outcome"], c.get("message")) for i, c in got.items() if c["outcome"] not in allowed]
    assert not bad, bad
failing = sorted(i for i, c in got.items() if c["outcome"] == "FAIL")
print("%s: FAIL = %s" % (fault, ", ".join(failing) if failing else "(none)"))
EOF
}

# finish LABEL: stop the servers; none may have reported a sanitizer finding
# either (ASan builds); exit 1 when any assertion failed, else 0.
finish() {
  ref_stop_all
  for f in "$W"/*.ref.err; do
    [ -f "$f" ] || continue
    if grep -qE "Sanitizer|runtime error:" "$f"; then
      fail "sanitizer report in $f"
      sed -n 1,40p "$f" >&2
    fi
  done
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures failure(s)" >&2
    exit 1
  fi
  echo "$1: all passed"
  exit 0
}
