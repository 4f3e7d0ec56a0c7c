#!/usr/bin/env bash
# The seed scenario (PROTOCOL.md §7.6, TEST 1-3) reproduced with the two
# command-line tools, as a user would by hand (docs/delegate.md):
#
#   aauth-reference  agent server, resource, auth server on free ports
#   aauth-delegate   TEST 1 agent token; TEST 2 GET /data-jwks (scheme=jwt);
#                    TEST 3 GET /data-auth following the auth-token challenge
#
# usage: seed_cli.sh AAUTH_REFERENCE AAUTH_DELEGATE [WORKDIR]
# Exit 0 = all checks passed, 1 = a check failed, 77 = python3 missing (skip).
#
# Readiness is polled (the tool prints its listen lines once every role is
# up; the metadata endpoint is then polled until it answers 200), never
# waited for with a blind sleep. The server is stopped with SIGTERM and
# must exit 0.
set -u

REF=${1:?usage: seed_cli.sh AAUTH_REFERENCE AAUTH_DELEGATE [WORKDIR]}
DG=${2:?usage: seed_cli.sh AAUTH_REFERENCE AAUTH_DELEGATE [WORKDIR]}
command -v python3 >/dev/null 2>&1 || { echo "seed_cli: python3 not installed: skipped"; exit 77; }

WORK=${3:-}
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/seed-cli.XXXXXX")
  CLEAN_WORK=1
else
  mkdir -p "$WORK"
  CLEAN_WORK=0
fi
PID=
FAILS=0

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  [ "$CLEAN_WORK" = 1 ] && rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "  ✓ $*"; }
fail() { echo "  ✗ $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# json FILE EXPR: evaluate a Python expression over the JSON in FILE (as j).
json() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"j": j})
print(v if not isinstance(v, (dict, list)) else json.dumps(v))
EOF
}

# jwt TOKEN PART: the decoded header (0) or payload (1) of a compact JWS.
jwt() {
  python3 - "$1" "$2" <<'EOF'
import base64, sys
seg = sys.argv[1].split(".")[int(sys.argv[2])]
print(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)).decode())
EOF
}

echo "================================================================================"
echo "aauth-reference + aauth-delegate: the seed scenario"
echo "================================================================================"

# ---- start the reference on free ports ---------------------------------------------
"$REF" --agent-port 0 --resource-port 0 --auth-port 0 --key-dir "$WORK/keys" \
  >"$WORK/ref.out" 2>"$WORK/ref.err" &
PID=$!

AG= RS= AS=
for _ in $(seq 1 600); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "aauth-reference exited early:"; cat "$WORK/ref.out" "$WORK/ref.err"; exit 1
  fi
  AG=$(sed -n 's/^agent server  *\(http:[^ ]*\)  id=.*/\1/p' "$WORK/ref.out" | head -n 1)
  RS=$(sed -n 's/^resource  *\(http:[^ ]*\)  id=.*/\1/p' "$WORK/ref.out" | head -n 1)
  AS=$(sed -n 's/^auth server  *\(http:[^ ]*\)  id=.*/\1/p' "$WORK/ref.out" | head -n 1)
  [ -n "$AG" ] && [ -n "$RS" ] && [ -n "$AS" ] && break
  sleep 0.05
done
if [ -z "$AG" ] || [ -z "$RS" ] || [ -z "$AS" ]; then
  echo "aauth-reference did not report its three servers:"; cat "$WORK/ref.out" "$WORK/ref.err"
  exit 1
fi
for u in "$AG/.well-known/aauth-agent" "$RS/.well-known/aauth-resource" "$AS/.well-known/aauth-issuer"; do
  ready=0
  for _ in $(seq 1 600); do
    if "$DG" -q --scheme none --no-follow get "$u" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.05
  done
  [ "$ready" = 1 ] || { echo "not ready: $u"; exit 1; }
done
case "$AG$RS$AS" in
  *:8001*|*:8002*|*:8003*) echo "note: a free port happened to be 800x" ;;
esac
echo "agent server $AG, resource $RS, auth server $AS"

KEY="$WORK/delegate.jwk"

# ---- TEST 1: Delegate Requests Agent Token -------------------------------------------
echo
echo "TEST 1: Delegate Requests Agent Token"
"$DG" --agent-server "$AG" --key "$KEY" agent-token >"$WORK/t1.json" 2>"$WORK/t1.err"
check "exit status 0" test $? -eq 0
check "delegate key generated and saved" test -s "$KEY"
TOK=$(json "$WORK/t1.json" 'j["agent_token"]' 2>/dev/null)
check "expires_in 3600" test "$(json "$WORK/t1.json" 'j["expires_in"]' 2>/dev/null)" = 3600
jwt "$TOK" 0 >"$WORK/t1.h" 2>/dev/null && jwt "$TOK" 1 >"$WORK/t1.p" 2>/dev/null
check "typ claim correct: agent+jwt" test "$(json "$WORK/t1.h" 'j["typ"]')" = "agent+jwt"
check "alg EdDSA, kid key-1" test "$(json "$WORK/t1.h" 'j["alg"]+" "+j["kid"]')" = "EdDSA key-1"
check "iss claim correct: $AG" test "$(json "$WORK/t1.p" 'j["iss"]')" = "$AG"
check "sub claim correct: delegate-1" test "$(json "$WORK/t1.p" 'j["sub"]')" = "delegate-1"
check "cnf.jwk is the delegate key (x, kid delegate-key-1)" test \
  "$(json "$WORK/t1.p" 'j["cnf"]["jwk"]["x"]+" "+j["cnf"]["jwk"]["kid"]')" = \
  "$(json "$KEY" 'j["x"]+" "+j["kid"]')"

