/* Fuzz target: proof documents (merkle-proof.h) as `strand proof --verify`
 * reads them. Any bytes must give problems, each with a place and a UTF-8
 * message, or a verified proof, never a crash. The seeds (corpus/proof,
 * made by `strand proof`) verify with this key. */
#include <stdint.h>

#include "json-util.h"
#include "merkle-proof.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char seed_key[] =
  "strand/ledger/2e2db25bee511dea19e362bd5fc752e4484c86303e032ba37ae812f219b41e14+49735489+AQjCUiYype0Hbp1Sa/r0njZiOjNfFZaQbOTx7+RKupOO";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static StrandNoteKey *key;
  if (key == NULL)
    key = strand_note_key_parse (seed_key, NULL);
  g_assert_nonnull (key);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (JsonParser) parser = strand_json_parse_document ((const char *) data, size, "fuzz.json", problems);
  if (parser != NULL)
    {
      StrandProofSummary summary;
      gboolean ok = strand_proof_verify (json_parser_get_root (parser), key, NULL, problems, &summary);
      g_assert_true (ok == (problems->len == 0));
    }
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      if (p->where == NULL || p->message == NULL || !g_utf8_validate (p->message, -1, NULL))
        g_error ("a problem without a place or with a non-UTF-8 message");
    }
  return 0;
}
