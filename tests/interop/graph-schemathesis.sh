#!/usr/bin/env bash
# schemathesis (PyPI) against the Graph fake of a running `writeback-sim lab`: generated
# requests — valid ones and deliberately broken ones (wrong types, missing fields, odd
# query strings and paths) — for every operation in docs/graph-openapi.yaml, twice: with an
# app's token (client credentials) and with the lab administrator's delegated token (the
# password operations take only delegated ones). Every answer must be a status the
# description lists for its operation with an OData error body when it fails, never a 5xx
# other than the documented 503 and never a hang (10 s per request); a request without the
# token must be refused, a method the route does not take answered 405.
#
#   tests/interop/graph-schemathesis.sh BIN VENV [SECONDS]
#
# BIN: the writeback-sim binary; VENV: a Python venv with schemathesis; SECONDS: the time
# budget of each of the two runs (default 120). Needs jq and curl.
set -euo pipefail

BIN=${1:?the writeback-sim binary}
VENV=${2:?a Python venv with schemathesis}
BUDGET=${3:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=$HERE/../../docs/graph-openapi.yaml
WORK=$(mktemp -d)
STATE=$WORK/lab

fail() { echo "FAIL: $*" >&2; tail -50 "$WORK/lab.out" >&2 || true; exit 1; }

. "$HERE/lab-start.sh"
start_lab "$BIN" "$STATE" "$WORK/lab.out"

CA=$(j ca_file)
export SSL_CERT_FILE=$CA REQUESTS_CA_BUNDLE=$CA
# Graph's origin: graph_url without /v1.0 (the description's paths carry the version).
ORIGIN=$(j graph_url | sed 's#/v1.0$##')

token() {
  curl -sf --cacert "$CA" "$(j token_url)" "$@" | jq -r .access_token
}
APP_TOKEN=$(token -d grant_type=client_credentials -d "client_id=$(j client_id)" \
  --data-urlencode "client_secret=$(j client_secret)" -d scope=https://graph.microsoft.com/.default)
USER_TOKEN=$(token -d grant_type=password -d "client_id=$(j public_client_id)" \
  --data-urlencode "username=$(j admin_upn)" --data-urlencode "password=$(j admin_user_password)" \
  -d scope=https://graph.microsoft.com/.default)
[ -n "$APP_TOKEN" ] && [ "$APP_TOKEN" != null ] || fail "no app token"
[ -n "$USER_TOKEN" ] && [ "$USER_TOKEN" != null ] || fail "no delegated token"

# What must hold of every answer. Left out: positive_data_acceptance and
# negative_data_rejection, which judge how strictly a body or query is read against the
# description's types (opaque tokens such as $skiptoken cannot be described).
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
CHECKS=$CHECKS,response_headers_conformance,ignored_auth,unsupported_method,missing_required_header
CHECKS=$CHECKS,use_after_free,ensure_resource_availability
status=0
for who in app user; do
  if [ $who = app ]; then T=$APP_TOKEN; else T=$USER_TOKEN; fi
  echo "== schemathesis, $who token, ${BUDGET} s"
  # Seeded, so a failure replays; the token goes in a header schemathesis does not print.
  "$VENV/bin/schemathesis" run "$SPEC" --url "$ORIGIN" \
    --header "Authorization: Bearer $T" \
    --checks "$CHECKS" \
    --request-timeout 10 --max-time "$BUDGET" --workers 2 --seed 20 \
    --suppress-health-check all --no-color \
    > "$WORK/st-$who.out" 2>&1 || status=1
  # The summary (and any failure with the request that caused it), without the token.
  sed "s/$T/<token>/g" "$WORK/st-$who.out" | awk '/=+ (FAILURES|SUMMARY) =+/ { p = 1 } p' 
done
[ $status -eq 0 ] || fail "schemathesis found answers the description does not allow"
echo "schemathesis: every answer documented"
