#!/usr/bin/python3
"""Checks the shipped sample-types table against its schema.

Usage: check-sample-types.py SOURCE_ROOT

packaging/sample-types.json must be valid against
schemas/sample-types.schema.json, and one-member changes that the loader
(framework/lib/degradation.c) refuses must be refused by the schema too, so
that people who edit the table with a schema-aware editor see the same
rules. Exits 0 when every check passes; a missing python3-jsonschema is a
failure, not a skip.
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

DELETE = object()


def mutate(doc, path, value):
    doc = copy.deepcopy(doc)
    node = doc
    for p in path[:-1]:
        node = node[p]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def main(root):
    with open(os.path.join(root, "schemas", "sample-types.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    with open(os.path.join(root, "packaging", "sample-types.json"), encoding="utf-8") as f:
        table = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    failed = 0
    errors = list(validator.iter_errors(table))
    if errors:
        failed += 1
        print("FAIL: packaging/sample-types.json is not valid:")
        for e in errors:
            print("    /%s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
    else:
        print("ok: packaging/sample-types.json is valid (%d types)" % len(table["sample_types"]))

    by_model = {}
    for i, t in enumerate(table["sample_types"]):
        by_model.setdefault(t["model"], i)
    for model in ("window", "exponential", "weibull"):
        if model not in by_model:
            failed += 1
            print("FAIL: the shipped table has no %s entry" % model)
    w, x, b = by_model.get("window", 0), by_model.get("exponential", 0), by_model.get("weibull", 0)
    bad = [
        (["surplus"], 1),
        (["sample_types", w, "source"], DELETE),
        (["sample_types", w, "source"], ""),
        (["sample_types", w, "id"], "Upper-Case"),
        (["sample_types", w, "model"], "gamma"),
        (["sample_types", w, "window_hours"], DELETE),
        (["sample_types", w, "window_hours"], 0),
        (["sample_types", w, "window_hours"], "4"),
        (["sample_types", w, "shape"], 2),
        (["sample_types", w, "surplus"], True),
        (["sample_types", x, "threshold"], DELETE),
        (["sample_types", x, "half_life_hours"], -1),
        (["sample_types", x, "window_hours"], 4),
        (["sample_types", b, "min_probability"], 1),
        (["sample_types", b, "min_probability"], 0),
        (["sample_types", b, "shape"], 0),
        (["sample_types", b, "scale_hours"], 2000000),
    ]
    for path, value in bad:
        doc = mutate(table, path, value)
        if validator.is_valid(doc):
            failed += 1
            print("FAIL: the schema accepts %s = %r" % ("/".join(map(str, path)), value))
        else:
            print("ok: the schema refuses %s = %r" % ("/".join(map(str, path)), value))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
