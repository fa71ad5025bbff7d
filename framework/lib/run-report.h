/* What an operator reads when a run ends: for each sample, whether it came
 * through every stage (or where it stopped, and why), and the figures the
 * pipeline's "report" names ("compare.snv_recall", "qc.q30_fraction").
 *
 *   {"run": ID, "columns": ["stage.metric"...],
 *    "samples": [{"sample": ID or null for the run's own stages,
 *                 "status": "ok" | "failed" | "incomplete",
 *                 "stopped_at": STAGE, "error_class": CLASS, "message": TEXT,
 *                 "values": {"stage.metric": number...}}]} */
#pragma once

#include "runner.h"

G_BEGIN_DECLS

JsonNode *strand_run_report (const StrandRun *run, const StrandPipeline *pipeline);
/* The report as a table for a terminal, one line per sample. */
char *strand_run_report_text (JsonNode *report);

G_END_DECLS
