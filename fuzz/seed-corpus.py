#!/usr/bin/env python3
"""Build the fuzz targets' seed corpora (fuzz/corpus/TARGET) from the tests and the
catalogue: scenario files, LDIF fixtures, the DNs and filters they use, Graph requests
from the README's routes, relay control frames, and the LDAP bytes OpenLDAP's tools send
to `writeback-sim directory` (recorded by a proxy in front of it).

Usage (from the repository root, after `cargo build --release`):
    python3 fuzz/seed-corpus.py
"""

import hashlib
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
BIN = ROOT / "target" / "release" / "writeback-sim"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def texts():
    scenarios = sorted((ROOT / "scenarios").rglob("*.yaml"))
    ldifs = sorted((ROOT / "fixtures").rglob("*.ldif"))
    for f in scenarios:
        text = f.read_text()
        put("scenario", text)
        for m in re.finditer(r'filter: "([^"]+)"', text):
            put("filter", m.group(1))
        for m in re.finditer(r'"((?:CN|OU|DC)=[^"]+)"', text):
            put("dn", m.group(1))
    for f in ldifs:
        text = f.read_text()
        put("ldif", text)
        for record in text.split("\n\n")[:40]:
            put("ldif", record + "\n")
        for m in re.finditer(r"^dn: (.+)$", text, re.M):
            put("dn", m.group(1))
    for f in [
        "(&(objectClass=user)(sAMAccountName=alice))",
        "(|(cn=a*b*c)(!(description=*)))",
        "(userAccountControl:1.2.840.113556.1.4.803:=2)",
        "(objectGUID=\\6f\\1b\\00\\ff)",
        "(&(whenChanged>=20260101000000.0Z)(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x))",
    ]:
        put("filter", f)
    for d in ["<GUID=6f1b2c3d-0000-4000-8000-000000000001>", "CN=a\\,b+OU=c,DC=x", "CN=#04024869"]:
        put("dn", d)


def graph():
    base = "00000000-0000-4000-8000-000000000000"
    reqs = [
        (0, "/v1.0/users?$top=1&$select=id,displayName", ""),
        (0, "/v1.0/users/user0@gntech.me", ""),
        (0, "/v1.0/subscribedSkus", ""),
        (0, "/v1.0/devices/delta?$deltatoken=latest", ""),
        (0, "/beta/groups/delta", ""),
        (0, "/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')", ""),
        (0, "/v1.0/directory/onPremisesSynchronization", ""),
        (2, f"/v1.0/directory/onPremisesSynchronization/{base}",
         json.dumps({"features": {"passwordWritebackEnabled": True}})),
        (1, f"/v1.0/users/{base}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword",
         json.dumps({"newPassword": "Autumn#Leaves2026"})),
        (1, "/v1.0/me/changePassword",
         json.dumps({"currentPassword": "a", "newPassword": "b"})),
        (1, "/v1.0/devices", json.dumps({"displayName": "LAPTOP-01", "deviceId": base})),
        (3, "/passwordreset/v1.0/agentKey", json.dumps({"publicKey": "MIIB"})),
        (4, "/passwordreset/v1.0/agentKey", ""),
    ]
    for m, path, body in reqs:
        put("graph", bytes([m]) + path.encode() + b"\n" + body.encode())


