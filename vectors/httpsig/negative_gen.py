# Regenerates negative.json (run from this directory: python3 negative_gen.py).
# Needs the Python "cryptography" package. The signatures are Ed25519 with the
# RFC 8032 TEST 1 key, computed independently of harness/httpsig so that the C
# suite cross-checks the bytes; the base builder below covers only the
# components these cases use.
import json, base64, hashlib
from cryptography.hazmat.primitives.asymmetric import ed25519
seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
K = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
NOW = 1768786221
SK = 'sig1=(scheme=hwk kty="OKP" crv="Ed25519" x="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")'
MSG = {"method":"GET","scheme":"http","authority":"127.0.0.1:8002","target":"/data?x=1",
       "headers":[["Host","127.0.0.1:8002"],["Content-Type","application/json"],
                  ["Example-Dict","a=1, b=2;y=3"],["X-Custom","v"],["Signature-Key",SK]],"body":""}

def comp_value(msg, name):
    t = msg["target"]; path, _, q = t.partition("?")
    if name == "@method": return msg["method"]
    if name == "@authority": return msg["authority"]
    if name == "@path": return path or "/"
    if name == "@query": return "?" + q
    vals = [v.strip() for (n, v) in msg["headers"] if n.lower() == name]
    assert vals, name
    return ", ".join(vals)

def base(msg, comps, params, legacy=False, qnoq=False):
    lines = []
    for c in comps:
        v = comp_value(msg, c)
        if qnoq and c == "@query": v = v[1:]
        lines.append('"%s": %s' % (c, v))
    il = "(" + " ".join('"%s"' % c for c in comps) + ")" + params
    if legacy: return "".join(l + "\n" for l in lines)
    return "\n".join(lines + ['"@signature-params": ' + il])

def b64(b): return base64.b64encode(b).decode()
def sign(msg, comps, params, **kw):
    return K.sign(base(msg, comps, params, **kw).encode())

C4 = ["@method","@authority","@path","@query","signature-key"]
def si(comps, params, label="sig1"):
    return label + "=(" + " ".join('"%s"' % c for c in comps) + ")" + params
def vcase(name, expect, step=None, params=";created=%d" % NOW, comps=C4, msg=None, sign_msg=None,
          sig=None, sig_input=None, opts=None, note="", diagnosis=None, **kw):
    m = msg or MSG
    s = sig
    if s is None:
        s = "sig1=:" + b64(sign(sign_msg or m, comps, params, **kw)) + ":"
    c = {"name":name, "kind":"verify", "message": m, "signature_input": sig_input or si(comps, params),
         "signature": s, "expect": expect}
    if step: c["step"] = step
    if opts: c["opts"] = opts
    if note: c["note"] = note
    if diagnosis: c["diagnosis"] = diagnosis
    if sign_msg: c["note"] = (note + " " if note else "") + "signed over a different message"
    return c

def alt(**ch):
    m = json.loads(json.dumps(MSG)); m.update(ch); return m

cases = []
good = sign(MSG, C4, ";created=%d" % NOW)
cases.append(vcase("valid-control", "AA_OK", note="positive control: every negative below changes one thing",
                   diagnosis={"found": True, "base": "rfc9421", "encoding": "std-padded"}))
cases.append(vcase("unpadded-standard-base64", "AA_OK",
    sig="sig1=:" + b64(good).rstrip("=") + ":",
    note="RFC 8941 §4.2.7: parsers SHOULD NOT fail on missing padding; tolerated (PROFILE#2.1)"))
