#!/bin/sh
# End-to-end tests of the flow suites delegation (F6), pseudonymous (F1) and
# identity (F2), one scenario per CTest test:
#   delegation_tests.sh SCENARIO RUNNER REFERENCE SHARED_DIR WORK_DIR
# RUNNER is aauth-conformance, REFERENCE aauth-reference (started here as a
# separate process for the external-target scenarios). Exit 0 pass, 1 fail,
# 77 a needed tool (python3) is missing.
#
#   demo             `make demo`: the PROFILE#8 seed-style report of F6, its
#                    banner, the seed's description lines, TESTS 1-4 with the
#                    seed's check lines, Total: 4 | Passed: 4 | Failed: 0,
#                    exit 0; the F1/F2 reports, where the embedded reference
#                    (feature "public" declared) PASSes F1.4 without changing
#                    F1's three TESTs; -v shows seed-style blocks and
#                    signature bases
#   seed_tests_only  --seed-tests-only: TESTS 1-3 only, Total: 3
#   external         an aauth-reference started on free ports as the
#                    resource under test (trusting the embedded auth server),
#                    then as all three roles; every selected check PASSes
#                    (optional /public PASS with --declare resource=public,
#                    SKIP without); with one fault per role the check that
#                    judges that behaviour FAILs (exit 1), and a resource
#                    with --public-limit 0 (no /public) declared "public"
#                    FAILs both F1.4 checks
#
# Readiness: the reference prints one line per server once it listens; the
# script reads those lines from a FIFO (a blocking read, no sleeps).
set -u

if [ $# -ne 5 ]; then
  echo "usage: $0 SCENARIO RUNNER REFERENCE SHARED_DIR WORK_DIR" >&2
  exit 2
fi
scenario=$1 R=$2 REF=$3 SHARED=$4 W=$5
# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"

# outcomes NAME REPORT WANT_JSON: python assertion over report.json:
# WANT_JSON maps check ids (or "*" for every other check of the three
# suites) to the allowed outcomes.
outcomes() {
  py "$1" "$2" "$3" <<EOF
$LOAD
rep = load(sys.argv[1])
want = json.loads(sys.argv[2])
suites = ("delegation", "identity", "pseudonymous")
seen = 0
bad = []
for c in rep["checks"]:
    if c["suite"] not in suites:
        continue
    seen += 1
    allowed = want.get(c["id"], want.get("*"))
    if allowed is not None and c["outcome"] not in allowed:
        bad.append("%s: %s (allowed %s): %s" % (c["id"], c["outcome"], allowed, c.get("message")))
for cid in want:
    if cid != "*" and not any(c["id"] == cid for c in rep["checks"]):
        bad.append("%s: not in the report" % cid)
if seen == 0:
    bad.append("no check of the flow suites in the report")
print("\n".join(bad) if bad else "%d checks as expected" % seen)
sys.exit(1 if bad else 0)
EOF
}

SEED_FILE="$SHARED/seed/flow-06-agent-delegation.txt"

case $scenario in
demo)
  run 0 demo "$R" --suite delegation --seed-report --no-color
  o="$W/demo.out"
  SEP="================================================================================"
  if [ "$(sed -n 1p "$o")" = "$SEP" ] && [ "$(sed -n 2p "$o")" = "Agent Delegation Demo" ] &&
     [ "$(sed -n 3p "$o")" = "$SEP" ] && [ "$(sed -n 5p "$o")" = "MODE: Automated" ]; then
    ok "banner, MODE: Automated"
  else
    fail "report does not open with the PROFILE#8 banner"; sed -n 1,8p "$o" >&2
  fi
  # the seed's description lines, verbatim (from the seed file when present)
  if [ -r "$SEED_FILE" ]; then
    grep -E '^(This demo shows|[1-6]\. )' "$SEED_FILE" >"$W/seed.lines"
  else
    cat >"$W/seed.lines" <<'EOF'
