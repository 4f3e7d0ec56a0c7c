#!/bin/sh
# End-to-end tests of aauth-conformance, one scenario per CTest test:
#   cli.sh SCENARIO RUNNER FIXTURES HOSTILE SOURCE_DIR WORK_DIR
# RUNNER is aauth-conformance, FIXTURES aauth-conformance-fixtures (the
# runner with tests/fixture_suite.c), HOSTILE aa_conf_hostile. Each
# scenario checks exit statuses and what the reports say. Exit 0 pass,
# 1 fail, 77 a needed tool (python3, xmllint, jsonschema) is missing.
set -u

if [ $# -ne 6 ]; then
  echo "usage: $0 SCENARIO RUNNER FIXTURES HOSTILE SOURCE_DIR WORK_DIR" >&2
  exit 2
fi
scenario=$1 R=$2 F=$3 H=$4 SRC=$5 W=$6
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

case $scenario in
vectors_metadata_pass)
  need_python
  run 0 list "$R" --list=json --suite vectors --suite metadata
  run 0 run1 "$R" --suite vectors --suite metadata --no-color --clock frozen=1768786221 \
    --seed 42 -j 1 --report-dir "$W/r1"
  run 0 run4 "$R" --suite vectors --suite metadata --no-color -j 4 --report-dir "$W/r4"
  py every_selected_check_passed "$W/list.out" "$W/r1/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2])
want = [c["id"] for c in cat["checks"]]
got = [c["id"] for c in rep["checks"]]
assert len(want) >= 20, want
assert got == want, (got, want)
bad = [(c["id"], c["outcome"], c["message"]) for c in rep["checks"] if c["outcome"] != "PASS"]
assert not bad, bad
assert rep["totals"]["pass"] == len(want) and rep["totals"]["total"] == len(want)
assert rep["exit_code"] == 0
assert rep["clock"] == {"mode": "frozen", "value": 1768786221}, rep["clock"]
assert rep["seed"] == "42", rep["seed"]
assert rep["dev_mode"] is True
emb = [t for t in rep["targets"] if t["role"] == "agent-server"]
assert len(emb) == 1 and emb[0]["embedded"] is True and emb[0]["url"].startswith("http://127.0.0.1:")
md = by_id(rep)["metadata.agent.status"]
assert "/.well-known/aauth-agent" in (md["transcript"] or ""), md["transcript"]
EOF
  py parallel_run_gives_the_same_verdicts "$W/r1/report.json" "$W/r4/report.json" <<EOF
$LOAD
a = load(sys.argv[1]); b = load(sys.argv[2])
assert [(c["id"], c["outcome"]) for c in a["checks"]] == [(c["id"], c["outcome"]) for c in b["checks"]]
EOF
  contains summary_line "$W/run1.out" "| Failed: 0 |"
  ;;

vectors_dir_absent)
  need_python
  run 4 absent "$R" --no-color --suite vectors --vectors-dir "$W/no-such-dir" --report-dir "$W/r"
  py every_vector_check_skips_with_the_path "$W/r/report.json" "$W/no-such-dir" <<EOF
$LOAD
rep = load(sys.argv[1])
assert rep["checks"] and all(c["outcome"] == "SKIP" for c in rep["checks"]), rep["checks"]
assert all(sys.argv[2] in c["message"] for c in rep["checks"]), rep["checks"][0]["message"]
assert rep["exit_code"] == 4
EOF
  ;;

list_json)
  need_python
  run 0 list_json "$R" --list=json
  run 0 list_text "$R" --list
  py catalogue_is_well_formed "$W/list_json.out" "$W/list_text.out" <<EOF
$LOAD
cat = load(sys.argv[1]); text = open(sys.argv[2], encoding="utf-8").read()
checks = cat["checks"]
assert cat["schema_version"] == "1.0" and cat["tool_version"] and cat["profile"] == "aauth-2026-01"
ids = [c["id"] for c in checks]
assert ids and len(ids) == len(set(ids)), "ids must be unique"
keys = {"id", "suite", "title", "role", "level", "spec", "rfc", "expect"}
for c in checks:
    assert set(c) == keys, c
    assert c["role"] in {"core", "agent-server", "resource", "auth-server", "delegate"}, c
    assert c["level"] in {"MUST", "SHOULD", "INFO"}, c
    assert c["spec"] and c["title"] and c["suite"], c
    assert c["id"] in text, c["id"] + " missing from --list"
assert {"vectors", "metadata"} <= {c["suite"] for c in checks}
EOF
  ;;

filter)
  need_python
  run 0 all "$R" --list=json
  run 0 filtered "$R" --list=json --filter 'metadata.agent-jwks.*' --filter 'vectors.s1.*'
  run 0 filtered_run "$R" --no-color --filter 'metadata.agent-jwks.*' --filter 'vectors.s1.*' \
    --report-dir "$W/r"
  py filter_selects_exactly_the_matching_checks "$W/all.out" "$W/filtered.out" "$W/r/report.json" <<EOF
$LOAD
allc = load(sys.argv[1])["checks"]; sel = load(sys.argv[2])["checks"]; rep = load(sys.argv[3])
globs = ["metadata.agent-jwks.*", "vectors.s1.*"]
want = [c["id"] for c in allc if any(fnmatch.fnmatchcase(c["id"], g) for g in globs)]
assert 0 < len(want) < len(allc), want
assert [c["id"] for c in sel] == want, ([c["id"] for c in sel], want)
assert [c["id"] for c in rep["checks"]] == want, [c["id"] for c in rep["checks"]]
EOF
  ;;

