#!/usr/bin/python3
"""A second implementation of basecall, to check the first.

Usage: check-basecall.py RUN_DIR OUTPUTS_DIR MISMATCHES SCHEMA

Reads the run folder with nothing but the Python standard library
(RunInfo.xml, SampleSheet.csv, BCL files plain or gzip, filter and locs
files), demultiplexes every cluster that passed the filter (at most
MISMATCHES mismatches per index, a no-call counting as one), and compares the
FASTQ records it expects with the files basecall wrote under OUTPUTS_DIR
(PORT/@SAMPLE/NAME), byte for byte. Then checks the statistics report
against SCHEMA (python3-jsonschema) and against the counts found here.
Exits 0 when everything agrees, 1 with the first difference otherwise.
"""

import csv
import gzip
import io
import json
import math
import os
import struct
import sys
import xml.etree.ElementTree as ET


def fail(msg):
    print("FAIL: %s" % msg)
    sys.exit(1)


def run_info(run):
    root = ET.parse(os.path.join(run, "RunInfo.xml")).getroot()
    r = root.find("Run")
    reads = []
    for e in r.find("Reads"):
        reads.append((int(e.get("Number")), int(e.get("NumCycles")), e.get("IsIndexedRead") == "Y"))
    reads.sort()
    tiles = sorted(tuple(int(x) for x in e.text.strip().split("_")) for e in r.iter("Tile"))
    return {
        "instrument": r.findtext("Instrument"),
        "number": int(r.get("Number")),
        "flowcell": r.findtext("Flowcell"),
        "reads": reads,
        "tiles": tiles,
    }


def sample_sheet(path):
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    data = lines[lines.index("[Data]") + 1:]
    rows = list(csv.DictReader(io.StringIO("\n".join(data))))
    samples, numbers = [], {}
    for row in rows:
        if not row.get("Sample_ID"):
            continue
        sid = row["Sample_ID"]
        numbers.setdefault(sid, len(numbers) + 1)
        samples.append({"id": sid, "number": numbers[sid], "index": row.get("index", "").upper(),
                         "index2": row.get("index2", "").upper()})
    return samples


def read_bcl(run, lane, tile, cycle):
    base = os.path.join(run, "Data/Intensities/BaseCalls/L%03d/C%d.1/s_%d_%d.bcl"
                        % (lane, cycle, lane, tile))
    if os.path.exists(base + ".gz"):
        with gzip.open(base + ".gz", "rb") as f:
            data = f.read()
    else:
        with open(base, "rb") as f:
            data = f.read()
    (n,) = struct.unpack_from("<I", data)
    if len(data) != 4 + n:
        fail("%s: %d bytes for %d clusters" % (base, len(data), n))
    return data[4:]


def read_tile(run, lane, tile, cycles):
    with open(os.path.join(run, "Data/Intensities/BaseCalls/L%03d/s_%d_%d.filter"
                           % (lane, lane, tile)), "rb") as f:
        data = f.read()
    zero, version, n = struct.unpack_from("<III", data)
    passed = [b & 1 for b in data[12:]]
    locs = os.path.join(run, "Data/Intensities/L%03d/s_%d_%d.locs" % (lane, lane, tile))
    if os.path.exists(locs):
        with open(locs, "rb") as f:
            data = f.read()
        one, _, count = struct.unpack_from("<ifI", data)
        xy = struct.unpack_from("<%df" % (2 * count), data, 12)
        coord = [(math.floor(xy[2 * k] * 10.0 + 1000.5), math.floor(xy[2 * k + 1] * 10.0 + 1000.5))
                 for k in range(count)]
    else:
        coord = [(k + 1, 0) for k in range(n)]
    bcl = [read_bcl(run, lane, tile, c) for c in range(1, cycles + 1)]
    return n, passed, coord, bcl


def bases(bcl, first, length, k):
    seq, qual = [], []
    for c in range(first, first + length):
        b = bcl[c][k]
        if b & 0xFC == 0:
            seq.append("N")
            qual.append("#")
        else:
            seq.append("ACGT"[b & 3])
            qual.append(chr((b >> 2) + 33))
    return "".join(seq), "".join(qual)


