#!/bin/sh
# scripts/load.sh [BUILD_DIR]: load and fault tests of the reference
# resource (aauth-reference), loopback only, bounded in count and time
# (about two minutes with the defaults). Run by `make load`.
#
#   A. LOAD_CONNS (200) concurrent connections for LOAD_SECS (30) s with
#      wrk, alternating the seed's TEST 2 request (PROFILE#7.6, must be
#      200) and its twin with one signature bit flipped (must be 401):
#      no other status, no socket errors, the server alive, RSS flat
#      between a warm-up run and the end of the long run.
#   B. Slow clients: SLOW_CONNS (100) connections sending their header
#      block one byte per second plus SLOW_CONNS that stop after a partial
#      header, for SLOW_SECS (15) s - longer than the server's 10 s
#      inactivity timeout and its 10 s request deadline (--request-timeout
#      10 here); meanwhile a normal client sends the signed request every
#      0.5 s and every one must get 200, and afterwards no slow connection
#      may still be open.
#   C. The agent's key discovery against hostile peers (PROFILE#3): JWKS
#      down, slower than the 5 s fetch timeout, garbage. The resource
#      must answer 401 or 503 with a PROFILE#6.8 error body, within the
#      client's 30 s (i.e. not hang).
#   D. Oversized input (PROFILE#9 RB-01/RB-02): a 64 KiB header line, a
#      75 KiB and a 256 KiB header block, a 2 MiB body, 10 000 parameters
#      in a structured field (one line, and four lines): 431/413/400/401.
#   E. Connection limits with the defaults (64 per client address): 100
#      idle connections from 127.0.0.1 to a second resource leave at most
#      64 open, and a client from 127.0.0.2 is still served.
#
# Everything here comes from 127.0.0.1, so the resource of A-D runs with
# --max-connections-per-ip 1024 (the global 512 still applies).
#
# Exit status 0 when every expectation held, 1 otherwise; each outcome is
# printed as "PASS ..." or "FAIL ...", numbers alongside. No expectation
# is about speed (speed is bench/'s business).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$SRC/build}" && pwd)
LOAD_SECS=${LOAD_SECS:-30}
LOAD_CONNS=${LOAD_CONNS:-200}
SLOW_CONNS=${SLOW_CONNS:-100}
SLOW_SECS=${SLOW_SECS:-15}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-1024}

REF=$B/reference/aauth-reference
MKREQ=$B/bench/bench_mkreq
for exe in "$REF" "$MKREQ"; do
  [ -x "$exe" ] || { echo "load.sh: $exe not built (cmake --build $B)" >&2; exit 1; }
done
for tool in wrk python3; do
  command -v $tool >/dev/null 2>&1 || { echo "load.sh: $tool is required" >&2; exit 1; }
done
ulimit -n 4096 2>/dev/null || true

LIB_NAME=load.sh LIB_TAG=load
# shellcheck source=lib.sh
. "$SRC/scripts/lib.sh"

FAILS=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

start_ref agent --roles agent --agent-port 0
AG_URL=$REF_URL
start_ref resource --roles resource --resource-port 0 -q --max-connections-per-ip 1024 \
  --request-timeout 10
