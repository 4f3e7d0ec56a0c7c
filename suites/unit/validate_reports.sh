#!/bin/sh
# Validate the report writers against the published schemas.
#   validate_reports.sh GENERATOR SOURCE_DIR WORK_DIR
# GENERATOR is aa_sample_report (suites/unit/tools/): it writes the fixed
# sample run's junit.xml, report.json, report.md and report.html into
# WORK_DIR. Then:
#   * junit.xml must validate with xmllint against reports/junit.xsd;
#   * report.json must validate with python3 jsonschema (Draft 2020-12)
#     against reports/report.schema.json;
#   * report.html must not reference any external resource;
# and, so that each check is known to be able to fail, deliberately broken
# copies must be rejected by the same validators.
# Exit 0 all good, 1 a failure, 77 a validator is not installed (CTest SKIP).
set -eu

if [ $# -ne 3 ]; then
  echo "usage: $0 GENERATOR SOURCE_DIR WORK_DIR" >&2
  exit 2
fi
gen=$1
src=$2
work=$3
xsd="$src/reports/junit.xsd"
schema="$src/reports/report.schema.json"
failures=0
missing=""

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

rm -rf "$work"
mkdir -p "$work"
"$gen" "$work/out"
for f in junit.xml report.json report.md report.html; do
  [ -s "$work/out/$f" ] || fail "$f not written"
done

# ---- JUnit XML -------------------------------------------------------------
if command -v xmllint >/dev/null 2>&1; then
  if xmllint --noout --schema "$xsd" "$work/out/junit.xml"; then
    ok "junit.xml validates against reports/junit.xsd"
  else
    fail "junit.xml does not validate against reports/junit.xsd"
  fi
  # Negative controls: the schema forbids <properties> directly under
  # <testsuites>, and a <testcase> needs a name.
  sed 's|^<testsuites \(.*\)>$|<testsuites \1><properties/>|' "$work/out/junit.xml" >"$work/bad-props.xml"
  sed '0,/<testcase name="[^"]*"/s//<testcase/' "$work/out/junit.xml" >"$work/bad-name.xml"
  for bad in bad-props bad-name; do
    if cmp -s "$work/out/junit.xml" "$work/$bad.xml"; then
      fail "negative control $bad.xml was not modified"
    elif xmllint --noout --schema "$xsd" "$work/$bad.xml" 2>/dev/null; then
      fail "xmllint accepted the broken $bad.xml"
    else
      ok "xmllint rejects $bad.xml"
    fi
  done
else
  missing="$missing xmllint(libxml2-utils)"
fi

# ---- report.json -------------------------------------------------------------
py=""
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import jsonschema' 2>/dev/null; then
    py=$cand
    break
  fi
done
if [ -n "$py" ]; then
  # One validator for the real file and for each broken copy: prints the
  # first error and exits 1 when the instance is invalid.
  cat >"$work/validate.py" <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(schema)
doc = json.load(open(sys.argv[2], encoding="utf-8"))
mutation = sys.argv[3] if len(sys.argv) > 3 else ""
if mutation == "extra-member":
    doc["unexpected"] = 1
elif mutation == "bad-outcome":
    doc["checks"][0]["outcome"] = "MAYBE"
elif mutation == "quirk-without-name":
    q = [c for c in doc["checks"] if c["outcome"] == "PASS_QUIRK"][0]
    q["quirk"] = None
elif mutation == "seed-as-number":
    doc["seed"] = int(doc["seed"])
elif mutation == "check-extra-member":
    doc["checks"][0]["extra"] = True
elif mutation == "missing-totals":
    del doc["totals"]
elif mutation:
    sys.exit("unknown mutation " + mutation)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
if errors:
    print("invalid: %s at %s" % (errors[0].message, "/".join(str(p) for p in errors[0].absolute_path)))
    sys.exit(1)
print("valid")
EOF
  if "$py" -W ignore "$work/validate.py" "$schema" "$work/out/report.json"; then
    ok "report.json validates against reports/report.schema.json ($("$py" -c 'import importlib.metadata as m; print("jsonschema", m.version("jsonschema"))' 2>/dev/null || echo jsonschema))"
  else
    fail "report.json does not validate against reports/report.schema.json"
  fi
  for m in extra-member bad-outcome quirk-without-name seed-as-number check-extra-member missing-totals; do
    if "$py" -W ignore "$work/validate.py" "$schema" "$work/out/report.json" "$m" >"$work/neg.txt" 2>&1; then
      fail "schema accepted the mutation $m"
    else
      ok "schema rejects $m ($(cat "$work/neg.txt"))"
    fi
  done
else
  missing="$missing python3-jsonschema"
fi

# ---- report.html: self-contained ---------------------------------------------
# A tag attribute src=/href=/action= pointing at http(s): or a protocol-
# relative //host, a CSS url(http...) or an @import. Run text is escaped
# (&lt; and &quot;), so only real markup can match.
external='<[a-zA-Z][^>]*[[:space:]](src|href|action|poster|data)[[:space:]]*=[[:space:]]*["'"'"']?[[:space:]]*(https?:|//)|url\([[:space:]]*["'"'"']?[[:space:]]*(https?:|//)|@import'
printf '<p>ok</p>\n<img alt="x" src="https://example.com/a.png">\n' >"$work/bad.html"
if grep -Eiq "$external" "$work/bad.html"; then
  ok "external-reference check flags a known-bad page"
else
  fail "external-reference check missed <img src=https://...>"
fi
if grep -Eio "$external" "$work/out/report.html"; then
  fail "report.html references an external resource (above)"
else
  ok "report.html has no external resource reference"
fi
grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$work/out/report.html" ||
  fail "report.html lacks its Content-Security-Policy"

# ---- report.md fits a GitHub step summary --------------------------------------
size=$(wc -c <"$work/out/report.md")
if [ "$size" -lt 1048576 ]; then
  ok "report.md is $size bytes"
else
  fail "report.md is $size bytes (>= 1 MiB)"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
if [ -n "$missing" ]; then
  echo "SKIP: not installed:$missing (scripts/deps.sh test installs them)" >&2
  exit 77
fi
echo "all report validations passed"
