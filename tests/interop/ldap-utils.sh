#!/usr/bin/env bash
# Interop: OpenLDAP's command-line clients (Debian's ldap-utils) against
# `writeback-sim directory`, checking the LDAP result codes they exit with.
#   tests/interop/ldap-utils.sh [path/to/writeback-sim]
set -uo pipefail
BIN=${1:-target/debug/writeback-sim}
for tool in ldapsearch ldapmodify ldapwhoami ldapcompare ldapadd ldapdelete ldapmodrdn; do
  command -v "$tool" >/dev/null || { echo "interop: $tool is missing (apt-get install -y ldap-utils)" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "interop: $BIN is not built" >&2; exit 2; }

ADMIN_PW='Adm1n!Pass2026'
LOG=$(mktemp); trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG" "$CREDS"' EXIT
CREDS=$(mktemp -u)
"$BIN" directory --ldap 127.0.0.1:0 --ldaps 127.0.0.1:0 --ldif fixtures/gntech.me.ldif --credentials "$CREDS" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q '^ready' "$LOG" && break; sleep 0.1; done
grep -q '^ready' "$LOG" || { cat "$LOG"; echo "interop: the directory did not start" >&2; exit 1; }
LDAP=$(sed -n 's/^  ldap:  \(ldap:\/\/[^ ]*\).*/\1/p' "$LOG")
LDAPS=$(sed -n 's/^  ldaps: \(ldaps:\/\/[^ ]*\).*/\1/p' "$LOG")
export LDAPTLS_REQCERT=never
# The terminal shows no password; the credentials file (mode 0600) has them.
if grep -q "$ADMIN_PW" "$LOG"; then echo "FAIL the directory printed a password" >&2; exit 1; fi
[[ $(stat -c %a "$CREDS") == 600 ]] || { echo "FAIL $CREDS is not mode 0600" >&2; exit 1; }
[[ $(jq -r .admin_password "$CREDS") == "$ADMIN_PW" ]] || { echo "FAIL $CREDS has no admin_password" >&2; exit 1; }

passed=0; failed=0
# expect CODE DESCRIPTION COMMAND...: the command must exit with CODE (its LDAP result code).
expect() {
  local want=$1 what=$2; shift 2
  local out; out=$("$@" 2>&1); local got=$?
  if [[ $got == "$want" ]]; then passed=$((passed+1)); echo "ok   $what (exit $got)";
  else failed=$((failed+1)); echo "FAIL $what: want exit $want, got $got"; echo "$out" | sed 's/^/     /' | head -20; fi
}
# expect_out PATTERN DESCRIPTION COMMAND...: exit 0 and output matching PATTERN.
expect_out() {
  local pat=$1 what=$2; shift 2
  local out; out=$("$@" 2>&1); local got=$?
  if [[ $got == 0 ]] && grep -qE -- "$pat" <<<"$out"; then passed=$((passed+1)); echo "ok   $what";
  else failed=$((failed+1)); echo "FAIL $what: exit $got, output lacks /$pat/"; echo "$out" | sed 's/^/     /' | head -20; fi
}
pwd_b64() { printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w0; }
reset_ldif() { printf 'dn: CN=Alice Smith,OU=Staff,DC=gntech,DC=me\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: %s\n-\n' "$(pwd_b64 "$1")"; }
ADMIN=(-x -D 'Administrator@gntech.me' -w "$ADMIN_PW")

