/*
 * client_fetch.c: the challenge loop of the client (PROFILE#5): request a
 * resource, read the Agent-Auth challenge of a 401/403 and climb to the
 * level it asks for (signature -> identity -> authorisation), at most
 * max_rounds requests.
 *
 * Design choice: the loop only decides; every exchange is made by the
 * public operations (aa_client_send, aa_client_authorize,
 * aa_client_refresh), so an automatic run and a hand-driven conformance
 * case produce the same steps. A challenge is acted on only when it asks
 * for more than the last attempt offered; the same refusal twice ends the
 * loop with the peer's answer rather than retrying blindly.
 */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* aa_strerror() reaches aa_client_strerror() through a weak reference, which
 * does not pull client.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_client_strerror};

#define MAX_AUTHORIZE 2 /* auth-token challenges answered per fetch */

/* The concrete credential behind AUTO / IDENTITY. */
static enum aa_client_cred concrete(const struct aa_client *c, enum aa_client_cred cred)
{
    if (cred == AA_CRED_AUTO)
        cred = cl_has_identity(c) ? AA_CRED_IDENTITY : AA_CRED_HWK;
    if (cred == AA_CRED_IDENTITY)
        cred = c->identity == AA_CLIENT_AGENT ? AA_CRED_JWKS : AA_CRED_AGENT_TOKEN;
    return cred;
}

static bool is_identity(enum aa_client_cred cred)
{
    return cred == AA_CRED_JWKS || cred == AA_CRED_AGENT_TOKEN;
}

/*
 * The grant to use for |url|, refreshed first when it is bound to an
 * older key (rotation) or expired; dropped when it cannot be refreshed.
 */
static const struct aa_client_grant *usable_grant(struct aa_client *c, const char *url)
{
    const struct aa_client_grant *g = aa_client_grant_for_url(c, url);
    struct aa_diag rd;

    if (g == NULL)
        return NULL;
    if (strcmp(g->cnf_jkt, c->jkt) == 0 && g->exp > cl_now(c))
        return g;
    aa_diag_clear(&rd);
    if (g->refresh_token != NULL) {
        cl_note(c, "auth token for %s is %s: refreshing", g->resource,
                strcmp(g->cnf_jkt, c->jkt) != 0 ? "bound to an older key" : "expired");
        if (aa_client_refresh(c, g, &rd) == AA_OK)
            return g;
        cl_note(c, "refresh failed (%s): dropping the grant", aa_client_errstr(rd.code));
    } else {
        cl_note(c, "auth token for %s is unusable and has no refresh token: dropping it",
                g->resource);
    }
    aa_client_grant_drop(c, g);
    return NULL;
}

/* The step that stopped the flow: the last one, if this fetch made it and
 * it carries a failure. */
static const struct aa_client_step *failed_step(const struct aa_client *c, size_t first_seq)
{
    const struct aa_client_step *st = aa_client_step_last(c);

    if (st != NULL && st->seq >= first_seq && st->rc != AA_OK)
        return st;
    return NULL;
}

int aa_client_fetch(struct aa_client *c, const struct aa_client_request *req,
                    const struct aa_client_fetch_opts *fo, struct aa_client_result *out,
                    struct aa_diag *d)
{
    static const struct aa_client_fetch_opts none;
    const struct aa_client_grant *g = NULL;
    const struct aa_client_step *st = NULL;
    struct aa_client_send_opts so;
    enum aa_client_cred cred;
    char *origin = NULL;
    int max_rounds, authorized = 0;
    int rc = AA_OK;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || req == NULL || req->url == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#5", "aa_client_fetch: NULL argument");
    if (fo == NULL)
        fo = &none;
    max_rounds = fo->max_rounds > 0 ? fo->max_rounds : c->max_rounds;
    out->first_seq = c->next_seq;
    (void)cl_origin_of(req->url, &origin);

