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
# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
need_python

case $mode in
embedded)
  run 0 list "$R" --list=json --suite neg-resource
  run 0 run "$R" --suite neg-resource --no-color --report-dir "$W/r"
  py embedded_reference_passes_every_check "$W/list.out" "$W/r/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2])
want = sorted(c["id"] for c in cat["checks"])
got = ours(rep, "neg-resource.")
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
  asport=$(free_ports 1)
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
    if [ "$fault" = none ]; then fopt=""; else fopt="--fault $fault"; fi
    # shellcheck disable=SC2086
    ref_start "$fault" 1 --roles resource --resource-port 0 \
      --auth-server "http://127.0.0.1:$asport" $fopt ||
      { fail "$fault: aauth-reference did not start"; continue; }
    url=$(ref_url "$fault" resource)
    # The control run is the whole suite; a fault run selects only the ids
    # it claims (their cases run whole, the other cases not at all).
    filters=""
    for i in $(echo "$ids" | tr ',' ' '); do filters="$filters --filter $i"; done
    if [ "$fault" = none ]; then want=0; else want=1; fi
    # shellcheck disable=SC2086
    run $want "$fault" "$R" --target-resource "$url" --listen "auth-server=127.0.0.1:$asport" \
      --suite neg-resource $filters --no-color --report-dir "$W/$fault"
    ref_stop_all
    judge_fault "fault_${fault}_fails_its_checks" "$W/$fault/report.json" neg-resource. \
      "$fault" "$ids" 40 PASS,INFO
  done
  ;;

*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac

finish "neg-resource $mode"
