#!/usr/bin/env bash
# The directory benchmark's client against OpenLDAP's slapd holding the same users, so the
# embedded AD's figures (cargo bench --bench directory) have a neighbour measured the same
# way, on the same machine, at the same time:
#
#   benches/slapd.sh                  (BENCH_USERS=N to change the size; needs slapd,
#                                      slapadd and ldapsearch: apt-get install slapd ldap-utils)
#
# slapd gets its best case for this load: the mdb backend without fsync (the embedded AD
# keeps nothing on disk either), no logging, equality indexes on every attribute the client
# looks up, and the rootdn the client binds as (no access control to evaluate). It prints
# how long slapadd took to load the users, how long slapd took to answer after it started,
# and slapd's resident memory after the rounds (its database is memory-mapped: the pages
# the rounds touched count).
set -euo pipefail

users=${BENCH_USERS:-100000}
port=${BENCH_SLAPD_PORT:-38900}  # or the next free one
admin='CN=Administrator,CN=Users,DC=gntech,DC=me'
password='Adm1n!Pass2026'

for tool in slapd slapadd ldapsearch; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "benches/slapd.sh: $tool is not installed (apt-get install slapd ldap-utils)" >&2
    exit 1
  fi
done
export PATH="$PATH:/usr/sbin"

work=$(mktemp -d)
cleanup() {
  if [ -f "$work/slapd.pid" ]; then kill "$(cat "$work/slapd.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The few Active Directory attributes the client uses, with AD's OIDs (msuser.schema's
# classes would also require nTSecurityDescriptor, instanceType and objectCategory).
cat >"$work/ad.schema" <<'EOF'
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP top STRUCTURAL
  MAY ( cn $ description $ sAMAccountName $ userPrincipalName $ displayName $
        userAccountControl $ objectGUID ) )
objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP user STRUCTURAL )
EOF

cat >"$work/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $work/ad.schema
pidfile $work/slapd.pid
loglevel 0
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "DC=gntech,DC=me"
rootdn "$admin"
rootpw $password
directory $work/db
maxsize 4294967296
dbnosync
index objectClass eq
index sAMAccountName eq
index userPrincipalName eq
index cn eq
EOF

# The users the directory benchmark's populate() adds, attribute for attribute.
awk -v n="$users" 'BEGIN {
  print "dn: DC=gntech,DC=me\nobjectClass: domain\ndc: gntech\n"
  print "dn: OU=Bench,DC=gntech,DC=me\nobjectClass: organizationalUnit\nou: Bench\n"
  for (i = 0; i < n; i++) {
    name = sprintf("user%06d", i)
    printf "dn: CN=%s,OU=Bench,DC=gntech,DC=me\nobjectClass: user\ncn: %s\n", name, name
    printf "sAMAccountName: %s\nuserPrincipalName: %s@gntech.me\n", name, name
    printf "displayName: User %d\nuserAccountControl: 512\n\n", i
  }
}' >"$work/users.ldif"

mkdir "$work/db"
started=$(date +%s.%N)
slapadd -q -f "$work/slapd.conf" -l "$work/users.ldif"
loaded=$(date +%s.%N)
# A port slapd can bind: its own closed connections leave the last one in TIME-WAIT.
until slapd -f "$work/slapd.conf" -h "ldap://127.0.0.1:$port/" 2>/dev/null; do
  port=$((port + 1))
  if [ "$port" -ge $((${BENCH_SLAPD_PORT:-38900} + 100)) ]; then
    echo "benches/slapd.sh: slapd did not start (slapd -d 256 -f $work/slapd.conf shows why)" >&2
    exit 1
  fi
done
until ldapsearch -x -H "ldap://127.0.0.1:$port" -D "$admin" -w "$password" \
  -b DC=gntech,DC=me "(sAMAccountName=user000000)" cn >/dev/null 2>&1; do
  sleep 0.01
done
serving=$(date +%s.%N)
echo "slapd $(slapd -VV 2>&1 | grep -o 'slapd [0-9.]*' | head -1 | cut -d' ' -f2): $users users"
awk -v a="$started" -v b="$loaded" -v c="$serving" 'BEGIN {
  printf "  slapadd: %.2f s; slapd answering %.2f s after it started\n", b - a, c - b }'

cd "$(dirname "$0")/.."
BENCH_USERS=$users BENCH_LDAP_URL="ldap://127.0.0.1:$port" \
  cargo bench --bench directory 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\|Executable\)'
awk '/VmRSS/ { printf "  slapd resident after the rounds: %.1f MiB\n", $2 / 1024 }' \
  "/proc/$(cat "$work/slapd.pid")/status"
