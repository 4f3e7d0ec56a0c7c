#!/bin/sh
# CTest driver of the neg-auth and neg-agent suites (suites/neg_auth*.c,
# suites/neg_agent.c):
#
#   neg_auth_ctest.sh embedded RUNNER REFERENCE WORK_DIR
#     Both suites against the embedded reference: exit 0; at least 30
#     neg-auth and 15 neg-agent checks; the ids are exactly those of
#     --list=json; every check PASS except neg-auth.sig.host-differs,
#     which is INFO by design (PROFILE#9 SIG-30); asserted from
#     report.json. Run twice: real clock and a frozen one.
#
#   neg_auth_ctest.sh faults RUNNER REFERENCE WORK_DIR
#     An external aauth-reference as the target, first without a fault
#     (nothing FAIL or ERROR: the setup is sound), then with fault
#     switches: each id the suites claim for the switch must be FAIL and
#     no check ERROR. Auth server: code-reuse, refresh-any-agent, skip-typ,
#     accept-expired; agent server (declared delegate-token):
#     accept-private-cnf, ignore-hwk-binding, jwks-private; and an external
#     second auth server (--instance auth2) with accept-expired for EX-06.
#
# The startup line of aauth-reference, read through a FIFO, is the
# readiness signal (no sleep). Any sanitizer report on stderr fails.
# Exit 0 pass, 1 fail, 77 python3 missing (CTest SKIP).
set -u

if [ $# -ne 4 ]; then
  echo "usage: $0 embedded|faults RUNNER REFERENCE WORK_DIR" >&2
  exit 2
fi
mode=$1 R=$2 REF=$3 W=$4
# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
need_python

# judge NAME PREFIX FAULT IDS: the claimed ids FAIL, nothing ERROR; with
# fault "none" nothing FAIL/WARN either.
judge() {
  judge_fault "$1" "$W/$1/report.json" "$2" "$3" "$4" 1 PASS,INFO,SKIP
}

case $mode in
embedded)
  run 0 list "$R" --list=json --suite neg-auth --suite neg-agent
  for clock in now frozen=1768786221; do
    name=run-${clock%%=*}
    run 0 "$name" "$R" --suite neg-auth --suite neg-agent --clock "$clock" --no-color \
      --report-dir "$W/$name"
    py "embedded_${clock%%=*}_passes" "$W/list.out" "$W/$name/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2])
for prefix, least in (("neg-auth.", 30), ("neg-agent.", 15)):
    want = sorted(c["id"] for c in cat["checks"] if c["id"].startswith(prefix))
    got = ours(rep, prefix)
    assert len(want) >= least, (prefix, len(want))
    assert sorted(got) == want, set(want) ^ set(got)
    bad = [(i, c["outcome"], c.get("message")) for i, c in got.items()
           if c["outcome"] not in ("PASS", "INFO")]
    assert not bad, bad
    info = sorted(i for i, c in got.items() if c["outcome"] == "INFO")
    assert info == (["neg-auth.sig.host-differs"] if prefix == "neg-auth." else []), info
    print("%s %d checks, all PASS%s" % (prefix, len(got), " (SIG-30 INFO)" if info else ""))
assert rep["exit_code"] == 0
EOF
  done
  ;;

faults)
  # The auth server as the target (agent server and resource embedded).
  for spec in \
    "none:" \
    "code-reuse:neg-auth.cd.code-reused" \
    "refresh-any-agent:neg-auth.rf.other-agent,neg-auth.rf.other-sub" \
    "skip-typ:neg-auth.at.typ-wrong,neg-auth.rt.typ-wrong" \
    "accept-expired:neg-auth.at.expired,neg-auth.rt.expired"; do
    fault=${spec%%:*} ids=${spec#*:}
    if [ "$fault" = none ]; then set -- ; else set -- --fault "$fault"; fi
    ref_start "auth-$fault" 1 --roles auth --auth-port 0 "$@" ||
      { fail "auth-$fault: aauth-reference did not start"; continue; }
    url=$(ref_url "auth-$fault" auth)
    if [ "$fault" = none ]; then want=0; else want=1; fi
    run $want "auth-$fault" "$R" --target-auth-server "$url" --suite neg-auth --no-color \
      --report-dir "$W/auth-$fault"
    ref_stop_all
    judge "auth-$fault" neg-auth. "$fault" "$ids"
  done

  # The agent server as the target; /delegate/token is declared.
  for spec in \
    "none:" \
    "accept-private-cnf:neg-agent.dg.private-cnf" \
    "ignore-hwk-binding:neg-agent.dg.hwk-mismatch" \
    "jwks-private:neg-agent.md.jwks-private"; do
    fault=${spec%%:*} ids=${spec#*:}
    if [ "$fault" = none ]; then set -- ; else set -- --fault "$fault"; fi
    ref_start "agent-$fault" 1 --roles agent --agent-port 0 "$@" ||
      { fail "agent-$fault: aauth-reference did not start"; continue; }
    url=$(ref_url "agent-$fault" agent)
    if [ "$fault" = none ]; then want=0; else want=1; fi
    run $want "agent-$fault" "$R" --target-agent-server "$url" \
      --declare agent-server=delegate-token --suite neg-agent --no-color \
      --report-dir "$W/agent-$fault"
    ref_stop_all
    judge "agent-$fault" neg-agent. "$fault" "$ids"
  done

  # EX-06 at an external AS2 that trusts the runner's embedded AS1 (its
  # port fixed with --listen so AS2 can be told to trust it).
  asport=$(free_ports 1)
  if ref_start auth2-accept-expired 1 --roles auth --auth-port 0 \
      --trust "http://127.0.0.1:$asport" --fault accept-expired; then
    url=$(ref_url auth2-accept-expired auth)
    run 1 auth2-accept-expired "$R" --listen "auth-server=127.0.0.1:$asport" \
      --instance "auth2=$url" --suite neg-auth --filter 'neg-auth.ex.*' --no-color \
      --report-dir "$W/auth2-accept-expired"
    ref_stop_all
    judge auth2-accept-expired neg-auth.ex. accept-expired neg-auth.ex.upstream-expired
  else
    fail "auth2-accept-expired: aauth-reference did not start"
  fi
  ;;

*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac

finish "neg-auth $mode"
