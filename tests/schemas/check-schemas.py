#!/usr/bin/python3
"""Checks the JSON Schemas in schemas/ and the files that follow them.

Usage: check-schemas.py SOURCE_ROOT

1. Every schemas/*.schema.json is a valid draft 2020-12 schema with an $id,
   and every object schema that lists properties is closed
   (additionalProperties: false).
2. Every example in packaging/pipelines/ is valid against the schema of its
   kind: *.samples.json and *.samples.tsv are sample sheets (a TSV row is
   converted to the JSON model first), *.equipment.json are equipment
   inventories, and any other *.json is a pipeline. The same goes for the
   files under tests/data/valid/ when that folder exists.
3. Negative controls: one-member changes to valid documents (wrong type,
   unknown member, bad pattern, number out of range, impossible date) must be
   rejected, so that this test can fail.

Exits 0 when every check passes and 1 otherwise; a missing python3-jsonschema
is a failure, not a skip.
"""

import copy
import csv
import datetime
import json
import os
import re
import sys
import tempfile

try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker
except ImportError as e:  # a failure, not a skip (77)
    print("FAIL: python3-jsonschema is required (apt-get install python3-jsonschema): %s" % e)
    sys.exit(1)

DELETE = object()

# RFC 3339 date-time (section 5.6), with seconds and a zone. jsonschema checks
# "date-time" only when the optional rfc3339-validator module is installed,
# which Debian 12 lacks; this checker makes the check the same everywhere.
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))\Z")


def make_format_checker():
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        m = RFC3339.match(value)
        if m is None:
            raise ValueError("%r is not an RFC 3339 date-time" % value)
        year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
        if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
            raise ValueError("%r has an impossible zone offset" % value)
        # Raises ValueError for 30 February, hour 24, second 60 and the like.
        datetime.datetime(year, month, day, hour, minute, second)
        return True

    return checker


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what):
        self.passed += 1
        print("ok: %s" % what)

    def fail(self, what, details=()):
        self.failed += 1
        print("FAIL: %s" % what)
        for d in details:
            print("    %s" % d)


