#!/usr/bin/python3
"""Checks the equipment files of tests/equipment/data against the schemas,
so that the schemas and the C readers agree on the same examples.

Usage: check-equipment-schemas.py SOURCE_ROOT

- facility.equipment.json (predictive maintenance members) and the shipped
  facility.equipment.json (written before them) are valid inventories;
- every line of day.jsonl is a valid event, every line of bad-events.jsonl
  is refused (the C parser refuses the same lines: test-equipment-monitor);
- reservations.json is valid;
- one-member changes of the new inventory members are refused.

Exits 0 when every check passes, 1 otherwise; a missing python3-jsonschema is
a failure, not a skip.
"""

import copy
import json
import os
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError as e:
    print("FAIL: python3-jsonschema is required (apt-get install python3-jsonschema): %s" % e)
    sys.exit(1)

failed = 0


def check(ok, what, details=()):
    global failed
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    for d in details:
        print("    %s" % d)
    failed += 0 if ok else 1


def validator(root, name):
    with open(os.path.join(root, "schemas", name), encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(v, doc):
    return ["/%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in v.iter_errors(doc)]


def main(root):
    data = os.path.join(root, "tests", "equipment", "data")
    inventory = validator(root, "equipment.schema.json")
    event = validator(root, "equipment-event.schema.json")
    reservations = validator(root, "equipment-reservations.schema.json")

    for path in (os.path.join(data, "facility.equipment.json"),
                 os.path.join(root, "packaging", "pipelines", "facility.equipment.json")):
        with open(path, encoding="utf-8") as f:
            e = errors(inventory, json.load(f))
        check(not e, "%s is a valid inventory" % os.path.basename(path), e)

    with open(os.path.join(data, "reservations.json"), encoding="utf-8") as f:
        e = errors(reservations, json.load(f))
    check(not e, "reservations.json is valid", e)

    with open(os.path.join(data, "day.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            e = errors(event, json.loads(line))
            check(not e, "day.jsonl:%d is a valid event" % n, e)

    with open(os.path.join(data, "bad-events.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                doc = json.loads(line)
            except ValueError:
                check(True, "bad-events.jsonl:%d is not JSON" % n)
                continue
            check(bool(errors(event, doc)), "bad-events.jsonl:%d is refused: %s" % (n, line.strip()))

    with open(os.path.join(data, "facility.equipment.json"), encoding="utf-8") as f:
        base = json.load(f)
    seq = ("equipment", 0)
    mutations = [
        (seq + ("service",), 3),
        (seq + ("service", "when"), 1),
        (seq + ("service", "last"), "yesterday"),
        (seq + ("service", "every_days"), 0),
        (seq + ("service", "counters", "Runs"), {"count": 1}),
        (seq + ("service", "counters", "runs"), 5),
        (seq + ("service", "counters", "runs", "count"), -1),
        (seq + ("service", "counters", "runs", "due"), 0),
        (seq + ("service", "counters", "runs", "limit"), 2),
        (seq + ("reliability", "model"), "gamma"),
        (seq + ("reliability", "shape"), 0),
        (seq + ("reliability", "failures"), 1),
        (("equipment", 1, "reliability", "failures"), 1.5),
        (("equipment", 1, "reliability", "hours"), 0),
    ]
    accepted = []
    for path, value in mutations:
        doc = copy.deepcopy(base)
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
        if not errors(inventory, doc):
            accepted.append("/%s = %s" % ("/".join(map(str, path)), json.dumps(value)))
    no_last = copy.deepcopy(base)
    del no_last["equipment"][0]["service"]["last"]
    if not errors(inventory, no_last):
        accepted.append("every_days without last")
    check(not accepted, "equipment.schema.json refuses every change of the new members", accepted)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