def relay():
    frames = [
        {"accept": {"address": "wss://x/$hc/p?sb-hc-action=accept&sb-hc-id=1", "id": "1",
                    "connectHeaders": {}, "remoteEndpoint": {"address": "127.0.0.1", "port": 1}}},
        {"request": {"address": "wss://x", "id": "2", "requestTarget": "/password",
                     "method": "POST", "requestHeaders": {"Content-Type": "application/json"},
                     "body": True}},
        {"response": {"requestId": "2", "statusCode": 200, "responseHeaders": {}, "body": True}},
        {"renewToken": {"token": "SharedAccessSignature sr=x&sig=y&se=1&skn=k"}},
        {"keyId": "abc", "wrappedKey": "AAAA", "nonce": "AAAAAAAAAAAAAAAA", "package": "AAAA"},
    ]
    for f in frames:
        put("relay_frames", json.dumps(f))
    put("relay_frames", "SharedAccessSignature sr=http%3a%2f%2fns%2fp&sig=abc%3d&se=1767600000&skn=OnPremListen")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ldap():
    """Record what ldapsearch, ldapmodify and friends send, one file per connection."""
    upstream = free_port()
    listen = free_port()
    creds = pathlib.Path("/tmp") / f"wbsim-fuzz-creds-{os.getpid()}.json"
    server = subprocess.Popen(
        [str(BIN), "directory", "--ldap", f"127.0.0.1:{upstream}", "--ldaps", "127.0.0.1:0",
         "--ldif", str(ROOT / "fixtures" / "gntech.me.ldif"), "--credentials", str(creds)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    recorded = []
    proxy = socket.socket()
    proxy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    proxy.bind(("127.0.0.1", listen))
    proxy.listen(16)

    def pump(src, dst, sink):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if sink is not None:
                    sink.append(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def serve():
        while True:
            try:
                client, _ = proxy.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", upstream))
            sink = []
            recorded.append(sink)
            threading.Thread(target=pump, args=(client, up, sink), daemon=True).start()
            threading.Thread(target=pump, args=(up, client, None), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", upstream)).close()
            break
        except OSError:
            time.sleep(0.1)
    url = f"ldap://127.0.0.1:{listen}"
    admin = ["-x", "-D", "CN=Administrator,CN=Users,DC=gntech,DC=me", "-w", "Adm1n!Pass2026"]
    ldif = """dn: CN=Fuzz Seed,OU=Staff,DC=gntech,DC=me
changetype: add
objectClass: user
sAMAccountName: fuzzseed
userPrincipalName: fuzzseed@gntech.me

dn: CN=Fuzz Seed,OU=Staff,DC=gntech,DC=me
changetype: modify
replace: description
description: seeded
-
add: otherTelephone
otherTelephone: 1
-

dn: CN=Fuzz Seed,OU=Staff,DC=gntech,DC=me
changetype: modrdn
newrdn: CN=Fuzz Seed 2
deleteoldrdn: 1

dn: CN=Fuzz Seed 2,OU=Staff,DC=gntech,DC=me
changetype: delete
"""
    runs = [
        ["ldapsearch", "-H", url, "-x", "-b", "", "-s", "base", "(objectClass=*)", "+"],
        ["ldapsearch", "-H", url, *admin, "-b", "DC=gntech,DC=me",
         "(&(objectClass=user)(|(cn=a*)(sAMAccountName=*b*)))", "cn", "memberOf"],
        ["ldapsearch", "-H", url, *admin, "-b", "DC=gntech,DC=me", "-E", "pr=2/noprompt",
         "(objectClass=organizationalUnit)"],
        ["ldapsearch", "-H", url, *admin, "-b", "DC=gntech,DC=me", "-z", "3",
         "(userAccountControl:1.2.840.113556.1.4.803:=512)"],
        ["ldapsearch", "-H", url, *admin, "-b", "CN=Schema,CN=Configuration,DC=gntech,DC=me",
         "-s", "one", "(lDAPDisplayName=user)"],
        ["ldapwhoami", "-H", url, *admin],
        ["ldapcompare", "-H", url, *admin, "CN=Administrator,CN=Users,DC=gntech,DC=me",
         "sAMAccountName:Administrator"],
        ["ldapsearch", "-H", url, "-x", "-D", "alice@gntech.me", "-w", "wrong", "-b", ""],
    ]
    for cmd in runs:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    subprocess.run(["ldapmodify", "-H", url, *admin, "-c"], input=ldif.encode(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    time.sleep(0.3)
    server.terminate()
    server.wait()
    creds.unlink(missing_ok=True)
    sessions = [b"".join(s) for s in recorded if s]
    for s in sessions:
        put("ldap_session", s)
        put("ldap_message", s)
    if not sessions:
        sys.exit("no LDAP traffic was recorded")
    return len(sessions)


if __name__ == "__main__":
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: run `cargo build --release` first")
    texts()
    graph()
    relay()
    n = ldap()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")
    print(f"({n} LDAP sessions recorded)")