This demo shows the agent delegation flow:
1. Agent server starts and publishes JWKS
2. Agent delegate requests agent token from agent server
3. Agent delegate accesses resource using agent token
4. Resource validates agent token and grants access
5. Agent delegate requests auth token using agent token
6. Auth server validates agent token and issues auth token with agent_delegate claim
EOF
  fi
  [ "$(wc -l <"$W/seed.lines")" -eq 7 ] || fail "expected 7 description lines in the seed"
  sed -n 7,13p "$o" >"$W/demo.desc"
  if cmp -s "$W/seed.lines" "$W/demo.desc"; then ok "description lines verbatim"; else
    fail "description lines differ from the seed"; diff "$W/seed.lines" "$W/demo.desc" >&2; fi
  has_line t1 "$o" "TEST 1: Delegate Requests Agent Token"
  has_line t2 "$o" "TEST 2: Delegate Accesses Resource Using Agent Token"
  has_line t3 "$o" "TEST 3: Delegate Requests Auth Token Using Agent Token"
  has_line t4 "$o" "TEST 4: Delegate Refreshes Auth Token"
  has_line d1 "$o" "Description: Agent delegate requests agent token from agent server."
  has_line d2 "$o" "Description: Agent delegate makes signed request to resource using agent token."
  has_line d3 "$o" "Description: Agent delegate requests auth token from auth server using agent token."
  has_line typ "$o" "  ✓ typ claim correct: agent+jwt"
  contains iss "$o" "  ✓ iss claim correct: http://127.0.0.1:"
  has_line sub "$o" "  ✓ sub claim correct: delegate-1"
  has_line cnf "$o" "  ✓ cnf.jwk claim present"
  has_line granted "$o" "  ✓ Resource access granted"
  has_line recognized "$o" "  ✓ Resource recognized agent token"
  contains obtained "$o" "  ✓ Agent token obtained: eyJ"
  has_line pass1 "$o" "✓ TEST 1 PASSED: Agent token obtained and validated"
  contains pass2 "$o" "✓ TEST 2 PASSED: "
  contains pass3 "$o" "✓ TEST 3 PASSED: "
  contains pass4 "$o" "✓ TEST 4 PASSED: "
  has_line summary "$o" "TEST SUMMARY"
  has_line s1 "$o" "✓ PASSED: TEST 1: Delegate Requests Agent Token"
  has_line s2 "$o" "✓ PASSED: TEST 2: Delegate Accesses Resource"
  has_line s3 "$o" "✓ PASSED: TEST 3: Delegate Requests Auth Token"
  has_line s4 "$o" "✓ PASSED: TEST 4: Delegate Refreshes Auth Token"
  has_line total "$o" "Total: 4 | Passed: 4 | Failed: 0"
  lacks no_failure_mark "$o" "✗"
  lacks no_mojibake "$o" "âœ"
  lacks only_flow_report "$o" "aauth-conformance 0.1"
  # the other two flow reports (PROFILE#8 table)
  run 0 flows "$R" --suite pseudonymous --suite identity --seed-report --no-color \
    --report-dir "$W/flows"
  has_line f1 "$W/flows.out" "Pseudonymous Flow Demo"
  has_line f2 "$W/flows.out" "Agent Identity via JWKS Demo"
  has_line f1t3 "$W/flows.out" "TEST 3: Signed POST Accepted"
  has_line f2t3 "$W/flows.out" "TEST 3: Identified Request Accepted"
  if [ "$(grep -cxF 'Total: 3 | Passed: 3 | Failed: 0' "$W/flows.out")" -eq 2 ]; then
    ok "F1 and F2: Total: 3 | Passed: 3"; else fail "F1/F2 totals"; grep Total "$W/flows.out" >&2; fi
  # F1.4 against the embedded reference (it declares "public"): the limit
  # shows as 429 + Agent-Auth: httpsig + Retry-After, a signed call is served
  need_python
  outcomes flows_outcomes "$W/flows/report.json" \
    '{"*": ["PASS", "INFO"], "pseudonymous.public.rate-limited": ["PASS"],
      "pseudonymous.public.signed-accepted": ["PASS"]}'
  py f1_4_evidence "$W/flows/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
