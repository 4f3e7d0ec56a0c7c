/*
 * aa_test_util: the helpers of aa_test_util.h that need the whole library
 * (reference servers, HTTP client); linked as aa_test_helpers.
 */
#include "aa_test_util.h"

#include "aa_ref.h"
#include "http/aa_http.h"
#include "jwk/aa_jwk.h"

char *aa_test_cat(const char *a, const char *b)
{
    struct aa_buf x;
    char *r;

    aa_buf_init(&x, 0);
    aa_buf_adds(&x, a);
    aa_buf_adds(&x, b);
    cr_assert_eq(x.err, AA_OK);
    r = aa_buf_detach(&x, NULL);
    cr_assert_not_null(r);
    return r;
}

int64_t aa_test_ref_clock(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

char *aa_test_agent_token(struct aa_http_client *http, const struct aa_ref_server *agent,
                          const struct aa_jwk *delegate)
{
    struct aa_http_request hr;
    struct aa_http_response r;
    struct aa_http_headers h;
    struct aa_buf body;
    const char *tok;
    char *url, *out;
    cJSON *j = NULL;

    aa_buf_init(&body, 0);
    aa_buf_adds(&body, "{\"sub\":\"" AA_TEST_DELEGATE_SUB "\",\"cnf_jwk\":");
    cr_assert_eq(aa_jwk_to_json(delegate, false, &body), AA_OK);
    aa_buf_adds(&body, "}");
    cr_assert_eq(body.err, AA_OK);
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    url = aa_test_cat(aa_ref_url(agent), AA_REF_PATH_DELEGATE_TOKEN);
    memset(&hr, 0, sizeof(hr));
    hr.method = "POST";
    hr.url = url;
    hr.headers = &h;
    hr.body = body.p;
    hr.body_len = body.len;
    aa_http_response_init(&r);
    cr_assert_eq(aa_http_send(http, &hr, &r, NULL), AA_OK);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(aa_json_parse(r.body, r.body_len, NULL, &j, NULL), AA_OK,
                 "body is not a JSON object: %.400s", r.body);
    tok = aa_json_str(j, "agent_token");
    cr_assert_not_null(tok, "no agent_token: %.400s", r.body);
    out = aa_test_cat(tok, "");
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&body);
    free(url);
    return out;
}
