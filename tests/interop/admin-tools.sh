#!/usr/bin/env bash
# Interop: the tools AD admins use, none written here — samba-tool and ldbsearch (Samba,
# GnuTLS), python ldap3 with get_info=ALL (OpenSSL) and ldapdomaindump — against
# `writeback-sim directory`, or against a real DC with the same commands.
#   tests/interop/admin-tools.sh BIN VENV             # the embedded AD (started here)
#   tests/interop/admin-tools.sh BIN VENV samba       # the Samba DC of ../shared/tools/samba-dc
# VENV is a Python venv with ldap3 and ldapdomaindump installed. samba-tool binds with a
# simple bind (--simple-bind-dn): the embedded AD offers no NTLM or Kerberos SASL.
set -uo pipefail
BIN=${1:?usage: admin-tools.sh BIN VENV [samba]}
VENV=${2:?usage: admin-tools.sh BIN VENV [samba]}
TARGET=${3:-embedded}
for tool in samba-tool ldbsearch; do
  command -v "$tool" > /dev/null || { echo "admin-tools: $tool is missing (apt-get install -y samba ldb-tools)" >&2; exit 2; }
done
[[ -x $VENV/bin/ldapdomaindump ]] || { echo "admin-tools: $VENV has no ldapdomaindump" >&2; exit 2; }

ADMIN_DN='CN=Administrator,CN=Users,DC=gntech,DC=me'
ADMIN_PW=${SAMBA_ADMIN_PW:-'Adm1n!Pass2026'}
WORK=$(mktemp -d)
PID=
trap '[[ -n $PID ]] && { kill $PID 2> /dev/null; wait $PID 2> /dev/null; }; rm -rf "$WORK"' EXIT

if [[ $TARGET == samba ]]; then
  # Samba's generated certificate names DC1.gntech.me only: trust its CA, not the name.
  HOST=127.0.0.1 LDAP=ldap://127.0.0.1:389 LDAPS=ldaps://127.0.0.1:636
  CA=${SAMBA_DIR:-/tmp/samba-gntech}/private/tls/ca.pem VERIFY=ca_only
