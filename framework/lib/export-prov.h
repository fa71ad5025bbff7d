/* A run as W3C PROV-JSON (https://www.w3.org/Submission/prov-json/), for
 * auditors whose tools know PROV and nothing of Strand.
 *
 *   entities    data items, named by digest (data:<sha256>): name, SHA-256,
 *               MD5, size, format, sample, the path it was ingested from
 *   activities  stage runs (run:seq-N, the ledger's seq): stage, sample,
 *               plugin, version, the .so's digest and path, parameters
 *               (param:NAME), tools, equipment, resources, attempt, status,
 *               exit status, start and end, the record's hash
 *   agents      the host that ran and signed (host:<keyid>, whose URI is
 *               the builder id of the records), each plugin build
 *               (plugin:<sha256 of the .so>) as a prov:SoftwareAgent acting
 *               for the host, each piece of equipment, and each operator who
 *               ingested an input (prov:Person)
 *   relations   used, wasGeneratedBy, wasDerivedFrom (each output from each
 *               input of its stage run), wasInformedBy (a stage run from the
 *               one whose output it used), wasAssociatedWith (host, plugin,
 *               equipment), wasAttributedTo (outputs to the host, ingested
 *               inputs to their operator), actedOnBehalfOf (plugin for host)
 *
 * Only W3C PROV-JSON members are used (no bundles), so the document is valid
 * against the PROV-JSON schema; the prefix map names every namespace. */
#pragma once

#include "run-records.h"

G_BEGIN_DECLS

JsonNode *strand_export_prov_json (const StrandRunRecords *run);

G_END_DECLS
