/* A small stand-in for libFuzzer, so that fuzz targets run under plain gcc
 * and the sanitizers in `meson test --suite fuzz`:
 *
 *     fuzz-TARGET [--seconds S] [--iterations N] [--seed X] [--max-len L]
 *                 [--save-last FILE] SEED_FILE_OR_DIR...
 *
 * It runs LLVMFuzzerTestOneInput on every seed as it is, then on random
 * mutations of them (bit flips, interesting bytes and numbers, truncations,
 * insertions, deletions, duplications, splices of two seeds) until S seconds
 * (default 5) or N runs (default: no limit) are spent. The mutations come
 * from a xorshift generator seeded with X (default 1), so a failure can be
 * replayed with the same arguments; --save-last writes each input to FILE
 * before it runs, to keep the one that crashed, and --save-slowest FILE
 * keeps the slowest input. A crash or failed assertion
 * in the target ends the process, which fails the test. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint64 state;

static guint64
next (void)
{
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static gsize
below (gsize n)
{
  return n ? (gsize) (next () % n) : 0;
}

static void
add_seed (GPtrArray *seeds, const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
      /* A stable order: the same seed replays the same run. */
      g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
      for (guint i = 0; i < names->len; i++)
        add_seed (seeds, names->pdata[i]);
      return;
    }
  char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &data, &len, &error))
    {
      g_printerr ("fuzz: %s\n", error->message);
      exit (2);
    }
  g_ptr_array_add (seeds, g_byte_array_new_take ((guint8 *) data, len));
}

/* Inserts `n` bytes (not from `a` itself) at `at`. */
static void
insert_bytes (GByteArray *a, gsize at, const guint8 *data, gsize n)
{
  gsize len = a->len;
  g_byte_array_set_size (a, (guint) (len + n));
  memmove (a->data + at + n, a->data + at, len - at);
  memcpy (a->data + at, data, n);
}

static const char *const interesting[] = {
  "0", "-1", "1", "2147483647", "2147483648", "4294967296", "-2147483649",
  "9223372036854775807", "99999999999999999999999", "1e308", "NaN", "\t", "\n", "\r\n",
  "\xff", "\xc3\x28", "\0", "@", "+", ">", "#", "*", "=", ",", ";", "<DEL>", "N",
};

static void
mutate (GByteArray *a, GPtrArray *seeds, gsize max_len)
{
  switch (next () % 9)
    {
    case 0: /* flip a bit */
      if (a->len)
        a->data[below (a->len)] ^= (guint8) (1u << (next () % 8));
      break;
    case 1: /* an interesting byte */
      if (a->len)
        {
          static const guint8 bytes[] = { 0, 0xff, 0x7f, 0x80, '\n', '\t', ' ', '@', '+', 'N' };
          a->data[below (a->len)] = bytes[below (sizeof bytes)];
        }
      break;
    case 2: /* truncate */
      g_byte_array_set_size (a, (guint) below (a->len + 1));
      break;
    case 3: /* insert random bytes */
      {
        guint8 buf[16];
        gsize n = 1 + below (sizeof buf);
        for (gsize i = 0; i < n; i++)
          buf[i] = (guint8) next ();
        insert_bytes (a, below (a->len + 1), buf, n);
      }
      break;
    case 4: /* delete a range */
      if (a->len)
        {
          gsize at = below (a->len);
          g_byte_array_remove_range (a, (guint) at, (guint) (1 + below (MIN (a->len - at, 64))));
        }
      break;
    case 5: /* duplicate a range */
      if (a->len)
        {
          gsize at = below (a->len), n = 1 + below (MIN (a->len - at, 256));
          g_autofree guint8 *copy = g_memdup2 (a->data + at, n);
          insert_bytes (a, below (a->len + 1), copy, n);
        }
      break;
    case 6: /* an interesting number or token */
      {
        const char *s = interesting[below (G_N_ELEMENTS (interesting))];
        gsize n = MAX (strlen (s), 1);
        insert_bytes (a, below (a->len + 1), (const guint8 *) s, n);
      }
      break;
    case 7: /* splice: our prefix and another seed's suffix */
      {
        GByteArray *other = seeds->pdata[below (seeds->len)];
        gsize cut = below (a->len + 1), from = below (other->len + 1);
        g_byte_array_set_size (a, (guint) cut);
        g_byte_array_append (a, other->data + from, (guint) (other->len - from));
      }
      break;
    default: /* overwrite a byte with a random one */
      if (a->len)
        a->data[below (a->len)] = (guint8) next ();
    }
  if (a->len > max_len)
    g_byte_array_set_size (a, (guint) max_len);
}

