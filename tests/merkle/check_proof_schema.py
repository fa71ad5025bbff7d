#!/usr/bin/python3
"""Validates a proof printed by `strand proof --json` against its schema.

usage: check_proof_schema.py SCHEMA PROOF_JSON

Exits 0 when PROOF_JSON is valid against SCHEMA (draft 2020-12), 1 with
every error on stderr otherwise. Needs python3-jsonschema: without it this
is a failure, not a skip.
"""
import json
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError as e:
    print("FAIL: python3-jsonschema is required: %s" % e, file=sys.stderr)
    sys.exit(1)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print("FAIL: /%s: %s" % ("/".join(map(str, e.absolute_path)), e.message), file=sys.stderr)
    if errors:
        return 1
    print("ok: %s is valid" % argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
