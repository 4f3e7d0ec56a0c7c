#!/usr/bin/env python3
"""Check vectors/seed-flow/seed-flow.json with an implementation that shares
no code with the harness (Python + the `cryptography` package), the way an
implementer in another language would use the file:

  * every key re-derives from its label (d = SHA-256(label)), and its RFC 7638
    thumbprint is the one listed;
  * every token: header/claims texts are the decoded segments, the JWS
    verifies under the issuer's key, and re-signing the signing input with the
    derived private key gives the same signature (Ed25519 is deterministic);
  * every signed request: the RFC 9421 signature base is rebuilt here from the
    request fields (only the components AAuth covers: @method, @authority,
    @path, @query, header fields) and equals the recorded one, the signature
    verifies over it exactly when "verifies" says so, Content-Digest is the
    body's SHA-256, and one flipped bit breaks the signature.

Usage: verify_independent.py [seed-flow.json]   exit 0 ok, 1 mismatch,
77 when the `cryptography` package is not installed.
"""
import base64
import hashlib
import json
import os
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
except ImportError:
    print("verify_independent.py: python3 'cryptography' is not installed (skipped)")
    sys.exit(77)


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_enc(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fail(msg):
    print("verify_independent.py: " + msg)
    sys.exit(1)


def private_key(label):
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def verifies(pub, sig, msg):
    try:
        pub.verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def parse_covered(sig_input):
    """'sig1=("@method" "x");created=1' -> (['@method', 'x'], '("@method" "x");created=1')."""
    label, _, rest = sig_input.partition("=")
    if label != "sig1" or not rest.startswith("("):
        fail("unexpected Signature-Input " + sig_input)
    inner = rest[1:rest.index(")")]
    names = [c.strip('"') for c in inner.split(" ") if c]
    return names, rest


def rebuild_base(req, sig_input):
    names, params = parse_covered(sig_input)
    target = req["target"]
    path, qmark, query = target.partition("?")
    lines = []
    for n in names:
        if n == "@method":
            v = req["method"]
        elif n == "@authority":
            v = req["authority"]
        elif n == "@path":
            v = path
        elif n == "@query":
            v = "?" + query if qmark else "?"
        elif n.startswith("@"):
            fail("component %s not handled here" % n)
        else:
            vals = [h[1].strip(" \t") for h in req["headers"] if h[0].lower() == n]
            if not vals:
                fail("covered header %s missing" % n)
            v = ", ".join(vals)
        lines.append('"%s": %s' % (n, v))
    lines.append('"@signature-params": ' + params)
    return "\n".join(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "seed-flow.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)

    pub = {}
    for name, k in doc["keys"].items():
        sk = private_key(k["seed_label"])
        raw = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if b64u_enc(raw) != k["public_jwk"]["x"]:
            fail("key %s: x does not derive from its label" % name)
        canon = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": k["public_jwk"]["x"]},
                           separators=(",", ":"))
        if b64u_enc(hashlib.sha256(canon.encode()).digest()) != k["thumbprint"]:
            fail("key %s: thumbprint" % name)
        with open(os.path.join(os.path.dirname(path), k["file"]), encoding="utf-8") as kf:
            if json.load(kf)["d"] != b64u_enc(hashlib.sha256(k["seed_label"].encode()).digest()):
                fail("key file %s: d" % k["file"])
        pub[name] = sk.public_key()

    for name, t in doc["tokens"].items():
        h, p, s = t["compact"].split(".")
        if b64u_dec(h).decode() != t["header_text"] or b64u_dec(p).decode() != t["claims_text"]:
            fail("token %s: decoded texts" % name)
        if json.loads(t["claims_text"]) != t["claims"] or json.loads(t["header_text"]) != t["header"]:
            fail("token %s: header/claims" % name)
        signing_input = (h + "." + p).encode()
        if not verifies(pub[t["signing_key"]], b64u_dec(s), signing_input):
            fail("token %s does not verify" % name)
        sk = private_key(doc["keys"][t["signing_key"]]["seed_label"])
        if b64u_enc(sk.sign(signing_input)) != s:
            fail("token %s: re-signing gives another signature" % name)

    n = 0
    for st in doc["steps"]:
        sg = st["signature"]
        if sg is None:
            continue
        n += 1
        base = rebuild_base(st["request"], sg["signature_input"])
        if base != sg["base"]:
            fail("%s: rebuilt base differs:\n%s\n---\n%s" % (st["id"], base, sg["base"]))
        value = sg["signature"]
        if not (value.startswith("sig1=:") and value.endswith(":")):
            fail("%s: Signature is not a Byte Sequence" % st["id"])
        sig = base64.b64decode(value[6:-1], validate=True)
        ok = verifies(pub[sg["key"]], sig, base.encode())
        if ok != sg["verifies"]:
            fail("%s: verification %s, the vector says %s" % (st["id"], ok, sg["verifies"]))
        if ok:
            bad = bytes([sig[0] ^ 1]) + sig[1:]
            if verifies(pub[sg["key"]], bad, base.encode()):
                fail("%s: a flipped bit still verifies" % st["id"])
        body = st["request"]["body"]
        if body is not None:
            want = "sha-256=:" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + ":"
            if sg["content_digest"] != want:
                fail("%s: Content-Digest" % st["id"])
    print("verify_independent.py: %d keys, %d tokens, %d signed requests OK"
          % (len(pub), len(doc["tokens"]), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