rl, sa = c["pseudonymous.public.rate-limited"], c["pseudonymous.public.signed-accepted"]
assert rl["actual"] is not None and "429" in rl["actual"], rl
tr = rl["transcript"]
assert "HTTP/1.1 429" in tr and "Agent-Auth: httpsig" in tr, tr[-3000:]
ra = [l for l in tr.splitlines() if l.startswith("Retry-After: ")]
assert ra and all(1 <= int(l.split(": ")[1]) <= 60 for l in ra), ra
# the default limit is 60 a minute: at least 60 served, plus the refused
# one, before the evidence request (more only if a minute ended meanwhile)
n = [int(l.split()[0]) for l in tr.splitlines() if l.endswith("unsigned requests sent before this one")]
assert n and 61 <= n[0] <= 121, (n, tr[:2000])
assert "200" in (sa["actual"] or ""), sa
print("429 after %d unsigned requests, %s; signed: %s" % (n[0], ra[0], sa["actual"]))
EOF
  # verbose: seed-style blocks and signature bases
  run 0 verbose "$R" --suite delegation -v --no-color --clock frozen=1768786221
  contains v_req "$W/verbose.out" ">>> DELEGATE REQUEST to http://127.0.0.1:"
  contains v_resp "$W/verbose.out" "<<< DELEGATE RESPONSE from http://127.0.0.1:"
  contains v_base "$W/verbose.out" "--- signature base ---"
  contains v_params "$W/verbose.out" '"@signature-params": ("@method" "@authority" "@path" "signature-key");created=1768786221'
  contains v_post "$W/verbose.out" '"content-digest": sha-256=:'
  contains v_token "$W/verbose.out" "Verifying agent token claims:"
  contains v_step "$W/verbose.out" "📤 Delegate requesting agent token from agent server..."
  ;;

seed_tests_only)
  run 0 seed "$R" --suite delegation --seed-report --seed-tests-only --no-color
  has_line total "$W/seed.out" "Total: 3 | Passed: 3 | Failed: 0"
  has_line t3 "$W/seed.out" "TEST 3: Delegate Requests Auth Token Using Agent Token"
  lacks no_test4 "$W/seed.out" "TEST 4"
  lacks no_failure_mark "$W/seed.out" "✗"
  ;;

