#!/usr/bin/env python3
"""Test data for the genomic stage plugins, and an independent recount.

  gendata.py qc-reads DIR          paired FASTQ with Ns, varied lengths and
                                   TruSeq adapters planted after known inserts
  gendata.py recount FILE...       the QC figures of FASTQ files, as JSON
  gendata.py simulate REF DIR N [COVERAGE [LENGTH]]
                                   paired reads (2x100 at 30x by default) from
                                   REF with N planted SNVs (haploid), and
                                   truth.vcf

Deterministic: every random draw comes from random.Random(seed).random().
"""
import gzip
import json
import os
import random
import sys

TRUSEQ = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
COMP = str.maketrans("ACGTN", "TGCAN")


def draw(rng, n):
    return int(rng.random() * n)


def open_text(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def quality(rng, n, high=38):
    return "".join(chr(33 + max(2, high - draw(rng, 12) - i // 20)) for i in range(n))


def qc_reads(out_dir):
    rng = random.Random(7)
    planted = []
    with gzip.open(os.path.join(out_dir, "S1_R1.fastq.gz"), "wt") as r1, \
            gzip.open(os.path.join(out_dir, "S1_R2.fastq.gz"), "wt") as r2:
        for i in range(3000):
            length = 100 if i % 7 else 60 + draw(rng, 41)
            for mate, out in ((1, r1), (2, r2)):
                seq = "".join("ACGT"[draw(rng, 4)] for _ in range(length))
                if i % 11 == 0:
                    pos = draw(rng, length)
                    seq = seq[:pos] + "N" + seq[pos + 1:]
                if mate == 1 and i % 5 == 0:
                    insert = 40 + draw(rng, 40)
                    seq = (seq[:insert] + TRUSEQ + seq)[:length]
                    planted.append((i, insert))
                out.write("@read%d/%d\n%s\n+\n%s\n" % (i, mate, seq, quality(rng, length)))
    with open(os.path.join(out_dir, "planted.tsv"), "w") as f:
        for name, insert in planted:
            f.write("read%d/1\t%d\n" % (name, insert))


def recount(paths):
    files = []
    for path in paths:
        reads = bases = qsum = q30 = n = gc = acgt = truseq = nextera = 0
        lengths = {}
        pos_sum = []
        pos_n = []
        with open_text(path) as f:
            while True:
                header = f.readline()
                if not header:
                    break
                seq = f.readline().rstrip("\n")
                f.readline()
                qual = f.readline().rstrip("\n")
                reads += 1
                bases += len(seq)
                lengths[len(seq)] = lengths.get(len(seq), 0) + 1
                while len(pos_sum) < len(seq):
                    pos_sum.append(0)
                    pos_n.append(0)
                for i, (b, q) in enumerate(zip(seq, qual)):
                    v = ord(q) - 33
                    qsum += v
                    q30 += v >= 30
                    pos_sum[i] += v
                    pos_n[i] += 1
                    b = b.upper()
                    n += b == "N"
                    gc += b in "GC"
                    acgt += b in "ACGT"
                truseq += "AGATCGGAAGAG" in seq
                nextera += "CTGTCTCTTATA" in seq
        files.append({
            "reads": reads, "bases": bases,
            "mean_quality": qsum / bases, "q30_fraction": q30 / bases,
            "n_fraction": n / bases, "gc_fraction": gc / acgt,
            "length_distribution": sorted([k, v] for k, v in lengths.items()),
            "per_position_mean": [s / c for s, c in zip(pos_sum, pos_n)],
            "adapter_fraction": {"truseq": truseq / reads, "nextera": nextera / reads},
        })
    json.dump({"files": files}, sys.stdout)


def read_fasta(path):
    name, seq = None, []
    with open_text(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
            elif line:
                seq.append(line.upper())
    return name, "".join(seq)


def simulate(ref_path, out_dir, n_snvs, coverage=30, length=100):
    rng = random.Random(11)
    chrom, ref = read_fasta(ref_path)
    genome = list(ref)
    snvs = []
    step = len(ref) // (n_snvs + 1)
    for k in range(n_snvs):
        pos = step * (k + 1) + draw(rng, step // 2)
        alt = "ACGT".replace(genome[pos], "")[draw(rng, 3)]
        snvs.append((pos + 1, genome[pos], alt))
        genome[pos] = alt
    genome = "".join(genome)
    insert = 3 * length
    pairs = len(genome) * coverage // (2 * length)
    with gzip.open(os.path.join(out_dir, "sim_R1.fastq.gz"), "wt") as r1, \
            gzip.open(os.path.join(out_dir, "sim_R2.fastq.gz"), "wt") as r2:
        for i in range(pairs):
            start = draw(rng, len(genome) - insert)
            frag = genome[start:start + insert]
            if draw(rng, 2):
                frag = frag.translate(COMP)[::-1]
            for mate, out, seq in ((1, r1, frag[:length]),
                                   (2, r2, frag[-length:].translate(COMP)[::-1])):
                seq = "".join(b if rng.random() > 0.002 else "ACGT"[draw(rng, 4)] for b in seq)
                out.write("@sim%d/%d\n%s\n+\n%s\n" % (i, mate, seq, "I" * length))
    with open(os.path.join(out_dir, "truth.vcf"), "w") as f:
        f.write("##fileformat=VCFv4.2\n##contig=<ID=%s,length=%d>\n" % (chrom, len(ref)))
        f.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
        for pos, r, a in snvs:
            f.write("%s\t%d\t.\t%s\t%s\t.\tPASS\t.\tGT\t1\n" % (chrom, pos, r, a))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "qc-reads":
        qc_reads(sys.argv[2])
    elif cmd == "recount":
        recount(sys.argv[2:])
    elif cmd == "simulate":
        simulate(sys.argv[2], sys.argv[3], int(sys.argv[4]), *[int(a) for a in sys.argv[5:7]])
    else:
        sys.exit("unknown command " + cmd)
