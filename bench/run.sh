#!/bin/sh
# bench/run.sh BUILD_DIR: run every benchmark against loopback-only servers
# and write bench/results.json plus a table on stdout. See bench/README.md.
#
# Speed is measured, not asserted: every figure comes with the baseline it
# is compared to, measured in this same run on this machine. Nothing here
# fails because a number is slow; the script fails only when a benchmark
# could not run correctly (a request that should verify did not, a server
# did not start).
#
# Environment knobs (defaults in brackets):
#   BENCH_WRK_ARGS   wrk threads/connections for the throughput run [-t2 -c8]
#   BENCH_WRK_SECS   seconds per throughput run [4]
#   BENCH_WRK_RUNS   throughput runs, median kept [5]
#   BENCH_MEM_REQS   requests per memory phase [100000]
#   BENCH_CONF_RUNS  conformance runs per -j setting, median kept [3]
#   BENCH_OUT        results file [bench/results.json in the source tree]
set -eu

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$SRC/bench/results.json}
WRK_ARGS=${BENCH_WRK_ARGS:--t2 -c8}
WRK_SECS=${BENCH_WRK_SECS:-4}
WRK_RUNS=${BENCH_WRK_RUNS:-5}
MEM_REQS=${BENCH_MEM_REQS:-100000}
CONF_RUNS=${BENCH_CONF_RUNS:-3}

REF=$B/reference/aauth-reference
CONF=$B/suites/conformance/aauth-conformance
VERIFY=$B/bench/bench_verify
MKREQ=$B/bench/bench_mkreq
for exe in "$REF" "$VERIFY" "$MKREQ"; do
  [ -x "$exe" ] || { echo "bench/run.sh: $exe not built" >&2; exit 1; }
done
for tool in wrk python3; do
  command -v $tool >/dev/null 2>&1 || { echo "bench/run.sh: $tool is required" >&2; exit 1; }
done

LIB_NAME=bench/run.sh LIB_TAG=bench LIB_KEEP_TMP=${BENCH_KEEP_TMP:-}
# shellcheck source=../scripts/lib.sh
. "$SRC/scripts/lib.sh"

say() { printf '%s\n' "$*" >&2; }

