/* Fuzz target: a line a worker or a host sends over the pilot protocol
 * (pilot-wire.h), task specs and results included. What parses must encode
 * and parse again to the same message type; proofs made of the bytes never
 * check. Seeds: one line of each message type. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pilot-wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  const char *nl = memchr (text, '\n', size);
  gsize len = nl ? (gsize) (nl - text) : size;
  StrandPilotMsg msg = { 0 };
  if (strand_pilot_msg_parse (text, len, &msg, NULL))
    {
      gsize out_len = 0;
      g_autofree char *line = strand_pilot_msg_encode (&msg, &out_len);
      StrandPilotMsg again = { 0 };
      g_autoptr (GError) error = NULL;
      if (!strand_pilot_msg_parse (line, out_len - 1, &again, &error))
        g_error ("a message that parsed does not parse once encoded: %s", error->message);
      if (again.type != msg.type)
        g_error ("message type %d came back as %d", msg.type, again.type);
      strand_pilot_msg_clear (&again);
      if (msg.nonce && msg.proof)
        {
          g_autofree char *token = strand_pilot_secret_new ();
          if (strand_pilot_proof_check (token, "worker", msg.nonce, msg.proof))
            g_error ("a proof made of the input checked with a fresh token");
        }
      strand_pilot_msg_clear (&msg);
    }
  /* Whatever follows the first line, as a stream of lines. */
  if (nl != NULL)
    {
      int sv[2];
      if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0)
        {
          gsize rest = size - len - 1;
          gsize sent = rest > 65536 ? 65536 : rest;
          if (write (sv[0], nl + 1, sent) < 0)
            sent = 0;
          close (sv[0]);
          g_autoptr (StrandPilotConn) conn = strand_pilot_conn_new (sv[1]);
          g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
          while (strand_pilot_conn_read (conn, msgs, NULL))
            ;
        }
    }
  return 0;
}