bad_option)
  run 2 unknown_option "$R" --bogus
  contains unknown_option_named "$W/unknown_option.err" "unknown option --bogus"
  run 2 positional "$R" metadata
  run 2 missing_value "$R" --suite
  run 2 list_format "$R" --list=yaml
  run 2 flag_with_value "$R" --verbose=yes
  ;;

bad_config)
  run 2 clock "$R" --clock sometimes
  run 2 quirk "$R" --allow-quirk no-such-quirk
  contains quirk_lists_known "$W/quirk.err" "legacy-base"
  run 2 http_not_loopback "$R" --target-agent-server http://agent.example
  contains http_explained "$W/http_not_loopback.err" "dev mode"
  run 2 path_in_identifier "$R" --target-agent-server http://127.0.0.1:1/
  run 2 listen "$R" --listen resource=nowhere
  run 2 listen_on_target "$R" --target-resource http://127.0.0.1:1 --listen resource=127.0.0.1:0
  run 2 missing_run_file "$R" --run-file "$W/nope.json"
  printf '{"target-agent":"https://a.example"}' >"$W/unknown-key.json"
  run 2 run_file_unknown_key "$R" --run-file "$W/unknown-key.json"
  contains run_file_key_named "$W/run_file_unknown_key.err" "target-agent"
  printf '{"suite": [' >"$W/broken.json"
  run 2 run_file_not_json "$R" --run-file "$W/broken.json"
  printf '{"runtime": {}}' >"$W/runtime.json"
  run 2 run_file_reserved_key "$R" --run-file "$W/runtime.json"
  ;;

nosuch_suite)
  need_python
  run 4 nosuch "$R" --suite nosuch --report-dir "$W/r"
  contains nosuch_named "$W/nosuch.err" "no suite named \"nosuch\""
  contains suites_listed "$W/nosuch.err" "metadata"
  run 4 filter_matches_nothing "$R" --filter 'no.such.*'
  py empty_run_reported "$W/r/report.json" <<EOF
$LOAD
rep = load(sys.argv[1])
assert rep["checks"] == [] and rep["totals"]["total"] == 0 and rep["exit_code"] == 4, rep
EOF
  ;;

unreachable)
  need_python
  run 0 list "$R" --list=json --suite metadata --target-agent-server http://127.0.0.1:1
  run 3 unreachable "$R" --no-color --suite metadata --target-agent-server http://127.0.0.1:1 --report-dir "$W/r"
  py every_check_is_error "$W/list.out" "$W/r/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2])
want = [c["id"] for c in cat["checks"]]
assert want and all(c["role"] == "agent-server" for c in cat["checks"]), cat
assert [c["id"] for c in rep["checks"]] == want
assert all(c["outcome"] == "ERROR" for c in rep["checks"]), [(c["id"], c["outcome"]) for c in rep["checks"]]
assert rep["exit_code"] == 3 and rep["totals"]["fail"] == 0
first = by_id(rep)["metadata.agent.status"]
assert "127.0.0.1:1" in (first["actual"] or ""), first
assert "not a conformance failure" in (first["message"] or ""), first
assert rep["targets"] == [{"role": "agent-server", "url": "http://127.0.0.1:1", "embedded": False}], rep["targets"]
EOF
  ;;

reports_validate)
  need_python
  command -v xmllint >/dev/null 2>&1 || { echo "SKIP: xmllint not installed" >&2; exit 77; }
  python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema not installed" >&2; exit 77; }
  run 0 real "$R" --no-color --suite vectors --suite metadata --report-dir "$W/real"
  run 1 fixtures "$F" --no-color --declare resource=fixture-feature --allow-quirk legacy-base \
    --listen auth-server=203.0.113.1:9 --report-dir "$W/fixtures"
  for d in real fixtures; do
    for f in junit.xml report.json report.md report.html; do
      if [ -s "$W/$d/$f" ]; then ok "$d/$f written"; else fail "$d/$f missing or empty"; fi
    done
    if xmllint --noout --schema "$SRC/reports/junit.xsd" "$W/$d/junit.xml" 2>"$W/$d.xmllint"; then
      ok "$d/junit.xml validates against reports/junit.xsd"
    else
      fail "$d/junit.xml does not validate"; cat "$W/$d.xmllint" >&2
    fi
    py "${d}_report_json_validates_against_the_schema" \
      "$SRC/reports/report.schema.json" "$W/$d/report.json" <<EOF
import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
errs = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
assert not errs, "%s at %s" % (errs[0].message, list(errs[0].absolute_path))
EOF
  done
  # the validators can fail: a broken copy must be refused
  sed '0,/<testcase name="[^"]*"/s//<testcase/' "$W/real/junit.xml" >"$W/bad.xml"
  if xmllint --noout --schema "$SRC/reports/junit.xsd" "$W/bad.xml" 2>/dev/null; then
    fail "xmllint accepted a testcase without a name"
  else
    ok "xmllint rejects a broken junit.xml"
  fi
  contains junit_failure_element "$W/fixtures/junit.xml" "<failure"
  contains junit_error_element "$W/fixtures/junit.xml" "<error"
  contains junit_skipped_element "$W/fixtures/junit.xml" "<skipped"
  ;;

hostile_fails)
  need_python
  run 1 bad "$H" bad -- "$R" --no-color --suite metadata --target-agent-server '{URL}' --report-dir "$W/r"
  py report_names_the_failures "$W/r/report.json" <<EOF
$LOAD
rep = load(sys.argv[1]); c = by_id(rep)
url = rep["targets"][0]["url"]
ident = c["metadata.agent.identifier"]
assert ident["outcome"] == "FAIL", ident
assert ident["expected"] == url and ident["actual"] == "https://impostor.example", ident
assert "impostor.example" in ident["transcript"], "the evidence holds the exchange"
priv = c["metadata.agent-jwks.public-only"]
assert priv["outcome"] == "FAIL" and '"d"' in priv["actual"], priv
assert c["metadata.agent-jwks.keys-valid"]["outcome"] == "FAIL"
others = {k: v["outcome"] for k, v in c.items() if k not in (
    "metadata.agent.identifier", "metadata.agent-jwks.public-only", "metadata.agent-jwks.keys-valid")}
