/* What an operator reads when a run ends: for each sample, whether it came
 * through every stage (or where it stopped, and why), and the figures the
 * pipeline's "report" names ("compare.snv_recall", "qc.q30_fraction");
 * beneath them each figure over the samples and how many passed; where the
 * pipeline's outputs are; and how the run used its equipment (run-usage.h).
 *
 *   {"run": ID, "columns": ["stage.metric"...],
 *    "samples": [{"sample": ID or null for the run's own stages,
 *                 "status": "ok" | "failed" | "incomplete",
 *                 "stopped_at": STAGE, "error_class": CLASS, "message": TEXT,
 *                 "values": {"stage.metric": number...}}],
 *    "summary": [{"column": "stage.metric", "samples": N,
 *                 "min": X, "median": X, "max": X}...],
 *    "verdicts": {"samples": N, "ok": N, "failed": N, "incomplete": N,
 *                 "failed_at": {STAGE: N...}}}
 *
 * "summary" has the columns some sample has a figure in, over those samples
 * (the median of an even count is the mean of the middle two); a stage that
 * fails samples on quality (QC) shows in "failed_at". Generic: nothing here
 * knows what a column means. */
#pragma once

#include "equipment.h"
#include "runner.h"

G_BEGIN_DECLS

JsonNode *strand_run_report (const StrandRun *run, const StrandPipeline *pipeline);
/* The report as a table for a terminal, one line per sample, then a line
 * per column over the samples and the samples' verdicts. */
char *strand_run_report_text (JsonNode *report);

/* The pipeline's declared outputs ("call.vcf") this run made, and one of
 * them to point a user at (a variant file first, then alignments, then
 * reads, else the first declared): the files of quarantined samples are
 * not counted.
 *
 *   {"outputs": [{"output": "stage.port", "files": N, "bytes": N}...],
 *    "example": {"output", "sample", "name", "sha256", "path"} | null} */
JsonNode *strand_run_outputs (const StrandRun *run, const StrandPipeline *pipeline);

/* Adds "report", "usage" and "pipeline_outputs" to a run's summary
 * (strand_run_to_json): run.json and `strand run --json` carry them.
 * `inventory` may be NULL. */
void strand_run_summary_add (JsonNode *summary, const StrandRun *run, const StrandPipeline *pipeline,
                             const StrandInventory *inventory);

G_END_DECLS
