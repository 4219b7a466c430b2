#!/usr/bin/env bash
# `writeback-sim lab --directory`: a lab on a real DC (Samba in CI). The lab provisions its
# world there (its users and OUs appear on the DC), points lab.json at the DC, and leaves the
# DC as it found it when stopped; a second start builds the world afresh.
# Usage: lab-dc.sh BIN   (the DC at ldaps://127.0.0.1:636, Administrator's password in
# WBSIM_DIRECTORY_PASSWORD)
set -euo pipefail
BIN=${1:?the writeback-sim binary}
DC=ldaps://127.0.0.1:636
ADMIN=CN=Administrator,CN=Users,DC=gntech,DC=me
WORK=$(mktemp -d)
STATE=$WORK/lab
LOG=$WORK/lab.log
export LDAPTLS_REQCERT=never
fail() { echo "lab-dc: $*" >&2; exit 1; }
count() {
  ldapsearch -x -H "$DC" -D "$ADMIN" -w "$WBSIM_DIRECTORY_PASSWORD" -b DC=gntech,DC=me "(objectClass=*)" dn \
    | grep -c "^dn:"
}
before=$(count)
for round in 1 2; do
  rm -f "$STATE/lab.json"
  "$BIN" lab --state "$STATE" --ports auto --directory "$DC" --directory-admin "$ADMIN" \
    --directory-insecure --directory-prepare-schema > "$LOG" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do [ -f "$STATE/lab.json" ] && break; sleep 0.5; done
  [ -f "$STATE/lab.json" ] || { cat "$LOG"; fail "round $round: the lab did not start"; }
  [ "$(jq -r .ldaps_url "$STATE/lab.json")" = "$DC" ] || fail "lab.json does not name the DC"
  ldapsearch -x -H "$DC" -D "$ADMIN" -w "$WBSIM_DIRECTORY_PASSWORD" -b "OU=Staff,DC=gntech,DC=me" \
    "(sAMAccountName=alice)" dn | grep -q "^dn: CN=Alice Smith" || fail "round $round: the lab's users are not on the DC"
  "$BIN" lab ctl --state "$STATE" status | grep -q "PasswordWriteback *Enabled" \
    || fail "round $round: the lab's engine is not configured"
  kill -INT "$pid"
  wait "$pid" || { cat "$LOG"; fail "round $round: the lab did not stop cleanly"; }
  grep -q "is as it was found" "$LOG" || fail "round $round: no word on the DC"
  [ "$(count)" = "$before" ] || fail "round $round: the DC holds $(count) entries, not the $before it had"
  echo "lab --directory, round $round: provisioned on the DC, engine configured, DC left as found ($before entries)"
done
rm -rf "$WORK"
