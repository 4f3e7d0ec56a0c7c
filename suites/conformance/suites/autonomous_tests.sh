#!/bin/sh
# shellcheck disable=SC2086
# ($SUITES and fault options are word lists on purpose)
# End-to-end tests of the flow suites autonomous (F3), consent (F4),
# agent-is-resource (F5) and exchange (F7), one scenario per CTest test:
#   autonomous_tests.sh SCENARIO RUNNER REFERENCE WORK_DIR
# RUNNER is aauth-conformance, REFERENCE aauth-reference (started here as
# separate processes for the external scenarios). Exit 0 pass, 1 fail,
# 77 when python3 (used to read report.json) is missing.
#
#   selftest     against the embedded reference: exit 0, every check of the
#                four suites PASS (none FAIL/ERROR/SKIP/WARN), the catalogue
#                count matches --list=json, again with the embedded agent
#                server as the agent (its key), and the negative checks
#                (code reuse, consent denied, untrusted upstream, no refresh
#                token, act/iat/nbf, insufficient_scope) are PASS results
#                that carry their exchange in the transcript
#   seed_report  --seed-report prints the four PROFILE#8 banners and TEST
#                titles with Failed: 0
#   external     four aauth-reference processes on free ports (AS1; the
#                consent pair; R2+AS2 trusting AS1; R1 naming AS1 with R2 as
#                its /data-exchange downstream) as the resource and auth
#                server under test with --instance for the rest: every check
#                PASS (data-exchange declared); then the auth server alone
#   faults       the same processes with one fault each: the checks that
#                judge the broken behaviour FAIL (exit 1), named exactly
#   consent_ui   an auth server (a python3 stand-in) that asks for consent
#                but shows a login page the scripted user does not know:
#                the consent checks are SKIP "consent UI not scriptable",
#                never PASS
#
# Readiness: the reference prints one line per server once it listens; the
# lines are read from a FIFO (a blocking read, never a sleep).
set -u