external)
  need_python
  [ -x "$REF" ] || { echo "SKIP: aauth-reference not built" >&2; exit 77; }
  # 1. the resource under test, trusting the embedded auth server on AS_PORT
  AS_PORT=$(free_ports 1)
  ref_start r1 1 --roles resource --resource-port 0 --auth-server "http://127.0.0.1:$AS_PORT" ||
    { fail "reference resource did not start"; exit 1; }
  RID=$(ref_id r1 resource)
  run 0 ext_resource "$R" --target-resource "$RID" --listen "auth-server=127.0.0.1:$AS_PORT" \
    --declare resource=public \
    --suite delegation --suite identity --suite pseudonymous --report-dir "$W/r1" --no-color
  outcomes ext_resource_outcomes "$W/r1/report.json" \
    '{"*": ["PASS"], "pseudonymous.public.rate-limited": ["PASS"],
      "pseudonymous.public.signed-accepted": ["PASS"],
      "delegation.resource.agent-keys-fetched": ["PASS"],
      "identity.identified.keys-fetched": ["PASS"],
      "delegation.rotation.old-token-rejected": ["PASS"]}'
  lacks ext_resource_only_resource "$W/ext_resource.out" "delegation.agent-token.typ"
  ref_stop_all

  # 2. all three roles under test
  ref_start all 3 --agent-port 0 --resource-port 0 --auth-port 0 ||
    { fail "reference servers did not start"; exit 1; }
  AG=$(ref_id all agent) RS=$(ref_id all resource) AS=$(ref_id all auth)
  run 0 ext_all "$R" --target-agent-server "$AG" --target-resource "$RS" --target-auth-server "$AS" \
    --suite delegation --suite identity --suite pseudonymous --report-dir "$W/all" --no-color
  outcomes ext_all_outcomes "$W/all/report.json" \
    '{"*": ["PASS"], "pseudonymous.public.rate-limited": ["SKIP"],
      "pseudonymous.public.signed-accepted": ["SKIP"], "delegation.agent-token.typ": ["PASS"],
      "delegation.refresh.other-sub": ["PASS"], "identity.agent-metadata.identifier": ["PASS"]}'
  ref_stop_all

  # 3. the same checks catch a broken peer (one fault per role)
  ref_start fa 1 --roles agent --agent-port 0 --fault exp-beyond-expires-in ||
    { fail "faulty agent server did not start"; exit 1; }
  run 1 fault_agent "$R" --target-agent-server "$(ref_id fa agent)" --suite delegation \
    --report-dir "$W/fa" --no-color
  outcomes fault_agent_outcomes "$W/fa/report.json" \
    '{"*": ["PASS"], "delegation.agent-token.exp-lifetime": ["FAIL"]}'
  ref_stop_all
  AS_PORT=$(free_ports 1)
  ref_start fr 1 --roles resource --resource-port 0 --auth-server "http://127.0.0.1:$AS_PORT" \
    --fault no-challenge || { fail "faulty resource did not start"; exit 1; }
  run 1 fault_resource "$R" --target-resource "$(ref_id fr resource)" \
    --listen "auth-server=127.0.0.1:$AS_PORT" --suite pseudonymous --suite identity \
    --report-dir "$W/fr" --no-color
  outcomes fault_resource_outcomes "$W/fr/report.json" \
    '{"*": ["PASS", "SKIP"], "pseudonymous.unsigned.challenge": ["FAIL"],
      "identity.pseudonymous.challenge": ["FAIL"], "identity.mode1.identity-endpoint": ["INFO"]}'
  ref_stop_all
  ref_start fs 1 --roles auth --auth-port 0 --fault refresh-any-agent ||
    { fail "faulty auth server did not start"; exit 1; }
  AS=$(ref_id fs auth)
  run 1 fault_auth "$R" --target-auth-server "$AS" --suite delegation --report-dir "$W/fs" --no-color
  outcomes fault_auth_outcomes "$W/fs/report.json" \
    '{"*": ["PASS"], "delegation.refresh.other-sub": ["FAIL"]}'
  ref_stop_all
  # F1.4 can fail: a resource without /public (--public-limit 0) that is
  # declared to have it answers 404 where 429 (and then 200) is required
  AS_PORT=$(free_ports 1)
  ref_start np 1 --roles resource --resource-port 0 --auth-server "http://127.0.0.1:$AS_PORT" \
    --public-limit 0 || { fail "resource without /public did not start"; exit 1; }
  run 1 no_public "$R" --target-resource "$(ref_id np resource)" --declare resource=public \
    --listen "auth-server=127.0.0.1:$AS_PORT" --suite pseudonymous --report-dir "$W/np" --no-color
  outcomes no_public_outcomes "$W/np/report.json" \
    '{"*": ["PASS"], "pseudonymous.public.rate-limited": ["FAIL"],
      "pseudonymous.public.signed-accepted": ["FAIL"]}'
  py no_public_is_404 "$W/np/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
for k in ("pseudonymous.public.rate-limited", "pseudonymous.public.signed-accepted"):
    assert "404" in (c[k]["actual"] or ""), c[k]
print("both F1.4 checks FAIL with 404")
EOF
  # undeclared, the same server is not judged on /public: SKIP, exit 0
  run 0 no_public_undeclared "$R" --target-resource "$(ref_id np resource)" \
    --listen "auth-server=127.0.0.1:$AS_PORT" --suite pseudonymous --report-dir "$W/npu" --no-color
  outcomes no_public_undeclared_outcomes "$W/npu/report.json" \
    '{"*": ["PASS"], "pseudonymous.public.rate-limited": ["SKIP"],
      "pseudonymous.public.signed-accepted": ["SKIP"]}'
  ref_stop_all
  ;;

*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac

finish "$scenario"