cases.append(vcase("expired", "AA_E_HTTPSIG_EXPIRED", "time", params=";created=%d;expires=%d" % (NOW-60, NOW-120+60) ))
cases.append(vcase("created-too-old", "AA_E_HTTPSIG_CREATED_SKEW", "time", params=";created=%d" % (NOW-120)))
cases.append(vcase("created-in-future", "AA_E_HTTPSIG_CREATED_SKEW", "time", params=";created=%d" % (NOW+120)))
cases.append(vcase("created-missing", "AA_E_HTTPSIG_CREATED_MISSING", "time", params=";keyid=\"k\""))
cases.append(vcase("created-as-string", "AA_E_HTTPSIG_PARAM_TYPE", "params", params=';created="%d"' % NOW))
cases.append(vcase("created-decimal", "AA_E_HTTPSIG_PARAM_TYPE", "params", params=';created=%d.5' % NOW))
cases.append(vcase("alg-mismatch", "AA_E_HTTPSIG_ALG_MISMATCH", "alg", params=';created=%d;alg="rsa-pss-sha512"' % NOW))
cases.append(vcase("alg-hmac-sha256", "AA_E_HTTPSIG_ALG_UNSUPPORTED", "alg", params=';created=%d;alg="hmac-sha256"' % NOW))
cases.append(vcase("alg-unknown", "AA_E_HTTPSIG_ALG_UNKNOWN", "alg", params=';created=%d;alg="ed448"' % NOW))
cases.append(vcase("alg-ed25519-explicit", "AA_OK", params=';created=%d;alg="ed25519"' % NOW))
cases.append(vcase("signature-63-bytes", "AA_E_HTTPSIG_SIG_LENGTH", "verify", sig="sig1=:" + b64(good[:63]) + ":"))
cases.append(vcase("signature-as-sf-string", "AA_E_HTTPSIG_SIG_TYPE", "signature", sig='sig1="' + b64(good) + '"',
                   diagnosis={"found": True, "base": "rfc9421", "encoding": "std-padded", "as_string": True}))
cases.append(vcase("signature-base64url", "AA_E_HTTPSIG_SIG_ENCODING", "signature",
                   sig="sig1=:" + base64.urlsafe_b64encode(good).decode().rstrip("=") + ":",
                   diagnosis={"found": True, "base": "rfc9421", "encoding": "url-unpadded"}))
flipped = bytearray(good); flipped[10] ^= 0x01
cases.append(vcase("signature-bit-flipped", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify", sig="sig1=:" + b64(bytes(flipped)) + ":",
                   diagnosis={"found": False}))
cases.append(vcase("path-changed-after-signing", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify",
                   msg=alt(target="/data2?x=1"), sign_msg=MSG))
cases.append(vcase("method-changed-after-signing", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify",
                   msg=alt(method="POST"), sign_msg=MSG))
cases.append(vcase("signed-for-other-authority", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify",
                   sign_msg=alt(authority="127.0.0.1:9999"),
                   note="the verifier uses its configured authority 127.0.0.1:8002 (PROFILE#2.5)"))
cases.append(vcase("host-header-ignored", "AA_OK",
                   msg=alt(headers=[["Host","evil.example"]] + MSG["headers"][1:]),
                   note="Host differs but @authority comes from configuration, so it still verifies"))
cases.append(vcase("legacy-base", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify", legacy=True,
                   diagnosis={"found": True, "base": "legacy", "encoding": "std-padded"}))
cases.append(vcase("query-without-qmark", "AA_E_HTTPSIG_BAD_SIGNATURE", "verify", qnoq=True,
                   diagnosis={"found": True, "base": "query-no-qmark", "encoding": "std-padded"}))
cases.append(vcase("label-mismatch", "AA_E_HTTPSIG_LABEL", "label", sig="sig2=:" + b64(good) + ":"))
cases.append(vcase("two-signatures-no-label", "AA_E_HTTPSIG_LABEL", "label",
                   sig_input=si(C4, ";created=%d" % NOW) + ", " + si(C4, ";created=%d" % NOW, "sig2"),
                   sig="sig1=:" + b64(good) + ":, sig2=:" + b64(good) + ":"))
cases.append(vcase("signature-input-unbalanced", "AA_E_HTTPSIG_INPUT_SYNTAX", "signature-input",
                   sig_input='sig1=("@method" "@authority";created=%d' % NOW))
