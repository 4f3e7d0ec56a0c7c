#!/usr/bin/env python3
"""Build the committed seed corpora fuzz/corpus/<target>/ from vectors/.

    fuzz/seeds.py [--seedgen DIR] [--shared DIR] [--out DIR]

Inputs (all optional except vectors/):
  vectors/**/*.json                  field values, tokens, keys, messages
  ../shared/vendor/structured-field-tests/*.json   (RFC 8941/9651 corpus)
  --seedgen DIR                      output of build-fuzz/fuzz/fuzz_seedgen
                                     (validly signed requests and tokens)

Every corpus directory is regenerated from scratch; file names are
"<source>-<sha1 prefix>" so a seed's origin stays visible. Seeds are capped
per target (count and size) so the committed corpus stays well under 1 MB;
libFuzzer grows its working copy in fuzz/corpus-work/ (not committed).
Python 3 standard library only.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VECTORS = os.path.join(ROOT, "vectors")

# Per target: (max seeds, max bytes per seed). Total must stay < 1 MB.
LIMITS = {
    "fuzz_sf": (300, 1024),
    "fuzz_b64": (200, 1024),
    "fuzz_json": (250, 4096),
    "fuzz_jwt": (150, 9000),
    "fuzz_jwk": (150, 4096),
    "fuzz_sigkey": (150, 4096),
    "fuzz_challenge": (120, 2048),
    "fuzz_httpsig": (120, 8192),
    "fuzz_verify": (60, 8192),
    "fuzz_tokens": (60, 9000),
    "fuzz_server_bodies": (150, 4096),
}
TOTAL_MAX = 1000 * 1000


class Corpus:
    def __init__(self):
        self.seeds = {t: {} for t in LIMITS}  # target -> sha1 -> (source, bytes)

    def add(self, target, source, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        cap_n, cap_len = LIMITS[target]
        if len(data) > cap_len:
            return
        h = hashlib.sha1(data).hexdigest()
        bucket = self.seeds[target]
        if h in bucket or len(bucket) >= cap_n:
            return
        bucket[h] = (source, data)

    def write(self, out):
        total = 0
        for target, bucket in sorted(self.seeds.items()):
            d = os.path.join(out, target)
            if os.path.isdir(d):
                shutil.rmtree(d)
            if not bucket:
                continue
            os.makedirs(d)
            size = 0
            for h, (source, data) in sorted(bucket.items()):
                with open(os.path.join(d, "%s-%s" % (source, h[:16])), "wb") as f:
                    f.write(data)
                size += len(data)
            total += size
            print("%-20s %4d seeds %8d bytes" % (target, len(bucket), size))
        print("%-20s %4s       %8d bytes" % ("total", "", total))
        if total > TOTAL_MAX:
            sys.exit("seeds.py: corpus of %d bytes exceeds %d" % (total, TOTAL_MAX))


def load(rel):
    path = os.path.join(VECTORS, rel)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def walk_strings(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for v in o.values():
            yield from walk_strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk_strings(v)


def compact(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def b64url_decode(s):
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except Exception:
        return None


def message_seed(msg, extra=(), pseudo=()):
    """The request framing of fuzz/fuzz_http.h."""
    lines = ["%s %s" % (msg.get("method", "GET"), msg.get("target", "/"))]
    if msg.get("authority"):
        lines.append(":authority: %s" % msg["authority"])
    if msg.get("scheme") and msg["scheme"] != "http":
        lines.append(":scheme: %s" % msg["scheme"])
    for name, value in pseudo:
        lines.append(":%s: %s" % (name, value))
    present = {h[0].lower() for h in msg.get("headers", [])}
    for name, value in msg.get("headers", []):
        lines.append("%s: %s" % (name, value))
    for name, value in extra:
        if value is not None and name.lower() not in present:
            lines.append("%s: %s" % (name, value))
    return "\n".join(lines) + "\n\n" + (msg.get("body") or "")


# ---- per-source extraction ---------------------------------------------------

def from_sf_vectors(c):
    neg = load("sf/negative.json")
    for case in (neg or {}).get("cases", []):
        c.add("fuzz_sf", "sfneg", case["raw"])
        for m in re.finditer(r":([^:]*):", case["raw"]):
            c.add("fuzz_b64", "sfneg", m.group(1))


def from_sf_shared(c, shared):
    d = os.path.join(shared, "vendor", "structured-field-tests")
    if not os.path.isdir(d):
        print("seeds.py: %s absent, skipping the structured-field corpus" % d)
        return
    files = sorted(f for f in os.listdir(d) if f.endswith(".json"))
    # Small, hand-written files first: they carry the interesting edge cases.
    files.sort(key=lambda f: ("generated" in f, f))
    for name in files:
        with open(os.path.join(d, name), encoding="utf-8") as f:
            try:
                tests = json.load(f)
            except ValueError:
                continue
        for t in tests:
            for key in ("raw", "canonical"):
                if isinstance(t.get(key), list):
                    c.add("fuzz_sf", "sft", ", ".join(t[key]))
            if name == "binary.json" and isinstance(t.get("raw"), list) and t["raw"]:
                c.add("fuzz_b64", "sft", t["raw"][0].strip(":"))


def from_jose(c):
    neg = load("jose/negative.json") or {}
    for case in neg.get("jwt", []):
        c.add("fuzz_jwt", "joseneg", case["token"])
        c.add("fuzz_tokens", "joseneg", case["token"])
        for seg in case["token"].split(".")[:3]:
            c.add("fuzz_b64", "jwtseg", seg)
            raw = b64url_decode(seg)
            if raw and raw[:1] == b"{":
                c.add("fuzz_json", "jwtseg", raw)
    for case in neg.get("jwk", []):
        c.add("fuzz_jwk", "joseneg", compact(case["jwk"]))
        c.add("fuzz_json", "jwk", compact(case["jwk"]))
    for case in neg.get("jwks", []):
        c.add("fuzz_jwk", "jwksneg", compact(case["jwks"]))
    for case in neg.get("json", []):
        if "input" in case:
            c.add("fuzz_json", "jsonneg", case["input"])
        elif "input_hex" in case:
            c.add("fuzz_json", "jsonneg", bytes.fromhex(case["input_hex"]))
    if "verify_jwk" in neg:
        c.add("fuzz_jwk", "jose", compact(neg["verify_jwk"]))

    for rel, keys, toks in (
        ("jose/rfc7515.json", ("a2_public_jwk", "a3_public_jwk"), ("a2_jws", "a3_jws")),
        ("jose/rfc8037.json", ("a1_private_jwk", "a2_public_jwk"), ("a4_jws",)),
        ("jose/rfc7638.json", ("jwk",), ()),
        ("jose/seed_agent_token.json", (), ("token",)),
    ):
        d = load(rel)
        if not d:
            continue
        for k in keys:
            c.add("fuzz_jwk", "rfc", compact(d[k]))
            c.add("fuzz_json", "rfc", json.dumps(d[k], indent=1))
        for t in toks:
            c.add("fuzz_jwt", "rfc", d[t])
            c.add("fuzz_tokens", "rfc", d[t])
    d = load("jose/seed_agent_token.json")
    if d:
        c.add("fuzz_json", "seed", compact(d["claims"]))


def from_httpsig(c):
    ex = load("httpsig/profile_examples.json")
    if ex:
        for e in ex["examples"]:
            seed = message_seed(e["message"], [("Signature-Input", e["signature_input"]),
                                               ("Signature", e["signature"])])
            c.add("fuzz_httpsig", "profile", seed)
            c.add("fuzz_verify", "profile", seed)
            for h in e["message"]["headers"]:
                if h[0].lower() == "signature-key":
                    c.add("fuzz_sigkey", "profile", h[1])
            c.add("fuzz_sf", "profile", e["signature_input"])
            c.add("fuzz_sf", "profile", e["signature"])
            c.add("fuzz_b64", "profile", e["signature"].split(":")[1])
        s1 = ex["s1"]
        seed = message_seed(s1["message"])
        c.add("fuzz_httpsig", "s1", seed)
        c.add("fuzz_verify", "s1", seed)
        c.add("fuzz_b64", "s1", s1["signature"].split(":")[1])
        c.add("fuzz_jwk", "s1", compact(s1["delegate_jwk"]))
        c.add("fuzz_jwk", "profile", compact(ex["key"]["jwk"]))

    ab = load("httpsig/rfc9421_appendix_b.json")
    if ab:
        for name, k in ab["keys"].items():
            if "jwk" in k:
                c.add("fuzz_jwk", "rfc9421", compact(k["jwk"]))
                pub = {m: v for m, v in k["jwk"].items() if m not in ("d", "p", "q", "dp", "dq", "qi")}
                c.add("fuzz_jwk", "rfc9421", compact(pub))
            for pem in ("public_pem", "private_pem"):
                if k.get(pem):
                    c.add("fuzz_jwk", "pem", k[pem])
        for case in ab["cases"]:
            msg = ab["messages"].get(case["message"])
            if not msg or "method" not in msg:
                continue
            seed = message_seed(msg, [("Signature-Input", case["signature_input"]),
                                      ("Signature", case["signature"])],
                                pseudo=[("key", case["key"])])
            c.add("fuzz_httpsig", "rfc9421", seed)
            c.add("fuzz_sf", "rfc9421", case["signature_input"])
        msg = ab["messages"]["test-request"]
        for h in msg["headers"]:
            if h[0].lower() == "content-digest":
                c.add("fuzz_sf", "rfc9421", h[1])

    rr = load("httpsig/rfc9421_req_response.json")
    if rr:
        c.add("fuzz_httpsig", "rfc9421", message_seed(rr["request"]))

    neg = load("httpsig/negative.json")
    if neg:
        for case in neg["cases"]:
            msg = case.get("message")
            if not msg or "method" not in msg:
                continue
            seed = message_seed(msg, [("Signature-Input", case.get("signature_input")),
                                      ("Signature", case.get("signature"))])
            c.add("fuzz_httpsig", "httpsigneg", seed)
            if case.get("signature_input"):
                c.add("fuzz_sf", "httpsigneg", case["signature_input"])
            if case.get("signature"):
                c.add("fuzz_sf", "httpsigneg", case["signature"])

    dg = load("httpsig/rfc9530.json")
    if dg:
        for case in dg["cases"]:
            parts = []
            for alg in ("sha-256", "sha-512"):
                if case.get(alg):
                    parts.append("%s=:%s:" % (alg, case[alg]))
                    c.add("fuzz_b64", "rfc9530", case[alg])
            body = case.get("body", "")
            if isinstance(body, str):
                c.add("fuzz_httpsig", "rfc9530",
                      "POST /x\nContent-Type: application/json\nContent-Digest: %s\n\n%s"
                      % (", ".join(parts), body))
                c.add("fuzz_sf", "rfc9530", ", ".join(parts))


def from_aauth(c):
    sk = load("aauth/signature-key.json")
    for case in (sk or {}).get("cases", []):
        if isinstance(case.get("raw"), str):
            c.add("fuzz_sigkey", "vec", case["raw"])
            m = re.search(r'jwt="([^"]*)"', case["raw"])
            if m:
                c.add("fuzz_jwt", "sigkey", m.group(1))
                c.add("fuzz_tokens", "sigkey", m.group(1))
    aa = load("aauth/agent-auth.json")
    for case in (aa or {}).get("cases", []):
        if isinstance(case.get("raw"), str):
            c.add("fuzz_challenge", "vec", case["raw"])
            c.add("fuzz_sf", "agentauth", case["raw"])
    nn = load("aauth/nonce.json")
    for case in (nn or {}).get("cases", []):
        v = case.get("nonce")
        if v is None and "repeat" in case:
            v = case["repeat"]["char"] * case["repeat"]["count"]
        if isinstance(v, str):
            c.add("fuzz_challenge", "nonce", v)
            c.add("fuzz_b64", "nonce", v)


def from_seedgen(c, d):
    if not d:
        return
    if not os.path.isdir(d):
        sys.exit("seeds.py: --seedgen %s is not a directory" % d)
    for target in sorted(os.listdir(d)):
        if target not in LIMITS:
            continue
        for name in sorted(os.listdir(os.path.join(d, target))):
            with open(os.path.join(d, target, name), "rb") as f:
                c.add(target, "gen", f.read())


def from_bodies(c):
    """Bodies for fuzz_server_bodies: byte 0 selects the endpoint ('a' + the
    index in the target's endpoints[] table), the rest is the body."""
    test1 = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    delegate = [
        {"sub": "delegate-1", "cnf_jwk": test1},
        {"sub": "delegate-1", "cnf_jwk": test1, "aud": "http://127.0.0.1:8002"},
        {"sub": "delegate-1", "cnf_jwk": dict(test1, kid="delegate-key-1"),
         "aud": ["http://127.0.0.1:8002", "http://127.0.0.1:8003"]},
        {"sub": "", "cnf_jwk": {"kty": "EC", "crv": "P-256", "x": "", "y": ""}},
    ]
    for j in delegate:
        c.add("fuzz_server_bodies", "delegate", "a" + compact(j))
        c.add("fuzz_server_bodies", "delegate", "b" + compact(j))
    for f in (
        "request_type=auth&resource_token=eyJ.a.b&scope=data.read",
        "request_type=auth&resource_token=eyJ.a.b&redirect_uri=http%3A%2F%2F127.0.0.1%3A8001%2Fcallback",
        "request_type=code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8001%2Fcallback",
        "request_type=refresh&refresh_token=rt-1",
        "request_type=exchange&auth_token=eyJ.a.b&resource_token=eyJ.c.d",
        "request_type=nope",
        "request_type=auth&request_type=code",
        "%zz=%&&=&+=+",
    ):
        c.add("fuzz_server_bodies", "astoken", "c" + f)
        c.add("fuzz_server_bodies", "astoken", "d" + f)
    for f in (
        "username=testuser&password=testpass&request_token=rq-1&consent=allow",
        "username=testuser&password=wrong&request_token=rq-1&consent=deny",
    ):
        c.add("fuzz_server_bodies", "consent", "e" + f)
    for f in (
        "scope=data.read",
        "scope=data.read+data.write",
        "auth_request_url=http%3A%2F%2F127.0.0.1%3A8003%2Fagent%2Fauth",
        "scope=data.read&auth_request_url=x",
        "scope=unknown.scope",
    ):
        c.add("fuzz_server_bodies", "restoken", "f" + f)
    c.add("fuzz_server_bodies", "data", "g" + compact({"a": 1}))
    c.add("fuzz_server_bodies", "data", "h" + compact({"a": [1, 2.5, True, None, {"b": "\u00e9"}]}))
    c.add("fuzz_server_bodies", "data", "ia=1&b=2")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seedgen", help="directory written by fuzz_seedgen")
    ap.add_argument("--shared", default=os.environ.get("AA_SHARED_DIR",
                                                       os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    a = ap.parse_args()

    c = Corpus()
    from_seedgen(c, a.seedgen)  # first: valid baselines win the caps
    from_sf_vectors(c)
    from_jose(c)
    from_httpsig(c)
    from_aauth(c)
    from_bodies(c)
    from_sf_shared(c, os.path.abspath(a.shared))
    os.makedirs(a.out, exist_ok=True)
    c.write(a.out)


if __name__ == "__main__":
    main()
