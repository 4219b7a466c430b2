#!/usr/bin/env bash
# Real clients that nobody here wrote, against a running `writeback-sim lab` on free ports:
# OpenLDAP's tools (LDAP and LDAPS), Microsoft's Graph SDK for Python with azure-identity
# (tests/interop/graph_sdk.py) and Azure's hyco-ws for Node (tests/interop/hyco-ws-echo.js).
#
#   tests/interop/lab-clients.sh BIN VENV NODE_MODULES
#
# BIN: the writeback-sim binary; VENV: a Python venv with msgraph-sdk and azure-identity;
# NODE_MODULES: a node_modules folder holding hyco-ws. Needs ldap-utils, jq and curl.
# (Output goes to files before grep reads it: `cmd | grep -q` under pipefail fails when
# grep stops reading first.)
set -euo pipefail

BIN=${1:?the writeback-sim binary}
VENV=${2:?a Python venv with msgraph-sdk and azure-identity}
NODE_MODULES=${3:?a node_modules folder with hyco-ws}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
STATE=$WORK/lab

fail() { echo "FAIL: $*" >&2; echo "--- lab output:" >&2; cat "$WORK/lab.out" >&2 || true; exit 1; }

# At trace level, the most a user can ask for: at the end no secret the run used may be in
# what the lab printed (issue 20's log hygiene).
. "$HERE/lab-start.sh"
WRITEBACK_SIM_LOG=trace start_lab "$BIN" "$STATE" "$WORK/lab.out"
echo "lab up: $(j graph_url)"

CA=$(j ca_file)
export SSL_CERT_FILE=$CA REQUESTS_CA_BUNDLE=$CA LDAPTLS_CACERT=$CA
LDAP=$(j ldap_url)
LDAPS=$(j ldaps_url)
ADMIN_DN=$(j admin_dn)
ADMIN_PW=$(j admin_password)
BASE="DC=gntech,DC=me"

echo "== OpenLDAP's tools"
who=$(ldapwhoami -x -H "$LDAP" -D "$ADMIN_DN" -w "$ADMIN_PW") || fail "ldapwhoami over LDAP"
echo "ldapwhoami (LDAP): $who"
who=$(ldapwhoami -x -H "$LDAPS" -D "$ADMIN_DN" -w "$ADMIN_PW") || fail "ldapwhoami over LDAPS"
echo "ldapwhoami (LDAPS): $who"
ldapsearch -LLL -x -H "$LDAPS" -D "$ADMIN_DN" -w "$ADMIN_PW" -b "$BASE" "(sAMAccountName=alice)" dn \
  > "$WORK/alice.out" || fail "ldapsearch"
grep -q "CN=Alice Smith,OU=Staff,$BASE" "$WORK/alice.out" || fail "ldapsearch found no alice"
echo "ldapsearch (LDAPS): alice found"
printf 'dn: CN=Alice Smith,OU=Staff,%s\nchangetype: modify\nreplace: description\ndescription: set by ldapmodify\n' "$BASE" \
  | ldapmodify -x -H "$LDAPS" -D "$ADMIN_DN" -w "$ADMIN_PW" > /dev/null || fail "ldapmodify"
ldapsearch -LLL -x -H "$LDAP" -D "$ADMIN_DN" -w "$ADMIN_PW" -b "CN=Alice Smith,OU=Staff,$BASE" -s base description \
  > "$WORK/described.out" || fail "ldapsearch"
grep -q "description: set by ldapmodify" "$WORK/described.out" || fail "ldapmodify's change is not there"
echo "ldapmodify (LDAPS): description written and read back"
if ldapwhoami -x -H "$LDAP" -D "$ADMIN_DN" -w "wrong" 2> "$WORK/bad-bind"; then fail "a wrong password bound"; fi
grep -q "Invalid credentials (49)" "$WORK/bad-bind" || fail "a wrong password: $(cat "$WORK/bad-bind")"
grep -q "AcceptSecurityContext error, data 52e" "$WORK/bad-bind" || fail "no AD diagnostic: $(cat "$WORK/bad-bind")"
echo "ldapwhoami with a wrong password: Invalid credentials (49), data 52e"

echo "== Microsoft Graph SDK for Python"
NEW_PASSWORD='Sdk-Reset#2026!'
"$VENV/bin/python" "$HERE/graph_sdk.py" "$LAB" "$NEW_PASSWORD" | tee "$WORK/sdk.out" || fail "the Graph SDK checks"
DAVID="CN=David Brown,OU=Staff,$BASE"
bound=
for _ in $(seq 1 50); do
  if ldapwhoami -x -H "$LDAPS" -D "$DAVID" -w "$NEW_PASSWORD" > /dev/null 2>&1; then bound=1; break; fi
  sleep 0.1
done
[ -n "$bound" ] || fail "the password reset through Graph does not bind on LDAP"
echo "ldapwhoami: the password set through Graph binds as $DAVID"
"$BIN" lab ctl --state "$STATE" status > "$WORK/status.out" || fail "lab ctl status"
grep -E "PasswordSet +success" "$WORK/status.out" || fail "the run history has no PasswordSet: $(cat "$WORK/status.out")"
echo "run history: the write is there"
"$BIN" lab ctl --state "$STATE" sync delta > /dev/null || fail "lab ctl sync delta"
ldapsearch -LLL -o ldif-wrap=no -x -H "$LDAPS" -D "$ADMIN_DN" -w "$ADMIN_PW" -b "OU=M365 Groups,$BASE" "(mailNickname=lab-falcon)" dn mail \
  > "$WORK/group.out" || fail "ldapsearch"
grep -q "mail: lab-falcon@gntech.me" "$WORK/group.out" || fail "the Microsoft 365 group was not written back: $(cat "$WORK/group.out")"
echo "group writeback: the Microsoft 365 group the SDK created is in AD: $(head -1 "$WORK/group.out")"

echo "== hyco-ws (Azure Relay Hybrid Connections for Node)"
NODE_PATH="$NODE_MODULES" node "$HERE/hyco-ws-echo.js" "$LAB" || fail "hyco-ws"

echo "== clean shutdown"
kill -TERM $LAB_PID
wait $LAB_PID || fail "the lab did not stop cleanly on SIGTERM"
grep -q "lab stopped" "$WORK/lab.out" || fail "no shutdown message"
[ -s "$STATE/state.json" ] || fail "no state.json after shutdown"
# Every secret of the run: the lab's credentials, the password the SDK set, and any bearer
# token (a JWT) or relay SAS token, whoever made it.
secrets=("$NEW_PASSWORD")
for k in client_secret admin_password admin_user_password relay_key control_token; do
  secrets+=("$(jq -r ".$k" "$LAB")")
done
args=()
for s in "${secrets[@]}"; do [ -n "$s" ] && [ "$s" != null ] && args+=(-e "$s"); done
if grep -F "${args[@]}" "$WORK/lab.out" > "$WORK/leaks" || grep -E -e 'eyJ[A-Za-z0-9_-]{8,}\.eyJ' -e 'SharedAccessSignature sr=' -e '[?&]sig=' "$WORK/lab.out" >> "$WORK/leaks"; then
  fail "a secret reached the lab's trace-level log: $(cut -c1-200 "$WORK/leaks" | head -3)"
fi
echo "the lab's trace-level log ($(wc -c < "$WORK/lab.out") bytes) holds none of the run's ${#secrets[@]} secrets, no bearer token and no SAS token"
echo "all lab client checks passed"
