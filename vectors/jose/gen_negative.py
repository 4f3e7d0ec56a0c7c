#!/usr/bin/env python3
"""Generate vectors/jose/negative.json.

Malformed JWTs, JWKs, JWK Sets and JSON texts, each with the error code
the harness must return. Tokens are signed with the RFC 8032 §7.1 TEST 1
key (Ed25519 is deterministic), using the Python "cryptography" package, an
implementation independent of the harness, so the C tests check the harness
against tokens it did not build. Output is byte-for-byte reproducible:

    python3 vectors/jose/gen_negative.py > vectors/jose/negative.json
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SK = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
MAX_LEN = 8192

HDR = '{"alg":"EdDSA","kid":"key-1","typ":"agent+jwt"}'
CLAIMS = ('{"iss":"http://127.0.0.1:8001","sub":"delegate-1","exp":1768789821,'
          '"cnf":{"jwk":{"kty":"OKP","crv":"Ed25519","x":"F3qaAzz4oWqJllxanygNdyR8o5apnV3uXmUQQZeT5Ys"}}}')


def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_padded(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).decode()


def sign(header, payload, raw=False):
    """Compact JWS over the exact texts |header| and |payload|."""
    h = header if raw else b64u(header)
    p = payload if raw else b64u(payload)
    si = h + "." + p
    return si + "." + b64u(SK.sign(si.encode()))


def nest(depth):
    """A claims object whose containers nest |depth| levels (root = 1)."""
    inner = "1"
    for _ in range(depth - 1):
        inner = '{"a":' + inner + "}"
    return '{"iss":"x","n":' + inner + "}"


def sized_token(total):
    """A validly signed token of exactly |total| characters. Unpadded
    base64url never has length 4k+1, so the header is varied as well."""
    for extra in range(4):
        header = HDR if extra == 0 else HDR[:-1] + ',"z":"' + "z" * (extra - 1) + '"}'
        pad = 0
        while True:
            tok = sign(header, '{"iss":"x","pad":"' + "a" * pad + '"}')
            if len(tok) == total:
                return tok
            if len(tok) > total:
                break
            pad += 1
    raise SystemExit("cannot hit length %d" % total)


jwt = []


def addt(name, token, expect, stage, note):
    jwt.append({"name": name, "token": token, "expect": expect, "stage": stage, "note": note})


good = sign(HDR, CLAIMS)
addt("valid-control", good, "AA_OK", "verify", "positive control: parses and verifies")
h_none = b64u('{"alg":"none","kid":"key-1","typ":"agent+jwt"}')
addt("alg-none", h_none + "." + b64u(CLAIMS) + ".", "AA_E_JWS_ALG_NONE", "parse",
     "AT-02: unsecured JWS (RFC7518#3.6)")
addt("alg-none-mixed-case", b64u('{"alg":"nOnE","kid":"key-1","typ":"agent+jwt"}') + "." +
     b64u(CLAIMS) + ".", "AA_E_JWS_ALG_NONE", "parse", "case variant of none")
hs_h = b64u('{"alg":"HS256","kid":"key-1","typ":"agent+jwt"}')
hs_si = hs_h + "." + b64u(CLAIMS)
hs_sig = hmac.new(base64.urlsafe_b64decode(X + "="), hs_si.encode(), hashlib.sha256).digest()
addt("hs256-keyed-with-x", hs_si + "." + b64u(hs_sig), "AA_E_JWS_ALG", "parse",
     "AT-03: HMAC keyed with the public key bytes")
addt("alg-unknown", sign('{"alg":"ES512","kid":"key-1","typ":"agent+jwt"}', CLAIMS),
     "AA_E_JWS_ALG", "parse", "algorithm outside EdDSA/ES256/RS256/PS256/PS512")
addt("alg-missing", sign('{"kid":"key-1","typ":"agent+jwt"}', CLAIMS), "AA_E_JWS_ALG", "parse",
     "RFC7515#4.1.1 alg is required")
addt("alg-key-mismatch", sign('{"alg":"ES256","kid":"key-1","typ":"agent+jwt"}', CLAIMS),
     "AA_E_JWS_ALG", "verify", "ES256 header, verified with the Ed25519 key")
addt("crit", sign('{"alg":"EdDSA","kid":"key-1","typ":"agent+jwt","crit":["exp"]}', CLAIMS),
     "AA_E_JWS_CRIT", "parse", "AT-13: crit header (PROFILE#4.1)")
addt("two-segments", good.rsplit(".", 1)[0], "AA_E_JWS_FORMAT", "parse", "AT-14")
addt("one-segment", b64u(HDR), "AA_E_JWS_FORMAT", "parse", "no dots at all")
addt("four-segments", good + "." + b64u("x"), "AA_E_JWS_FORMAT", "parse", "neither JWS nor JWE")
addt("jwe-five-segments",
     b64u('{"alg":"RSA-OAEP","enc":"A256GCM"}') + ".AAAA.AAAA.AAAA.AAAA",
     "AA_E_JWE_UNSUPPORTED", "parse", "JWE compact form (PROFILE#4.5)")
pad_h, pad_p = b64u_padded(HDR), b64u_padded(CLAIMS)
pad_si = pad_h + "." + pad_p
addt("padded-segments", pad_si + "." + b64u_padded(SK.sign(pad_si.encode())), "AA_E_JWS_B64",
     "parse", "base64url with '=' padding, signed over the padded input")
hseg, pseg, sseg = good.split(".")
addt("bad-base64-plus", hseg + "." + pseg[:5] + "+" + pseg[6:] + "." + sseg, "AA_E_JWS_B64",
     "parse", "AT-14: '+' in the payload segment")
addt("std-base64-signature", hseg + "." + pseg + "." + sseg.replace("_", "/").replace("-", "+"),
     "AA_E_JWS_B64", "parse", "signature in the standard alphabet")
addt("whitespace-in-segment", hseg + "." + pseg[:8] + " " + pseg[8:] + "." + sseg,
     "AA_E_JWS_B64", "parse", "space inside a segment")
addt("flipped-signature-bit",
     hseg + "." + pseg + "." + b64u(bytes([base64.urlsafe_b64decode(sseg + "==")[0] ^ 1]) +
                                     base64.urlsafe_b64decode(sseg + "==")[1:]),
     "AA_E_JWS_SIGNATURE", "verify", "SIG-19 analogue")
addt("payload-swapped", hseg + "." + b64u(CLAIMS.replace("delegate-1", "delegate-2")) + "." + sseg,
     "AA_E_JWS_SIGNATURE", "verify", "AT-05: payload modified after signing")
addt("duplicate-claim", sign(HDR, CLAIMS[:-1] + ',"sub":"delegate-2"}'),
     "AA_E_JSON_DUPLICATE", "parse", "AT-15: sub twice, validly signed (D-29)")
addt("duplicate-claim-escaped", sign(HDR, CLAIMS[:-1] + ',"s\\u0075b":"delegate-2"}'),
     "AA_E_JSON_DUPLICATE", "parse", "names compared after unescaping")
addt("duplicate-header-alg", sign('{"alg":"EdDSA","alg":"none","kid":"key-1","typ":"agent+jwt"}',
                                  CLAIMS), "AA_E_JSON_DUPLICATE", "parse", "alg twice")
addt("depth-32", sign(HDR, nest(32)), "AA_OK", "verify", "positive control: 32 levels")
addt("depth-33", sign(HDR, nest(33)), "AA_E_JSON_DEPTH", "parse", "RB-03: 33 levels")
addt("size-8192", sized_token(MAX_LEN), "AA_OK", "verify", "positive control: exactly 8 KiB")
addt("size-8193", sized_token(MAX_LEN + 1), "AA_E_JWS_TOO_LARGE", "parse", "RB-03: 8 KiB + 1")
addt("header-array", sign('["alg","EdDSA"]', CLAIMS), "AA_E_JWS_JSON", "parse",
     "header is not an object")
addt("payload-string", sign(HDR, '"claims"'), "AA_E_JWS_JSON", "parse",
     "payload is not an object")
addt("payload-trailing-garbage", sign(HDR, CLAIMS + "x"), "AA_E_JWS_JSON", "parse",
     "trailing bytes after the claims object")
addt("payload-leading-zero", sign(HDR, '{"iss":"x","exp":01768789821}'), "AA_E_JWS_JSON",
     "parse", "RFC8259#6 leading zero")
addt("payload-lone-surrogate", sign(HDR, '{"iss":"x","sub":"\\ud800"}'), "AA_E_JSON_UTF8",
     "parse", "RFC8259#8.2")
jwt.append({"name": "payload-invalid-utf8",
            "token": sign(b64u(HDR), b64u(b'{"iss":"x","sub":"\xc0\xaf"}'), raw=True),
            "expect": "AA_E_JSON_UTF8", "stage": "parse", "note": "overlong UTF-8"})
addt("kid-number", sign('{"alg":"EdDSA","kid":1,"typ":"agent+jwt"}', CLAIMS), "AA_E_JWS_KID",
     "parse", "kid must be a string")
addt("empty-header", "." + pseg + "." + sseg, "AA_E_JWS_JSON", "parse", "empty header segment")

# ---- JWKs -------------------------------------------------------------------
RSA2048_N = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
             "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG"
             "jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
             "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJz"
             "KnqDKgw")
# A real 1024-bit modulus generated once for this file.
RSA1024_N = ("yMsqOPgAJT2Byqdjvct2cmWckn2EtJJBithBnuZzJdnzDrrF38HvN_wBp2Dp0cHfj1xx-ofhjtQc-tn7V9ts3v"
             "u7y5u0FEJMbaQmhrhq2g_lzqxXVbAGbhXFvoM-778nWLbs2uEXuU48eAu32SLVYhdQaQZUrGt7Oj-DVz1x6r0")
EC_X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"  # RFC 7515 A.3
EC_Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"


def off_curve_y():
    y = bytearray(base64.urlsafe_b64decode(EC_Y + "="))
    y[-1] ^= 1
    xi = int.from_bytes(base64.urlsafe_b64decode(EC_X + "="), "big")
    try:
        ec.EllipticCurvePublicNumbers(xi, int.from_bytes(y, "big"), ec.SECP256R1()).public_key()
    except ValueError:
        return b64u(bytes(y))
    raise SystemExit("modified point is unexpectedly on the curve")


x31 = b64u(base64.urlsafe_b64decode(X + "=")[:31])
x33 = b64u(base64.urlsafe_b64decode(X + "=") + b"\x00")
ec31 = b64u(base64.urlsafe_b64decode(EC_X + "=")[1:])
jwk = []


def addk(name, key, context, expect, note):
    jwk.append({"name": name, "jwk": key, "context": context, "expect": expect, "note": note})


addk("okp-public-control", {"kty": "OKP", "crv": "Ed25519", "x": X}, "public", "AA_OK",
     "RFC 8037 A.2")
addk("okp-private-in-public-context", {"kty": "OKP", "crv": "Ed25519", "d": D, "x": X}, "public",
     "AA_E_JWK_PRIVATE", "AT-12 / DG-03 / SK-02: d where a public key is required")
addk("okp-private-allowed", {"kty": "OKP", "crv": "Ed25519", "d": D, "x": X}, "any", "AA_OK",
     "RFC 8037 A.1 where private keys are fine")
addk("okp-d-mismatch", {"kty": "OKP", "crv": "Ed25519", "d": D, "x": "F3qaAzz4oWqJllxanygNdyR8o5apnV3uXmUQQZeT5Ys"},
     "any", "AA_E_JWK_INVALID", "d belongs to another x")
addk("okp-x25519", {"kty": "OKP", "crv": "X25519", "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"},
     "public", "AA_E_JWK_CRV", "SK-02: RFC 8037 A.6 X25519 key")
addk("okp-ed448", {"kty": "OKP", "crv": "Ed448", "x": X}, "public", "AA_E_JWK_CRV", "unsupported curve")
addk("okp-x-31-bytes", {"kty": "OKP", "crv": "Ed25519", "x": x31}, "public", "AA_E_JWK_LENGTH",
     "SK-02: 31-byte x")
addk("okp-x-33-bytes", {"kty": "OKP", "crv": "Ed25519", "x": x33}, "public", "AA_E_JWK_LENGTH",
     "33-byte x")
addk("okp-x-padded", {"kty": "OKP", "crv": "Ed25519", "x": X + "="}, "public", "AA_E_JWK_MEMBER",
     "base64url with padding")
addk("okp-x-std-alphabet", {"kty": "OKP", "crv": "Ed25519", "x": X.replace("_", "/")}, "public",
     "AA_E_JWK_MEMBER", "standard base64 alphabet")
addk("okp-x-noncanonical-bits", {"kty": "OKP", "crv": "Ed25519", "x": X[:-1] + "p"}, "public",
     "AA_E_JWK_MEMBER", "non-zero unused trailing bits")
addk("okp-x-missing", {"kty": "OKP", "crv": "Ed25519"}, "public", "AA_E_JWK_MEMBER", "no x")
addk("okp-x-number", {"kty": "OKP", "crv": "Ed25519", "x": 5}, "public", "AA_E_JWK_MEMBER", "x not a string")
addk("kty-missing", {"crv": "Ed25519", "x": X}, "public", "AA_E_JWK_MEMBER", "no kty")
addk("kty-oct-public-context", {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}, "public",
     "AA_E_JWK_PRIVATE", "symmetric key material where a public key is required")
addk("kty-oct", {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}, "any", "AA_E_JWK_KTY",
     "symmetric keys are not supported")
addk("ec-control", {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y}, "public", "AA_OK",
     "RFC 7515 A.3 public key")
addk("ec-off-curve", {"kty": "EC", "crv": "P-256", "x": EC_X, "y": off_curve_y()}, "public",
     "AA_E_JWK_INVALID", "point not on P-256")
addk("ec-p384", {"kty": "EC", "crv": "P-384", "x": EC_X, "y": EC_Y}, "public", "AA_E_JWK_CRV", "P-384")
addk("ec-secp256k1", {"kty": "EC", "crv": "secp256k1", "x": EC_X, "y": EC_Y}, "public",
     "AA_E_JWK_CRV", "secp256k1")
addk("ec-x-31-bytes", {"kty": "EC", "crv": "P-256", "x": ec31, "y": EC_Y}, "public",
     "AA_E_JWK_LENGTH", "RFC7518#6.2.1.2: full-size coordinates")
addk("rsa-2048-control", {"kty": "RSA", "n": RSA2048_N, "e": "AQAB"}, "public", "AA_OK", "RFC 7638 key")
addk("rsa-1024", {"kty": "RSA", "n": RSA1024_N, "e": "AQAB"}, "public", "AA_E_JWK_LENGTH",
     "modulus below 2048 bits")
addk("rsa-n-leading-zero", {"kty": "RSA", "n": b64u(b"\x00" + base64.urlsafe_b64decode(RSA2048_N + "==")),
                            "e": "AQAB"}, "public", "AA_E_JWK_LENGTH", "RFC7518#6.3.1.1 minimal octets")
addk("rsa-even-e", {"kty": "RSA", "n": RSA2048_N, "e": "AQAA"}, "public", "AA_E_JWK_INVALID", "e even")
addk("rsa-private-in-public-context", {"kty": "RSA", "n": RSA2048_N, "e": "AQAB", "p": "AQAB"},
     "public", "AA_E_JWK_PRIVATE", "p present")

# ---- JWK Sets -----------------------------------------------------------------
OKP = {"kty": "OKP", "crv": "Ed25519", "x": X}
jwks = []


def adds(name, doc, expect, note, keys=None, skipped=None):
    e = {"name": name, "jwks": doc, "expect": expect, "note": note}
    if keys is not None:
        e["keys"] = keys
        e["skipped"] = skipped
    jwks.append(e)


adds("control", {"keys": [dict(OKP, kid="key-1"),
                          {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "ec-1"}]},
     "AA_OK", "two usable keys", 2, 0)
adds("unknown-kty-skipped", {"keys": [dict(OKP, kid="key-1"), {"kty": "PQC", "pub": "AAAA", "kid": "pq-1"}]},
     "AA_OK", "RFC7517#5: unknown kty ignored", 1, 1)
adds("unknown-crv-skipped", {"keys": [dict(OKP, kid="key-1"),
                                      {"kty": "OKP", "crv": "X25519",
                                       "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08", "kid": "enc-1"}]},
     "AA_OK", "unsupported curve ignored", 1, 1)
adds("private-member", {"keys": [dict(OKP, kid="key-1", d=D)]}, "AA_E_JWK_PRIVATE", "MD-02")
adds("private-member-in-skipped-key", {"keys": [dict(OKP, kid="key-1"), {"kty": "oct", "k": "AAAA", "kid": "s"}]},
     "AA_E_JWK_PRIVATE", "public-only applies to skipped entries too")
adds("duplicate-kid", {"keys": [dict(OKP, kid="key-1"),
                                {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "key-1"}]},
     "AA_E_JWKS_DUP_KID", "MD-02 / D-14")
adds("missing-kid", {"keys": [OKP]}, "AA_E_JWKS_NO_KID", "MD-02 / D-14")
adds("too-many-keys", {"keys": [dict(OKP, kid="k%02d" % i) for i in range(33)]},
     "AA_E_JWKS_TOO_MANY", "PROFILE#3: at most 32 keys")
adds("keys-not-array", {"keys": dict(OKP, kid="key-1")}, "AA_E_JWK_MEMBER", "RFC7517#5.1")
adds("bad-key-fails-set", {"keys": [dict(OKP, kid="key-1"), {"kty": "OKP", "crv": "Ed25519", "x": x31, "kid": "k2"}]},
     "AA_E_JWK_LENGTH", "a malformed supported key is not skipped")

# ---- raw JSON texts ------------------------------------------------------------
js = []


def addj(name, text, expect, note, any_root=False):
    e = {"name": name, "expect": expect, "note": note}
    if isinstance(text, bytes):
        e["input_hex"] = text.hex()
    else:
        e["input"] = text
    if any_root:
        e["allow_any_root"] = True
    js.append(e)


addj("control", '{"a":[1,2.5e-3,true,false,null,"\\u00e9\\ud83d\\ude00"],"b":{}}', "AA_OK", "valid")
addj("duplicate", '{"a":1,"b":2,"a":3}', "AA_E_JSON_DUPLICATE", "D-29")
addj("duplicate-nested", '{"o":{"x":1,"x":1}}', "AA_E_JSON_DUPLICATE", "inner object")
addj("same-name-different-objects", '{"o":{"x":1},"p":{"x":1}}', "AA_OK", "not a duplicate")
addj("depth-32", "[" * 31 + "{}" + "]" * 31, "AA_OK", "32 containers", True)
addj("depth-33", '{"a":' + "[" * 31 + "{}" + "]" * 31 + "}", "AA_E_JSON_DEPTH", "33 containers")
addj("trailing-garbage", '{"a":1} x', "AA_E_JSON_SYNTAX", "RFC8259#2")
addj("two-values", '{"a":1}{"b":2}', "AA_E_JSON_SYNTAX", "RFC8259#2")
addj("leading-zero", '{"a":007}', "AA_E_JSON_SYNTAX", "RFC8259#6")
addj("plus-sign", '{"a":+1}', "AA_E_JSON_SYNTAX", "RFC8259#6")
addj("bare-fraction", '{"a":.5}', "AA_E_JSON_SYNTAX", "RFC8259#6")
addj("trailing-comma", '{"a":1,}', "AA_E_JSON_SYNTAX", "RFC8259#4")
addj("single-quotes", "{'a':1}", "AA_E_JSON_SYNTAX", "RFC8259#4")
addj("bad-escape", '{"a":"\\x41"}', "AA_E_JSON_SYNTAX", "RFC8259#7")
addj("raw-control-char", b'{"a":"x\x01y"}', "AA_E_JSON_SYNTAX", "RFC8259#7")
addj("raw-newline-in-string", b'{"a":"x\ny"}', "AA_E_JSON_SYNTAX", "RFC8259#7")
addj("lone-high-surrogate", '{"a":"\\ud83d"}', "AA_E_JSON_UTF8", "RFC8259#8.2")
addj("lone-low-surrogate", '{"a":"\\ude00"}', "AA_E_JSON_UTF8", "RFC8259#8.2")
addj("escaped-nul", '{"a":"x\\u0000y"}', "AA_E_JSON_UTF8", "would truncate in cJSON")
addj("overlong-utf8", b'{"a":"\xc0\xaf"}', "AA_E_JSON_UTF8", "RFC3629")
addj("encoded-surrogate-utf8", b'{"a":"\xed\xa0\x80"}', "AA_E_JSON_UTF8", "UTF-8 of U+D800")
addj("truncated-utf8", b'{"a":"\xe2\x82"}', "AA_E_JSON_UTF8", "sequence cut short")
addj("bom", b'\xef\xbb\xbf{"a":1}', "AA_E_JSON_SYNTAX", "byte order mark")
addj("root-array", "[1]", "AA_E_JSON_TYPE", "root must be an object")
addj("root-array-allowed", "[1]", "AA_OK", "allow_any_root", True)
addj("empty", "", "AA_E_JSON_SYNTAX", "no value")
addj("long-number", '{"a":1' + "0" * 63 + "}", "AA_E_LIMIT", "64-digit number literal")
addj("unclosed", '{"a":[1,2}', "AA_E_JSON_SYNTAX", "RFC8259#5")

doc = {
    "description": "Negative vectors for aa_json, aa_jwk and aa_jose; generated by gen_negative.py "
                   "(see README.md). Tokens are signed with the RFC 8032 TEST 1 key; verify with "
                   "the public JWK in verify_jwk.",
    "verify_jwk": {"kty": "OKP", "crv": "Ed25519", "x": X},
    "jwt": jwt,
    "jwk": jwk,
    "jwks": jwks,
    "json": js,
}
print(json.dumps(doc, indent=1, ensure_ascii=True))