else
  [[ -x $BIN ]] || { echo "admin-tools: $BIN is not built" >&2; exit 2; }
  "$BIN" directory --ldap 127.0.0.1:0 --ldaps 127.0.0.1:0 --write-cert "$WORK/ca.pem" \
    --credentials "$WORK/creds.json" > "$WORK/dir.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do grep -qs '^ready' "$WORK/dir.log" && break; sleep 0.1; done
  grep -q '^ready' "$WORK/dir.log" || { cat "$WORK/dir.log"; echo "admin-tools: the directory did not start" >&2; exit 1; }
  LDAP=$(sed -n 's/^  ldap:  \(ldap:\/\/[^ ]*\).*/\1/p' "$WORK/dir.log")
  PORT=${LDAP##*:}
  LDAPS_PORT=$(sed -n 's/^  ldaps: ldaps:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$WORK/dir.log")
  # The certificate names localhost (and 127.0.0.1 and the DC's host name): verify both.
  HOST=localhost LDAP=ldap://localhost:$PORT LDAPS=ldaps://localhost:$LDAPS_PORT
  CA=$WORK/ca.pem VERIFY=ca_and_name
fi
# Default TLS settings (GnuTLS negotiates TLS 1.3); a second file forces TLS 1.2.
printf '[global]\n\tworkgroup = GNTECH\n\trealm = GNTECH.ME\n\ttls cafile = %s\n\ttls verify peer = %s\n' "$CA" "$VERIFY" > "$WORK/smb.conf"
cp "$WORK/smb.conf" "$WORK/smb12.conf"
printf '\ttls priority = NORMAL:-VERS-TLS1.3\n' >> "$WORK/smb12.conf"

passed=0; failed=0
# check PATTERN DESCRIPTION COMMAND...: exit 0 and output matching PATTERN (grep -E).
check() {
  local pat=$1 what=$2; shift 2
  local out; out=$(timeout 60 bash -c '"$@"' _ "$@" 2>&1); local got=$?
  if [[ $got == 0 ]] && grep -qE -- "$pat" <<< "$out"; then passed=$((passed+1)); echo "ok   $what";
  else failed=$((failed+1)); echo "FAIL $what: exit $got, output lacks /$pat/"; echo "$out" | sed 's/^/     /' | head -15; fi
}
# refused PATTERN DESCRIPTION COMMAND...: a non-zero exit with output matching PATTERN.
refused() {
  local pat=$1 what=$2; shift 2
  local out; out=$(timeout 60 bash -c '"$@"' _ "$@" 2>&1); local got=$?
  if [[ $got != 0 ]] && grep -qE -- "$pat" <<< "$out"; then passed=$((passed+1)); echo "ok   $what";
  else failed=$((failed+1)); echo "FAIL $what: exit $got, output lacks /$pat/"; echo "$out" | sed 's/^/     /' | head -15; fi
}
st() { samba-tool "$@" -s "$WORK/smb.conf" --simple-bind-dn="$ADMIN_DN" --password="$ADMIN_PW"; }
st12() { samba-tool "$@" -s "$WORK/smb12.conf" --simple-bind-dn="$ADMIN_DN" --password="$ADMIN_PW"; }
as_alice() { samba-tool "$@" -s "$WORK/smb.conf" --simple-bind-dn="CN=Alice Two,CN=Users,DC=gntech,DC=me" --password='Al1ce!Pass2026x2'; }
# `check` runs each command under a timeout in a child shell: it sees these.
export -f st st12 as_alice
export WORK ADMIN_DN ADMIN_PW

echo "admin-tools against $TARGET: $LDAP, $LDAPS"
# samba-tool over LDAPS with GnuTLS's defaults (TLS 1.3), the default containers found
# through <WKGUID=…> names.
check "User 'alice2' added successfully" "samba-tool user create (CN=Users via its WKGUID)" \
  st user create alice2 'Al1ce!Pass2026x' --given-name=Alice --surname=Two -H "$LDAPS"
check '^sAMAccountName: alice2' "samba-tool user show" st user show alice2 -H "$LDAPS"
check 'Changed password OK' "samba-tool user setpassword" st user setpassword alice2 --newpassword='Al1ce!Pass2026x2' -H "$LDAPS"
check '' "samba-tool user disable" st user disable alice2 -H "$LDAPS"
check '^userAccountControl: 514' "disabled: userAccountControl 514" st user show alice2 -H "$LDAPS"
check "Enabled user 'alice2'" "samba-tool user enable" st user enable alice2 -H "$LDAPS"
check '^userAccountControl: 512' "enabled: userAccountControl 512" st user show alice2 -H "$LDAPS"
check '^alice2$' "samba-tool user list" st user list -H "$LDAPS"
check 'Added group Testers2' "samba-tool group add" st group add Testers2 -H "$LDAPS"
check 'Added members to group Testers2' "samba-tool group addmembers" st group addmembers Testers2 alice2 -H "$LDAPS"
check '^alice2$' "samba-tool group listmembers (a filter on a <SID=…> value)" st group listmembers Testers2 -H "$LDAPS"
check "Computer 'ws02' added successfully" "samba-tool computer create (CN=Computers via its WKGUID)" st computer create ws02 -H "$LDAPS"
check '^ws02\$$' "samba-tool computer list" st computer list -H "$LDAPS"
check 'Added ou "OU=Lab2,DC=gntech,DC=me"' "samba-tool ou create" st ou create OU=Lab2 -H "$LDAPS"
check '^OU=Lab2$' "samba-tool ou list" st ou list -H "$LDAPS"
check "User 'bob2' added successfully" "samba-tool user create in an OU" st user create bob2 'B0b!Pass2026xx' --userou=OU=Lab2 -H "$LDAPS"
check 'Minimum password length: 7' "samba-tool domain passwordsettings show" st domain passwordsettings show -H "$LDAPS"
# TLS 1.2 as well.
check '^Administrator$' "samba-tool user list over TLS 1.2" st12 user list -H "$LDAPS"

# Permissions through nTSecurityDescriptor in SDDL: allow alice2 Reset Password on the OU,
# then deny it; dsacl get shows each ACE as written.
SID=$(st user show alice2 --attributes=objectSid -H "$LDAPS" 2> /dev/null | sed -n 's/^objectSid: //p')
RESET=00299570-246d-11d0-a768-00aa006e0529
check 'descriptor for OU=Lab2' "samba-tool dsacl get" st dsacl get --objectdn=OU=Lab2,DC=gntech,DC=me -H "$LDAPS"
refused 'LDAP_INSUFFICIENT_ACCESS_RIGHTS|error 50' "alice2 may not reset bob2's password yet" \
  as_alice user setpassword bob2 --newpassword='B0b!Pass2026y1' -H "$LDAPS"
check "\(OA;CI;CR;$RESET;;$SID\)" "samba-tool dsacl set: allow Reset Password (SDDL round trip)" \
  st dsacl set --objectdn=OU=Lab2,DC=gntech,DC=me --sddl="(OA;CI;CR;$RESET;;$SID)" -H "$LDAPS"
check 'Changed password OK' "alice2 resets bob2's password with the right" \
  as_alice user setpassword bob2 --newpassword='B0b!Pass2026y2' -H "$LDAPS"
check "\(OD;CI;CR;$RESET;;$SID\)" "samba-tool dsacl set: deny Reset Password" \
  st dsacl set --objectdn=OU=Lab2,DC=gntech,DC=me --sddl="(OD;CI;CR;$RESET;;$SID)" -H "$LDAPS"
check "D:(AI)?\(OD;CI;CR;$RESET;;$SID\)" "samba-tool dsacl get: the deny ACE first (canonical order)" \
  st dsacl get --objectdn=OU=Lab2,DC=gntech,DC=me -H "$LDAPS"
refused 'LDAP_INSUFFICIENT_ACCESS_RIGHTS|error 50' "the deny wins over the allow" \
  as_alice user setpassword bob2 --newpassword='B0b!Pass2026y3' -H "$LDAPS"

# Plain LDAP: reading works; a password write needs an encrypted connection on Windows.
check '^Administrator$' "samba-tool user list over plain LDAP" st user list -H "$LDAP"
if [[ $TARGET == samba ]]; then
  echo "note Samba with 'ldap server require strong auth = no' accepts a password over plain LDAP; Windows answers 53 (reference/ad-behaviour.md §3, 'reset over plain LDAP')"
else
  refused 'error 53|WILL_NOT_PERFORM' "samba-tool user create over plain LDAP: 53, a password needs TLS" \
    st user create plain2 'Pl41n!Pass2026x' -H "$LDAP"
fi

# ldbsearch (Samba's ldb tools), both transports.
for url in "$LDAPS" "$LDAP"; do
  check '^dn: CN=Alice Two,CN=Users,DC=gntech,DC=me' "ldbsearch over ${url%%:*}" \
    ldbsearch -H "$url" --configfile="$WORK/smb.conf" --simple-bind-dn="$ADMIN_DN" --password="$ADMIN_PW" \
    -b DC=gntech,DC=me '(sAMAccountName=alice2)' dn
done

# python ldap3 with the whole schema loaded (get_info=ALL) on several connections, each
# transport, OpenSSL with TLS 1.3 and 1.2, a bind sent right behind the handshake.
check '^ok ' "python ldap3 get_info=ALL: LDAP, LDAPS, StartTLS, TLS 1.2" \
  "$VENV/bin/python" - "$HOST" "${LDAP##*:}" "${LDAPS##*:}" "$CA" "$ADMIN_DN" "$ADMIN_PW" << 'EOF'
import ssl, sys
from ldap3 import ALL, SUBTREE, Connection, Server, Tls
host, port, sport, ca, dn, pw = sys.argv[1:]
def tls(version=None):
    kw = {"ca_certs_file": ca, "validate": ssl.CERT_REQUIRED}
    if version: kw["version"] = version
    t = Tls(**kw)
    if ca.startswith("/tmp/samba"):  # Samba's certificate names DC1.gntech.me only
        t.valid_names = [host, "DC1.gntech.me"]
    return t
ways = [("ldap", Server(host, port=int(port), get_info=ALL), False),
        ("ldaps", Server(host, port=int(sport), use_ssl=True, tls=tls(), get_info=ALL), False),
        ("starttls", Server(host, port=int(port), tls=tls(), get_info=ALL), True),
        ("ldaps tls1.2", Server(host, port=int(sport), use_ssl=True, tls=tls(ssl.PROTOCOL_TLSv1_2), get_info=ALL), False)]
for round in range(2):
    for name, s, starttls in ways:
        c = Connection(s, user=dn, password=pw)
        if starttls:
            c.open(); c.start_tls()
        assert c.bind(), (name, c.result)
        types, classes = len(s.schema.attribute_types), len(s.schema.object_classes)
        assert types > 1400 and classes > 260, (name, types, classes)
        c.search("DC=gntech,DC=me", "(&(objectClass=user)(sAMAccountName=alice2))", SUBTREE,
                 attributes=["createTimeStamp", "modifyTimeStamp", "msDS-UserPasswordExpiryTimeComputed", "memberOf"])
        assert len(c.entries) == 1 and c.entries[0].createTimeStamp.value, (name, c.entries)
        c.search("DC=gntech,DC=me", "(objectClass=trustedDomain)", SUBTREE, attributes=["cn"])
        c.unbind()
print(f"ok {types} attribute types, {classes} classes, 8 connections")
EOF

# ldapdomaindump: the whole report (users, groups, computers, policy, trusts).
mkdir -p "$WORK/dump"
check 'Domain dump finished' "ldapdomaindump over LDAPS" \
  "$VENV/bin/ldapdomaindump" -u 'GNTECH\Administrator' -p "$ADMIN_PW" -at SIMPLE -o "$WORK/dump" "ldaps://127.0.0.1:${LDAPS##*:}"
check '^ok' "ldapdomaindump's report lists alice2, Testers2, ws02 and the policy" "$VENV/bin/python" -c "
import json, sys
d = '$WORK/dump/'
users = [u['attributes']['sAMAccountName'][0] for u in json.load(open(d + 'domain_users.json'))]
groups = [g['attributes']['cn'][0] for g in json.load(open(d + 'domain_groups.json'))]
computers = [c['attributes']['sAMAccountName'][0] for c in json.load(open(d + 'domain_computers.json'))]
policy = json.load(open(d + 'domain_policy.json'))[0]['attributes']
assert 'alice2' in users and 'Testers2' in groups and 'ws02\$' in computers, (users, groups, computers)
assert policy['minPwdLength'] == [7], policy.get('minPwdLength')
for f in ['domain_users.html', 'domain_groups.html', 'domain_computers.html', 'domain_policy.html', 'domain_trusts.html', 'domain_users_by_group.html', 'domain_computers_by_os.html']:
    open(d + f).read()
print('ok')
"

# Clean up (a real DC is left as found).
check 'Deleted user bob2' "samba-tool user delete (in an OU)" st user delete bob2 -H "$LDAPS"
check 'Deleted user alice2' "samba-tool user delete" st user delete alice2 -H "$LDAPS"
check 'Deleted group Testers2' "samba-tool group delete" st group delete Testers2 -H "$LDAPS"
check 'Deleted computer ws02' "samba-tool computer delete" st computer delete ws02 -H "$LDAPS"
check 'Deleted ou "OU=Lab2,DC=gntech,DC=me"' "samba-tool ou delete" st ou delete OU=Lab2 -H "$LDAPS"

echo "admin-tools ($TARGET): $passed passed, $failed failed"
[[ $failed == 0 ]]