if [ $# -ne 4 ]; then
  echo "usage: $0 SCENARIO RUNNER REFERENCE WORK_DIR" >&2
  exit 2
fi
scenario=$1 RUNNER=$2 REF=$3 W=$4
SUITES="--suite autonomous --suite consent --suite agent-is-resource --suite exchange"
# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
need_python

# conf WANT NAME ARGS...: the runner with ARGS (see run)
conf() {
  conf_want=$1 conf_name=$2
  shift 2
  run "$conf_want" "$conf_name" "$RUNNER" "$@"
}

# the F3-F7 topology as three external processes; $1: fault list or "".
topology() {
  fa=""
  [ -n "$1" ] && fa="--fault $1"
  ref_start p1 1 --roles auth --auth-port 0 $fa || return 1
  AS1=$(ref_url p1 auth)
  ref_start p2 2 --roles resource,auth --resource-port 0 --auth-port 0 --consent user $fa ||
    return 1
  RC=$(ref_url p2 resource) ASC=$(ref_url p2 auth)
  ref_start p3 2 --roles resource,auth --resource-port 0 --auth-port 0 --trust "$AS1" $fa ||
    return 1
  R2=$(ref_url p3 resource) AS2=$(ref_url p3 auth)
  # R1 names AS1 and calls R2 through its F7 trigger (PROFILE#6.7): the
  # runs declare resource=data-exchange
  ref_start p1r 1 --roles resource --resource-port 0 --auth-server "$AS1" --downstream "$R2" \
    $fa || return 1
  R1=$(ref_url p1r resource)
  return 0
}

# outcomes FILE: "id=OUTCOME" per line, from report.json (read once)
outcomes() {
  if [ ! -f "$1.ids" ]; then
    python3 - "$1" >"$1.ids" <<'EOF'
import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    print("%s=%s" % (c["id"], c["outcome"]))
EOF
  fi
  cat "$1.ids"
}

# expect_only_pass NAME: every check in $W/NAME/report.json PASSed
expect_only_pass() {
  n=$(outcomes "$W/$1/report.json" | grep -c .)
  other=$(outcomes "$W/$1/report.json" | grep -v '=PASS$')
  if [ "$n" -gt 0 ] && [ -z "$other" ]; then
    ok "$1: $n checks, all PASS"
  else
    fail "$1: $n checks, not all PASS: $other"
  fi
}

# expect_outcome NAME ID OUTCOME
expect_outcome() {
  got=$(outcomes "$W/$1/report.json" | grep "^$2=" | cut -d= -f2)
  if [ "$got" = "$3" ]; then
    ok "$1: $2 $3"
  else
    fail "$1: $2 is ${got:-missing}, expected $3"
  fi
}

# a stand-in auth server for consent_ui: metadata, a request token for
# every auth request, and a login page without the PROFILE#6.6 form
start_ui_as() {
  fifo="$W/ui.fifo"
  rm -f "$fifo"
  mkfifo "$fifo" || return 1
  python3 - >"$fifo" 2>"$W/ui.err" <<'EOF' &
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/.well-known/aauth-issuer":
            self.reply(200, "application/json", json.dumps({
                "issuer": ORIGIN, "jwks_uri": ORIGIN + "/jwks.json",
                "agent_token_endpoint": ORIGIN + "/agent/token",
                "agent_auth_endpoint": ORIGIN + "/agent/auth",
                "agent_signing_algs_supported": ["ed25519"],
                "request_types_supported": ["auth", "code"]}).encode())
        elif self.path == "/jwks.json":
            self.reply(200, "application/json", b'{"keys":[]}')
        elif self.path.startswith("/agent/auth"):
            self.reply(200, "text/html", b"<html><body>Sign in with your passkey</body></html>")
        else:
            self.reply(404, "application/json", b'{"error":"not_found"}')
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/agent/token":
            self.reply(200, "application/json",
                       b'{"request_token":"request-token-of-the-stand-in","expires_in":600}')
        else:
            self.reply(404, "application/json", b'{"error":"not_found"}')
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ORIGIN = "http://127.0.0.1:%d" % srv.server_address[1]
print("auth server   " + ORIGIN, flush=True)
srv.serve_forever()
EOF
  REF_PIDS="$REF_PIDS $!"
  exec 3<"$fifo"
  if ! IFS= read -r line <&3; then
    exec 3<&-
    fail "stand-in auth server did not start: $(cat "$W/ui.err")"
    return 1
  fi
  exec 3<&-
  UI_AS=${line##* }
  return 0
}

case "$scenario" in
selftest)
  conf 0 self $SUITES --report-dir "$W/self"
  expect_only_pass self
  listed=$("$RUNNER" $SUITES --list=json |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["checks"]))')
  ran=$(outcomes "$W/self/report.json" | grep -c .)
  if [ "$listed" = "$ran" ]; then ok "selftest: $ran checks = --list=json"; else
    fail "selftest: $ran results, --list=json has $listed"; fi
  for id in consent.code.reuse-rejected consent.deny.access-denied consent.deny.state-echoed \
    exchange.untrusted-upstream.rejected exchange.response.no-refresh-token \
    exchange.t2.act-agent exchange.t2.act-agent-delegate exchange.t2.times \
    autonomous.insufficient-scope.status autonomous.refresh.no-new-refresh-token \
    agent-is-resource.auth-token.no-agent-claim \
    agent-is-resource.auth-token.identity-scopes-excluded; do
    expect_outcome self "$id" PASS
  done
  # with the embedded agent server in the run (the metadata suite needs it)
  # the harness signs as that agent with its key instead of its own agent
  conf 0 self_agent $SUITES --suite metadata --verbose --report-dir "$W/self_agent"
  expect_only_pass self_agent
  if grep -q "embedded agent server .* (the harness signs with its key" "$W/self_agent.out"; then
    ok "self_agent: the embedded agent's key was used"
  else
    fail "self_agent: the embedded agent server was not used as AG"
  fi
  # the negatives were really sent: their refusals are in the transcripts
  python3 - "$W/self/report.json" <<'EOF' || fail "selftest: negative evidence missing"
import json, sys
checks = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
want = {
    "exchange.untrusted-upstream.rejected": "invalid_token",
    "consent.code.reuse-rejected": "invalid_grant",
    "autonomous.insufficient-scope.status": "insufficient_scope",
    "consent.deny.access-denied": "error=access_denied",
}
for cid, text in want.items():
    t = checks[cid].get("transcript") or ""
    if text not in t:
        print("%s: %r not in its transcript" % (cid, text))
        sys.exit(1)
    print("ok: %s transcript shows %s" % (cid, text))
EOF
  ;;