assert all(o in ("PASS", "SKIP") for o in others.values()), others
assert rep["exit_code"] == 1 and rep["totals"]["fail"] == 3
EOF
  contains junit_names_the_check "$W/r/junit.xml" 'name="metadata.agent.identifier"'
  ;;

hostile_good)
  need_python
  run 0 good "$H" good -- "$R" --no-color --suite metadata --verbose --target-agent-server '{URL}' --report-dir "$W/r"
  contains verbose_transcript "$W/good.out" ">>> HARNESS REQUEST to http://127.0.0.1:"
  py undeclared_feature_is_skipped_not_passed "$W/r/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
u = c["metadata.agent.user-authorization-members"]
assert u["outcome"] == "SKIP" and "declare" in u["message"], u
assert all(v["outcome"] == "PASS" for k, v in c.items() if k != u["id"])
EOF
  # declared, the same feature becomes mandatory - and this server lacks it
  run 1 declared "$H" good -- "$R" --no-color --suite metadata --target-agent-server '{URL}' \
    --declare agent-server=user-authorization
  contains declared_fails "$W/declared.out" "metadata.agent.user-authorization-members"
  ;;

print_config_roundtrip)
  need_python
  run 0 first "$R" --print-config --suite metadata --seed 5 --clock frozen=100 \
    --declare resource=public --listen resource=127.0.0.1:0 --allow-quirk label
  cp "$W/first.out" "$W/run.json"
  run 0 second "$R" --run-file "$W/run.json" --print-config
  if cmp -s "$W/first.out" "$W/second.out"; then ok "run file reproduces the configuration"; else
    fail "--print-config output differs after a round trip"; diff "$W/first.out" "$W/second.out" >&2; fi
  run 0 override "$R" --run-file "$W/run.json" --suite vectors --print-config
  py command_line_overrides_the_run_file "$W/first.out" "$W/override.out" <<EOF
$LOAD
a = load(sys.argv[1]); b = load(sys.argv[2])
assert a["suite"] == ["metadata"] and b["suite"] == ["vectors"], (a["suite"], b["suite"])
assert a["seed"] == "5" and a["clock"] == "frozen=100" and a["allow-quirk"] == ["label"]
assert a["declare"] == {"resource": ["public"]} and a["listen"] == {"resource": "127.0.0.1:0"}
EOF
  ;;

check_unreachable)
  run 3 unreachable "$R" --check --target-agent-server http://127.0.0.1:1
  contains says_unreachable "$W/unreachable.out" "UNREACHABLE"
  run 0 no_targets "$R" --check
  run 0 reachable "$H" good -- "$R" --check --target-agent-server '{URL}'
  contains says_reachable "$W/reachable.out" "reachable"
  ;;

fixtures_outcomes)
  need_python
  run 0 list "$F" --list=json
  run 1 fixtures "$F" --no-color --declare resource=fixture-feature --allow-quirk legacy-base \
    --listen auth-server=203.0.113.1:9 --clock frozen=1768786221 --report-dir "$W/r"
  py outcomes_and_reasons "$W/list.out" "$W/r/report.json" <<EOF
$LOAD
cat = load(sys.argv[1]); rep = load(sys.argv[2]); c = by_id(rep)
assert sorted(c) == sorted(x["id"] for x in cat["checks"]), "a selected check is missing"
want = {
  "fixtures.pass": "PASS", "fixtures.fail-must": "FAIL", "fixtures.fail-should": "WARN",
  "fixtures.fail-info": "INFO", "fixtures.undeclared-feature": "SKIP",
  "fixtures.declared-feature": "PASS", "fixtures.quirk-allowed": "PASS_QUIRK",
  "fixtures.quirk-denied": "FAIL", "fixtures.worst-wins": "FAIL", "fixtures.error": "ERROR",
  "fixtures.not-evaluated": "FAIL", "fixtures.http-unreachable": "ERROR",
  "fixtures.not-evaluated-titled": "FAIL",
  "fixtures.crash-recorded-before": "PASS", "fixtures.crash-never-recorded": "ERROR",
  "fixtures.forgets-recorded": "PASS", "fixtures.forgets-forgotten": "ERROR",
  "fixtures.exits": "ERROR", "fixtures.hangs": "ERROR", "fixtures.needs-auth-server": "ERROR",
  "fixtures.flow.first-a": "PASS", "fixtures.flow.first-b": "PASS", "fixtures.flow.second": "FAIL",
  "fixtures.signed-request": "ERROR",
  "fixtures.quirk-flow.get": "ERROR", "fixtures.quirk-flow.post": "ERROR",
  "fixtures.quirk-flow.body": "ERROR",
  "fixtures.inst.role-key": "ERROR", "fixtures.inst.present": "ERROR",
  "fixtures.inst.hits": "ERROR", "fixtures.inst.clock": "ERROR",
  "fixtures.inst.clock-isolated": "ERROR",
  "fixtures.public-url.by-id": "ERROR", "fixtures.public-url.by-connect": "ERROR",
  "fixtures.public-url.mapping": "ERROR",
  "fixtures.public-url.connect-authority-refused": "ERROR",
  "fixtures.consent.round-trip": "SKIP", "fixtures.consent.end-of-input": "SKIP",
  "fixtures.harness-host.bind": "ERROR", "fixtures.harness-host.reachable": "ERROR",
  "fixtures.harness-host.fault-is-skip": "ERROR",
  "fixtures-partial.agent": "ERROR", "fixtures-partial.resource": "ERROR",
  "fixtures-partial.agent-late": "ERROR",
}
got = {k: v["outcome"] for k, v in c.items()}
assert got == want, {k: (got.get(k), w) for k, w in want.items() if got.get(k) != w}
def msg(i): return c[i]["message"] or ""
assert "crashed" in msg("fixtures.crash-never-recorded"), msg("fixtures.crash-never-recorded")
assert "did not record" in msg("fixtures.forgets-forgotten")
assert "exited with status 3" in msg("fixtures.exits")
assert "timeout" in msg("fixtures.hangs")
assert "could not start" in msg("fixtures.needs-auth-server")
assert "auth server is not available" in msg("fixtures.quirk-flow.get"), msg("fixtures.quirk-flow.get")
assert "not evaluated" in msg("fixtures.not-evaluated")
# the titled variant names the step by its title, not by its line template
assert c["fixtures.not-evaluated"]["line"] is None, c["fixtures.not-evaluated"]["line"]
assert "not evaluated" in msg("fixtures.not-evaluated-titled")
assert c["fixtures.not-evaluated-titled"]["line"] == "fixture fixtures.not-evaluated-titled", \
    c["fixtures.not-evaluated-titled"]["line"]
