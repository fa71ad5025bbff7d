/* Fuzz target: pipeline files. Any bytes must give a model or problems,
 * never a crash, a leak or a GLib critical; what loads must also resolve
 * and write back to canonical JSON that loads again to the same text. */
#include <stdint.h>
#include <string.h>

#include "canonical-json.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static StrandRegistry *registry;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (registry == NULL)
    registry = strand_registry_new (); /* no plugins: resolution reports them unknown */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline =
      strand_pipeline_load_data ((const char *) data, size, "fuzz.json", problems);
  if (pipeline == NULL)
    return 0;
  strand_pipeline_resolve (pipeline, registry, problems);
  g_autoptr (JsonNode) node = strand_pipeline_to_json (pipeline);
  g_autofree char *text = strand_canonical_json (node);
  g_autoptr (GPtrArray) again_problems = strand_problems_new ();
  g_autoptr (StrandPipeline) again =
      strand_pipeline_load_data (text, strlen (text), "canonical.json", again_problems);
  if (again == NULL)
    g_error ("canonical form did not load: %s", text);
  g_autoptr (JsonNode) node2 = strand_pipeline_to_json (again);
  g_autofree char *text2 = strand_canonical_json (node2);
  if (strcmp (text, text2) != 0)
    g_error ("canonical form is not stable:\n%s\n%s", text, text2);
  return 0;
}