RS_PID=$REF_PID RS_URL=$REF_URL
RS_PORT=${RS_URL##*:}
RSS_IDLE=$(rss_kib "$RS_PID")
echo "resource $RS_URL (pid $RS_PID), agent $AG_URL; RSS idle ${RSS_IDLE} KiB"

# ---- A. 200 connections ---------------------------------------------------------
echo "== A. $LOAD_CONNS connections, ${LOAD_SECS}s, valid and flipped-bit requests alternating"
# wrk_mixed SECONDS OUT: one run; RSS_PEAK is sampled halfway through.
wrk_mixed() {
  "$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --lua "$TMP/mixed.lua" --mode mixed --check
  wrk -t2 -c"$LOAD_CONNS" -d"$1s" --timeout 10s -s "$TMP/mixed.lua" "$RS_URL/data-jwks" >"$2" 2>&1 &
  w=$!
  PIDS="$PIDS $w"
  sleep $(($1 / 2))
  RSS_PEAK=$(rss_kib "$RS_PID")
  wait $w || true
}
# RSS once the closed connections' memory is returned: sampled until two
# readings 0.2 s apart agree (at most 5 s), so "flat" compares like with like.
rss_settled() {
  prev=-1 k=0
  while [ $k -lt 25 ]; do
    cur=$(rss_kib "$RS_PID")
    [ "$cur" = "$prev" ] && break
    prev=$cur
    sleep 0.2
    k=$((k + 1))
  done
  echo "$cur"
}
wrk_mixed 5 "$TMP/warm.out"
RSS_WARM=$(rss_settled)
wrk_mixed "$LOAD_SECS" "$TMP/load.out"
RSS_LOAD=$(rss_settled)
ok200=$(awk '$1 == "status" && $2 == 200 { print $3 }' "$TMP/load.out")
ok401=$(awk '$1 == "status" && $2 == 401 { print $3 }' "$TMP/load.out")
other=$(awk '$1 == "status" && $2 != 200 && $2 != 401 { n += $3 } END { print n + 0 }' "$TMP/load.out")
sockerr=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' "$TMP/load.out")
rps=$(awk '/Requests\/sec:/ { print $2 }' "$TMP/load.out")
echo "   ${ok200:-0} x 200, ${ok401:-0} x 401, $other other, ${rps:-?} req/s; socket errors: ${sockerr:-none}"
echo "   RSS with $LOAD_CONNS connections open ${RSS_PEAK} KiB; settled after warm-up ${RSS_WARM} KiB, after the run ${RSS_LOAD} KiB"
[ "${ok200:-0}" -gt 0 ] && [ "${ok401:-0}" -gt 0 ] && [ "$other" -eq 0 ] \
  && pass "A: only 200 and 401 under $LOAD_CONNS connections" \
  || fail "A: statuses 200=${ok200:-0} 401=${ok401:-0} other=$other"
[ -z "$sockerr" ] && pass "A: no socket errors" || fail "A: socket errors: $sockerr"
alive "$RS_PID" && pass "A: resource alive" || fail "A: resource died"
if grep -q '^AA_SANITIZE:BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
  # ASan keeps freed memory in quarantine: RSS says nothing there.
  echo "NOTE A: sanitizer build, RSS not judged (${RSS_WARM} -> ${RSS_LOAD} KiB)"
elif [ $((RSS_LOAD - RSS_WARM)) -le "$RSS_SLACK_KIB" ]; then
  pass "A: RSS flat (${RSS_WARM} -> ${RSS_LOAD} KiB, slack ${RSS_SLACK_KIB})"
else
  fail "A: RSS grew ${RSS_WARM} -> ${RSS_LOAD} KiB"
fi

# ---- B. slow clients --------------------------------------------------------------
echo "== B. $SLOW_CONNS trickling + $SLOW_CONNS stalled connections for ${SLOW_SECS}s"
"$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --headers "$TMP/req.hdr" --check

python3 - "$RS_PORT" "$SLOW_CONNS" "$SLOW_SECS" "$TMP/req.hdr" >"$TMP/slow.out" <<'EOF'
import socket, sys, time
port, n, secs, hdr = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
head = open(hdr, "rb").read()
good = (b"GET /data-jwks HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port) + head + \
       b"Connection: close\r\n\r\n"
slow = b"GET /data-jwks HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: " % port + b"a" * 4096

def open_conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    return s

def state(s):
    """True while the server keeps the connection open."""
    try:
        return s.recv(4096) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

trickle = [open_conn() for _ in range(n)]
stalled = []
for _ in range(n):
    s = open_conn()
    s.send(slow[:40])
    stalled.append(s)
served = failed = 0
lat = []
t0 = time.monotonic()
i = 0
next_byte = t0
while time.monotonic() - t0 < secs:
    now = time.monotonic()
    if now >= next_byte:
        for s in trickle:
            try:
                s.send(slow[i:i + 1])
            except OSError:
                pass
        i += 1
        next_byte += 1.0
    a = time.monotonic()
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(good)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        if data.startswith(b"HTTP/1.1 200"):
            served += 1
        else:
            failed += 1
    except OSError:
        failed += 1
    lat.append(time.monotonic() - a)
    time.sleep(0.5)
open_trickle = sum(1 for s in trickle if state(s))
open_stalled = sum(1 for s in stalled if state(s))
lat.sort()
print("served %d failed %d trickle_open %d/%d stalled_open %d/%d median_ms %.1f max_ms %.1f"
      % (served, failed, open_trickle, n, open_stalled, n,
         1000 * lat[len(lat) // 2] if lat else 0, 1000 * lat[-1] if lat else 0))
EOF
cat "$TMP/slow.out" | sed 's/^/   /'
set -- $(cat "$TMP/slow.out")
served=$2 failedn=$4 trickle_open=${6%/*} stalled_open=${8%/*}
[ "$served" -gt 0 ] && [ "$failedn" -eq 0 ] \
  && pass "B: $served normal requests served during the slow-client phase" \
  || fail "B: normal requests: $served served, $failedn failed"
[ "$stalled_open" -eq 0 ] \
  && pass "B: stalled connections closed by the inactivity timeout" \
  || fail "B: $stalled_open stalled connections still open after ${SLOW_SECS}s"
# A client that sends a byte more often than the inactivity timeout is
# never idle; the request deadline closes it.
[ "$trickle_open" -eq 0 ] \
  && pass "B: one-byte-per-second connections closed by the request deadline" \
  || fail "B: $trickle_open of $SLOW_CONNS one-byte-per-second connections still open after ${SLOW_SECS}s"
alive "$RS_PID" && pass "B: resource alive" || fail "B: resource died"

# ---- C. hostile JWKS peers --------------------------------------------------------
echo "== C. agent JWKS down / slow / garbage"
python3 - "$TMP/peers.txt" >"$TMP/peers.log" 2>&1 <<'EOF' &
import json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

dead = socket.socket()  # bound, never listening: connections are refused
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]

def make(mode):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            pass
        def send(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            origin = "http://127.0.0.1:%d" % self.server.server_port
            if self.path == "/.well-known/aauth-agent":
                jwks = ("http://127.0.0.1:%d/jwks.json" % dead_port) if mode == "down" \
                       else origin + "/jwks.json"
                self.send(200, "application/json",
                          json.dumps({"agent": origin, "jwks_uri": jwks}).encode())
            elif self.path == "/jwks.json" and mode == "slow":
                time.sleep(8)  # longer than the 5 s fetch timeout (PROFILE#3)
                self.send(200, "application/json", b'{"keys":[]}')
            elif self.path == "/jwks.json":
                self.send(200, "application/json", b'{"keys":[{"kty":"OKP",')
            else:
                self.send(404, "application/json", b'{"error":"invalid_request"}')
    return H

servers = {}
for mode in ("down", "slow", "garbage"):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make(mode))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    servers[mode] = srv
with open(sys.argv[1] + ".tmp", "w") as f:
    for mode, srv in servers.items():
        f.write("%s %d\n" % (mode, srv.server_port))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(3600)
EOF
PEERS_PID=$!
PIDS="$PIDS $PEERS_PID"
i=0
while [ ! -s "$TMP/peers.txt" ] && [ $i -lt 100 ] && alive "$PEERS_PID"; do sleep 0.05; i=$((i + 1)); done
[ -s "$TMP/peers.txt" ] || { echo "load.sh: hostile peers did not start" >&2; cat "$TMP/peers.log" >&2; exit 1; }
while read -r mode port; do
  # An agent server claiming the hostile peer's identifier issues the
  # token, so the resource's discovery goes to the peer.
  start_ref "agent-$mode" --roles agent --agent-port 0 --agent-id "http://127.0.0.1:$port" -q
  out=$("$MKREQ" --agent "$REF_URL" --url "$RS_URL/data-jwks" --send || true)
  status=${out%% *}
  rest=${out#* }
  ms=${rest%% *}
  body=${rest#* }
  echo "   $mode: $status after ${ms} ms: $(printf '%s' "$body" | cut -c1-200)"
  case "$status" in
    401|503)
      case "$body" in
        *'"error":'*'"error_description":'*) pass "C: JWKS $mode -> $status with an error body" ;;
        *) fail "C: JWKS $mode -> $status without a PROFILE#6.8 body" ;;
      esac ;;
    0) fail "C: JWKS $mode -> no answer within the client's 30 s: $body" ;;
    *) fail "C: JWKS $mode -> status $status" ;;
  esac
  kill "$REF_PID" 2>/dev/null || true
  wait "$REF_PID" 2>/dev/null || true
done <"$TMP/peers.txt"
# The resource fetches keys inside its handler: while a fetch waits for a
# slow peer, that MHD thread serves nobody else. Measured, not judged: two
# slow-JWKS requests in flight, then one normal request's latency.
slow_port=$(awk '$1 == "slow" { print $2 }' "$TMP/peers.txt")
start_ref agent-slow2 --roles agent --agent-port 0 --agent-id "http://127.0.0.1:$slow_port" -q
SLOW_AG=$REF_PID
"$MKREQ" --agent "$REF_URL" --url "$RS_URL/data-jwks" --send >"$TMP/s1.out" 2>&1 &
s1=$!
"$MKREQ" --agent "$REF_URL" --url "$RS_URL/data-jwks" --send >"$TMP/s2.out" 2>&1 &
s2=$!
PIDS="$PIDS $s1 $s2"
sleep 1
lat=""
for k in 1 2 3; do
  out=$("$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --send || true)
  lat="$lat ${out%% *}/$(echo "$out" | awk '{ print $2 }')ms"
done
wait $s1 || true
wait $s2 || true
echo "NOTE C: three normal requests (new connections) while two slow-JWKS requests were in flight: status/latency$lat"
kill "$SLOW_AG" 2>/dev/null || true
wait "$SLOW_AG" 2>/dev/null || true
alive "$RS_PID" && pass "C: resource alive" || fail "C: resource died"

# ---- D. oversized input -----------------------------------------------------------
echo "== D. oversized headers, body and structured fields"
"$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --headers "$TMP/req.hdr"
python3 - "$RS_PORT" "$TMP/req.hdr" >"$TMP/big.out" <<'EOF'
import socket, sys
port, hdr = int(sys.argv[1]), sys.argv[2]
head = open(hdr, "rb").read()
base = b"GET /data-jwks HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % port

def exchange(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(req)
    except OSError:
        pass  # the server may answer and close before reading everything
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    json_body = b'"error"' in data
    return status, json_body

def params(first, n):
    return b'sig1=("@method")' + b"".join(b";k%d" % i for i in range(first, first + n))

cases = [
    ("header line 64 KiB", base + b"X-Big: " + b"a" * 65536 + b"\r\n" + head + b"\r\n", (431,)),
    ("header block 75 KiB", base + (b"X-Big: " + b"b" * 15360 + b"\r\n") * 5 + head + b"\r\n",
     (431,)),
    ("header block 256 KiB", base + (b"X-Big: " + b"c" * 15360 + b"\r\n") * 17 + head + b"\r\n",
     (431,)),
    ("body 2 MiB", b"POST /data-jwks HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
     b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n" % (port, 2 << 20) + head +
     b"\r\n" + b"x" * (64 * 1024), (413,)),
    ("10000 SF params, one line", base + b"Signature-Input: " + params(0, 10000) + b"\r\n" +
     b"Signature: sig1=:AA==:\r\nSignature-Key: sig1=(scheme=hwk)\r\n\r\n", (431, 400)),
    ("10000 SF params, four lines", base + b"".join(b"Signature-Input: " + params(i * 2500, 2500) +
     b"\r\n" for i in range(4)) + b"Signature: sig1=:AA==:\r\nSignature-Key: sig1=(scheme=hwk)\r\n\r\n",
     (400, 401, 431)),
    ("1000 SF params (inside the field limit)", base + b"Signature-Input: " + params(0, 1000) +
     b"\r\nSignature: sig1=:AA==:\r\nSignature-Key: sig1=(scheme=hwk)\r\n\r\n", (400, 401)),
    ("valid request afterwards", base + head + b"\r\n", (200,)),
]
for name, req, want in cases:
    status, js = exchange(req)
    print("%s|%d|%s|%s" % (name, status, "JSON error body" if js else "no error body",
                           "ok" if status in want else "want " + "/".join(map(str, want))))
EOF
while IFS='|' read -r name status js verdict; do
  if [ "$verdict" = ok ]; then pass "D: $name -> $status ($js)"; else fail "D: $name -> $status, $verdict"; fi
done <"$TMP/big.out"
alive "$RS_PID" && pass "D: resource alive" || fail "D: resource died"
echo "RSS: idle ${RSS_IDLE} KiB, after warm-up ${RSS_WARM} KiB, after load ${RSS_LOAD} KiB, at the end $(rss_kib "$RS_PID") KiB"

# ---- E. connection limits (defaults) ----------------------------------------------
echo "== E. 100 idle connections from one address, default limits"
start_ref limits --roles resource --resource-port 0 -q
LIM_PORT=${REF_URL##*:}
python3 - "$LIM_PORT" >"$TMP/limits.out" <<'EOF'
import socket, sys
port = int(sys.argv[1])
req = b"GET /.well-known/aauth-resource HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
conns = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(req)
    except OSError:
        pass  # already closed by the server
    conns.append(s)
served = refused = 0
for s in conns:  # a response, or the connection closed without one
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    if data.startswith(b"HTTP/1.1 200"):
        served += 1
    else:
        refused += 1
other = socket.socket()
other.bind(("127.0.0.2", 0))
other.settimeout(10)
other.connect(("127.0.0.1", port))
other.sendall(req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
ok = other.recv(4096).startswith(b"HTTP/1.1 200")
print("served %d refused %d other %s" % (served, refused, "200" if ok else "failed"))
EOF
sed 's/^/   /' "$TMP/limits.out"
set -- $(cat "$TMP/limits.out")
[ "$2" -le 64 ] && [ "$4" -ge 36 ] \
  && pass "E: $2 of 100 connections from one address served, $4 closed unanswered" \
  || fail "E: $2 served, $4 refused (limit 64 per address)"
[ "$6" = 200 ] && pass "E: another address still served" || fail "E: another address: $6"
alive "$REF_PID" && pass "E: resource alive" || fail "E: resource died"

if [ "$FAILS" -ne 0 ]; then
  echo "load.sh: $FAILS expectation(s) failed"
  exit 1
fi
echo "load.sh: all expectations held"
