/* What the ledger records, and in which form.
 *
 * The log (ledger/log.jsonl) holds one record per line, in this order of
 * members, written canonically (canonical-json.h):
 *
 *   {"dsse": ENVELOPE, "prev": "<sha256 hex of the previous line>", "seq": N}
 *
 * `seq` counts from 1; the first record's `prev` is 64 zeros. The hash of a
 * record is the SHA-256 of its line without the newline; the next record's
 * `prev` is that hash, and so are the Merkle tree's leaves.
 *
 * ENVELOPE is a DSSE envelope (https://github.com/secure-systems-lab/dsse):
 *
 *   {"payload": "<base64 of the statement>",
 *    "payloadType": "application/vnd.in-toto+json",
 *    "signatures": [{"keyid": "<sha256 hex of the Ed25519 public key>",
 *                    "sig": "<base64 Ed25519 signature over PAE>"}]}
 *
 * where PAE = "DSSEv1" SP len(type) SP type SP len(payload) SP payload, the
 * lengths in ASCII decimal, the payload the raw statement bytes.
 *
 * The statement is an in-toto Statement v1, canonical JSON:
 *
 *   {"_type": "https://in-toto.io/Statement/v1",
 *    "subject": [{"name": NAME, "digest": {"sha256": HEX}}...],
 *    "predicateType": TYPE, "predicate": {...}}
 *
 * and the signed copy of the chain is in the predicate:
 * predicate.ledger = {"seq": N, "prev": HEX} for Strand's own types, and
 * predicate.buildDefinition.internalParameters.ledger for SLSA provenance.
 * A verifier checks that the line's seq/prev equal the signed ones.
 *
 * Record kinds (predicateType):
 *
 * - STRAND_RECORD_STAGE_RUN "https://slsa.dev/provenance/v1": one attempt of
 *   one stage on one sample. subject = the outputs (name "PORT/FILE").
 *   buildDefinition: buildType STRAND_BUILD_TYPE; externalParameters
 *   {"run", "stage", "sample", "plugin", "plugin_version", "params"};
 *   internalParameters {"ledger", "attempt", "equipment", "resources"};
 *   resolvedDependencies: inputs {"name": "input:PORT/FILE", "digest"},
 *   the plugin {"name": "plugin:NAME", "uri": PATH, "digest"} and tools
 *   {"name": "tool:PATH", "digest", "annotations": {"version"}}.
 *   runDetails: builder.id = the host ("strand:host:<keyid>"),
 *   metadata {"invocationId": RUN, "startedOn", "finishedOn"} (RFC 3339),
 *   byproducts [{"name": "exit", "annotations": {"status", "error_class",
 *   "message"}}].
 *
 * - STRAND_RECORD_INGEST "urn:strand:record:ingest:v1": raw data entering
 *   the store. subject = the object (name = original path). predicate
 *   {"ledger", "path", "size", "md5", "format", "sample", "metadata",
 *   "operator", "time"}.
 *
 * - STRAND_RECORD_MATERIALIZE "urn:strand:record:materialize:v1": an object
 *   copied or linked out of the store to a user path. subject = the object.
 *   predicate {"ledger", "path", "method", "operator", "time"}.
 *
 * - STRAND_RECORD_GC "urn:strand:record:gc:v1": objects removed by `strand
 *   gc`. subject = the objects removed. predicate {"ledger", "bytes",
 *   "time", "operator"}.
 *
 * - STRAND_RECORD_EVENT "urn:strand:record:event:v1": anything else worth
 *   keeping (equipment events, run start and end). subject may be empty.
 *   predicate {"ledger", "event", "time", "details"}.
 *
 * - STRAND_RECORD_EQUIPMENT_STATUS "urn:strand:record:equipment-status:v1":
 *   a machine's status changed (equipment-monitor.h). subject empty.
 *   predicate {"ledger", "equipment", "class", "status", "previous",
 *   "time", "counters" {NAME: count since service}, and when they apply
 *   "reason", "tasks" (running now), "interrupted" (tasks it cut short),
 *   "serviced": true, "failure": true, "source" ("FEED:LINE")}.
 *
 * - STRAND_RECORD_DECISION "urn:strand:record:decision:v1": what the host
 *   decided about a task after an attempt or before one: "retry",
 *   "retry-escalate", "reroute", "fallback", "fail-sample", "quarantine",
 *   "halt", "continue", "reuse" (a verified output of an earlier run
 *   stands for the task), "cancel", "skip". subject = the outputs it
 *   concerns (quarantined or reused), may be empty. predicate {"ledger",
 *   "run", "stage", "sample", "attempt", "decision", "error_class",
 *   "reason", "details", "time"}.
 *
 * A stage run's internalParameters also carry "cache": {"key": HEX, "parts":
 * {"plugin", "params", "inputs", "resources", "sample"}, "work_dir"}: the task's cache
 * key (the SHA-256 of the canonical JSON of its parts), by which a resumed
 * run finds the output, and where its outputs were staged.
 *
 * When an executor ran the attempt elsewhere, internalParameters carry
 * "placement": for the Slurm executor {"executor": "slurm", "job_id",
 * "node", "partition", and for a job array's task "array_job_id" and
 * "array_task_id"; "own_job": true when the task had the job to itself}.
 */
#pragma once

#define STRAND_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define STRAND_DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define STRAND_RECORD_STAGE_RUN "https://slsa.dev/provenance/v1"
#define STRAND_BUILD_TYPE "urn:strand:build:stage-run:v1"
#define STRAND_RECORD_INGEST "urn:strand:record:ingest:v1"
#define STRAND_RECORD_MATERIALIZE "urn:strand:record:materialize:v1"
#define STRAND_RECORD_GC "urn:strand:record:gc:v1"
#define STRAND_RECORD_EVENT "urn:strand:record:event:v1"
#define STRAND_RECORD_EQUIPMENT_STATUS "urn:strand:record:equipment-status:v1"
#define STRAND_RECORD_DECISION "urn:strand:record:decision:v1"
#define STRAND_LEDGER_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
