#!/usr/bin/env bash
# Run every libFuzzer target of a fuzz build for a fixed time.
#
#   fuzz/run.sh BUILD_DIR SECONDS
#
# BUILD_DIR was configured with -DAA_FUZZ=ON -DAA_SANITIZE=ON (make fuzz does
# that). Each target fuzz_<name> runs for SECONDS (-max_total_time) over a
# working corpus fuzz/corpus-work/<name>/ (gitignored; new inputs land
# there) plus the committed seeds fuzz/corpus/<name>/ (read only), with its
# dictionary fuzz/<name>.dict when present. Crash, leak, timeout and OOM
# inputs land in fuzz/artifacts/<name>/, the full log in
# fuzz/artifacts/<name>/last.log. The script prints one line per target
# (executions, exec/s, cov, ft, corpus size, new artifacts), writes
# fuzz/results.json and exits 1 when any new artifact appeared, 2 on usage
# errors. Targets run one after another (the machine is shared).
#
# Environment:
#   FUZZ_TARGETS  space-separated subset ("fuzz_sf fuzz_jwt"); default all
#   FUZZ_ARGS     extra libFuzzer flags appended to every run
#   FUZZ_RESULTS  where to write the JSON results (default fuzz/results.json),
#                 e.g. to run two subsets side by side on two cores
#   AA_FUZZ_KNOWN_ISSUES  checks of reported, unfixed bugs to skip
#                 (README.md "Known issues"); recorded in results.json
set -u

usage() {
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
}
[ $# -eq 2 ] || usage
build=$1
secs=$2
case "$secs" in '' | *[!0-9]*) usage ;; esac
here=$(cd "$(dirname "$0")" && pwd)
bindir="$build/fuzz"
[ -d "$bindir" ] || { echo "run.sh: $bindir missing (configure with -DAA_FUZZ=ON)" >&2; exit 2; }

# Longest input per target: a little over the bound each parser enforces,
# so the limit checks themselves get exercised, without wasting time on
# inputs no peer could send.
max_len_for() {
    case "$1" in
    fuzz_b64) echo 1024 ;;
    fuzz_sf | fuzz_challenge) echo 2048 ;;
    fuzz_sigkey) echo 4096 ;;
    fuzz_jwt | fuzz_tokens) echo 9000 ;; # AA_JWT_MAX_LEN 8192
    fuzz_json | fuzz_jwk | fuzz_httpsig | fuzz_verify) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

list_artifacts() {
    find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) -printf '%f\n' 2>/dev/null | sort
}

json_str() {
    printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=$FUZZ_TARGETS
else
    targets=$(find "$bindir" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x ! -name 'fuzz_seedgen' \
        -printf '%f\n' | sort)
fi
[ -n "$targets" ] || { echo "run.sh: no fuzz targets in $bindir" >&2; exit 2; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

[ -n "${AA_FUZZ_KNOWN_ISSUES:-}" ] && echo "run.sh: skipping known issues: $AA_FUZZ_KNOWN_ISSUES"
failed=0
entries=""
printf '%-20s %12s %9s %7s %7s %7s  %s\n' target executions exec/s cov ft corpus "new artifacts"
for t in $targets; do
    exe="$bindir/$t"
    [ -x "$exe" ] || { echo "run.sh: $exe missing" >&2; failed=1; continue; }
    work="$here/corpus-work/$t"
    seeds="$here/corpus/$t"
    art="$here/artifacts/$t"
    mkdir -p "$work" "$art"
    before=$(list_artifacts "$art")
    args=(-max_total_time="$secs" -max_len="$(max_len_for "$t")" -timeout=10
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/")
    [ -f "$here/$t.dict" ] && args+=(-dict="$here/$t.dict")
    corp=("$work")
    [ -d "$seeds" ] && corp+=("$seeds")
    # shellcheck disable=SC2086
    "$exe" "${args[@]}" ${FUZZ_ARGS:-} "${corp[@]}" >"$art/last.log" 2>&1
    rc=$?
    after=$(list_artifacts "$art")
    new=$(comm -13 <(printf '%s\n' "$before" | sed '/^$/d') <(printf '%s\n' "$after" | sed '/^$/d'))

    # The last status line ("#N DONE cov: C ft: F corp: K/..." or the last
    # progress line when the run stopped on a crash) and the final stats.
    status=$(grep -E '^#[0-9]+' "$art/last.log" | grep 'cov:' | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$art/last.log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$art/last.log" | tail -n 1)
    [ -n "$execs" ] || execs=$(printf '%s' "$status" | sed -n 's/^#\([0-9]*\).*/\1/p')
    cov=$(printf '%s' "$status" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s' "$status" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corpn=$(printf '%s' "$status" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    [ -n "$eps" ] || eps=$(printf '%s' "$status" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')

    state=ok
    if [ -n "$new" ]; then
        state=artifact
        failed=1
    elif [ $rc -ne 0 ]; then
        # libFuzzer failed without leaving an input (e.g. a crash while
        # loading the corpus): still a failure, the log says why.
        state="exit-$rc"
        failed=1
    fi
    printf '%-20s %12s %9s %7s %7s %7s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
        "${ft:-?}" "${corpn:-?}" "$(printf '%s' "$new" | tr '\n' ' ')"
    if [ "$state" != ok ]; then
        echo "  -> $state; log: $art/last.log" >&2
        grep -m 3 -E 'INVARIANT BROKEN|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
            "$art/last.log" | sed 's/^/     /' >&2
    fi

    arts="["
    sep=""
    for a in $new; do
        arts="$arts$sep$(json_str "fuzz/artifacts/$t/$a")"
        sep=", "
    done
    arts="$arts]"
    entry="    {\"target\": $(json_str "$t"), \"status\": $(json_str "$state"), \"exit_code\": $rc,"
    entry="$entry \"executions\": ${execs:-null}, \"exec_per_sec\": ${eps:-null},"
    entry="$entry \"cov\": ${cov:-null}, \"ft\": ${ft:-null}, \"corpus\": ${corpn:-null},"
    entry="$entry \"max_len\": $(max_len_for "$t"), \"new_artifacts\": $arts}"
    if [ -z "$entries" ]; then entries="$entry"; else entries="$entries,
$entry"; fi
done

{
    echo "{"
    echo "  \"generated\": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
    echo "  \"seconds_per_target\": $secs,"
    echo "  \"build_dir\": $(json_str "$build"),"
    echo "  \"known_issues_skipped\": $(json_str "${AA_FUZZ_KNOWN_ISSUES:-}"),"
    echo "  \"ok\": $([ $failed -eq 0 ] && echo true || echo false),"
    echo "  \"targets\": ["
    printf '%s\n' "$entries"
    echo "  ]"
    echo "}"
} >"${FUZZ_RESULTS:-$here/results.json}"
echo "results: ${FUZZ_RESULTS:-$here/results.json}"
exit $failed
