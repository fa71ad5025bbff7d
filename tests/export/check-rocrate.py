#!/usr/bin/python3
"""Checks an RO-Crate export of a Strand run, as JSON-LD, offline.

Usage: check-rocrate.py CRATE_DIR CONTEXT.jsonld STAGE_RUNS

The crate's remote context (https://w3id.org/ro/crate/1.1/context) is
replaced by the local copy, after checking that the copy defines every term
the crate uses (a term without a definition would silently vanish from the
graph). python3-rdflib parses the crate and SPARQL asks what RO-Crate 1.1
and the Process, Workflow and Provenance Run Crate 0.5 profiles require:

- the metadata descriptor is about the root and conforms to RO-Crate 1.1;
- the root Dataset conforms to the three profiles, has a name, description
  and datePublished, and its mainEntity is a ComputationalWorkflow, HowTo
  and SoftwareSourceCode;
- one CreateAction whose instrument is the workflow, with objects and
  results, and an OrganizeAction (instrument: a SoftwareApplication) whose
  result it is;
- STAGE_RUNS further CreateActions, each with start and end times and
  whose instrument is a SoftwareApplication the workflow has as a part;
- as many ControlActions, each tying a HowToStep of the workflow (whose
  workExample is that tool) to a stage-run CreateAction, and each the
  object of the OrganizeAction;
- every File has a sha256; each File of the crate (in the root's hasPart)
  has a contentSize and is there on disk with that SHA-256 and size (a
  File the store does not hold is described, not included).

A negative control drops the root's conformsTo and checks the queries see
it. Exits 0 when everything holds, 1 otherwise.
"""

import copy
import hashlib
import json
import os
import sys

try:
    import rdflib
except ImportError as e:
    print("FAIL: python3-rdflib is required: %s" % e)
    sys.exit(1)

CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
PROFILES = ["https://w3id.org/ro/wfrun/process/0.5",
            "https://w3id.org/ro/wfrun/workflow/0.5",
            "https://w3id.org/ro/wfrun/provenance/0.5"]
PREFIXES = """
PREFIX schema: <http://schema.org/>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX bioschemas: <https://bioschemas.org/>
PREFIX wfrun: <https://w3id.org/ro/terms/workflow-run#>
"""


