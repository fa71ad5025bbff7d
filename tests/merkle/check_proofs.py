#!/usr/bin/python3
"""Independent check of Strand's Merkle tree (RFC 6962 / RFC 9162).

usage: check_proofs.py LOG PROOFS_JSON

Recomputes the leaf hashes from the log's complete lines (SHA-256 of 0x00 and
the line without its newline), the root of the whole log and of every tree
size named in PROOFS_JSON, then checks each inclusion and consistency proof
there two ways: it rebuilds the proof from the RFC 6962 definitions and
compares, and runs the RFC 9162 verification algorithms on it. Uses only
the standard library. Exits 0 when everything holds, 1 otherwise, naming
what failed on stderr.

PROOFS_JSON is either a list of proofs made by a test:
  {"size": N, "root": HEX,
   "inclusion": [{"index": M, "size": N, "root": HEX, "proof": [HEX...]}...],
   "consistency": [{"first": M, "second": N, "first_root": HEX,
                    "second_root": HEX, "proof": [HEX...]}...]}
or a document printed by `strand proof --json` (schemas/proof.schema.json),
whose checkpoints' size and root are read from their notes and must be the
log's; each record must be the log's line at its leaf, name one of the
subjects' digests, and have the leaf hash and audit path the log gives it.
The notes' signatures are check_signed_note.py's business.
"""
import base64
import hashlib
import json
import sys


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n):
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    n = len(leaves)
    if n <= 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def verify_inclusion(leaf, m, n, proof, root):
    """RFC 9162 2.1.3.2."""
    if m >= n:
        return False
    fn, sn, r = m, n - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, proof, first_hash, second_hash):
    """RFC 9162 2.1.4.2 (m == n: empty proof, equal roots)."""
    if m == 0 or m > n:
        return False
    if m == n:
        return not proof and first_hash == second_hash
    if not proof:
        return False
    if m & (m - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def unhex(text):
    raw = bytes.fromhex(text)
    if len(raw) != 32 or text != raw.hex():
        raise ValueError("not a lower-case SHA-256 hex: %r" % text)
    return raw


def note_tree(note):
    """Origin, size and root hash of a checkpoint note's text."""
    text = note[:note.rfind("\n\n") + 1]
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root, validate=True)


def digests(node):
    """Every {"sha256": HEX} digest in a statement."""
    if isinstance(node, dict):
        found = {node["sha256"]} if isinstance(node.get("sha256"), str) else set()
        for value in node.values():
            found |= digests(value)
        return found
    if isinstance(node, list):
        return set().union(*(digests(v) for v in node)) if node else set()
    return set()


def check_checkpoint(cp, leaves, check, what):
    origin, n, root = note_tree(cp["note"])
    check((cp["origin"], cp["size"], unhex(cp["root"])) == (origin, n, root),
          what + ": origin, size and root are not the note's")
    check(n <= len(leaves) and root == mth(leaves[:n]),
          what + ": the root of %d records is not the log's" % n)
    return n, root


def check_document(doc, lines, leaves, check):
    """A proof printed by `strand proof --json`."""
    if doc["format"] == "urn:strand:proof:inclusion:v1":
        n, root = check_checkpoint(doc["checkpoint"], leaves, check, "checkpoint")
        check(len(doc["inclusion"]) > 0, "no records")
        for inc in doc["inclusion"]:
            m = inc["leaf_index"]
            what = "record %d (leaf %d)" % (inc["seq"], m)
            record = inc["record"].encode()
            if not (inc["seq"] == m + 1 and 0 <= m < n):
                check(False, what + ": out of range")
                continue
            check(record == lines[m], what + ": not the log's line")
            check(unhex(inc["leaf_hash"]) == leaf_hash(record) == leaves[m], what + ": leaf hash")
            proof = [unhex(h) for h in inc["audit_path"]]
            check(proof == path(m, leaves[:n]), what + ": audit path differs from PATH")
            check(verify_inclusion(leaf_hash(record), m, n, proof, root),
                  what + ": does not verify")
            statement = json.loads(base64.b64decode(json.loads(record)["dsse"]["payload"]))
            check(set(doc["subjects"]) & digests(statement), what + ": names no subject")
        return "%d records in the tree of %d" % (len(doc["inclusion"]), n)
    if doc["format"] == "urn:strand:proof:consistency:v1":
        m, old_root = check_checkpoint(doc["old"], leaves, check, "old")
        n, new_root = check_checkpoint(doc["new"], leaves, check, "new")
        proof = [unhex(h) for h in doc["proof"]]
        if not 1 <= m <= n <= len(leaves):
            check(False, "consistency %d to %d: out of range" % (m, n))
        else:
            check(proof == subproof(m, leaves[:n], True),
                  "consistency %d to %d: proof differs from PROOF" % (m, n))
            check(verify_consistency(m, n, proof, old_root, new_root),
                  "consistency %d to %d: does not verify" % (m, n))
        return "the tree of %d records is a prefix of the tree of %d" % (m, n)
    check(False, "unknown format %r" % doc["format"])
    return ""


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    # Complete lines only, as strand_ledger_read passes them.
    lines = data.split(b"\n")[:-1]
    leaves = [leaf_hash(line) for line in lines]
    with open(argv[2], "r", encoding="utf-8") as f:
        doc = json.load(f)

    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    if "format" in doc:
        said = check_document(doc, lines, leaves, check)
        for what in failures:
            print("FAIL: " + what, file=sys.stderr)
        if failures:
            return 1
        print("ok: %s" % said)
        return 0

    n = doc["size"]
    check(n == len(leaves), "size %d, but the log has %d records" % (n, len(leaves)))
    check(unhex(doc["root"]) == mth(leaves[:n]), "root of size %d" % n)

    for i, inc in enumerate(doc["inclusion"]):
        m, size = inc["index"], inc["size"]
        proof = [unhex(h) for h in inc["proof"]]
        root = unhex(inc["root"])
        what = "inclusion %d (leaf %d, size %d)" % (i, m, size)
        if not 0 <= m < size <= len(leaves):
            check(False, what + ": out of range")
            continue
        check(root == mth(leaves[:size]), what + ": root")
        check(proof == path(m, leaves[:size]), what + ": proof differs from PATH")
        check(verify_inclusion(leaves[m], m, size, proof, root), what + ": does not verify")

    for i, con in enumerate(doc["consistency"]):
        m, size = con["first"], con["second"]
        proof = [unhex(h) for h in con["proof"]]
        first_root, second_root = unhex(con["first_root"]), unhex(con["second_root"])
        what = "consistency %d (%d to %d)" % (i, m, size)
        if not 1 <= m <= size <= len(leaves):
            check(False, what + ": out of range")
            continue
        check(first_root == mth(leaves[:m]), what + ": first root")
        check(second_root == mth(leaves[:size]), what + ": second root")
        check(proof == subproof(m, leaves[:size], True), what + ": proof differs from PROOF")
        check(verify_consistency(m, size, proof, first_root, second_root),
              what + ": does not verify")

    for what in failures:
        print("FAIL: " + what, file=sys.stderr)
    if failures:
        return 1
    print("ok: %d records, %d inclusion and %d consistency proofs"
          % (len(leaves), len(doc["inclusion"]), len(doc["consistency"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