seed_report)
  conf 0 seed $SUITES --seed-report --no-color
  for banner in "Autonomous Authorization Demo" "User Delegation Demo" \
    "Agent is Resource Demo" "Token Exchange Demo" \
    "TEST 1: Autonomous Authorization Flow" "TEST 2: Auth Token Refresh" \
    "TEST 1: User Delegation Flow (Automated)" "TEST 1: Agent is Resource Flow (Automated)" \
    "TEST 1: Agent 1 Obtains Auth Token for Resource 1" \
    "TEST 2: Resource 1 Calls Resource 2 via Token Exchange" \
    "TEST 3: Verify 'act' Claim in Exchanged Token" \
    "PASSED: TEST 1: User Delegation Flow" "PASSED: TEST 3: Verify 'act' Claim" \
    "Total: 2 | Passed: 2 | Failed: 0" "Total: 3 | Passed: 3 | Failed: 0"; do
    if grep -qF "$banner" "$W/seed.out"; then ok "seed report: $banner"; else
      fail "seed report lacks: $banner"; fi
  done
  ;;
external)
  topology "" || { fail "the reference servers did not start"; finish "$scenario"; }
  conf 0 ext_both $SUITES --target-resource "$R1" --target-auth-server "$AS1" \
    --declare resource=data-exchange \
    --instance resource-consent="$RC" --instance auth-consent="$ASC" \
    --instance resource2="$R2" --instance auth2="$AS2" --report-dir "$W/ext_both"
  expect_only_pass ext_both
  conf 0 ext_as $SUITES --target-auth-server "$AS1" --instance auth-consent="$ASC" \
    --instance auth2="$AS2" --report-dir "$W/ext_as"
  expect_only_pass ext_as
  ref_stop_all
  ;;
faults)
  # fault -> ids that must FAIL with every role of the topology broken
  for spec in \
    "wrong-typ:autonomous.resource-token.typ autonomous.auth-token.typ autonomous.auth-token.valid autonomous.resource-token.valid consent.auth-token.valid agent-is-resource.auth-token.valid" \
    "no-challenge:autonomous.challenge.auth-token consent.challenge.resource-token exchange.t1.challenge exchange.rt2.challenge" \
    "code-reuse:consent.code.reuse-rejected" \
    "jwks-private:autonomous.resource-token.valid autonomous.auth-token.valid exchange.t2.valid"; do
    fault=${spec%%:*}
    ids=${spec#*:}
    topology "$fault" || { fail "$fault: the reference servers did not start"; finish "$scenario"; }
    conf 1 "f_$fault" $SUITES --target-resource "$R1" --target-auth-server "$AS1" \
      --declare resource=data-exchange \
      --instance resource-consent="$RC" --instance auth-consent="$ASC" \
      --instance resource2="$R2" --instance auth2="$AS2" --report-dir "$W/f_$fault"
    for id in $ids; do expect_outcome "f_$fault" "$id" FAIL; done
    # a fault in one behaviour is never reported as a harness error
    errs=$(outcomes "$W/f_$fault/report.json" | grep '=ERROR$')
    if [ -z "$errs" ]; then ok "f_$fault: no ERROR"; else fail "f_$fault: ERROR results: $errs"; fi
    ref_stop_all
  done
  # code-reuse breaks only that: every other consent check still PASSes
  other=$(outcomes "$W/f_code-reuse/report.json" | grep -v '=PASS$' |
    grep -v '^consent.code.reuse-rejected=')
  if [ -z "$other" ]; then ok "code-reuse: only consent.code.reuse-rejected fails"; else
    fail "code-reuse: other results changed: $other"; fi
  ;;
consent_ui)
  start_ui_as || exit 1
  conf 0 ui --suite consent --suite agent-is-resource --target-auth-server "$UI_AS" \
    --instance auth-consent="$UI_AS" --report-dir "$W/ui"
  expect_outcome ui consent.auth-response.request-token PASS
  expect_outcome ui agent-is-resource.auth-request.status PASS
  for id in consent.redirect.status consent.redirect.state-echoed consent.code.status \
    consent.code.reuse-rejected consent.deny.access-denied agent-is-resource.consent.code \
    agent-is-resource.auth-token.identity-claims agent-is-resource.delegate.token; do
    expect_outcome ui "$id" SKIP
  done
  python3 - "$W/ui/report.json" <<'EOF' || fail "consent_ui: SKIP reason missing"
import json, sys
c = {x["id"]: x for x in json.load(open(sys.argv[1]))["checks"]}
msg = c["consent.redirect.status"]["message"] or ""
assert "consent UI not scriptable; use --consent manual" in msg, msg
print("ok: reason: " + msg)
EOF
  ;;
*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac

finish "$scenario"