def mismatches(observed, expected):
    return sum(1 for o, e in zip(observed, expected) if o == "N" or o != e)


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    run, outputs, allowed, schema_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    info = run_info(run)
    samples = sample_sheet(os.path.join(run, "SampleSheet.csv"))
    first = {}
    cycle = 0
    seq_reads, idx_reads = [], []
    for number, cycles, is_index in info["reads"]:
        (idx_reads if is_index else seq_reads).append((cycle, cycles))
        cycle += cycles
    len7 = len(samples[0]["index"])
    len5 = len(samples[0]["index2"])

    expected = {}  # (sample id or None, read) -> list of records
    counts = {}    # sample id or None -> [clusters, yield, q30, perfect, one]
    raw = pf = 0
    for lane, tile in info["tiles"]:
        n, passed, coord, bcl = read_tile(run, lane, tile, cycle)
        raw += n
        for k in range(n):
            if not passed[k]:
                continue
            pf += 1
            i7 = bases(bcl, idx_reads[0][0], len7, k)[0] if idx_reads else ""
            i5 = bases(bcl, idx_reads[1][0], len5, k)[0] if len(idx_reads) > 1 and len5 else ""
            owner, mm = None, 0
            for s in samples:
                d7, d5 = mismatches(i7, s["index"]), mismatches(i5, s["index2"])
                if d7 <= allowed and d5 <= allowed:
                    owner, mm = s["id"], d7 + d5
                    break
            index = i7 + ("+" + i5 if len5 else "")
            name = "%s:%d:%s:%d:%d:%d:%d" % (info["instrument"], info["number"], info["flowcell"],
                                             lane, tile, coord[k][0], coord[k][1])
            c = counts.setdefault(owner, [0, 0, 0, 0, 0])
            c[0] += 1
            c[3] += mm == 0
            c[4] += mm == 1
            for r, (start, length) in enumerate(seq_reads):
                seq, qual = bases(bcl, start, length, k)
                expected.setdefault((owner, r), []).append(
                    "@%s %d:N:0:%s\n%s\n+\n%s\n" % (name, r + 1, index, seq, qual))
                c[1] += length
                c[2] += sum(1 for q in qual if ord(q) - 33 >= 30)

    checked = 0
    for s in samples + [{"id": None, "number": 0}]:
        for r in range(len(seq_reads)):
            if s["id"] is None:
                path = os.path.join(outputs, "undetermined", "Undetermined_S0_R%d_001.fastq.gz" % (r + 1))
            else:
                path = os.path.join(outputs, "read%d" % (r + 1), "@" + s["id"],
                                    "%s_S%d_R%d_001.fastq.gz" % (s["id"], s["number"], r + 1))
            with gzip.open(path, "rt") as f:
                got = f.read()
            want = "".join(expected.get((s["id"], r), []))
            if got != want:
                for a, b in zip(got.splitlines(), want.splitlines()):
                    if a != b:
                        fail("%s: basecall wrote %r where %r was expected" % (path, a, b))
                fail("%s: %d lines written, %d expected" % (path, got.count("\n"), want.count("\n")))
            checked += len(expected.get((s["id"], r), []))

    import jsonschema
    with open(schema_path) as f:
        schema = json.load(f)
    with open(os.path.join(outputs, "stats", "demux-stats.json")) as f:
        stats = json.load(f)
    jsonschema.Draft202012Validator(schema).validate(stats)
    lanes = stats["lanes"]
    if sum(l["clusters_raw"] for l in lanes) != raw or sum(l["clusters_pf"] for l in lanes) != pf:
        fail("lane totals %s differ from %d raw, %d passing" % (lanes, raw, pf))
    for s in stats["samples"]:
        c = counts.get(s["sample_id"], [0] * 5)
        got = [s["clusters"], s["yield"], s["yield_q30"], s["perfect_index_reads"],
               s["one_mismatch_index_reads"]]
        if got != c:
            fail("statistics of %s: %s, counted %s" % (s["sample_id"], got, c))
    if stats["undetermined"]["clusters"] != counts.get(None, [0])[0]:
        fail("undetermined: %d, counted %d" % (stats["undetermined"]["clusters"], counts.get(None, [0])[0]))
    print("ok: %d records match, %d clusters (%d passed the filter), statistics agree"
          % (checked, raw, pf))


if __name__ == "__main__":
    main()