def error_lines(validator, doc):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return ["/%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in errors]


# ---- the schemas themselves ---------------------------------------------------

def open_objects_in(node, where="#"):
    """JSON pointers of object schemas that list properties but stay open."""
    found = []
    if isinstance(node, dict):
        if (node.get("type") == "object" and "properties" in node
                and node.get("additionalProperties") is not False
                and node.get("unevaluatedProperties") is not False):
            found.append(where)
        for key, value in node.items():
            if key in ("enum", "const", "examples", "default"):
                continue
            found += open_objects_in(value, "%s/%s" % (where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += open_objects_in(value, "%s/%d" % (where, i))
    return found


def check_schemas(checks, schema_dir):
    schemas = {}
    names = sorted(n for n in os.listdir(schema_dir) if n.endswith(".schema.json"))
    if not names:
        checks.fail("no *.schema.json in %s" % schema_dir)
    for name in names:
        path = os.path.join(schema_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
        except (ValueError, jsonschema.exceptions.SchemaError) as e:
            checks.fail("%s is not a valid schema" % name, str(e).splitlines()[:5])
            continue
        problems = []
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problems.append("$schema is not draft 2020-12")
        if not schema.get("$id"):
            problems.append("no $id")
        if not schema.get("title") or not schema.get("description"):
            problems.append("no title or description")
        problems += ["%s: object schema without additionalProperties: false" % p
                     for p in open_objects_in(schema)]
        if problems:
            checks.fail("%s follows the house style" % name, problems)
        else:
            checks.ok("%s is a valid, closed draft 2020-12 schema" % name)
        schemas[name[:-len(".schema.json")]] = schema
    return schemas


# ---- TSV sample sheets ---------------------------------------------------------

TSV_SAMPLE_FIELDS = ("type", "collected", "degradation_class", "priority")
TSV_FILE_FIELDS = ("sha256", "format")
TSV_KNOWN = ("sample_id",) + TSV_SAMPLE_FIELDS + ("input", "path") + TSV_FILE_FIELDS


def tsv_to_model(path):
    """Reads a TSV sample sheet as samples.c does. Returns (rows, document,
    problems): rows are (line number, the row as a one-sample JSON document);
    document is the whole sheet as JSON; problems are what no schema can say
    (header, field counts, rows of one sample that disagree)."""
    problems = []
    with open(path, encoding="utf-8", newline="") as f:
        lines = [(i + 1, line.rstrip("\r\n").rstrip("\r")) for i, line in enumerate(f)]
    lines = [(n, l) for n, l in lines if l and not l.startswith("#")]
    if not lines:
        return [], {"samples": []}, ["no header row"]
    records = list(csv.reader([l for _, l in lines], delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.strip() for h in records[0]]
    if any(not h for h in header) or len(set(header)) != len(header):
        problems.append("line %d: a header is empty or repeated" % lines[0][0])
    if "sample_id" not in header:
        problems.append("line %d: the header has no 'sample_id' column" % lines[0][0])
        return [], {"samples": []}, problems
    if ("input" in header) != ("path" in header):
        problems.append("line %d: 'input' and 'path' columns go together" % lines[0][0])
    has_files = "path" in header

    rows = []
    samples = {}
    for (lineno, _), record in zip(lines[1:], records[1:]):
        if len(record) != len(header):
            problems.append("line %d: %d fields where the header has %d"
                            % (lineno, len(record), len(header)))
            continue
        cells = {h: c.strip() for h, c in zip(header, record) if c.strip()}
        sample = {"id": cells.get("sample_id", "")}
        for k in TSV_SAMPLE_FIELDS:
            if k in cells:
                sample[k] = cells[k]
        meta = {h: v for h, v in cells.items() if h not in TSV_KNOWN}
        if meta:
            sample["meta"] = meta
        if "input" in cells or "path" in cells:
            entry = {"path": cells.get("path", "")}
            for k in TSV_FILE_FIELDS:
                if k in cells:
                    entry[k] = cells[k]
            sample["inputs"] = {cells.get("input", ""): [entry]}
        rows.append((lineno, {"samples": [sample]}))

        first = samples.get(sample["id"])
        if first is None:
            samples[sample["id"]] = (lineno, copy.deepcopy(sample))
            continue
        first_line, merged = first
        if not has_files:
            problems.append("line %d: sample id '%s' is used twice (first at line %d)"
                            % (lineno, sample["id"], first_line))
            continue
        for k in TSV_SAMPLE_FIELDS:
            if k in sample and merged.setdefault(k, sample[k]) != sample[k]:
                problems.append("line %d: sample '%s': %s is '%s' here but '%s' at line %d"
                                % (lineno, sample["id"], k, sample[k], merged[k], first_line))
        for k, v in sample.get("meta", {}).items():
            if merged.setdefault("meta", {}).setdefault(k, v) != v:
                problems.append("line %d: sample '%s': %s is '%s' here but '%s' at line %d"
                                % (lineno, sample["id"], k, v, merged["meta"][k], first_line))
        for name, files in sample.get("inputs", {}).items():
            merged.setdefault("inputs", {}).setdefault(name, []).extend(files)
    document = {"samples": [s for _, s in samples.values()]}
    return rows, document, problems


# ---- examples -------------------------------------------------------------------

KINDS = ("pipeline", "samples", "equipment")


def kind_of(name, kinds=KINDS):
    """NAME.KIND.json is of that kind (KIND a schema's name, e.g.
    facility.equipment.json); NAME.samples.tsv is a TSV sample sheet; any
    other *.json is a pipeline."""
    if name.endswith(".samples.tsv"):
        return "samples"
    if not name.endswith(".json"):
        return None
    parts = name[:-len(".json")].rsplit(".", 1)
    if len(parts) == 2 and parts[1] in kinds:
        return parts[1]
    return "pipeline"


def validate_file(checks, validators, path, label):
    name = os.path.basename(path)
    kind = kind_of(name, set(KINDS) | set(validators))
    if kind is None:
        return
    if kind not in validators:
        checks.fail("%s: there is no schemas/%s.schema.json" % (label, kind))
        return
    validator = validators[kind]
    if name.endswith(".tsv"):
        try:
            rows, document, problems = tsv_to_model(path)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            checks.fail("%s: unreadable: %s" % (label, e))
            return
        details = list(problems)
        for lineno, row in rows:
            details += ["line %d: %s" % (lineno, e) for e in error_lines(validator, row)]
        details += ["as JSON: %s" % e for e in error_lines(validator, document)]
        if details:
            checks.fail("%s is a valid TSV %s sheet" % (label, kind), details)
        else:
            checks.ok("%s is a valid TSV %s sheet (%d rows)" % (label, kind, len(rows)))
        return
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        checks.fail("%s: not JSON: %s" % (label, e))
        return
    details = error_lines(validator, doc)
    if details:
        checks.fail("%s is valid against %s.schema.json" % (label, kind), details)
    else:
        checks.ok("%s is valid against %s.schema.json" % (label, kind))


def check_examples(checks, validators, root):
    examples = os.path.join(root, "packaging", "pipelines")
    found = 0
    for name in sorted(os.listdir(examples)):
        if kind_of(name):
            found += 1
            validate_file(checks, validators, os.path.join(examples, name),
                          "packaging/pipelines/" + name)
    if found == 0:
        checks.fail("no example files in packaging/pipelines")
    valid_dir = os.path.join(root, "tests", "data", "valid")
    if os.path.isdir(valid_dir):
        for dirpath, _, files in sorted(os.walk(valid_dir)):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                validate_file(checks, validators, path, os.path.relpath(path, root))


# ---- negative controls -----------------------------------------------------------

def mutate(doc, pointer, value):
    doc = copy.deepcopy(doc)
    parts = pointer.lstrip("/").split("/")
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if isinstance(node, list):
        last = int(last)
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


PIPELINE = {
    "name": "wgs-germline",
    "description": "align, sort, call",
    "inputs": [{"name": "reads", "formats": "fastq"}],
    "stages": [
        {"id": "align", "plugin": "bwa-mem", "version": ">=0.7.17, <0.8",
         "sha256": "ab260b8c6653d4e1d7bb52d09bf8f675c0e5d544e20c7c5b70c55796a76e5fc7",
         "params": {"reference": "ref/GRCh38.fa", "threads": 8, "min_score": 30.5, "mark_split": True},
         "resources": {"cores": 8, "gpus": 0, "memory_bytes": 17179869184,
                       "expected_seconds": 3600, "equipment_class": "compute"}},
        {"id": "call", "plugin": "bcftools-call", "version": "^1.2.3-rc.1"},
    ],
    "edges": [
        {"from": "@reads", "to": "align.reads"},
        {"from": "align.bam", "to": "call.alignments"},
    ],
    "outputs": ["call.vcf"],
    "qc": {"min_reads": 1000000, "min_mean_quality": 28, "max_n_fraction": 0.01},
}

SAMPLES = {
    "samples": [
        {"id": "NA12878_rep-1.b", "type": "blood", "collected": "2026-03-02T08:15:00.250+01:00",
         "degradation_class": "whole-blood", "priority": "stat",
         "inputs": {"reads": ["lane1.fastq.gz", {
             "path": "/data/lane2.fastq.gz",
             "sha256": "ab260b8c6653d4e1d7bb52d09bf8f675c0e5d544e20c7c5b70c55796a76e5fc7",
             "format": "fastq"}]},
         "meta": {"study": "demo", "read_group": "RG1"}},
    ],
}

EQUIPMENT = {
    "equipment": [
        {"id": "Seq-01.lab", "class": "sequencer", "capacity": 1, "cores": 0, "memory_bytes": 0,
         "gpus": 0,
         "hours": [{"days": ["mon", "fri"], "start": "22:00", "end": "06:00"},
                   {"days": ["sat"], "start": "00:00", "end": "24:00"}],
         "maintenance": [{"start": "2027-01-12T07:00:00Z", "end": "2027-01-13T07:00:00Z",
                          "reason": "service"}]},
    ],
}

# (pointer, new value or DELETE): each must make the document invalid.
MUTATIONS = {
    "pipeline": (PIPELINE, [
        ("/surplus", 1),
        ("/name", DELETE),
        ("/name", "-starts-with-dash"),
        ("/name", "has space"),
        ("/name", "x" * 129),
        ("/name", 7),
        ("/description", None),
        ("/stages", DELETE),
        ("/stages", {}),
        ("/inputs/0/name", "Reads"),
        ("/inputs/0/formats", "fastq,sff"),
        ("/inputs/0/formats", ""),
        ("/inputs/0/formats", DELETE),
        ("/inputs/0/surplus", True),
        ("/stages/0/id", DELETE),
        ("/stages/0/id", "Align"),
        ("/stages/0/id", "al.ign"),
        ("/stages/0/plugin", DELETE),
        ("/stages/0/plugin", "x" * 65),
        ("/stages/0/version", "1.2.3.4"),
        ("/stages/0/version", "~1.2"),
        ("/stages/0/version", "^01.2"),
        ("/stages/0/version", "1.2-rc"),
        ("/stages/0/version", "^1,"),
        ("/stages/0/version", ""),
        ("/stages/0/version", 1),
        ("/stages/0/sha256", "AB260B8C6653D4E1D7BB52D09BF8F675C0E5D544E20C7C5B70C55796A76E5FC7"),
        ("/stages/0/sha256", "ab260b8c"),
        ("/stages/0/params/threads", [8]),
        ("/stages/0/params/threads", None),
        ("/stages/0/params/threads", {"value": 8}),
        ("/stages/0/params/Threads", 8),
        ("/stages/0/resources/cores", 0),
        ("/stages/0/resources/cores", 2.5),
        ("/stages/0/resources/cores", "8"),
        ("/stages/0/resources/gpus", -1),
        ("/stages/0/resources/memory_bytes", -1),
        ("/stages/0/resources/expected_seconds", -0.5),
        ("/stages/0/resources/equipment_class", "GPU node"),
        ("/stages/0/resources/scratch_bytes", 1),
        ("/stages/0/surplus", 1),
        ("/edges/0/from", "@reads.fq"),
        ("/edges/0/from", "align"),
        ("/edges/0/to", "@reads"),
        ("/edges/0/to", DELETE),
        ("/edges/1/from", "align.bam.bai"),
        ("/edges/0/surplus", "x"),
        ("/outputs/0", "call"),
        ("/outputs/0", "@reads"),
        ("/qc/min_reads", -1),
        ("/qc/min_reads", 1.5),
        ("/qc/min_mean_quality", 94),
        ("/qc/max_n_fraction", 1.5),
        ("/qc/max_n_fraction", "0.1"),
        ("/qc/surplus", 1),
    ]),
    "samples": (SAMPLES, [
        ("/surplus", 1),
        ("/samples", DELETE),
        ("/samples", []),
        ("/samples", {}),
        ("/samples/0/id", DELETE),
        ("/samples/0/id", ".hidden"),
        ("/samples/0/id", "S 1"),
        ("/samples/0/id", "x" * 129),
        ("/samples/0/id", 1),
        ("/samples/0/type", ""),
        ("/samples/0/type", 3),
        ("/samples/0/collected", "2026-03-02"),
        ("/samples/0/collected", "2026-03-02T08:15:00"),
        ("/samples/0/collected", "2026-13-02T08:15:00Z"),
        ("/samples/0/collected", "2026-02-30T08:15:00Z"),  # only the format checker sees this
        ("/samples/0/collected", "2026-03-02 08:15:00Z"),
        ("/samples/0/collected", "2026-03-02t08:15:00z"),  # RFC 3339, but the host wants T and Z
        ("/samples/0/collected", "2026-03-02T08:15:00+0100"),
        ("/samples/0/degradation_class", "Whole Blood"),
        ("/samples/0/priority", "asap"),
        ("/samples/0/priority", None),
        ("/samples/0/inputs/reads", "lane1.fastq.gz"),
        ("/samples/0/inputs/reads", []),
        ("/samples/0/inputs/Reads", ["x.fastq"]),
        ("/samples/0/inputs/reads/0", ""),
        ("/samples/0/inputs/reads/1/path", DELETE),
        ("/samples/0/inputs/reads/1/sha256", "ab260b8c"),
        ("/samples/0/inputs/reads/1/format", "any"),
        ("/samples/0/inputs/reads/1/format", "sff"),
        ("/samples/0/inputs/reads/1/surplus", 1),
        ("/samples/0/meta/study", 1),
        ("/samples/0/meta/", "empty name"),
        ("/samples/0/surplus", "free fields go in meta"),
    ]),
    "equipment": (EQUIPMENT, [
        ("/surplus", 1),
        ("/equipment", DELETE),
        ("/equipment", []),
        ("/equipment/0/id", DELETE),
        ("/equipment/0/id", "-seq"),
        ("/equipment/0/id", "x" * 65),
        ("/equipment/0/class", DELETE),
        ("/equipment/0/class", "Sequencer"),
        ("/equipment/0/capacity", 0),
        ("/equipment/0/capacity", 1.5),
        ("/equipment/0/cores", -1),
        ("/equipment/0/memory_bytes", "16G"),
        ("/equipment/0/gpus", -1),
        ("/equipment/0/hours", {"days": ["mon"], "start": "08:00", "end": "18:00"}),
        ("/equipment/0/hours/0/days", []),
        ("/equipment/0/hours/0/days", ["mon", "mon"]),
        ("/equipment/0/hours/0/days", ["monday"]),
        ("/equipment/0/hours/0/days", "mon"),
        ("/equipment/0/hours/0/start", "8:00"),
        ("/equipment/0/hours/0/start", "24:00"),
        ("/equipment/0/hours/0/end", "24:01"),
        ("/equipment/0/hours/0/end", "18:60"),
        ("/equipment/0/hours/0/end", DELETE),
        ("/equipment/0/hours/0/surplus", 1),
        ("/equipment/0/maintenance/0/start", "tomorrow"),
        ("/equipment/0/maintenance/0/start", "2027-01-12T07:00:00"),
        ("/equipment/0/maintenance/0/end", "2027-02-29T07:00:00Z"),  # only the format checker
        ("/equipment/0/maintenance/0/end", DELETE),
        ("/equipment/0/maintenance/0/reason", 3),
        ("/equipment/0/maintenance/0/surplus", 1),
        ("/equipment/0/surplus", 1),
    ]),
}


def check_negative_controls(checks, validators):
    for kind, (base, mutations) in sorted(MUTATIONS.items()):
        if kind not in validators:
            checks.fail("negative controls for %s: no schema" % kind)
            continue
        validator = validators[kind]
        errors = error_lines(validator, base)
        if errors:
            checks.fail("the %s control document is valid" % kind, errors)
            continue
        accepted = []
        for pointer, value in mutations:
            if not list(validator.iter_errors(mutate(base, pointer, value))):
                accepted.append("%s = %s" % (pointer, "(deleted)" if value is DELETE
                                             else json.dumps(value)))
        if accepted:
            checks.fail("%s.schema.json rejects every one-member change (%d of %d accepted)"
                        % (kind, len(accepted), len(mutations)), accepted)
        else:
            checks.ok("%s.schema.json rejects all %d one-member changes" % (kind, len(mutations)))

    # The date-time checker itself, in case a jsonschema release changes how
    # FormatChecker registration works.
    checker = make_format_checker()
    wrong = [v for v, want in [("2026-03-02T08:15:00Z", True), ("2024-02-29T23:59:59.5-05:30", True),
                               ("2026-02-30T08:15:00Z", False), ("2026-03-02T08:15:60Z", False),
                               ("2026-03-02T08:15Z", False), ("2026-03-02T08:15:00+24:00", False)]
             if checker.conforms(v, "date-time") != want]
    if wrong:
        checks.fail("the date-time format checker", wrong)
    else:
        checks.ok("the date-time format checker accepts RFC 3339 and rejects impossible dates")

    # TSV sample sheets: the rules no schema states.
    bad_sheets = {
        "no sample_id column": "id\ttype\nS1\tblood\n",
        "a repeated header": "sample_id\ttype\ttype\nS1\tblood\tblood\n",
        "a short row": "sample_id\ttype\tstudy\nS1\tblood\n",
        "input without path": "sample_id\tinput\nS1\treads\n",
        "a sample twice without files": "sample_id\ttype\nS1\tblood\nS1\tblood\n",
        "rows that disagree": "sample_id\ttype\tinput\tpath\nS1\tblood\treads\ta.fq\nS1\trna\treads\tb.fq\n",
        "a bad priority": "sample_id\tpriority\nS1\tsoon\n",
        "a bad sample id": "sample_id\ttype\n.S1\tblood\n",
        "a bad time": "sample_id\tcollected\nS1\t2026-02-30T08:00:00Z\n",
        "a path without input name": "sample_id\tinput\tpath\nS1\t\ta.fq\n",
    }
    good_sheet = ("# comment\nsample_id\ttype\tinput\tpath\tsha256\tformat\tstudy\n"
                  "S1\tblood\treads\ta.fq\t\tfastq\tdemo\r\n\nS1\t\treads\tb.fq\t\t\tdemo\n"
                  "S2\trna\treads\tc.bam\t%s\tbam\t\n" % ("0" * 64))
    with tempfile.TemporaryDirectory() as tmp:
        def sheet_ok(text):
            path = os.path.join(tmp, "sheet.samples.tsv")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            rows, document, problems = tsv_to_model(path)
            errors = list(problems)
            for _, row in rows:
                errors += error_lines(validators["samples"], row)
            errors += error_lines(validators["samples"], document)
            return not errors, errors, document

        ok, errors, document = sheet_ok(good_sheet)
        files = [f for s in document["samples"] for f in s.get("inputs", {}).get("reads", [])]
        if not ok or len(document["samples"]) != 2 or len(files) != 3:
            checks.fail("a TSV sheet with two files for one sample is read as two samples",
                        errors + [json.dumps(document)])
        else:
            checks.ok("a TSV sheet with two files for one sample is read as two samples")
        accepted = [what for what, text in sorted(bad_sheets.items()) if sheet_ok(text)[0]]
        if accepted:
            checks.fail("bad TSV sample sheets are rejected", accepted)
        else:
            checks.ok("all %d bad TSV sample sheets are rejected" % len(bad_sheets))


def main(argv):
    if len(argv) != 2:
        print("usage: %s SOURCE_ROOT" % argv[0])
        return 1
    root = argv[1]
    checks = Checks()
    schemas = check_schemas(checks, os.path.join(root, "schemas"))
    format_checker = make_format_checker()
    validators = {kind: Draft202012Validator(schema, format_checker=format_checker)
                  for kind, schema in schemas.items()}
    for kind in KINDS:
        if kind not in validators:
            checks.fail("schemas/%s.schema.json is missing or invalid" % kind)
    check_examples(checks, validators, root)
    check_negative_controls(checks, validators)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