assert c["fixtures.quirk-allowed"]["quirk"] == "legacy-base"
assert "--allow-quirk=signature-base64url" in c["fixtures.quirk-denied"]["hint"]
assert c["fixtures.worst-wins"]["actual"] == "worst"
assert c["fixtures.flow.first-a"]["line"] == "first check correct: value-1"
assert c["fixtures.flow.first-a"]["test_no"] == 1
assert rep["quirks"] == ["legacy-base"]
tr = c["fixtures.signed-request"]["transcript"] or ""
assert '"@signature-params": ("@method" "@authority" "@path" "signature-key");created=1768786221' in tr, tr
assert 'Signature-Key: sig1=(scheme=hwk kty="OKP" crv="Ed25519" x="' in tr, tr
assert ">>> DELEGATE REQUEST to http://127.0.0.1:1/data-hwk" in tr, tr
assert rep["exit_code"] == 1
EOF
  # without the declaration and the quirk, the same checks are SKIP and FAIL
  run 1 plain "$F" --no-color --filter 'fixtures.declared-feature' --filter 'fixtures.quirk-allowed' \
    --report-dir "$W/plain"
  py declaration_and_quirk_matter "$W/plain/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert c["fixtures.declared-feature"]["outcome"] == "SKIP", c["fixtures.declared-feature"]
assert c["fixtures.quirk-allowed"]["outcome"] == "FAIL", c["fixtures.quirk-allowed"]
EOF
  ;;

seed_report)
  run 1 flow "$F" --no-color --filter 'fixtures.flow.*' --seed-report
  contains banner "$W/flow.out" "Fixture Flow Demo"
  contains test_header "$W/flow.out" "TEST 1: First Step"
  contains check_line "$W/flow.out" "  ✓ first check correct: value-1"
  contains failed_test "$W/flow.out" "✗ TEST 2 FAILED"
  contains summary "$W/flow.out" "Total: 2 | Passed: 1 | Failed: 1"
  run 0 seed_only "$F" --no-color --filter 'fixtures.flow.*' --seed-report --seed-tests-only
  contains seed_only_summary "$W/seed_only.out" "Total: 1 | Passed: 1 | Failed: 0"
  if grep -q "TEST 2" "$W/seed_only.out"; then fail "--seed-tests-only printed TEST 2"; else
    ok "--seed-tests-only stops at the seed's tests"; fi
  ;;

quirk_probes)
  need_python
  # a conforming third-party resource: no probe, plain PASS
  run 0 strict "$H" strict -- "$F" --no-color --filter 'fixtures.quirk-flow.*' --target-resource '{URL}' --report-dir "$W/strict"
  py control_passes_plainly "$W/strict/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert [v["outcome"] for v in c.values()] == ["PASS"] * 3, c
assert "quirk probe" not in c["fixtures.quirk-flow.get"]["transcript"]
EOF
  for mq in "legacy-base:legacy-base:RFC 9421 §2.5" \
            "sig-base64url:signature-base64url:RFC 8941 §3.3.5" \
            "host-authority:authority-from-host:RFC 9421 §2.2.3" \
            "window-10s:narrow-created-window:RFC 9421 §2.3"; do
    mode=${mq%%:*}; rest=${mq#*:}; quirk=${rest%%:*}; rfc=${rest#*:}
    # window-10s: the harness clock runs 30 s ahead of the target's, which
    # the profile's 60 s window tolerates and a 10 s window does not
    extra=""
    [ "$mode" = window-10s ] && extra="--clock frozen=$(( $(date +%s) + 30 ))"
    run 1 "$mode" "$H" "$mode" -- "$F" --no-color --filter 'fixtures.quirk-flow.*' --target-resource '{URL}' $extra \
      --report-dir "$W/$mode"
    py "${mode}_named_without_quirk" "$W/$mode/report.json" "$quirk" "$rfc" <<EOF
$LOAD
c = by_id(load(sys.argv[1])); quirk, rfc = sys.argv[2], sys.argv[3]
g = c["fixtures.quirk-flow.get"]
assert g["outcome"] == "FAIL" and g["quirk"] is None, g
assert quirk in g["hint"] and rfc in g["hint"], g["hint"]
assert "--allow-quirk=" + quirk in g["hint"], g["hint"]
tr = g["transcript"]
assert "rejected conformant request" in tr and '"@signature-params": (' in tr, tr[-3000:]
assert "quirk probe " + quirk in tr, "the probes are in the transcript"
assert all(v["outcome"] not in ("PASS", "PASS_QUIRK") for v in c.values()), c
EOF
    run 0 "${mode}_allowed" "$H" "$mode" -- "$F" --no-color --filter 'fixtures.quirk-flow.*' --target-resource '{URL}' $extra \
      --allow-quirk "$quirk" --report-dir "$W/${mode}_allowed"
    py "${mode}_continues_as_pass_quirk" "$W/${mode}_allowed/report.json" "$quirk" <<EOF
$LOAD
rep = load(sys.argv[1]); c = by_id(rep); quirk = sys.argv[2]
assert sorted(c) == ["fixtures.quirk-flow.body", "fixtures.quirk-flow.get", "fixtures.quirk-flow.post"]
for v in c.values():
    assert v["outcome"] == "PASS_QUIRK" and v["quirk"] == quirk, v
assert rep["totals"]["pass"] == 0 and rep["quirks"] == [quirk], rep["totals"]
EOF
  done
  run 2 unknown_quirk "$F" --no-color --allow-quirk no-such-quirk
  contains unknown_quirk_named "$W/unknown_quirk.err" "no-such-quirk"
  ;;

client_selftest)
  need_python
  run 0 client "$R" --no-color --suite client --report-dir "$W/r"
  py every_client_check_passes_against_the_reference_delegate "$W/r/report.json" <<EOF