static gint64 slowest_us = -1;
static char *save_slowest;

static void
run_one (const GByteArray *a, const char *save_last)
{
  gint64 t0 = g_get_monotonic_time ();
  if (save_last != NULL)
    {
      FILE *fp = fopen (save_last, "wb");
      if (fp == NULL || fwrite (a->data, 1, a->len, fp) != a->len || fclose (fp) != 0)
        {
          g_printerr ("fuzz: cannot write %s\n", save_last);
          exit (2);
        }
    }
  /* A copy of exactly the right size, so that reads past the end are caught. */
  g_autofree guint8 *exact = g_memdup2 (a->data, a->len ? a->len : 1);
  LLVMFuzzerTestOneInput (exact, a->len);
  gint64 took = g_get_monotonic_time () - t0;
  if (took > slowest_us)
    {
      slowest_us = took;
      if (save_slowest != NULL)
        g_file_set_contents (save_slowest, (const char *) a->data, a->len, NULL);
    }
}

int
main (int argc, char **argv)
{
  double seconds = 5;
  gint64 iterations = 0, seed = 1, max_len = 1 << 16;
  g_autofree char *save_last = NULL;
  const char *env = g_getenv ("STRAND_FUZZ_SECONDS");
  if (env != NULL)
    seconds = g_ascii_strtod (env, NULL);
  GOptionEntry entries[] = {
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Time budget (default 5)", "S" },
    { "iterations", 'n', 0, G_OPTION_ARG_INT64, &iterations, "Runs budget (default: none)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Mutation seed (default 1)", "X" },
    { "max-len", 0, 0, G_OPTION_ARG_INT64, &max_len, "Largest input (default 65536)", "L" },
    { "save-last", 0, 0, G_OPTION_ARG_FILENAME, &save_last, "Write each input here first", "FILE" },
    { "save-slowest", 0, 0, G_OPTION_ARG_FILENAME, &save_slowest, "Keep the slowest input here", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("SEED_FILE_OR_DIR...");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc < 2 || max_len < 1)
    {
      g_printerr ("fuzz: %s\n", error ? error->message : "give one or more seed files or directories");
      return 2;
    }
  g_autoptr (GPtrArray) seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  for (int i = 1; i < argc; i++)
    add_seed (seeds, argv[i]);
  if (seeds->len == 0)
    {
      g_printerr ("fuzz: no seeds\n");
      return 2;
    }
  state = (guint64) seed * 0x9e3779b97f4a7c15ULL + 1;

  gint64 start = g_get_monotonic_time ();
  gint64 runs = 0;
  for (guint i = 0; i < seeds->len; i++, runs++)
    run_one (seeds->pdata[i], save_last);
  gint64 budget = (gint64) (seconds * G_USEC_PER_SEC);
  while ((iterations == 0 || runs < iterations) && g_get_monotonic_time () - start < budget)
    {
      const GByteArray *seed_bytes = seeds->pdata[below (seeds->len)];
      g_autoptr (GByteArray) a = g_byte_array_sized_new (seed_bytes->len);
      g_byte_array_append (a, seed_bytes->data, seed_bytes->len);
      for (gsize m = 1 + below (6); m > 0; m--)
        mutate (a, seeds, (gsize) max_len);
      run_one (a, save_last);
      runs++;
    }
  printf ("fuzz: %" G_GINT64_FORMAT " runs (%u seeds) in %.1f s, seed %" G_GINT64_FORMAT
          "; slowest run %.1f ms\n", runs, seeds->len,
          (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, seed, slowest_us / 1000.0);
  return 0;
}