cpu_model() { awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- a. aa_aauth_verify versus two raw Ed25519 verifies ---------------------
say "== a. verify overhead (bench_verify)"
"$VERIFY" --rounds 201 --round-ms 5 >"$TMP/verify.json"

# ---- b. reference resource throughput with wrk -------------------------------
say "== b. resource throughput (wrk $WRK_ARGS, ${WRK_SECS}s x $WRK_RUNS)"
start_ref agent --roles agent --agent-port 0
AG_PID=$REF_PID AG_URL=$REF_URL
start_ref resource --roles resource --resource-port 0 -q
RS_PID=$REF_PID RS_URL=$REF_URL
# Signed at the wall clock: valid for the created window (60 s), re-signed
# before each run; --check proves it verifies (200) and its flipped twin
# does not (401) before anything is timed.
: >"$TMP/wrk.txt"
# CPU ticks per server thread, to see how the connections were spread
# over the MHD pool threads (accept races can put all on one thread).
thread_ticks() {
  for t in /proc/"$RS_PID"/task/*; do awk '{ print $14 + $15 }' "$t/stat"; done | tr '\n' ' '
}
run=1
while [ $run -le "$WRK_RUNS" ]; do
  "$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --lua "$TMP/valid.lua" --check
  t0=$(thread_ticks)
  # shellcheck disable=SC2086
  wrk $WRK_ARGS -d"${WRK_SECS}s" -s "$TMP/valid.lua" "$RS_URL/data-jwks" >"$TMP/wrk$run.out"
  t1=$(thread_ticks)
  share=$(echo "$t0|$t1" | awk -F'|' '{
    n = split($1, a, " "); split($2, b, " "); tot = 0; top = 0
    for (i = 1; i <= n; i++) { d = b[i] - a[i]; tot += d; if (d > top) top = d }
    printf "%.2f", (tot > 0 ? top / tot : 0) }')
  awk -v run=$run -v share="$share" '
    /Requests\/sec:/ { rps = $2 }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { se = $0 }
    END { printf "%s %s %s %s %s \"%s\"\n", run, rps, n, bad + 0, share, se }' \
    "$TMP/wrk$run.out" >>"$TMP/wrk.txt"
  run=$((run + 1))
done
AG_META=$(grep -c 'GET /.well-known/aauth-agent ' "$TMP/agent.log" || true)
AG_JWKS=$(grep -c 'GET /jwks.json ' "$TMP/agent.log" || true)
stop_ref "$RS_PID"

# ---- d. resource memory: idle, after N and after 2N requests -----------------
say "== d. resource memory (2 x $MEM_REQS requests)"
# Default verbosity (one log line per request, as deployed): the log is
# also how the script knows when N requests have been answered.
start_ref resource --roles resource --resource-port 0
RS_PID=$REF_PID RS_URL=$REF_URL
RSS_IDLE=$(rss_kib "$RS_PID")
# wrk runs for a fixed time only; its Lua stops the thread after exactly N
# responses, and once the resource has logged N answers wrk is asked
# (SIGINT) to print its totals. The -d duration is only a ceiling.
answered() { grep -c ' GET /data-jwks ' "$TMP/resource.log" || true; }
mem_phase() {
  "$MKREQ" --agent "$AG_URL" --url "$RS_URL/data-jwks" --lua "$TMP/mem.lua" \
    --stop-after "$MEM_REQS" --check
  base=$(answered)
  wrk -t1 -c8 -d300s -s "$TMP/mem.lua" "$RS_URL/data-jwks" >"$TMP/mem$1.out" &
  w=$!
  PIDS="$PIDS $w"
  while kill -0 $w 2>/dev/null; do
    sleep 0.2
    if [ $(($(answered) - base)) -ge "$MEM_REQS" ]; then
      kill -INT $w 2>/dev/null || true
      break
    fi
  done
  wait $w || true
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$w" | tr '\n' ' ')
  awk '/^status / { n += $3; if ($2 != 200) bad += $3 } END { printf "%d %d\n", n, bad }' \
    "$TMP/mem$1.out" >"$TMP/mem$1.txt"
}
mem_phase 1
read -r MEM_N1 MEM_BAD1 <"$TMP/mem1.txt"
RSS_1=$(rss_kib "$RS_PID")
mem_phase 2
read -r MEM_N2 MEM_BAD2 <"$TMP/mem2.txt"
RSS_2=$(rss_kib "$RS_PID")
stop_ref "$RS_PID"
stop_ref "$AG_PID"

# ---- c. the whole conformance run against the embedded reference -----------
: >"$TMP/conf.txt"
if [ -x "$CONF" ]; then
  for j in 1 2; do
    say "== c. conformance run -j$j (x $CONF_RUNS)"
    r=1
    while [ $r -le "$CONF_RUNS" ]; do
      t0=$(date +%s%N)
      rc=0
      "$CONF" -j $j --no-color --report-dir "$TMP/conf-$j-$r" >"$TMP/conf-$j-$r.out" 2>&1 || rc=$?
      t1=$(date +%s%N)
      echo "$j $r $(( (t1 - t0) / 1000 )) $rc $TMP/conf-$j-$r/report.json" >>"$TMP/conf.txt"
      r=$((r + 1))
    done
  done
else
  say "== c. skipped: $CONF not built"
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- results.json and the table ----------------------------------------------
python3 - "$TMP" "$OUT" <<EOF
import json, os, statistics, sys, time
tmp, out = sys.argv[1], sys.argv[2]
cores = os.cpu_count() or 1
verify = json.load(open(os.path.join(tmp, "verify.json")))

runs = []
for line in open(os.path.join(tmp, "wrk.txt")):
    run, rps, n, bad, share, se = line.split(" ", 5)
    runs.append({"run": int(run), "requests_per_s": float(rps), "requests": int(n),
                 "non_2xx": int(bad), "busiest_thread_cpu_share": float(share),
                 "socket_errors": se.strip().strip('"')})
rps = statistics.median(r["requests_per_s"] for r in runs)
ed = verify["ed25519_verifies_per_s_1core"]
bound = ed * cores / 2
throughput = {
    "wrk_args": "$WRK_ARGS", "seconds_per_run": $WRK_SECS, "runs": runs,
    "requests_per_s_median": rps,
    "requests_per_s_max": max(r["requests_per_s"] for r in runs), "ed25519_verifies_per_s_1core": ed, "cores": cores,
    "bound_requests_per_s": bound, "ratio": rps / bound, "goal_ratio_min": 0.6,
    "agent_metadata_fetches": $AG_META, "agent_jwks_fetches": $AG_JWKS,
}

memory = {
    "idle_kib": $RSS_IDLE, "after_phase1_kib": $RSS_1, "after_phase2_kib": $RSS_2,
    "phase1_responses": $MEM_N1, "phase1_non_200": $MEM_BAD1,
    "phase2_responses": $MEM_N2, "phase2_non_200": $MEM_BAD2, "verbosity": "default (-v 1)",
    "growth_phase2_kib": $RSS_2 - $RSS_1, "goal_max_kib": 16 * 1024,
}

conf = {}
for line in open(os.path.join(tmp, "conf.txt")):
    j, r, us, rc, rep = line.split()
    checks = None
    try:
        checks = json.load(open(rep))["totals"]["total"]
    except (OSError, ValueError, KeyError):
        pass
    conf.setdefault("j" + j, []).append({"wall_s": int(us) / 1e6, "exit": int(rc), "checks": checks})
conformance = {}
for k, v in conf.items():
    wall = statistics.median(x["wall_s"] for x in v)
    checks = v[0]["checks"]
    conformance[k] = {"runs": v, "wall_s_median": wall, "checks": checks,
                      "checks_per_s": (checks / wall) if checks and wall > 0 else None,
                      "goal_max_s": 3.0}

cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu": cpu, "cores": cores,
       "build_dir": "$B", "loadavg_start": "$LOAD_START", "loadavg_end": "$LOAD_END",
       "verify": verify, "throughput": throughput, "memory": memory,
       "conformance": conformance}
with open(out, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

def ok(c):
    return "yes" if c else "NO"
def us(k):
    return "%.1f us (min %.1f)" % (verify[k + "_ns"] / 1e3, verify[k + "_min_ns"] / 1e3)
rows = [
    ("a. aa_aauth_verify (discovery cache)", us("aauth_verify_disc"),
     "2x raw Ed25519 " + us("raw_ed25519_x2"),
     "%.3f" % verify["overhead_ratio_disc"], "<= 1.25", ok(verify["overhead_ratio_disc"] <= 1.25)),
    ("a. aa_aauth_verify (static keys)", us("aauth_verify_static"),
     "2x raw Ed25519 " + us("raw_ed25519_x2"),
     "%.3f" % verify["overhead_ratio_static"], "<= 1.25", ok(verify["overhead_ratio_static"] <= 1.25)),
    ("b. resource /data-jwks (wrk)", "%.0f req/s (max %.0f)" % (rps, throughput["requests_per_s_max"]),
     "bound %.0f req/s" % bound, "%.3f" % (rps / bound), ">= 0.6", ok(rps / bound >= 0.6)),
    ("b. agent fetches during the run", "meta %d, jwks %d" % ($AG_META, $AG_JWKS),
     "cache lifetime 300 s", "-", "<= 1 each", ok($AG_META <= 1 and $AG_JWKS <= 1)),
]
for k in sorted(conformance):
    c = conformance[k]
    rows.append(("c. conformance -%s" % k, "%.2f s" % c["wall_s_median"],
                 "%s checks, %.0f checks/s" % (c["checks"], c["checks_per_s"] or 0), "-",
                 "< 3 s", ok(c["wall_s_median"] < 3.0)))
rows.append(("d. resource RSS idle / +%d / +%d" % ($MEM_N1, $MEM_N2),
             "%.1f / %.1f / %.1f MiB" % ($RSS_IDLE / 1024, $RSS_1 / 1024, $RSS_2 / 1024),
             "growth phase 2: %+d KiB" % ($RSS_2 - $RSS_1), "-", "< 16 MiB, flat",
             ok($RSS_2 < 16 * 1024 and $RSS_2 - $RSS_1 <= 256)))
w = [max(len(r[i]) for r in rows + [("benchmark", "measured", "baseline", "ratio", "goal", "met")])
     for i in range(6)]
hdr = ("benchmark", "measured", "baseline", "ratio", "goal", "met")
print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
print("  ".join("-" * w[i] for i in range(6)))
for r in rows:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
print("\na. ratio = median over rounds of (verify batch / raw batch in the same round)")
print("b. ratio = median req/s / bound; busiest server thread's CPU share per run: %s"
      " (0.50 = balanced, 1.00 = one MHD thread got every connection)"
      % " ".join("%.2f" % r["busiest_thread_cpu_share"] for r in runs))
busy = float("$LOAD_START".split()[0])
if busy > cores / 2:
    print("\nWARNING: the machine was busy before the run (load average %.1f on %d cores): other processes"
          " took CPU time, so b. (and, less, a.) understate what this machine can do;"
          " rerun on an idle machine before comparing." % (busy, cores))
print("\nraw numbers: %s (%s, %d cores; load average %s at the start, %s at the end)"
      % (out, cpu, cores, "$LOAD_START", "$LOAD_END"))
EOF