cases.append(vcase("signature-input-not-inner-list", "AA_E_HTTPSIG_INPUT_SYNTAX", "signature-input",
                   sig_input='sig1="@method";created=%d' % NOW))
cases.append(vcase("signature-input-no-label", "AA_E_HTTPSIG_INPUT_SYNTAX", "signature-input",
                   sig_input='("@method" "@authority");created=%d' % NOW))
cases.append(vcase("signature-input-non-ascii", "AA_E_HTTPSIG_INPUT_SYNTAX", "signature-input",
                   sig_input='sig1=("@méthod");created=%d' % NOW))
cases.append(vcase("component-not-string", "AA_E_HTTPSIG_INPUT_SYNTAX", "signature-input",
                   sig_input='sig1=(method);created=%d' % NOW))
cases.append(vcase("signature-not-a-dictionary", "AA_E_HTTPSIG_SIG_SYNTAX", "signature", sig="!!not a dictionary"))
cases.append(vcase("duplicate-component-signed", "AA_E_HTTPSIG_DUP_COMPONENT", "base",
                   sig_input=si(["@method","@path","@method"], ";created=%d" % NOW), sig="sig1=:" + b64(good) + ":"))

# component / base-construction cases (no signature needed)
def bcase(name, expect, inner, msg=None, note=""):
    c = {"name":name, "kind":"base", "message": msg or MSG,
         "signature_input": "sig1=" + inner + ";created=%d" % NOW, "expect": expect}
    if note: c["note"] = note
    return c
RESP = {"response": True, "status": 200, "headers":[["Content-Type","application/json"]], "body":"{}"}
cases += [
 bcase("duplicate-component", "AA_E_HTTPSIG_DUP_COMPONENT", '("@method" "@path" "@method")'),
 bcase("duplicate-component-param-order", "AA_E_HTTPSIG_DUP_COMPONENT",
       '("example-dict";key="a";sf "example-dict";sf;key="a")',
       note="parameter order does not make identifiers distinct (RFC 9421 §2)"),
 bcase("missing-header", "AA_E_HTTPSIG_MISSING_FIELD", '("@method" "x-missing")'),
 bcase("unknown-component-parameter", "AA_E_HTTPSIG_COMPONENT_PARAM", '("content-type";foo)'),
 bcase("status-on-request", "AA_E_HTTPSIG_COMPONENT_CONTEXT", '("@status")'),
 bcase("method-on-response", "AA_E_HTTPSIG_COMPONENT_CONTEXT", '("@method")', msg=RESP),
 bcase("req-on-request", "AA_E_HTTPSIG_COMPONENT_CONTEXT", '("@method";req)'),
 bcase("unknown-derived-component", "AA_E_HTTPSIG_UNKNOWN_COMPONENT", '("@foo")'),
 bcase("signature-params-covered", "AA_E_HTTPSIG_UNKNOWN_COMPONENT", '("@signature-params")'),
 bcase("uppercase-field-name", "AA_E_HTTPSIG_COMPONENT_NAME", '("Content-Type")'),
 bcase("newline-in-field-value", "AA_E_HTTPSIG_VALUE_CHARS", '("x-custom")',
       msg=dict(MSG, headers=[["X-Custom","a\nb"]])),
 bcase("bs-with-sf", "AA_E_HTTPSIG_COMPONENT_PARAM", '("content-type";bs;sf)'),
 bcase("sf-on-unknown-type", "AA_E_HTTPSIG_SF_FIELD", '("x-custom";sf)'),
 bcase("key-not-in-dictionary", "AA_E_HTTPSIG_SF_FIELD", '("example-dict";key="zz")'),
 bcase("key-on-non-dictionary", "AA_E_HTTPSIG_SF_FIELD", '("content-type";key="a")'),
 bcase("query-param-absent", "AA_E_HTTPSIG_QUERY_PARAM", '("@query-param";name="nope")'),
 bcase("query-param-without-name", "AA_E_HTTPSIG_QUERY_PARAM", '("@query-param")'),
 bcase("query-param-repeated", "AA_E_HTTPSIG_QUERY_PARAM", '("@query-param";name="x")',
       msg=dict(MSG, target="/data?x=1&x=2")),
 bcase("name-on-field", "AA_E_HTTPSIG_COMPONENT_PARAM", '("content-type";name="a")'),
 bcase("name-on-path", "AA_E_HTTPSIG_COMPONENT_PARAM", '("@path";name="a")'),
 bcase("flag-false", "AA_E_HTTPSIG_COMPONENT_PARAM", '("content-type";bs=?0)'),
 bcase("key-not-string", "AA_E_HTTPSIG_COMPONENT_PARAM", '("example-dict";key=a)'),
 bcase("sf-on-derived", "AA_E_HTTPSIG_COMPONENT_PARAM", '("@method";sf)'),
 bcase("path-of-asterisk-target", "AA_E_HTTPSIG_TARGET", '("@path")', msg=dict(MSG, method="OPTIONS", target="*")),
]

