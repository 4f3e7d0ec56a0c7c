/*
 * md_common: media types and JWK Set findings for the suites that judge
 * published discovery documents (PROFILE#3). See md_common.h.
 */
#include "md_common.h"

#include <string.h>
#include <strings.h>

#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

bool md_media_type_is(const char *ct, const char *want)
{
    size_t n;

    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

bool md_resp_media_type_is(const struct aa_http_response *resp, const char *want)
{
    return md_media_type_is(aa_http_headers_get(&resp->headers, "Content-Type"), want);
}

bool md_url_usable(const char *u)
{
    struct aa_url p;

    if (u == NULL || aa_url_parse(u, strlen(u), 0, &p, NULL) != AA_OK)
        return false;
    return p.https || (aa_conf_dev_mode() && aa_http_host_is_loopback(p.host));
}

void md_jwks_scan(const cJSON *keys, unsigned flags, struct md_jwks_scan *s)
{
    /* RFC7517#9.2 and RFC7518#6: the members that make a JWK private. */
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
    const cJSON *k, *o;

    s->n = 0;
    s->ed25519 = false;
    aa_buf_init(&s->priv, 4096);
    aa_buf_init(&s->kid, 4096);
    if (!cJSON_IsArray(keys))
        return;
    cJSON_ArrayForEach(k, keys)
    {
        const char *kid = aa_json_str(k, "kid");
        const char *kty = aa_json_str(k, "kty"), *crv = aa_json_str(k, "crv");
        int i = s->n, j = 0;

        for (size_t m = 0; m < sizeof(priv) / sizeof(priv[0]); m++) {
            if (cJSON_GetObjectItemCaseSensitive(k, priv[m]) == NULL)
                continue;
            if (flags & MD_JWKS_NAME_KID)
                aa_buf_printf(&s->priv, "%skeys[%d] (kid %s) has \"%s\"", s->priv.len ? "; " : "",
                              i, kid ? kid : "none", priv[m]);
            else
                aa_buf_printf(&s->priv, "%skeys[%d] has \"%s\"", s->priv.len ? "; " : "", i,
                              priv[m]);
        }
        if (kid == NULL || *kid == '\0') {
            aa_buf_printf(&s->kid, "%skeys[%d] has no kid", s->kid.len ? "; " : "", i);
        } else {
            /* Named once per earlier key with the same kid. */
            cJSON_ArrayForEach(o, keys)
            {
                const char *ok = aa_json_str(o, "kid");
                if (j < i && ok != NULL && strcmp(ok, kid) == 0) {
                    if (flags & MD_JWKS_REPEAT_AT)
                        aa_buf_printf(&s->kid, "%skid \"%s\" repeats (keys[%d] and keys[%d])",
                                      s->kid.len ? "; " : "", kid, j, i);
                    else
                        aa_buf_printf(&s->kid, "%skid \"%s\" repeats", s->kid.len ? "; " : "", kid);
                }
                j++;
            }
        }
        if (kty != NULL && crv != NULL && strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed25519") == 0)
            s->ed25519 = true;
        s->n++;
    }
}

void md_jwks_scan_free(struct md_jwks_scan *s)
{
    aa_buf_free(&s->priv);
    aa_buf_free(&s->kid);
}

void md_jwks_judge(const struct aa_http_response *resp, const struct md_jwks_checks *c)
{
    struct md_jwks_scan scan;
    struct aa_jwks set;
    struct aa_diag d;
    cJSON *doc = NULL;
    const cJSON *keys = NULL;
    int rc;

    memset(&set, 0, sizeof(set));
    aa_diag_clear(&d);
    if (!md_resp_media_type_is(resp, "application/json") &&
        !md_resp_media_type_is(resp, "application/jwk-set+json")) {
        const char *ct = aa_http_headers_get(&resp->headers, "Content-Type");
        aa_check_fail(c->doc, c->doc->expect, ct ? ct : "no Content-Type", "Content-Type");
    }
    if (aa_json_parse(resp->body, resp->body_len, NULL, &doc, &d) != AA_OK ||
        !cJSON_IsArray(keys = cJSON_GetObjectItemCaseSensitive(doc, "keys"))) {
        aa_check_fail(c->doc, c->doc->expect, d.msg[0] ? d.msg : "no \"keys\" array", NULL);
        aa_check_not_evaluated(c->doc, AA_CHECKS(c->priv, c->kid));
        cJSON_Delete(doc);
        return;
    }
    md_jwks_scan(keys, c->flags, &scan);
    if (scan.priv.len == 0)
        aa_check_pass(c->priv, "%d public key(s)", scan.n);
    else
        aa_check_fail(c->priv, c->priv->expect, scan.priv.p, "%s", c->priv_hint);
    if (scan.kid.len == 0)
        aa_check_pass(c->kid, "%d unique kid(s)", scan.n);
    else
        aa_check_fail(c->kid, c->kid->expect, scan.kid.p, NULL);
    md_jwks_scan_free(&scan);
    aa_diag_clear(&d);
    rc = aa_jwks_parse(resp->body, resp->body_len, &set, &d);
    if (c->private_pass != NULL && rc == AA_E_JWK_PRIVATE)
        aa_check_pass(c->doc, "%s", c->private_pass);
    else
        aa_expect_ok(c->doc, rc, &d);
    aa_jwks_cleanup(&set);
    cJSON_Delete(doc);
}