$LOAD
rep = load(sys.argv[1]); c = by_id(rep)
assert len(c) >= 24 and all(k.startswith("client.") for k in c), sorted(c)
bad = {k: (v["outcome"], v["actual"]) for k, v in c.items() if v["outcome"] != "PASS"}
assert not bad, bad
assert "signed requests: " in c["client.sig.verifies"]["actual"], c["client.sig.verifies"]
assert "aauth-delegate" in c["client.run.fetch"]["transcript"]
assert all(t["role"] != "delegate" for t in rep["targets"]), rep["targets"]
EOF
  ;;

client_target)
  need_python
  D=$(dirname "$R")/../../reference/aauth-delegate
  [ -x "$D" ] || { echo "SKIP: aauth-delegate not built" >&2; exit 77; }
  L="--listen client-agent=127.0.0.1:0 --listen client-auth=127.0.0.1:0 --listen client-resource=127.0.0.1:0"
  run 0 list "$R" --list=json --target-delegate "$D get x"
  py only_client_checks_selected "$W/list.out" <<EOF
$LOAD
ids = [c["id"] for c in load(sys.argv[1])["checks"]]
assert ids and all(i.startswith("client.") for i in ids), ids
EOF
  run 0 conformant "$R" --no-color $L --target-delegate "'$D' -q get \"\$AAUTH_RESOURCE_URL\"" \
    --report-dir "$W/ok"
  # the seed's defect: base64url signatures (PROFILE#2.12 S1)
  run 1 b64url "$R" --no-color $L \
    --target-delegate "'$D' -q --variant sig-b64url get \"\$AAUTH_RESOURCE_URL\"" --report-dir "$W/b64"
  py base64url_fails_citing_rfc8941 "$W/b64/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
e = c["client.sig.encoding"]
assert e["outcome"] == "FAIL" and "RFC 8941 §3.3.5" in e["hint"] and "base64url" in e["actual"], e
assert e["actual"].split(": ", 1)[0] in ("GET /data-auth", "POST /agent/token"), e["actual"]
assert c["client.sig.verifies"]["outcome"] == "PASS", c["client.sig.verifies"]
assert c["client.sig.labels"]["outcome"] == "PASS"
EOF
  run 1 legacy "$R" --no-color $L \
    --target-delegate "'$D' -q --variant legacy-base get \"\$AAUTH_RESOURCE_URL\"" --report-dir "$W/legacy"
  py legacy_base_fails_verification "$W/legacy/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
v = c["client.sig.verifies"]
assert v["outcome"] == "FAIL" and "legacy base" in v["actual"] and "RFC 9421 §2.5" in v["hint"], v
assert c["client.sig.encoding"]["outcome"] == "PASS"
EOF
  # a client that signs nothing and follows redirects: the CL checks fail
  if command -v curl >/dev/null 2>&1; then
    run 1 curl "$R" --no-color $L --target-delegate 'curl -sL --max-time 15 "$AAUTH_RESOURCE_URL"' \
      --report-dir "$W/curl"
    py naive_client_fails "$W/curl/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
for k in ("client.run.fetch", "client.sig.verifies", "client.cl01.insecure-auth-server",
          "client.cl02.malformed-challenge", "client.cl05.endless-response"):
    assert c[k]["outcome"] == "FAIL", (k, c[k])
assert "had to stop it" in c["client.cl05.endless-response"]["hint"]
EOF
  fi
  # with --target-delegate the servers take the PROFILE#1 ports unless told
  # otherwise; asserted only when those ports are free on this machine
  if python3 -c 'import socket,sys
for p in (8001,8002,8003):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try: s.bind(("127.0.0.1",p))
    except OSError: sys.exit(1)
    finally: s.close()'; then
    run 0 fixed_ports "$R" --no-color --target-delegate "'$D' -q get \"\$AAUTH_RESOURCE_URL\""
    contains fixed_agent_port "$W/fixed_ports.out" "client-agent     embedded: http://127.0.0.1:8001"
    contains fixed_resource_port "$W/fixed_ports.out" "client-resource  embedded: http://127.0.0.1:8002"
  else
    echo "note: ports 8001-8003 busy; the fixed-port default was not exercised"
  fi
  ;;

