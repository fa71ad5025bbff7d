#!/usr/bin/python3
"""Checks a Strand ledger without Strand: every record's DSSE signature with
an independent Ed25519 implementation (PyNaCl), the hash chain, and the
in-toto statement inside.

    verify_dsse.py LOG PUBKEY_HEX

Prints "N records verified" and exits 0, or names the first bad record on
stderr and exits 1.
"""
import base64
import hashlib
import json
import sys

import nacl.exceptions
import nacl.signing

STATEMENT = "https://in-toto.io/Statement/v1"
SLSA = "https://slsa.dev/provenance/v1"
KNOWN = {SLSA} | {"urn:strand:record:%s:v1" % k for k in ("ingest", "materialize", "gc", "event")}


def pae(payload_type: bytes, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)


def check(line: bytes, seq: int, prev: str, key, keyid: str) -> None:
    record = json.loads(line)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical.encode() != line:
        raise ValueError("the line is not canonical JSON")
    if set(record) != {"dsse", "prev", "seq"} or record["seq"] != seq or record["prev"] != prev:
        raise ValueError("seq/prev do not continue the chain")
    env = record["dsse"]
    payload = base64.b64decode(env["payload"], validate=True)
    signatures = [s for s in env["signatures"] if s["keyid"] == keyid]
    if not signatures:
        raise ValueError("no signature by key " + keyid)
    sig = base64.b64decode(signatures[0]["sig"], validate=True)
    key.verify(pae(env["payloadType"].encode(), payload), sig)
    statement = json.loads(payload)
    if env["payloadType"] != "application/vnd.in-toto+json" or statement["_type"] != STATEMENT:
        raise ValueError("not an in-toto Statement v1")
    if statement["predicateType"] not in KNOWN:
        raise ValueError("unknown predicateType " + statement["predicateType"])
    predicate = statement["predicate"]
    if statement["predicateType"] == SLSA:
        chain = predicate["buildDefinition"]["internalParameters"]["ledger"]
        if not predicate["runDetails"]["metadata"]["invocationId"]:
            raise ValueError("SLSA provenance without invocationId")
    else:
        chain = predicate["ledger"]
    if chain != {"seq": seq, "prev": prev}:
        raise ValueError("the signed chain differs from the line's")


def main() -> int:
    log, pub_hex = sys.argv[1], sys.argv[2]
    key = nacl.signing.VerifyKey(bytes.fromhex(pub_hex))
    keyid = hashlib.sha256(bytes(key)).hexdigest()
    prev, seq = "0" * 64, 0
    with open(log, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        print("the log ends in a torn record", file=sys.stderr)
        return 1
    for line in data.splitlines():
        seq += 1
        try:
            check(line, seq, prev, key, keyid)
        except (ValueError, KeyError, TypeError, nacl.exceptions.BadSignatureError) as e:
            print("record %d: %s" % (seq, str(e) or type(e).__name__), file=sys.stderr)
            return 1
        prev = hashlib.sha256(line).hexdigest()
    print("%d records verified" % seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
