/* Fuzz target: signed checkpoints and verifier keys (checkpoint.h), what a
 * witness or an auditor hands over. Any bytes must give a checkpoint or one
 * error naming where, never a crash; a note that parses is verified with
 * the key of the seeds (corpus/checkpoint, made by `strand checkpoint`). */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char seed_key[] =
  "strand/ledger/2e2db25bee511dea19e362bd5fc752e4484c86303e032ba37ae812f219b41e14+49735489+AQjCUiYype0Hbp1Sa/r0njZiOjNfFZaQbOTx7+RKupOO";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_parse ((const char *) data, size, "fuzz", &error);
  if (cp == NULL && (error == NULL || !g_utf8_validate (error->message, -1, NULL)))
    g_error ("a refused note without a UTF-8 reason");
  if (cp != NULL)
    {
      g_autoptr (StrandNoteKey) key = strand_note_key_parse (seed_key, NULL);
      g_assert_nonnull (key);
      g_autoptr (GError) verify_error = NULL;
      gboolean ok = strand_checkpoint_verify (cp, key, &verify_error);
      g_assert_true (ok == (verify_error == NULL));
      g_assert_cmpuint (strlen (strand_checkpoint_text (cp)), <=, size);
      (void) strand_checkpoint_size (cp);
    }
  /* The same bytes as a verifier key. */
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) key_error = NULL;
  g_autoptr (StrandNoteKey) key = strand_note_key_parse (text, &key_error);
  if (key != NULL)
    {
      g_autofree char *again = strand_note_key_to_string (key);
      g_autoptr (StrandNoteKey) round = strand_note_key_parse (again, NULL);
      g_assert_nonnull (round);
    }
  return 0;
}