instances_control)
  need_python
  run 0 instances "$F" --no-color --filter 'fixtures.inst.*' --report-dir "$W/r"
  py instances_keys_hits_and_clocks "$W/r/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert len(c) == 5 and all(v["outcome"] == "PASS" for v in c.values()), {k: (v["outcome"], v["actual"], v["message"]) for k, v in c.items()}
EOF
  contains resource2_started "$W/instances.out" "resource2        embedded: http://127.0.0.1:"
  # the resource under test: its instances are the user's to provide
  run 4 external "$F" --no-color --target-resource http://127.0.0.1:1 --filter 'fixtures.inst.*' \
    --report-dir "$W/ext"
  py external_role_instance_skipped_with_reason "$W/ext/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
for v in c.values():
    assert v["outcome"] == "SKIP" and "--instance resource2=URL" in v["message"], v
EOF
  run 2 not_external "$F" --instance auth-timetravel=http://127.0.0.1:3
  contains not_external_named "$W/not_external.err" "auth-timetravel"
  run 2 unknown_instance "$F" --listen no-such=127.0.0.1:0
  ;;

interrupt)
  # the command the client suite runs signals the runner (the parent of its
  # parent) and waits; the runner must clean up and exit 128 + signal
  mkdir -p "$W/tmp"
  for sig in INT TERM; do
    want=130; [ "$sig" = TERM ] && want=143
    TMPDIR="$W/tmp" run $want "sig$sig" "$R" --no-color \
      --listen client-agent=127.0.0.1:0 --listen client-auth=127.0.0.1:0 \
      --listen client-resource=127.0.0.1:0 \
      --target-delegate "kill -$sig \$(awk '{print \$4}' /proc/\$PPID/stat); sleep 30"
    contains "sig${sig}_explained" "$W/sig$sig.err" "interrupted by SIG$sig"
    if ls "$W/tmp" | grep -q aauth-conformance; then
      fail "sig$sig: the temporary directory was left behind: $(ls "$W/tmp")"
    else
      ok "sig$sig: temporary directory removed"
    fi
  done
  ;;

public_url)
  # embedded roles whose identifier (--public-url http://localhost:PORT) is
  # not their listen address (127.0.0.1:PORT): the harness signs for the
  # identifier's authority (PROFILE#2.5 D-2) and connects to the listener
  need_python
  set -- $(free_ports 3)
  PA=$1 PR=$2 PS=$3
  PUB="--listen agent-server=127.0.0.1:$PA --public-url agent-server=http://localhost:$PA \
--listen resource=127.0.0.1:$PR --public-url resource=http://localhost:$PR \
--listen auth-server=127.0.0.1:$PS --public-url auth-server=http://localhost:$PS"
  run 0 fixtures "$F" --no-color --filter 'fixtures.public-url.*' $PUB --report-dir "$W/fx"
  py core_signs_for_the_identifier "$W/fx/report.json" "$PR" <<EOF
$LOAD
c = by_id(load(sys.argv[1])); port = sys.argv[2]
assert all(v["outcome"] == "PASS" for v in c.values()), {k: (v["outcome"], v["message"]) for k, v in c.items()}
tr = c["fixtures.public-url.by-connect"]["transcript"]
assert '"@authority": localhost:' + port in tr, tr[-2000:]
assert "signed for @authority localhost:" + port in tr
assert ">>> HARNESS REQUEST to http://127.0.0.1:" + port in tr
# signed for the listen address, the same request is refused: the check can fail
assert "401" in c["fixtures.public-url.connect-authority-refused"]["actual"]
EOF
  # every suite, against the embedded roles named that way
  run 0 all "$R" --no-color -j 2 $PUB --report-dir "$W/all"
  py every_suite_passes_with_public_urls "$W/all/report.json" "$PA" "$PR" <<EOF
$LOAD
rep = load(sys.argv[1]); c = by_id(rep)
bad = {k: (v["outcome"], (v["message"] or "")[:200]) for k, v in c.items()
       if v["outcome"] not in ("PASS", "INFO", "SKIP")}
assert not bad, bad
skips = {k for k, v in c.items() if v["outcome"] == "SKIP"}
assert not skips, skips
# the embedded resource declares "public" (GET /public, F1.4)
for k in ("pseudonymous.public.rate-limited", "pseudonymous.public.signed-accepted"):
    assert c[k]["outcome"] == "PASS", (k, c[k]["outcome"], c[k]["message"])
assert len(c) >= 400, len(c)
urls = {t["role"]: t["url"] for t in rep["targets"]}
assert urls["agent-server"] == "http://localhost:" + sys.argv[2], urls
assert urls["resource"] == "http://localhost:" + sys.argv[3], urls
# a flow that signs through the client library and one through the core
for k in ("exchange.t2.accepted", "delegation.agent-token.status", "autonomous.challenge.auth-token"):
    assert k in c and c[k]["outcome"] == "PASS", k
EOF
  ;;

