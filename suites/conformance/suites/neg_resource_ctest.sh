#!/bin/sh
# CTest driver of the neg-resource suite (suites/neg_resource*.c):
#
#   neg_resource_ctest.sh embedded RUNNER REFERENCE WORK_DIR
#     The suite against the embedded reference: exit 0, at least 40
#     neg-resource checks, the ids of --list=json, none FAIL/ERROR/WARN/
#     SKIP (only SIG-30 is INFO by design), asserted from report.json.
#
#   neg_resource_ctest.sh faults RUNNER REFERENCE WORK_DIR
#     An external aauth-reference resource (trusting the runner's embedded
#     auth server, whose port is fixed with --listen) first without a fault
#     (every check passes: the setup is sound), then once per
#     resource-related fault switch with the ids the suite claims for it
#     selected (--filter): each must be FAIL, none ERROR.
#
# Exit 0 pass, 1 fail, 77 python3 missing (CTest SKIP).
set -u

if [ $# -ne 4 ]; then
  echo "usage: $0 embedded|faults RUNNER REFERENCE WORK_DIR" >&2
  exit 2
fi
mode=$1 R=$2 REF=$3 W=$4
rm -rf "$W"
mkdir -p "$W"
failures=0
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed" >&2; exit 77; }

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# run WANT NAME CMD...: exit status WANT, no sanitizer report on stderr
run() {
  want=$1 name=$2
  shift 2
  "$@" >"$W/$name.out" 2>"$W/$name.err"
  got=$?
  if [ "$got" -eq "$want" ]; then
    ok "$name: exit $got"
  else
    fail "$name: exit $got, expected $want: $*"
    tail -n 60 "$W/$name.out" >&2
    tail -n 20 "$W/$name.err" >&2
  fi
  if grep -qE "Sanitizer|runtime error:" "$W/$name.err"; then
    fail "$name: sanitizer report on stderr"
    sed -n 1,60p "$W/$name.err" >&2
  fi
}

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

LOAD='
import json, sys
def load(p):
    with open(p, encoding="utf-8") as f:
        return json.load(f)
def ours(rep):
    return {c["id"]: c for c in rep["checks"] if c["id"].startswith("neg-resource.")}
'

case $mode in
embedded)
  run 0 list "$R" --list=json --suite neg-resource
  run 0 run "$R" --suite neg-resource --no-color --report-dir "$W/r"
  py embedded_reference_passes_every_check "$W/list.out" "$W/r/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2])
want = sorted(c["id"] for c in cat["checks"])
got = ours(rep)
assert len(want) >= 40, len(want)
assert sorted(got) == want, set(want) ^ set(got)
bad = [(i, c["outcome"], c.get("message")) for i, c in got.items()
       if c["outcome"] not in ("PASS", "INFO")]
assert not bad, bad
info = sorted(i for i, c in got.items() if c["outcome"] == "INFO")
assert info == ["neg-resource.sig.host-not-canonical"], info
assert rep["exit_code"] == 0
print("%d neg-resource checks, all PASS (SIG-30 INFO)" % len(got))
EOF
  ;;

faults)
  # A free port for the runner's embedded auth server, which the external
  # resource is configured to trust (PROFILE#4.5 step 4).
  asport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # fault:ids that must FAIL (the suite's claim for each switch)
  for spec in \
    "none:" \
    "accept-expired:neg-resource.at.expired,neg-resource.au.expired" \
    "skip-sigkey-coverage:neg-resource.sig.sigkey-not-covered" \
    "ignore-aud:neg-resource.at.aud-excludes-receiver,neg-resource.au.aud-other-resource" \
    "accept-alg-none:neg-resource.at.alg-none" \
    "authority-from-host:neg-resource.sig.authority-from-host" \
    "accept-legacy-base:neg-resource.sig.legacy-base" \
    "grant-agent-token:neg-resource.au.agent-token-on-auth" \
    "skip-created-window:neg-resource.sig.created-past,neg-resource.sig.created-future" \
    "skip-replay:neg-resource.sig.nonce-replay" \
    "no-challenge:neg-resource.sig.no-signature" \
    "cnf-unbound:neg-resource.at.sig-not-cnf,neg-resource.au.sig-not-cnf" \
    "skip-digest:neg-resource.sig.digest-mismatch" \
    "skip-typ:neg-resource.at.typ-wrong,neg-resource.au.typ-wrong"; do
    fault=${spec%%:*} ids=${spec#*:}
    fifo="$W/$fault.fifo"
    mkfifo "$fifo"
    if [ "$fault" = none ]; then fopt=""; else fopt="--fault $fault"; fi
    # shellcheck disable=SC2086
    "$REF" --roles resource --resource-port 0 --auth-server "http://127.0.0.1:$asport" \
      $fopt -q >"$fifo" 2>"$W/$fault.ref.err" &
    refpid=$!
    # The startup line is printed once the server listens: reading it is
    # the readiness signal (no sleep).
    exec 3<"$fifo"
    url=""
    while read -r role u rest <&3; do
      if [ "$role" = resource ]; then url=$u; break; fi
    done
    if [ -z "$url" ]; then
      fail "$fault: aauth-reference did not start"
      cat "$W/$fault.ref.err" >&2
      kill "$refpid" 2>/dev/null
      wait "$refpid" 2>/dev/null
      exec 3<&-
      continue
    fi
    # The control run is the whole suite; a fault run selects only the ids
    # it claims (their cases run whole, the other cases not at all).
    filters=""
    for i in $(echo "$ids" | tr ',' ' '); do filters="$filters --filter $i"; done
    if [ "$fault" = none ]; then want=0; else want=1; fi
    # shellcheck disable=SC2086
    run $want "$fault" "$R" --target-resource "$url" --listen "auth-server=127.0.0.1:$asport" \
      --suite neg-resource $filters --no-color --report-dir "$W/$fault"
    kill "$refpid" 2>/dev/null
    wait "$refpid" 2>/dev/null
    exec 3<&-
    py "fault_${fault}_fails_its_checks" "$W/$fault/report.json" "$fault" "$ids" <<EOF
$LOAD
rep = load(sys.argv[1]); fault = sys.argv[2]
want = [i for i in sys.argv[3].split(",") if i]
got = ours(rep)
assert len(got) >= (40 if fault == "none" else len(want)), len(got)
errors = [(i, c.get("message")) for i, c in got.items() if c["outcome"] == "ERROR"]
assert not errors, errors
missing = [(i, got.get(i, {}).get("outcome")) for i in want if got.get(i, {}).get("outcome") != "FAIL"]
assert not missing, missing
failing = sorted(i for i, c in got.items() if c["outcome"] == "FAIL")
if fault == "none":
    bad = [(i, c["outcome"]) for i, c in got.items() if c["outcome"] not in ("PASS", "INFO")]
    assert not bad, bad
print("%s: FAIL = %s" % (fault, ", ".join(failing) if failing else "(none)"))
EOF
  done
  ;;

*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
exit 0
