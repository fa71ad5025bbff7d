#!/usr/bin/python3
"""Checks a PROV-JSON export of a Strand run.

Usage: check-prov.py PROV.json SCHEMA.json STAGE_RUNS

1. It is valid against the W3C PROV-JSON schema (draft 04, formats checked).
2. python3-prov reads it (prov.model.ProvDocument.deserialize).
3. What PROV says is the run: STAGE_RUNS activities with start and end
   times, each used and generated entity declared, every output derived from
   the inputs of its stage run, every activity associated with its plugin
   build (a prov:SoftwareAgent acting for the host) and with the host.
4. Negative controls: the schema rejects a generation without its entity,
   and the graph check notices a dangling reference.

Exits 0 when all hold, 1 otherwise (missing modules are failures).
"""

import copy
import json
import sys

try:
    import jsonschema
    from prov.model import ProvDocument
except ImportError as e:
    print("FAIL: python3-jsonschema and python3-prov are required: %s" % e)
    sys.exit(1)


def problems_of(doc, stage_runs):
    out = []
    entities = doc.get("entity", {})
    activities = doc.get("activity", {})
    agents = doc.get("agent", {})
    if len(activities) != stage_runs:
        out.append("%d activities, expected %d" % (len(activities), stage_runs))
    for aid, a in activities.items():
        for key in ("prov:startTime", "prov:endTime", "strand:pluginSha256", "strand:recordSha256"):
            if key not in a:
                out.append("activity %s has no %s" % (aid, key))
    for kind, ent_key, act_key in (("used", "prov:entity", "prov:activity"),
                                   ("wasGeneratedBy", "prov:entity", "prov:activity")):
        for rid, r in doc.get(kind, {}).items():
            if r.get(ent_key) not in entities:
                out.append("%s %s names an undeclared entity %s" % (kind, rid, r.get(ent_key)))
            if r.get(act_key) not in activities:
                out.append("%s %s names an undeclared activity %s" % (kind, rid, r.get(act_key)))
    generated = {}
    for r in doc.get("wasGeneratedBy", {}).values():
        generated.setdefault(r["prov:activity"], set()).add(r["prov:entity"])
    used = {}
    for r in doc.get("used", {}).values():
        used.setdefault(r["prov:activity"], set()).add(r["prov:entity"])
    derived = {(r["prov:generatedEntity"], r["prov:usedEntity"])
               for r in doc.get("wasDerivedFrom", {}).values()}
    for act, outs in generated.items():
        for o in outs:
            for i in used.get(act, ()):
                if (o, i) not in derived:
                    out.append("%s is not derived from %s" % (o, i))
    assoc = {}
    for r in doc.get("wasAssociatedWith", {}).values():
        assoc.setdefault(r["prov:activity"], set()).add(r["prov:agent"])
    delegations = {(r["prov:delegate"], r["prov:responsible"])
                   for r in doc.get("actedOnBehalfOf", {}).values()}
    for aid in activities:
        mine = assoc.get(aid, set())
        plugins = [g for g in mine if g.startswith("plugin:")]
        hosts = [g for g in mine if g.startswith("host:")]
        if len(plugins) != 1 or len(hosts) != 1:
            out.append("activity %s: associated with %s" % (aid, sorted(mine)))
            continue
        ptype = agents.get(plugins[0], {}).get("prov:type", {})
        if ptype.get("$") != "prov:SoftwareAgent":
            out.append("plugin agent %s is not a prov:SoftwareAgent" % plugins[0])
        if (plugins[0], hosts[0]) not in delegations:
            out.append("plugin %s does not act for host %s" % (plugins[0], hosts[0]))
    return out


def main():
    path, schema_path, stage_runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path) as f:
        doc = json.load(f)
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    failures = ["schema: %s at %s" % (e.message, "/".join(map(str, e.path)))
                for e in validator.iter_errors(doc)]

    prov_doc = ProvDocument.deserialize(path, format="json")
    records = prov_doc.get_records()
    n_activities = sum(1 for r in records if r.get_type().localpart == "Activity")
    if n_activities != stage_runs:
        failures.append("python3-prov reads %d activities, expected %d" % (n_activities, stage_runs))
    failures += problems_of(doc, stage_runs)

    # Negative controls: both checks can fail.
    broken = copy.deepcopy(doc)
    first = next(iter(broken["wasGeneratedBy"]))
    del broken["wasGeneratedBy"][first]["prov:entity"]
    if validator.is_valid(broken):
        failures.append("negative control: the schema accepted a generation without its entity")
    dangling = copy.deepcopy(doc)
    dangling["used"][next(iter(dangling["used"]))]["prov:entity"] = "data:" + "0" * 64
    if not problems_of(dangling, stage_runs):
        failures.append("negative control: a dangling entity went unnoticed")

    for f in failures:
        print("FAIL: " + f)
    print("%d entities, %d activities, %d agents, %d PROV records: %s" % (
        len(doc.get("entity", {})), len(doc.get("activity", {})), len(doc.get("agent", {})),
        len(records), "ok" if not failures else "FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