# ---- TEST 2: Delegate Accesses Resource Using Agent Token ----------------------------
echo
echo "TEST 2: Delegate Accesses Resource Using Agent Token"
"$DG" --agent-server "$AG" --key "$KEY" --scheme jwt -v get "$RS/data-jwks" \
  >"$WORK/t2.json" 2>"$WORK/t2.err"
check "exit status 0" test $? -eq 0
check "scheme jwt, token_type agent+jwt, method GET" test \
  "$(json "$WORK/t2.json" 'j["scheme"]+" "+j["token_type"]+" "+j["method"]')" = "jwt agent+jwt GET"
check "agent $AG" test "$(json "$WORK/t2.json" 'j["agent"]')" = "$AG"
check "Resource recognized agent token (agent_delegate delegate-1)" test \
  "$(json "$WORK/t2.json" 'j["agent_delegate"]')" = "delegate-1"
check "-v: >>> DELEGATE REQUEST to $RS/data-jwks" grep -qxF ">>> DELEGATE REQUEST to $RS/data-jwks" "$WORK/t2.err"
check "-v: <<< DELEGATE RESPONSE from $RS/data-jwks" grep -qxF "<<< DELEGATE RESPONSE from $RS/data-jwks" "$WORK/t2.err"
check "-v: Signature-Key scheme=jwt, cut after 97 characters" \
  grep -qE '^Signature-Key: sig1=\(scheme=jwt jwt="eyJ.{72}\.\.\.$' "$WORK/t2.err"
check "-v: Signature-Input of the seed shape" grep -qE \
  '^Signature-Input: sig1=\("@method" "@authority" "@path" "signature-key"\);created=[0-9]+$' "$WORK/t2.err"
check "-v: the signature base" grep -qF -- '--- signature base (' "$WORK/t2.err"

# ---- TEST 3: Delegate Requests Auth Token Using Agent Token --------------------------
echo
echo "TEST 3: Delegate Requests Auth Token Using Agent Token"
"$DG" --agent-server "$AG" --key "$KEY" -v get "$RS/data-auth" >"$WORK/t3.json" 2>"$WORK/t3.err"
check "exit status 0" test $? -eq 0
check "token_type auth+jwt, scheme jwt" test \
  "$(json "$WORK/t3.json" 'j["token_type"]+" "+j["scheme"]')" = "auth+jwt jwt"
check "agent $AG, agent_delegate delegate-1" test \
  "$(json "$WORK/t3.json" 'j["agent"]+" "+j["agent_delegate"]')" = "$AG delegate-1"
check "scope data.read data.write" test "$(json "$WORK/t3.json" 'j["scope"]')" = "data.read data.write"
check "-v: the 401 auth-token challenge" grep -qE '^Agent-Auth: httpsig; auth-token; resource_token="' "$WORK/t3.err"
check "-v: POST to the agent_token_endpoint" grep -qxF ">>> DELEGATE REQUEST to $AS/agent/token" "$WORK/t3.err"

# the same through the environment, as the conformance runner's --target-delegate sets it
AAUTH_AGENT_SERVER="$AG" AAUTH_RESOURCE="$RS" "$DG" --key "$KEY" get /data-auth >"$WORK/t3e.json" 2>"$WORK/t3e.err"
check "AAUTH_AGENT_SERVER/AAUTH_RESOURCE: exit 0, auth+jwt" test \
  "$?:$(json "$WORK/t3e.json" 'j["token_type"]' 2>/dev/null)" = "0:auth+jwt"

# ---- exit statuses ------------------------------------------------------------------
echo
echo "Exit statuses"
"$DG" --agent-server "$AG" --no-follow get "$RS/data-auth" >/dev/null 2>&1
check "final 401 (--no-follow): 1" test $? -eq 1
"$DG" --scheme bogus get "$RS/data-auth" >/dev/null 2>&1
check "usage error: 2" test $? -eq 2
"$DG" --scheme hwk get "http://127.0.0.1:1/data-hwk" >/dev/null 2>&1
check "connection refused: 3" test $? -eq 3

# ---- stop -----------------------------------------------------------------------------
echo
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
check "aauth-reference stopped by SIGTERM with exit status 0" test "$RC" -eq 0

echo
echo "--------------------------------------------------------------------------------"
if [ "$FAILS" -eq 0 ]; then
  echo "seed_cli: all checks passed"
  exit 0
fi
echo "seed_cli: $FAILS check(s) failed"
for f in ref.err t1.err t2.err t3.err; do
  [ -s "$WORK/$f" ] && { echo "--- $f"; tail -n 40 "$WORK/$f"; }
done
exit 1