seed_report_partial)
  # --seed-report with a target: a TEST whose checks judge only roles that
  # are not under test is SKIPPED, never "FAILED: not run"
  run 0 partial "$F" --no-color --target-resource http://127.0.0.1:1 --suite fixtures-partial \
    --seed-report
  contains skipped_test "$W/partial.out" "- TEST 1 SKIPPED: not selected: its checks judge the agent-server, not under test in this run"
  contains skipped_in_summary "$W/partial.out" "- SKIPPED: TEST 3: Agent Again"
  contains passed_test "$W/partial.out" "✓ PASSED: TEST 2: Resource Step"
  contains totals "$W/partial.out" "Total: 3 | Passed: 1 | Failed: 0 | Skipped: 2"
  if grep -q "not run" "$W/partial.out"; then fail "a deselected TEST printed as not run"; else
    ok "no \"not run\" for deselected tests"; fi
  # deselected by --filter: the reason says so
  run 0 filtered "$F" --no-color --filter 'fixtures-partial.resource' --seed-report
  contains filtered_reason "$W/filtered.out" "- TEST 1 SKIPPED: not selected by --suite/--filter"
  # without targets the whole flow runs: no SKIPPED test
  run 0 whole "$F" --no-color --suite fixtures-partial --seed-report
  contains whole_totals "$W/whole.out" "Total: 3 | Passed: 3 | Failed: 0"
  if grep -q "SKIPPED" "$W/whole.out"; then fail "a selected TEST was skipped"; else
    ok "nothing skipped when everything is selected"; fi
  # a test that ran and failed still counts failed
  run 1 seed "$F" --no-color --filter 'fixtures.flow.*' --seed-report
  contains seed_total_unchanged "$W/seed.out" "Total: 2 | Passed: 1 | Failed: 1"
  ;;

consent_manual)
  need_python
  # no terminal (setsid: no controlling tty, stdin /dev/null): the checks
  # that need a person SKIP with the reason, the others still run
  run 0 no_tty setsid "$R" --no-color --suite consent --consent manual --report-dir "$W/notty" \
    </dev/null
  py no_terminal_means_skip "$W/notty/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert c["consent.auth-response.request-token"]["outcome"] == "PASS", c["consent.auth-response.request-token"]
for k in ("consent.redirect.status", "consent.code.status", "consent.deny.access-denied"):
    assert c[k]["outcome"] == "SKIP" and "terminal" in c[k]["message"], (k, c[k]["message"])
EOF
  run 2 bad_mode "$R" --consent sometimes
  contains bad_mode_named "$W/bad_mode.err" "--consent sometimes"
  # the control round trip: the runner prompts on stderr and reads the
  # answer - here from a file (the test hook) instead of /dev/tty
  printf '%s\n' 'http://127.0.0.1:1/callback?code=fixture-code&state=fixture-state' >"$W/answers"
  run 0 round_trip env AA_CONFORMANCE_CONSENT_INPUT="$W/answers" "$F" --no-color --consent manual \
    --filter 'fixtures.consent.*' --report-dir "$W/rt"
  contains prompt_names_the_url "$W/round_trip.err" \
    "  http://127.0.0.1:1/agent/auth?request_token=fixture-rt&state=fixture-state"
  contains prompt_names_the_case "$W/round_trip.err" "consent needed (case fixtures/consent_prompt)"
  py round_trip_answers "$W/rt/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert [v["outcome"] for v in c.values()] == ["PASS", "PASS"], c
EOF
  # the whole F4 flow with a "person": a script that reads the prompts on
  # the runner's stderr, consents through the PROFILE#6.6 pages and answers
  # through a FIFO
  python3 - "$R" "$W/answers.fifo" "$W/flow" >"$W/person.out" 2>"$W/person.err" <<'EOF'
import http.client, json, os, subprocess, sys, urllib.parse
runner, fifo, outdir = sys.argv[1:4]
os.mkfifo(fifo)
env = dict(os.environ, AA_CONFORMANCE_CONSENT_INPUT=fifo)
p = subprocess.Popen([runner, "--no-color", "--suite", "consent", "--consent", "manual",
                      "--report-dir", outdir], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)

def person(url, deny):
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", u.path + "?" + u.query)
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    if r.getheader("Set-Cookie"):
        hdr["Cookie"] = r.getheader("Set-Cookie").split(";")[0]
    form = {k: q[k] for k in ("request_token", "redirect_uri", "state")}
    conn.request("POST", u.path, urllib.parse.urlencode(
        dict(form, action="login", username="testuser", password="testpass")), hdr)
    r = conn.getresponse(); r.read()
    assert r.status in (302, 303), r.status
    if r.getheader("Set-Cookie"):
        hdr["Cookie"] = r.getheader("Set-Cookie").split(";")[0]
    conn.request("POST", u.path, urllib.parse.urlencode(
        dict(form, consent="deny" if deny else "grant")), hdr)
    r = conn.getresponse(); r.read()
    assert r.status == 303, r.status
    return r.getheader("Location")

w, asked, deny = None, [], None
for line in p.stderr:
    sys.stderr.write(line)
    if line.startswith("aauth-conformance: consent needed"):
        deny = "DENY" in line
    elif deny is not None and line.startswith("  http"):
        loc = person(line.strip(), deny)
        if w is None:
            w = open(fifo, "w")
        w.write(loc + "\n")
        w.flush()
        asked.append({"deny": deny, "answer": loc})
        deny = None
p.wait()
print(json.dumps(asked))
sys.exit(p.returncode)
EOF
  st=$?
  if [ "$st" -eq 0 ]; then ok "manual consent flow: exit 0"; else
    fail "manual consent flow: exit $st"; tail -n 30 "$W/person.err" >&2; fi
  if grep -qE "Sanitizer|runtime error:" "$W/person.err"; then
    fail "manual consent flow: sanitizer report"; fi
  py person_answered_twice "$W/person.out" "$W/flow/report.json" <<EOF
$LOAD
asked = json.loads(open(sys.argv[1]).read())
assert [a["deny"] for a in asked] == [False, True], asked
assert "code=" in asked[0]["answer"] and "error=access_denied" in asked[1]["answer"], asked
c = by_id(load(sys.argv[2]))
assert c["consent.redirect.status"]["outcome"] == "SKIP", c["consent.redirect.status"]
assert "manual consent" in c["consent.redirect.status"]["message"]
others = {k: v["outcome"] for k, v in c.items() if k != "consent.redirect.status"}
assert all(o == "PASS" for o in others.values()), others
tr = c["consent.code.status"]["transcript"]
assert "the person answered http" in tr, tr[-3000:]
EOF
  ;;