def used_terms(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if not k.startswith("@"):
                out.add(k)
            if k == "@type":
                for t in (v if isinstance(v, list) else [v]):
                    out.add(t)
            used_terms(v, out)
    elif isinstance(node, list):
        for v in node:
            used_terms(v, out)


def inline_context(doc, local):
    ctx = doc["@context"]
    ctx = ctx if isinstance(ctx, list) else [ctx]
    if ctx[0] != CONTEXT_URL:
        raise SystemExit("FAIL: the crate's first context is %r, not %s" % (ctx[0], CONTEXT_URL))
    merged = dict(local)
    for extra in ctx[1:]:
        merged.update(extra)
    out = copy.deepcopy(doc)
    out["@context"] = merged
    return out, merged


def ask(g, query):
    return bool(g.query(PREFIXES + query).askAnswer)


def count(g, query):
    return int(list(g.query(PREFIXES + query))[0][0])


def problems_of(g, stage_runs):
    out = []
    checks = [
        ("the descriptor is about the root and conforms to RO-Crate 1.1", """
         ASK { ?d schema:about ?root ; dct:conformsTo <https://w3id.org/ro/crate/1.1> .
               ?root a schema:Dataset . }"""),
        ("the root has a name, description and datePublished", """
         ASK { ?d schema:about ?root . ?root schema:name ?n ; schema:description ?s ;
               schema:datePublished ?p . }"""),
        ("the root's mainEntity is a ComputationalWorkflow, HowTo and SoftwareSourceCode", """
         ASK { ?d schema:about ?root . ?root schema:mainEntity ?wf .
               ?wf a bioschemas:ComputationalWorkflow, schema:HowTo, schema:SoftwareSourceCode . }"""),
        ("the run is a CreateAction of the workflow with objects and results", """
         ASK { ?d schema:about ?root . ?root schema:mainEntity ?wf .
               ?run a schema:CreateAction ; schema:instrument ?wf ; schema:result ?r ;
                    schema:startTime ?s ; schema:endTime ?e . }"""),
        ("an OrganizeAction of a SoftwareApplication has the run as its result", """
         ASK { ?d schema:about ?root . ?root schema:mainEntity ?wf .
               ?run a schema:CreateAction ; schema:instrument ?wf .
               ?o a schema:OrganizeAction ; schema:result ?run ; schema:instrument ?engine .
               ?engine a schema:SoftwareApplication . }"""),
    ]
    for profile in PROFILES:
        checks.append(("the root conforms to " + profile, """
         ASK { ?d schema:about ?root . ?root dct:conformsTo <%s> . }""" % profile))
    for what, q in checks:
        if not ask(g, q):
            out.append(what)
    stage_actions = count(g, """
        SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {
          ?d schema:about ?root . ?root schema:mainEntity ?wf .
          ?a a schema:CreateAction ; schema:instrument ?tool ; schema:startTime ?s ; schema:endTime ?e .
          ?tool a schema:SoftwareApplication . ?wf schema:hasPart ?tool . }""")
    if stage_actions != stage_runs:
        out.append("%d stage-run CreateActions of the workflow's tools, expected %d"
                   % (stage_actions, stage_runs))
    controls = count(g, """
        SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {
          ?d schema:about ?root . ?root schema:mainEntity ?wf .
          ?c a schema:ControlAction ; schema:instrument ?step ; schema:object ?a .
          ?step a schema:HowToStep ; schema:workExample ?tool . ?wf schema:step ?step .
          ?a a schema:CreateAction ; schema:instrument ?tool .
          ?o a schema:OrganizeAction ; schema:object ?c . }""")
    if controls != stage_runs:
        out.append("%d ControlActions tying a step to its stage run, expected %d" % (controls, stage_runs))
    bare = count(g, """
        SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE {
          ?f a schema:MediaObject . FILTER NOT EXISTS { ?f wfrun:sha256 ?h . } }""")
    if bare:
        out.append("%d Files without sha256" % bare)
    unsized = count(g, """
        SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE {
          ?d schema:about ?root . ?root schema:hasPart ?f . ?f a schema:MediaObject .
          FILTER NOT EXISTS { ?f schema:contentSize ?s . } }""")
    if unsized:
        out.append("%d Files of the crate without contentSize" % unsized)
    return out


def main():
    crate, context_path, stage_runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(os.path.join(crate, "ro-crate-metadata.json")) as f:
        doc = json.load(f)
    with open(context_path) as f:
        local = json.load(f)["@context"]
    failures = []
    expanded, merged = inline_context(doc, local)
    terms = set()
    used_terms(doc["@graph"], terms)
    undefined = sorted(t for t in terms if t not in merged)
    if undefined:
        failures.append("terms the context does not define: %s" % ", ".join(undefined))

    g = rdflib.Graph()
    base = "file://" + os.path.abspath(crate) + "/"
    g.parse(data=json.dumps(expanded), format="json-ld", base=base)
    failures += problems_of(g, stage_runs)

    # The files of the crate are there, as the metadata says.
    files = 0
    for row in g.query(PREFIXES + """
        SELECT ?f ?h ?s WHERE { ?d schema:about ?root . ?root schema:hasPart ?f .
                                ?f a schema:MediaObject ; wfrun:sha256 ?h ; schema:contentSize ?s . }"""):
        files += 1
        path = str(row[0])[len(base):] if str(row[0]).startswith(base) else None
        if path is None or not os.path.isfile(os.path.join(crate, path)):
            failures.append("%s is not a file of the crate" % row[0])
            continue
        with open(os.path.join(crate, path), "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != str(row[1]):
            failures.append("%s: its SHA-256 is not the one the metadata gives" % path)
        if len(data) != int(str(row[2])):
            failures.append("%s: its size is not the metadata's contentSize" % path)
    if files == 0:
        failures.append("the crate holds no files")

    # Negative control: the queries notice a root that conforms to nothing.
    broken = copy.deepcopy(expanded)
    for node in broken["@graph"]:
        if node.get("@id") == "./":
            del node["conformsTo"]
    gb = rdflib.Graph()
    gb.parse(data=json.dumps(broken), format="json-ld", base=base)
    if not any("conforms to" in p for p in problems_of(gb, stage_runs)):
        failures.append("negative control: a root without conformsTo went unnoticed")

    for f in failures:
        print("FAIL: " + f)
    print("%d triples, %d files checked on disk: %s" % (len(g), files, "ok" if not failures else "FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