# Content-Digest negatives
body = "hello"
d256 = "sha-256=:" + b64(hashlib.sha256(body.encode()).digest()) + ":"
d512 = "sha-512=:" + b64(hashlib.sha512(body.encode()).digest()) + ":"
other = "sha-256=:" + b64(hashlib.sha256(b"hellO").digest()) + ":"
def dcase(name, value, expect, accept=("sha-256","sha-512")):
    return {"name":name, "kind":"digest", "content_digest": value, "body": body, "accept": list(accept), "expect": expect}
cases += [
 dcase("digest-mismatch", other, "AA_E_HTTPSIG_DIGEST_MISMATCH"),
 dcase("digest-one-of-two-mismatch", d256 + ", sha-512=:" + b64(hashlib.sha512(b"x").digest()) + ":", "AA_E_HTTPSIG_DIGEST_MISMATCH"),
 dcase("digest-only-unknown-algorithm", "md5=:" + b64(hashlib.md5(body.encode()).digest()) + ":", "AA_E_HTTPSIG_DIGEST_NONE"),
 dcase("digest-sha512-not-accepted", d512, "AA_E_HTTPSIG_DIGEST_NONE", accept=("sha-256",)),
 dcase("digest-member-not-bytes", 'sha-256="' + b64(hashlib.sha256(body.encode()).digest()) + '"', "AA_E_HTTPSIG_DIGEST_SYNTAX"),
 dcase("digest-not-a-dictionary", "sha-256=:abc", "AA_E_HTTPSIG_DIGEST_SYNTAX"),
 dcase("digest-base64url", "sha-256=:" + base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).decode() + ":", "AA_E_HTTPSIG_DIGEST_SYNTAX"),
 dcase("digest-truncated", "sha-256=:" + b64(hashlib.sha256(body.encode()).digest()[:31]) + ":", "AA_E_HTTPSIG_DIGEST_MISMATCH"),
 dcase("digest-control-unknown-ignored", "md5=:AAAA:, " + d256, "AA_OK"),
 dcase("digest-control-both", d256 + ", " + d512, "AA_OK"),
]
out = {"description": "Negative vectors for the httpsig layer (RFC 9421, RFC 9530). Each case changes one thing in an otherwise valid input; 'expect' is the error code name (AA_OK for the positive controls). Signatures are Ed25519 (RFC 8032 TEST 1 key), deterministic, computed over the bases described in README.md.",
  "key": {"rfc8032_test1_secret_hex": seed.hex(), "jwk": {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
  "opts": {"now": NOW, "check_time": True, "require_created": True, "max_skew": 60},
  "sf_hints": {"example-dict": "dict"},
  "cases": cases}
json.dump(out, open("negative.json","w"), indent=2, ensure_ascii=False)
open("negative.json","a").write("\n")
print(len(cases), "cases")