    cred = fo->first;
    if (cred == AA_CRED_AUTO || cred == AA_CRED_AUTH_TOKEN) {
        g = usable_grant(c, req->url);
        if (g != NULL)
            cred = AA_CRED_AUTH_TOKEN;
        else if (cred == AA_CRED_AUTH_TOKEN) {
            rc = aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#4.5", "no auth token for %.200s",
                         req->url);
            goto out;
        }
    }
    cred = concrete(c, cred);

    for (;;) {
        const struct aa_challenge *ch;
        enum aa_client_cred next = AA_CRED_AUTO;

        memset(&so, 0, sizeof(so));
        so.cred = cred;
        so.token = cred == AA_CRED_AUTH_TOKEN && g != NULL ? g->auth_token : NULL;
        so.sign = fo->sign;
        so.kind = AA_CSTEP_REQUEST;
        rc = aa_client_send(c, req, &so, &st, d);
        if (st != NULL) {
            out->rounds++;
            out->final = st;
            out->status = st->resp.status;
            out->cred = cred;
            out->grant = cred == AA_CRED_AUTH_TOKEN ? g : NULL;
        }
        if (rc != AA_OK || fo->no_follow)
            goto out;
        if ((st->resp.status != 401 && st->resp.status != 403) || st->n_challenge_lines == 0)
            goto out;
        if (st->challenge_rc != AA_OK) {
            /* CL-02: a malformed challenge is an error, never retried. */
            if (d != NULL)
                *d = st->challenge_diag;
            rc = cl_step_fail((struct aa_client_step *)st, st->challenge_rc, &st->challenge_diag);
            goto out;
        }
        ch = &st->challenge;
        if (ch->auth_token) {
            const struct aa_client_grant *ng = NULL;
            struct aa_client_auth_params ap;

            if (ch->resource_token == NULL || ch->auth_server == NULL) {
                rc = cl_step_fail((struct aa_client_step *)st,
                                  aa_fail(d, AA_E_CLIENT_CHALLENGE, "PROFILE#5",
                                          "Agent-Auth: auth-token without %s",
                                          ch->resource_token ? "auth_server" : "resource_token"),
                                  d);
                goto out;
            }
            if (!cl_has_identity(c) || authorized >= MAX_AUTHORIZE)
                goto out; /* the peer's answer stands */
            memset(&ap, 0, sizeof(ap));
            ap.resource_token = ch->resource_token;
            ap.origin = origin;
            authorized++;
            if ((rc = aa_client_authorize(c, ch->auth_server, &ap, &ng, d)) != AA_OK)
                goto out;
            g = ng;
            next = AA_CRED_AUTH_TOKEN;
        } else if (ch->identity) {
            if (!cl_has_identity(c))
                goto out;
            if (cred == AA_CRED_AUTH_TOKEN) {
                /* PROFILE#5: an invalid auth token is answered identity=?1 */
                if (g != NULL) {
                    cl_note(c, "auth token refused: dropping the grant for %s", g->resource);
                    aa_client_grant_drop(c, g);
                    g = NULL;
                    out->grant = NULL;
                }
            } else if (is_identity(cred)) {
                goto out; /* our identity was refused */
            }
            next = concrete(c, AA_CRED_IDENTITY);
        } else {
            /* plain httpsig: only an unsigned attempt can do better */
            if (cred != AA_CRED_NONE)
                goto out;
            next = concrete(c, AA_CRED_AUTO);
        }
        if (out->rounds >= max_rounds) {
            rc = aa_fail(d, AA_E_CLIENT_LOOP, "PROFILE#5",
                         "%s %.200s: still challenged after %d requests", st->method, st->url,
                         out->rounds);
            cl_note(c, "giving up: %d requests", out->rounds);
            goto out;
        }
        cred = next;
    }
out:
    out->n_steps = c->next_seq - out->first_seq;
    if (rc != AA_OK)
        out->failed = failed_step(c, out->first_seq);
    free(origin);
    return rc;
}
