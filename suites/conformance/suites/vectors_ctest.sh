#!/bin/sh
# Proves that the offline vectors suite can fail, and fails precisely:
#   vectors_ctest.sh RUNNER VECTORS_DIR WORK_DIR
# copies VECTORS_DIR to WORK_DIR, corrupts one value in each of three files
#   httpsig/rfc9421_appendix_b.json  one byte of the RFC 9421 B.2.6 base
#   jose/rfc7638.json                one character of the thumbprint
#   httpsig/rfc9530.json             one character of a sha-256 digest
# runs `RUNNER --suite vectors --vectors-dir COPY --report-dir OUT` and
# asserts exit status 1, that exactly the three checks reading those values
# FAIL (every other check PASS), and that each failure names the corrupted
# value. Exit 0 pass, 1 fail, 77 python3 missing (CTest SKIP).
set -u

if [ $# -ne 3 ]; then
  echo "usage: $0 RUNNER VECTORS_DIR WORK_DIR" >&2
  exit 2
fi
R=$1 SRC=$2 W=$3
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed" >&2; exit 77; }
rm -rf "$W"
mkdir -p "$W"
cp -R "$SRC" "$W/vectors" || exit 1

# Corrupt the copies; the values written are printed for the assertions.
python3 - "$W/vectors" >"$W/corrupted.json" <<'EOF' || exit 1
import json, sys
root = sys.argv[1]

def edit(rel, change):
    path = root + "/" + rel
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    value = change(doc)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return value

def one_char(s, i):
    """s with the character at i replaced by another base64 character."""
    return s[:i] + ("B" if s[i] != "B" else "C") + s[i + 1:]

def b26_base(doc):
    case = next(c for c in doc["cases"] if c["section"] == "B.2.6")
    i = case["base"].index("POST")
    case["base"] = case["base"][:i] + "Q" + case["base"][i + 1:]
    return case["base"]

def thumbprint(doc):
    doc["thumbprint"] = one_char(doc["thumbprint"], 0)
    return doc["thumbprint"]

def digest(doc):
    case = next(c for c in doc["cases"] if "sha-256" in c)
    v = case["sha-256"]
    case["sha-256"] = one_char(v, len("sha-256=:"))
    return case["sha-256"]

json.dump({
    "vectors.httpsig.rfc9421-b2-6-base": edit("httpsig/rfc9421_appendix_b.json", b26_base),
    "vectors.jose.rfc7638-thumbprint": edit("jose/rfc7638.json", thumbprint),
    "vectors.httpsig.rfc9530-digests": edit("httpsig/rfc9530.json", digest),
}, sys.stdout)
EOF

"$R" --no-color --suite vectors --vectors-dir "$W/vectors" --report-dir "$W/out" \
  >"$W/run.out" 2>"$W/run.err"
rc=$?
if [ "$rc" -ne 1 ]; then
  echo "FAIL: exit status $rc, expected 1 (conformance failures)" >&2
  tail -n 40 "$W/run.out" "$W/run.err" >&2
  exit 1
fi
echo "ok: exit status 1"

python3 - "$W/out/report.json" "$W/corrupted.json" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1], encoding="utf-8"))
corrupted = json.load(open(sys.argv[2], encoding="utf-8"))
checks = rep["checks"]
failed = sorted(c["id"] for c in checks if c["outcome"] == "FAIL")
assert failed == sorted(corrupted), "FAIL: failing checks %s, expected exactly %s" % (
    failed, sorted(corrupted))
others = [(c["id"], c["outcome"]) for c in checks
          if c["id"] not in corrupted and c["outcome"] != "PASS"]
assert not others, "FAIL: other checks not PASS: %s" % others
assert len(checks) >= 40, "FAIL: only %d checks ran" % len(checks)
for c in checks:
    if c["id"] not in corrupted:
        continue
    evidence = " ".join(str(c.get(k) or "") for k in ("expected", "actual", "message", "hint"))
    assert corrupted[c["id"]] in evidence, "FAIL: %s does not name the corrupted value %r: %s" % (
        c["id"], corrupted[c["id"]], evidence[:500])
    print("ok: %s FAIL: %s" % (c["id"], (c["message"] or "")[:160]))
assert rep["exit_code"] == 1, rep["exit_code"]
print("ok: %d other checks PASS" % (len(checks) - len(failed)))
EOF