expect_out '^defaultNamingContext: DC=gntech,DC=me' "anonymous RootDSE" ldapsearch -x -H "$LDAP" -b '' -s base
expect 1 "anonymous search of the domain: operationsError" ldapsearch -x -H "$LDAP" -b DC=gntech,DC=me
expect_out "^attributeTypes: \\( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'" "the subschema entry publishes attributeTypes" ldapsearch "${ADMIN[@]}" -o ldif-wrap=no -H "$LDAP" -b 'CN=Aggregate,CN=Schema,CN=Configuration,DC=gntech,DC=me' -s base '(objectClass=subSchema)' attributeTypes
expect_out '^u:GNTECH\\alice$' "ldapwhoami by UPN over LDAPS" ldapwhoami -x -H "$LDAPS" -D alice@gntech.me -w 'Initial#Pass2026'
expect_out '^u:GNTECH\\alice$' "ldapwhoami by GNTECH\\alice with StartTLS" ldapwhoami -x -ZZ -H "$LDAP" -D 'GNTECH\alice' -w 'Initial#Pass2026'
expect 49 "wrong password: invalidCredentials" ldapwhoami -x -H "$LDAPS" -D alice@gntech.me -w 'nope'
expect_out 'data 52e' "wrong password says data 52e" bash -c "ldapwhoami -x -H '$LDAPS' -D alice@gntech.me -w nope 2>&1; true"
expect 49 "disabled account" ldapwhoami -x -H "$LDAPS" -D victor@gntech.me -w 'Initial#Pass2026'
expect_out '^dn: CN=Alice Smith,OU=Staff,DC=gntech,DC=me' "search by sAMAccountName" ldapsearch "${ADMIN[@]}" -H "$LDAPS" -b DC=gntech,DC=me '(sAMAccountName=alice)' cn
expect_out '^# numEntries: 21' "paged search over the 21 people with a UPN (pr=5)" ldapsearch "${ADMIN[@]}" -H "$LDAPS" -b DC=gntech,DC=me -E pr=5/noprompt '(&(objectCategory=person)(userPrincipalName=*))' cn
expect_out '^# numEntries: 3' "bit-AND rule: disabled accounts (Guest, krbtgt, Victor)" ldapsearch "${ADMIN[@]}" -H "$LDAPS" -b DC=gntech,DC=me '(userAccountControl:1.2.840.113556.1.4.803:=2)' cn
expect 4 "size limit exceeded" ldapsearch "${ADMIN[@]}" -H "$LDAPS" -b DC=gntech,DC=me -z 3 '(objectClass=user)' cn
change_ldif() { printf 'dn: %s\nchangetype: modify\ndelete: unicodePwd\nunicodePwd:: %s\n-\nadd: unicodePwd\nunicodePwd:: %s\n-\n' "$1" "$(pwd_b64 "$2")" "$(pwd_b64 "$3")"; }
# Fixture accounts have existed for a while: their passwords are past the one-day minimum
# age, so a user can change their own at once.
expect 0 "carol changes her own password right after the directory starts" ldapmodify -x -D carol@gntech.me -w 'Initial#Pass2026' -H "$LDAPS" -f <(change_ldif 'CN=Carol White,OU=Staff,DC=gntech,DC=me' 'Initial#Pass2026' 'Spring#2026cw')
expect 53 "unicodePwd over plain LDAP: unwillingToPerform" ldapmodify "${ADMIN[@]}" -H "$LDAP" -f <(reset_ldif 'Summer#2026x')
expect 19 "too-short password: constraintViolation" ldapmodify "${ADMIN[@]}" -H "$LDAPS" -f <(reset_ldif 'Sh0rt!')
expect 0 "admin reset over LDAPS" ldapmodify "${ADMIN[@]}" -H "$LDAPS" -f <(reset_ldif 'Summer#2026x')
expect 0 "bind with the new password" ldapwhoami -x -H "$LDAPS" -D alice@gntech.me -w 'Summer#2026x'
expect 50 "helpdesk-less user cannot reset" ldapmodify -x -D bob@gntech.me -w 'Initial#Pass2026' -H "$LDAPS" -f <(reset_ldif 'Autumn#2026x')
expect 6 "ldapcompare equal: compareTrue" ldapcompare "${ADMIN[@]}" -H "$LDAPS" 'CN=Alice Smith,OU=Staff,DC=gntech,DC=me' 'department:finance'
expect 5 "ldapcompare different: compareFalse" ldapcompare "${ADMIN[@]}" -H "$LDAPS" 'CN=Alice Smith,OU=Staff,DC=gntech,DC=me' 'department:Sales'
expect 68 "ldapadd of an existing DN: entryAlreadyExists" ldapadd "${ADMIN[@]}" -H "$LDAPS" -f <(printf 'dn: CN=Alice Smith,OU=Staff,DC=gntech,DC=me\nobjectClass: user\n')
expect 32 "ldapadd under a missing parent: noSuchObject" ldapadd "${ADMIN[@]}" -H "$LDAPS" -f <(printf 'dn: CN=X,OU=Nope,DC=gntech,DC=me\nobjectClass: user\n')
expect 0 "ldapadd of a computer" ldapadd "${ADMIN[@]}" -H "$LDAPS" -f <(printf 'dn: CN=WS-100,OU=Workstations,DC=gntech,DC=me\nobjectClass: computer\nsAMAccountName: WS-100$\n')
expect 66 "ldapdelete of a non-leaf: notAllowedOnNonLeaf" ldapdelete "${ADMIN[@]}" -H "$LDAPS" 'OU=Staff,DC=gntech,DC=me'
expect 0 "ldapmodrdn rename" ldapmodrdn "${ADMIN[@]}" -H "$LDAPS" -r 'CN=WS-100,OU=Workstations,DC=gntech,DC=me' 'CN=WS-101'
expect 0 "ldapdelete of a leaf" ldapdelete "${ADMIN[@]}" -H "$LDAPS" 'CN=WS-101,OU=Workstations,DC=gntech,DC=me'
# Garbage on the socket closes that connection only.
HP=${LDAP#ldap://}; exec 3<>"/dev/tcp/${HP%:*}/${HP##*:}"; printf '\x30\x05\x04\x03bad' >&3; timeout 5 cat <&3 >/dev/null; exec 3>&-
expect 0 "still serving after undecodable input" ldapwhoami "${ADMIN[@]}" -H "$LDAPS"

echo "interop: $passed passed, $failed failed"
[[ $failed == 0 ]]
