#!/usr/bin/python3
"""Independent check of Strand's signed checkpoints (C2SP signed-note and
tlog-checkpoint), with PyNaCl for Ed25519.

usage: check_signed_note.py NOTE_OR_PROOF VKEY_FILE [HOST_PUB_FILE]

NOTE_OR_PROOF is a checkpoint file, or a proof JSON whose checkpoints
("checkpoint", "old", "new": {"note": ...}) are checked. VKEY_FILE holds the
verifier key, NAME+KEYID_HEX+BASE64(0x01 || public key). With HOST_PUB_FILE
(the host's public key in hex), the verifier key must be the one the spec
derives from it: NAME = "strand/ledger/" + SHA-256(public key) in hex.

For each note: the text is everything up to the last blank line and ends in
a newline; its lines are the origin, the tree size in decimal without leading
zeros and the base64 of a 32-byte root hash; every signature line is
"\u2014 NAME BASE64(key id || signature)"; the key id is the first 4 bytes of
SHA-256(NAME || 0x0A || 0x01 || public key); a line whose name and key id are
the verifier key's must carry a valid Ed25519 signature of the text, and
there must be one. Prints one "ok: ORIGIN SIZE ROOT_HEX" line per note and
exits 0, or names the first fault on stderr and exits 1.
"""
import base64
import binascii
import hashlib
import json
import re
import sys

import nacl.exceptions
import nacl.signing


class Bad(Exception):
    pass


def b64(text, what):
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise Bad("%s: not base64 (%s)" % (what, e))
    if base64.b64encode(raw).decode() != text:
        raise Bad("%s: not canonical base64" % what)
    return raw


def key_id(name, public_key):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]


def parse_vkey(text):
    name, _, rest = text.strip().partition("+")
    hex_id, _, key_b64 = rest.partition("+")
    if not name or " " in name or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise Bad("not a verifier key: %r" % text)
    raw = b64(key_b64, "verifier key")
    if len(raw) != 33 or raw[0] != 1:
        raise Bad("the verifier key is not 0x01 and an Ed25519 key")
    public_key = raw[1:]
    if key_id(name, public_key).hex() != hex_id:
        raise Bad("the verifier key's id does not match its name and key")
    return name, bytes.fromhex(hex_id), public_key


def check_note(note, name, kid, public_key):
    if not note.endswith("\n"):
        raise Bad("the note does not end in a newline")
    blank = note.rfind("\n\n")
    if blank < 0:
        raise Bad("no blank line before the signatures")
    text, signatures = note[:blank + 1], note[blank + 2:]
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise Bad("the text is not origin, size, root (and non-empty extension lines)")
    origin, size, root_b64 = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise Bad("the size %r is not a decimal without leading zeros" % size)
    root = b64(root_b64, "root hash")
    if len(root) != 32:
        raise Bad("the root hash is %d bytes" % len(root))
    if origin != name:
        raise Bad("the note is of log %r, the key of %r" % (origin, name))
    verified = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Bad("a signature line does not start with an em dash and a space: %r" % line)
        signer, _, sig_b64 = line[2:].partition(" ")
        raw = b64(sig_b64, "signature")
        if len(raw) < 5:
            raise Bad("a signature is shorter than a key id and a signature")
        if signer != name or raw[:4] != kid:
            continue  # another key's: ignored, as the spec says
        try:
            nacl.signing.VerifyKey(public_key).verify(text.encode(), raw[4:])
        except nacl.exceptions.BadSignatureError:
            raise Bad("the signature by %s does not verify" % name)
        verified = True
    if not verified:
        raise Bad("no signature by %s" % name)
    return origin, int(size), root.hex()


def notes_in(path):
    with open(path, "r", encoding="utf-8") as f:
        data = f.read()
    if data.lstrip().startswith("{"):
        doc = json.loads(data)
        return [doc[k]["note"] for k in ("checkpoint", "old", "new") if k in doc]
    return [data]


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[2], "r", encoding="utf-8") as f:
            name, kid, public_key = parse_vkey(f.read())
        if len(argv) == 4:
            with open(argv[3], "r", encoding="utf-8") as f:
                host = bytes.fromhex(f.read().strip())
            want = "strand/ledger/" + hashlib.sha256(host).hexdigest()
            if (name, public_key) != (want, host):
                raise Bad("the verifier key is not the one of the host key (%s)" % want)
        notes = notes_in(argv[1])
        if not notes:
            raise Bad("no checkpoint in %s" % argv[1])
        for note in notes:
            origin, size, root = check_note(note, name, kid, public_key)
            print("ok: %s %d %s" % (origin, size, root))
    except Bad as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
