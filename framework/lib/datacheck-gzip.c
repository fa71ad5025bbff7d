/* The compression layer of the data checks: both ends of BGZF files, and the
 * uncompressed bytes of plain, gzip and BGZF files for our own parsers.
 *
 * BGZF (SAM spec section 4.1) is gzip members of at most 64 KiB, each with
 * an extra field "BC" giving its size, ending with a fixed empty member (the
 * EOF marker). Because every member says how long it is, the end of a large
 * file can be checked without reading the rest: find a run of members that
 * ends exactly at the end of the file, then inflate them. */
#include "datacheck-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <htslib/bgzf.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BGZF_HEADER 18
#define BGZF_MIN_BLOCK 26          /* header + empty deflate data + CRC32 + ISIZE */
#define BGZF_MAX_BLOCK 65536
/* How much of the end of a file is examined: several of the largest blocks. */
#define TAIL_WINDOW (8 * BGZF_MAX_BLOCK)

static const guint8 bgzf_eof_marker[28] = {
  0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43,
  0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static gboolean
bgzf_header_ok (const guint8 *h)
{
  return h[0] == 0x1f && h[1] == 0x8b && h[2] == 8 && (h[3] & 4) && h[10] == 6 && h[11] == 0 &&
         h[12] == 'B' && h[13] == 'C' && h[14] == 2 && h[15] == 0;
}

static guint
bgzf_block_size (const guint8 *h)
{
  return ((guint) h[16] | (guint) h[17] << 8) + 1;
}

typedef enum { CHAIN_END, CHAIN_SHORT, CHAIN_BROKEN } ChainEnd;

/* Follows blocks from `p` (an absolute offset inside the window `buf`,
 * which starts at `start`) to the end of the file; `stop` is the offset of
 * the block that runs past the end (SHORT) or of what is not a block (BROKEN). */
static ChainEnd
walk_chain (const guint8 *buf, guint64 start, guint64 size, guint64 p, guint64 *stop)
{
  guint64 q = p;
  while (q < size)
    {
      const guint8 *h = buf + (q - start);
      if (size - q < BGZF_HEADER)
        {
          /* A header cut short: still recognisably the start of one? */
          *stop = q;
          return size - q >= 4 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8 ? CHAIN_SHORT
                 : CHAIN_BROKEN;
        }
      guint bs = bgzf_header_ok (h) ? bgzf_block_size (h) : 0;
      if (bs < BGZF_MIN_BLOCK)
        {
          *stop = q;
          return CHAIN_BROKEN;
        }
      if (q + bs > size)
        {
          *stop = q;
          return CHAIN_SHORT;
        }
      q += bs;
    }
  return CHAIN_END;
}

static void
mark_damaged (DcFile *f, guint64 offset)
{
  if (f->damaged_from < 0 || (gint64) offset < f->damaged_from)
    f->damaged_from = (gint64) offset;
}

/* Inflates one complete block and checks its CRC32 and size. */
static gboolean
inflate_block (const guint8 *block, guint bs, const char **why)
{
  guint8 out[BGZF_MAX_BLOCK];
  guint32 crc = (guint32) block[bs - 8] | (guint32) block[bs - 7] << 8 |
                (guint32) block[bs - 6] << 16 | (guint32) block[bs - 5] << 24;
  guint32 isize = (guint32) block[bs - 4] | (guint32) block[bs - 3] << 8 |
                  (guint32) block[bs - 2] << 16 | (guint32) block[bs - 1] << 24;
  if (isize > BGZF_MAX_BLOCK)
    {
      *why = "claims more than 64 KiB of data";
      return FALSE;
    }
  z_stream z = { 0 };
  if (inflateInit2 (&z, -15) != Z_OK)
    {
      *why = "could not be inflated (zlib failed to start)";
      return FALSE;
    }
  z.next_in = (Bytef *) block + BGZF_HEADER;
  z.avail_in = bs - BGZF_HEADER - 8;
  z.next_out = out;
  z.avail_out = sizeof out;
  int ret = inflate (&z, Z_FINISH);
  guint produced = (guint) (sizeof out - z.avail_out);
  inflateEnd (&z);
  if (ret != Z_STREAM_END)
    {
      *why = "does not decompress (damaged deflate data)";
      return FALSE;
    }
  if (produced != isize)
    {
      *why = "decompresses to another size than it records";
      return FALSE;
    }
  if (crc32 (crc32 (0L, Z_NULL, 0), out, produced) != crc)
    {
      *why = "fails its CRC32 check";
      return FALSE;
    }
  return TRUE;
}

void
dc_bgzf_check_ends (DcFile *f)
{
  guint64 size = f->size;
  guint64 start = size > TAIL_WINDOW ? size - TAIL_WINDOW : 0;
  gsize len = (gsize) (size - start);
  g_autofree guint8 *buf = g_malloc (len);
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = pread (f->fd, buf + got, len - got, (off_t) (start + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int e = n < 0 ? errno : EIO;
          dc_problem (f, FALSE, "file-unreadable", dc_where_file (f),
                      "the end of the file cannot be read: %s", g_strerror (e));
          return;
        }
      got += (gsize) n;
    }

  /* Find the first run of blocks in the window that ends exactly at the end
   * of the file. A small file is walked from its first byte. */
  guint64 chain = G_MAXUINT64, short_at = G_MAXUINT64, broken_at = G_MAXUINT64;
  for (guint64 p = start; p + BGZF_HEADER <= size; p++)
    {
      if (!bgzf_header_ok (buf + (p - start)))
        {
          if (start == 0)
            break; /* a file must start with a block */
          continue;
        }
      guint64 stop = 0;
      ChainEnd end = walk_chain (buf, start, size, p, &stop);
      if (end == CHAIN_END)
        {
          chain = p;
          break;
        }
      if (end == CHAIN_SHORT && short_at == G_MAXUINT64)
        short_at = stop;
      if (end == CHAIN_BROKEN && broken_at == G_MAXUINT64)
        broken_at = stop;
      if (start == 0)
        break;
    }
  if (start == 0 && chain == G_MAXUINT64 && short_at == G_MAXUINT64 && broken_at == G_MAXUINT64)
    broken_at = 0;

  if (chain == G_MAXUINT64)
    {
      g_autofree char *where = NULL;
      if (short_at != G_MAXUINT64)
        {
          where = dc_where_byte (f, short_at);
          guint need = size - short_at >= BGZF_HEADER ? bgzf_block_size (buf + (short_at - start)) : 0;
          if (need > 0)
            dc_problem (f, FALSE, "truncated-bgzf", where,
                        "the file is cut short: the BGZF block here needs %u bytes, only %"
                        G_GUINT64_FORMAT " remain, and the end-of-file marker is missing",
                        need, size - short_at);
          else
            dc_problem (f, FALSE, "truncated-bgzf", where,
                        "the file is cut short inside a BGZF block header, and the end-of-file "
                        "marker is missing");
          mark_damaged (f, short_at);
        }
      else
        {
          guint64 at = broken_at != G_MAXUINT64 ? broken_at : start;
          where = dc_where_byte (f, at);
          dc_problem (f, FALSE, "bgzf-corrupt", where,
                      "the file does not end with whole BGZF blocks: damaged, or data appended "
                      "after the last block");
          mark_damaged (f, at);
        }
      return;
    }

  /* Inflate every block of the run found. */
  guint64 q = chain;
  while (q < size)
    {
      const guint8 *h = buf + (q - start);
      guint bs = bgzf_block_size (h);
      const char *why = NULL;
      if (!inflate_block (h, bs, &why))
        {
          g_autofree char *where = dc_where_byte (f, q);
          dc_problem (f, FALSE, "bgzf-corrupt", where, "the BGZF block here %s", why);
          mark_damaged (f, q);
        }
      q += bs;
    }
  if (size < sizeof bgzf_eof_marker ||
      memcmp (buf + (size - sizeof bgzf_eof_marker - start), bgzf_eof_marker,
              sizeof bgzf_eof_marker) != 0)
    {
      g_autofree char *where = dc_where_byte (f, size);
      dc_problem (f, FALSE, "bgzf-missing-eof", where,
                  "the BGZF end-of-file marker is missing: the file was cut short or never "
                  "finished writing");
      mark_damaged (f, size);
    }
}

/* Streams. */

#define IN_SIZE (256 * 1024)

struct DcStream {
  DcFile *f;
  hFILE *hf;
  BGZF *bgzf;
  enum htsCompression compression;
  z_stream z;
  gboolean z_ready;
  gboolean in_member;       /* inside a gzip member */
  guint members;            /* members started */
  guint64 member_out;       /* bytes produced by the current member */
  guint8 *in;
  guint64 in_base;          /* file offset of in[0] */
  gboolean failed;
};

DcStream *
dc_stream_new (DcFile *f, hFILE *hf)
{
  DcStream *s = g_new0 (DcStream, 1);
  s->f = f;
  s->compression = f->compression;
  if (s->compression == bgzf)
    {
      s->bgzf = bgzf_hopen (hf, "r");
      if (s->bgzf == NULL)
        {
          hclose_abruptly (hf);
          dc_problem (f, FALSE, "bgzf-corrupt", dc_where_file (f), "cannot be opened as BGZF");
          s->failed = TRUE;
          return s;
        }
      if (f->threads > 0)
        (void) bgzf_mt (s->bgzf, (int) f->threads, 256);
    }
  else
    {
      s->hf = hf;
      if (s->compression == gzip)
        {
          s->in = g_malloc (MIN (IN_SIZE, MAX (f->size, 4096)));
          if (inflateInit2 (&s->z, 15 + 16) != Z_OK)
            {
              dc_problem (f, FALSE, "gzip-corrupt", dc_where_file (f), "zlib failed to start");
              s->failed = TRUE;
            }
          else
            s->z_ready = TRUE;
        }
    }
  return s;
}

void
dc_stream_free (DcStream *s)
{
  if (s == NULL)
    return;
  if (s->bgzf)
    bgzf_close (s->bgzf);
  if (s->hf)
    hclose_abruptly (s->hf);
  if (s->z_ready)
    inflateEnd (&s->z);
  g_free (s->in);
  g_free (s);
}

static gssize
stream_fail (DcStream *s, const char *code, guint64 offset, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static gssize
stream_fail (DcStream *s, const char *code, guint64 offset, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  gboolean echo = s->f->damaged_from >= 0 &&
                  offset + 2 * BGZF_MAX_BLOCK >= (guint64) s->f->damaged_from;
  if (!echo)
    {
      g_autofree char *where = dc_where_byte (s->f, offset);
      dc_problem (s->f, FALSE, code, where, "%s", message);
      mark_damaged (s->f, offset);
    }
  s->failed = TRUE;
  return -1;
}

static gssize
read_gzip (DcStream *s, guint8 *buf, gsize len)
{
  z_stream *z = &s->z;
  z->next_out = buf;
  z->avail_out = (uInt) MIN (len, (gsize) G_MAXUINT32);
  uInt want = z->avail_out;
  while (z->avail_out == want)
    {
      if (z->avail_in == 0)
        {
          guint64 base = s->in_base + (guint64) (z->next_in ? z->next_in - s->in : 0);
          ssize_t n = hread (s->hf, s->in, MIN (IN_SIZE, MAX (s->f->size, 4096)));
          if (n < 0)
            return stream_fail (s, "file-unreadable", base, "read failed: %s", g_strerror (errno));
          if (n == 0)
            {
              if (!s->in_member)
                return 0;
              return stream_fail (s, "truncated-gzip", base,
                                  "the gzip stream is cut short: the file ends before the end of "
                                  "its compressed data");
            }
          s->in_base = base;
          z->next_in = s->in;
          z->avail_in = (uInt) n;
        }
      guint64 at = s->in_base + (guint64) (z->next_in - s->in);
      if (!s->in_member)
        {
          if (z->next_in[0] != 0x1f)
            return stream_fail (s, "gzip-trailing-data", at,
                                "data after the end of the gzip stream is not gzip");
          if (s->members++ > 0 && inflateReset (z) != Z_OK)
            return stream_fail (s, "gzip-corrupt", at, "zlib failed to restart");
          s->in_member = TRUE;
          s->member_out = 0;
        }
      uInt before = z->avail_out;
      int ret = inflate (z, Z_NO_FLUSH);
      s->member_out += before - z->avail_out;
      if (ret == Z_STREAM_END)
        s->in_member = FALSE;
      else if (ret == Z_BUF_ERROR && z->avail_in == 0)
        continue;
      else if (ret != Z_OK)
        {
          if (s->members > 1 && s->member_out == 0)
            return stream_fail (s, "gzip-trailing-data", at,
                                "data after the end of the gzip stream is not gzip");
          guint64 stop = s->in_base + (guint64) (z->next_in - s->in);
          const char *msg = z->msg ? z->msg : "";
          const char *why = strstr (msg, "data check") ? "its CRC32 check fails"
                            : strstr (msg, "length check") ? "its recorded length is wrong"
                            : strstr (msg, "header") ? "its header is invalid"
                            : "the compressed data is damaged";
          return stream_fail (s, "gzip-corrupt", stop, "the gzip stream is damaged: %s (zlib: %s)",
                              why, *msg ? msg : "error");
        }
    }
  return (gssize) (want - z->avail_out);
}

gssize
dc_stream_read (DcStream *s, void *buf, gsize len)
{
  if (s->failed)
    return -1;
  switch (s->compression)
    {
    case bgzf:
      {
        ssize_t n = bgzf_read (s->bgzf, buf, len);
        if (n >= 0)
          return n;
        guint64 at = (guint64) MAX (s->bgzf->block_address, 0);
        int err = s->bgzf->errcode;
        const char *why = (err & BGZF_ERR_CRC) ? "fails its CRC32 check"
                          : (err & BGZF_ERR_ZLIB) ? "does not decompress (damaged deflate data)"
                          : (err & BGZF_ERR_HEADER) ? "is not a valid BGZF block (damaged or cut short)"
                          : "cannot be read";
        return stream_fail (s, "bgzf-corrupt", at, "the BGZF block here %s", why);
      }
    case gzip:
      return read_gzip (s, buf, len);
    default:
      {
        ssize_t n = hread (s->hf, buf, len);
        if (n < 0)
          return stream_fail (s, "file-unreadable", (guint64) MAX (htell (s->hf), 0),
                              "read failed: %s", g_strerror (errno));
        return n;
      }
    }
}

void
dc_gzip_verify (DcFile *f)
{
  /* A descriptor of its own: a dup() would share the file offset with the
   * reader htslib is using. It must be the same file, not one renamed over it. */
  int fd = open (f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat a, b;
  if (fd >= 0 && (fstat (fd, &a) != 0 || fstat (f->fd, &b) != 0 || a.st_dev != b.st_dev ||
                  a.st_ino != b.st_ino))
    {
      close (fd);
      fd = -1;
      errno = ESTALE;
    }
  hFILE *hf = fd >= 0 ? hdopen (fd, "r") : NULL;
  if (hf == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      dc_problem (f, FALSE, "file-unreadable", dc_where_file (f), "cannot be reopened: %s",
                  g_strerror (e));
      return;
    }
  g_autoptr (DcStream) s = dc_stream_new (f, hf);
  g_autofree guint8 *buf = g_malloc (IN_SIZE);
  while (dc_stream_read (s, buf, IN_SIZE) > 0)
    ;
}
