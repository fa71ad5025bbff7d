#include "formats.h"

#include <strand/stage.h>
#include <string.h>

static const char *const known_formats[] = {
  STRAND_FORMAT_FASTQ, STRAND_FORMAT_FASTA, STRAND_FORMAT_SAM,
  STRAND_FORMAT_BAM, STRAND_FORMAT_CRAM, STRAND_FORMAT_VCF,
  STRAND_FORMAT_BCF, STRAND_FORMAT_BED, STRAND_FORMAT_BCL_RUN,
  STRAND_FORMAT_BAI, STRAND_FORMAT_CSI, STRAND_FORMAT_TBI,
  STRAND_FORMAT_BWA_INDEX, STRAND_FORMAT_DIR,
  STRAND_FORMAT_TSV, STRAND_FORMAT_JSON, STRAND_FORMAT_TEXT,
  STRAND_FORMAT_ANY, NULL,
};

gboolean
strand_format_is_known (const char *name)
{
  if (name == NULL)
    return FALSE;
  for (const char *const *f = known_formats; *f; f++)
    if (strcmp (*f, name) == 0)
      return TRUE;
  return FALSE;
}

const char *const *
strand_format_names (void)
{
  return known_formats;
}

GStrv
strand_formats_split (const char *formats)
{
  GStrv parts = g_strsplit (formats != NULL ? formats : "", ",", -1);
  for (char **p = parts; *p; p++)
    g_strstrip (*p);
  return parts;
}

gboolean
strand_formats_compatible (const char *out_formats, const char *in_formats)
{
  g_auto (GStrv) outs = strand_formats_split (out_formats);
  g_auto (GStrv) ins = strand_formats_split (in_formats);
  for (char **o = outs; *o; o++)
    for (char **i = ins; *i; i++)
      if (strcmp (*o, *i) == 0 || strcmp (*o, STRAND_FORMAT_ANY) == 0 ||
          strcmp (*i, STRAND_FORMAT_ANY) == 0)
        return TRUE;
  return FALSE;
}