harness_host)
  need_python
  run 2 wildcard "$R" --harness-host 0.0.0.0
  contains wildcard_explained "$W/wildcard.err" "not the wildcard"
  run 2 name "$R" --harness-host harness.example
  contains name_explained "$W/name.err" "expected an IPv4 or IPv6 address"
  run 0 printed "$R" --print-config --harness-host '[::1]'
  contains stored "$W/printed.out" '"::1"'
  # a target that is not on loopback cannot reach servers on 127.0.0.1:
  # SKIP naming the option, never PASS or ERROR
  run 0 remote "$F" --no-color --target-resource https://resource.example \
    --filter 'fixtures.harness-host.*' --report-dir "$W/remote"
  py remote_target_skips "$W/remote/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert c["fixtures.harness-host.bind"]["outcome"] == "PASS"
assert c["fixtures.harness-host.bind"]["actual"] == "127.0.0.1"
for k in ("fixtures.harness-host.reachable", "fixtures.harness-host.fault-is-skip"):
    assert c[k]["outcome"] == "SKIP" and "--harness-host ADDR" in c[k]["message"], c[k]
EOF
  # given an address of this host that is not loopback, the servers bind
  # and name it and the target counts as reaching them
  IP=$(python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(("192.0.2.1", 9)); a = s.getsockname()[0]
    print("" if a.startswith("127.") else a)
except OSError:
    print("")')
  if [ -n "$IP" ]; then
    run 0 lab "$F" --no-color --target-resource https://resource.example --harness-host "$IP" \
      --filter 'fixtures.harness-host.*' --report-dir "$W/lab"
    py lab_host_used "$W/lab/report.json" "$IP" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert c["fixtures.harness-host.bind"]["actual"] == sys.argv[2], c["fixtures.harness-host.bind"]
assert all(v["outcome"] == "PASS" for v in c.values()), c
EOF
    # the embedded reference accepts http identifiers on loopback only
    # (PROFILE#1 D-1): the checks whose servers the case hosts SKIP
    run 0 lab_selftest "$R" --no-color --suite neg-resource --suite identity --harness-host "$IP" \
      --report-dir "$W/lab_self"
    py lab_selftest_skips_not_passes "$W/lab_self/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
for k in ("identity.identified.status", "neg-resource.au.untrusted-issuer",
          "neg-resource.au.aud-other-resource"):
    assert c[k]["outcome"] == "SKIP" and "D-1" in c[k]["message"], (k, c[k])
assert not [k for k, v in c.items() if v["outcome"] in ("FAIL", "ERROR")]
EOF
  else
    echo "note: no non-loopback address on this host; the --harness-host ADDR run was not exercised"
  fi
  ;;

data_exchange)
  # PROFILE#6.7 with the resource under test: R1 (a separate aauth-reference)
  # calls the harness's embedded resource2/auth2 through /data-exchange
  need_python
  REF=$(dirname "$R")/../../reference/aauth-reference
  [ -x "$REF" ] || { echo "SKIP: aauth-reference not built" >&2; exit 77; }
  set -- $(free_ports 3)
  PA=$1 PR2=$2 PAS2=$3
  LST="--listen auth-server=127.0.0.1:$PA --listen resource2=127.0.0.1:$PR2 --listen auth2=127.0.0.1:$PAS2"
  # start_r1 NAME ARGS...: an aauth-reference resource; R1 its identifier
  start_r1() {
    nm=$1
    shift
    R1=""
    ref_start "$nm" 1 --roles resource --resource-port 0 --auth-server "http://127.0.0.1:$PA" \
      "$@" || { fail "$nm: aauth-reference did not start"; return 1; }
    R1=$(ref_url "$nm" resource)
  }
  start_r1 good --downstream "http://127.0.0.1:$PR2"
  run 0 good "$R" --no-color --suite exchange --target-resource "$R1" \
    --declare resource=data-exchange $LST --report-dir "$W/good"
  ref_stop_all
  py target_r1_drives_the_exchange "$W/good/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
dx = c["exchange.data-exchange.response"]
assert dx["outcome"] == "PASS" and "Access granted" in dx["actual"], dx
assert "/data-exchange" in dx["transcript"]
for k in ("exchange.t1.challenge", "exchange.t1.accepted"):
    assert c[k]["outcome"] == "PASS", c[k]
for k in ("exchange.rt2.challenge", "exchange.t2.accepted"):
    assert c[k]["outcome"] == "SKIP" and "embedded resource2" in c[k]["message"], c[k]
assert not [k for k, v in c.items() if v["outcome"] in ("FAIL", "ERROR")]
EOF
  # the same R1 without a downstream: it declared the trigger, so FAIL
  start_r1 broken
  run 1 broken "$R" --no-color --suite exchange --target-resource "$R1" \
    --declare resource=data-exchange $LST --report-dir "$W/broken"
  py undelivered_trigger_fails "$W/broken/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert c["exchange.data-exchange.response"]["outcome"] == "FAIL", c["exchange.data-exchange.response"]
EOF
  # not declared: no embedded R2 for a resource under test, the case does
  # not run and says which option would provide one
  run 4 undeclared "$R" --no-color --suite exchange --target-resource "$R1" --report-dir "$W/undecl"
  ref_stop_all
  py undeclared_skips "$W/undecl/report.json" <<EOF
$LOAD
c = by_id(load(sys.argv[1]))
assert all(v["outcome"] == "SKIP" and "--instance resource2=URL" in v["message"] for v in c.values()), c
EOF
  ;;

*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac

finish "scenario $scenario"
