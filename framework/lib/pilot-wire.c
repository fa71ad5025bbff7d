/* The pilot protocol (pilot-wire.h): messages, secrets, connections. */
#include "pilot-wire.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "json-util.h"

G_DEFINE_QUARK (strand-pilot-error-quark, strand_pilot_error)

/* ---- messages ------------------------------------------------------------- */

static const char *const type_names[] = {
  [STRAND_PILOT_MSG_CHALLENGE] = "challenge", [STRAND_PILOT_MSG_HELLO] = "hello",
  [STRAND_PILOT_MSG_WELCOME] = "welcome",     [STRAND_PILOT_MSG_TASK] = "task",
  [STRAND_PILOT_MSG_CANCEL] = "cancel",       [STRAND_PILOT_MSG_RESULT] = "result",
  [STRAND_PILOT_MSG_HEARTBEAT] = "hb",        [STRAND_PILOT_MSG_EXIT] = "exit",
  [STRAND_PILOT_MSG_BYE] = "bye",
};

void
strand_pilot_msg_clear (StrandPilotMsg *msg)
{
  g_free (msg->nonce);
  g_free (msg->proof);
  g_free (msg->job);
  g_free (msg->array_job);
  g_free (msg->node);
  strand_task_spec_free (msg->spec);
  strand_task_result_free (msg->result);
  g_free (msg->reason);
  memset (msg, 0, sizeof *msg);
}

void
strand_pilot_msg_free (StrandPilotMsg *msg)
{
  if (msg == NULL)
    return;
  strand_pilot_msg_clear (msg);
  g_free (msg);
}

static void
set_opt_string (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, key, value);
}

char *
strand_pilot_msg_encode (const StrandPilotMsg *msg, gsize *len)
{
  g_return_val_if_fail (msg->type >= STRAND_PILOT_MSG_CHALLENGE && msg->type <= STRAND_PILOT_MSG_BYE,
                        NULL);
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "t", type_names[msg->type]);
  switch (msg->type)
    {
    case STRAND_PILOT_MSG_CHALLENGE:
      json_object_set_int_member (o, "v", msg->version);
      json_object_set_string_member (o, "nonce", msg->nonce);
      break;
    case STRAND_PILOT_MSG_HELLO:
      json_object_set_int_member (o, "v", msg->version);
      json_object_set_string_member (o, "nonce", msg->nonce);
      json_object_set_string_member (o, "proof", msg->proof);
      set_opt_string (o, "job", msg->job);
      set_opt_string (o, "array_job", msg->array_job);
      if (msg->array_task >= 0)
        json_object_set_int_member (o, "array_task", msg->array_task);
      set_opt_string (o, "node", msg->node);
      json_object_set_int_member (o, "cores", msg->cores);
      json_object_set_int_member (o, "memory_bytes", (gint64) msg->memory_bytes);
      json_object_set_int_member (o, "pid", msg->pid);
      break;
    case STRAND_PILOT_MSG_WELCOME:
      json_object_set_string_member (o, "proof", msg->proof);
      json_object_set_int_member (o, "heartbeat_ms", msg->heartbeat_ms);
      json_object_set_int_member (o, "max_tasks", msg->max_tasks);
      break;
    case STRAND_PILOT_MSG_TASK:
      json_object_set_int_member (o, "id", (gint64) msg->id);
      json_object_set_member (o, "spec", strand_task_spec_to_json (msg->spec));
      break;
    case STRAND_PILOT_MSG_CANCEL:
      json_object_set_int_member (o, "id", (gint64) msg->id);
      json_object_set_boolean_member (o, "force", msg->force);
      break;
    case STRAND_PILOT_MSG_RESULT:
      json_object_set_int_member (o, "id", (gint64) msg->id);
      json_object_set_member (o, "result", strand_task_result_to_json (msg->result));
      break;
    case STRAND_PILOT_MSG_EXIT:
    case STRAND_PILOT_MSG_BYE:
      set_opt_string (o, "reason", msg->reason);
      break;
    case STRAND_PILOT_MSG_HEARTBEAT:
      break;
    }
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (root, o);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize n = 0;
  g_autofree char *text = json_generator_to_data (gen, &n);
  char *line = g_malloc (n + 2);
  memcpy (line, text, n);
  line[n] = '\n';
  line[n + 1] = '\0';
  if (len)
    *len = n + 1;
  return line;
}

static gboolean G_GNUC_PRINTF (2, 3)
bad (GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_PROTOCOL, "pilot message: %s", what);
  return FALSE;
}

static gboolean
is_secret (const char *text)
{
  if (text == NULL || strlen (text) != STRAND_PILOT_SECRET_HEX)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/* A short printable word: a job id, a node name. */
static gboolean
is_word (const char *text, gsize max)
{
  gsize n = strlen (text);
  if (n == 0 || n > max)
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((unsigned char) *p <= 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* A member of `type` (JSON_NODE_VALUE holding `gtype` for values) in `out`,
 * or NULL when it is absent and not `required`. FALSE when it is required
 * and absent, or of another type. */
static gboolean
member (JsonObject *o, const char *key, JsonNodeType type, GType gtype, gboolean required,
        JsonNode **out, GError **error)
{
  *out = NULL;
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return required ? bad (error, "'%s' is missing", key) : TRUE;
  if (JSON_NODE_TYPE (n) != type || (type == JSON_NODE_VALUE && json_node_get_value_type (n) != gtype))
    return bad (error, "'%s' has the wrong type", key);
  *out = n;
  return TRUE;
}

static gboolean
get_string (JsonObject *o, const char *key, gboolean required, char **out, GError **error)
{
  JsonNode *n;
  if (!member (o, key, JSON_NODE_VALUE, G_TYPE_STRING, required, &n, error))
    return FALSE;
  if (n != NULL)
    *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
get_int (JsonObject *o, const char *key, gboolean required, gint64 min, gint64 max, gint64 *out,
         GError **error)
{
  JsonNode *n;
  if (!member (o, key, JSON_NODE_VALUE, G_TYPE_INT64, required, &n, error))
    return FALSE;
  if (n == NULL)
    return TRUE;
  gint64 v = json_node_get_int (n);
  if (v < min || v > max)
    return bad (error, "'%s' is %" G_GINT64_FORMAT ", outside %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                key, v, min, max);
  *out = v;
  return TRUE;
}

static gboolean
get_secret (JsonObject *o, const char *key, char **out, GError **error)
{
  if (!get_string (o, key, TRUE, out, error))
    return FALSE;
  if (!is_secret (*out))
    return bad (error, "'%s' is not 64 lower-case hex digits", key);
  return TRUE;
}

static gboolean
parse_object (JsonObject *o, StrandPilotMsg *msg, GError **error)
{
  g_autofree char *t = NULL;
  if (!get_string (o, "t", TRUE, &t, error))
    return FALSE;
  msg->type = 0;
  for (guint i = STRAND_PILOT_MSG_CHALLENGE; i <= STRAND_PILOT_MSG_BYE; i++)
    if (strcmp (t, type_names[i]) == 0)
      msg->type = i;
  if (msg->type == 0)
    return bad (error, "unknown type '%.32s'", t);
  gint64 v = 0;
  msg->array_task = -1;
  switch (msg->type)
    {
    case STRAND_PILOT_MSG_CHALLENGE:
      if (!get_int (o, "v", TRUE, 1, G_MAXINT, &v, error) || !get_secret (o, "nonce", &msg->nonce, error))
        return FALSE;
      msg->version = (int) v;
      return TRUE;
    case STRAND_PILOT_MSG_HELLO:
      {
        gint64 cores = 0, mem = 0, pid = 0, task = -1;
        if (!get_int (o, "v", TRUE, 1, G_MAXINT, &v, error) ||
            !get_secret (o, "nonce", &msg->nonce, error) || !get_secret (o, "proof", &msg->proof, error) ||
            !get_string (o, "job", FALSE, &msg->job, error) ||
            !get_string (o, "array_job", FALSE, &msg->array_job, error) ||
            !get_int (o, "array_task", FALSE, 0, G_MAXINT32, &task, error) ||
            !get_string (o, "node", FALSE, &msg->node, error) ||
            !get_int (o, "cores", TRUE, 1, 1 << 20, &cores, error) ||
            !get_int (o, "memory_bytes", TRUE, 0, G_MAXINT64, &mem, error) ||
            !get_int (o, "pid", FALSE, 0, G_MAXINT32, &pid, error))
          return FALSE;
        if (msg->job && (!is_word (msg->job, 64) || strspn (msg->job, "0123456789_") != strlen (msg->job)))
          return bad (error, "'job' is not a Slurm job id");
        if (msg->array_job && (!is_word (msg->array_job, 64) ||
                               strspn (msg->array_job, "0123456789") != strlen (msg->array_job)))
          return bad (error, "'array_job' is not a Slurm job id");
        if (msg->node && !is_word (msg->node, 255))
          return bad (error, "'node' is not a node name");
        msg->version = (int) v;
        msg->array_task = task;
        msg->cores = (guint) cores;
        msg->memory_bytes = (guint64) mem;
        msg->pid = pid;
        return TRUE;
      }
    case STRAND_PILOT_MSG_WELCOME:
      {
        gint64 hb = 0, max = 0;
        if (!get_secret (o, "proof", &msg->proof, error) ||
            !get_int (o, "heartbeat_ms", TRUE, 1, 24 * 3600 * 1000, &hb, error) ||
            !get_int (o, "max_tasks", FALSE, 0, G_MAXINT32, &max, error))
          return FALSE;
        msg->heartbeat_ms = hb;
        msg->max_tasks = (guint) max;
        return TRUE;
      }
    case STRAND_PILOT_MSG_TASK:
    case STRAND_PILOT_MSG_RESULT:
    case STRAND_PILOT_MSG_CANCEL:
      {
        gint64 id = 0;
        if (!get_int (o, "id", TRUE, 0, G_MAXINT64, &id, error))
          return FALSE;
        msg->id = (guint64) id;
        if (msg->type == STRAND_PILOT_MSG_CANCEL)
          {
            JsonNode *f;
            if (!member (o, "force", JSON_NODE_VALUE, G_TYPE_BOOLEAN, FALSE, &f, error))
              return FALSE;
            msg->force = f ? json_node_get_boolean (f) : FALSE;
            return TRUE;
          }
        const char *key = msg->type == STRAND_PILOT_MSG_TASK ? "spec" : "result";
        JsonNode *body;
        if (!member (o, key, JSON_NODE_OBJECT, G_TYPE_INVALID, TRUE, &body, error))
          return FALSE;
        g_autoptr (GError) local = NULL;
        if (msg->type == STRAND_PILOT_MSG_TASK)
          {
            msg->spec = strand_task_spec_from_json (body, &local);
            if (msg->spec != NULL && (msg->spec->work_dir[0] != '/' || msg->spec->plugin->path == NULL ||
                                      msg->spec->plugin->path[0] != '/'))
              {
                g_clear_pointer (&msg->spec, strand_task_spec_free);
                return bad (error, "task %" G_GUINT64_FORMAT ": its plugin and work directory must "
                                   "be absolute paths", msg->id);
              }
          }
        else
          msg->result = strand_task_result_from_json (body, &local);
        if (local != NULL)
          return bad (error, "%s %" G_GUINT64_FORMAT ": %s", key, msg->id, local->message);
        return TRUE;
      }
    case STRAND_PILOT_MSG_EXIT:
    case STRAND_PILOT_MSG_BYE:
      return get_string (o, "reason", FALSE, &msg->reason, error);
    case STRAND_PILOT_MSG_HEARTBEAT:
      return TRUE;
    }
  return FALSE;
}

gboolean
strand_pilot_msg_parse (const char *line, gsize len, StrandPilotMsg *msg, GError **error)
{
  if (len > STRAND_PILOT_MAX_LINE)
    return bad (error, "a line of %" G_GSIZE_FORMAT " bytes, over the limit", len);
  if (!g_utf8_validate_len (line, len, NULL))
    return bad (error, "not UTF-8");
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, line, (gssize) len, &local))
    return bad (error, "not JSON: %s", local->message);
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return bad (error, "not a JSON object");
  if (!parse_object (json_node_get_object (root), msg, error))
    {
      strand_pilot_msg_clear (msg);
      return FALSE;
    }
  return TRUE;
}

/* ---- secrets --------------------------------------------------------------- */

static void
init_sodium (void)
{
  if (sodium_init () < 0)
    g_error ("libsodium could not initialise");
}

char *
strand_pilot_secret_new (void)
{
  init_sodium ();
  guint8 bytes[STRAND_PILOT_SECRET_HEX / 2];
  randombytes_buf (bytes, sizeof bytes);
  char *hex = g_malloc (STRAND_PILOT_SECRET_HEX + 1);
  sodium_bin2hex (hex, STRAND_PILOT_SECRET_HEX + 1, bytes, sizeof bytes);
  sodium_memzero (bytes, sizeof bytes);
  return hex;
}

static gboolean
token_key (const char *token, guint8 key[crypto_auth_hmacsha256_KEYBYTES])
{
  G_STATIC_ASSERT (crypto_auth_hmacsha256_KEYBYTES == STRAND_PILOT_SECRET_HEX / 2);
  size_t n = 0;
  return is_secret (token) &&
         sodium_hex2bin (key, crypto_auth_hmacsha256_KEYBYTES, token, STRAND_PILOT_SECRET_HEX, NULL, &n,
                         NULL) == 0 &&
         n == crypto_auth_hmacsha256_KEYBYTES;
}

static gboolean
mac (const char *token, const char *role, const char *nonce, guint8 out[crypto_auth_hmacsha256_BYTES])
{
  init_sodium ();
  guint8 key[crypto_auth_hmacsha256_KEYBYTES];
  if (!token_key (token, key) || !is_secret (nonce))
    return FALSE;
  g_autofree char *message = g_strdup_printf ("%s\n%s", role, nonce);
  crypto_auth_hmacsha256 (out, (const guint8 *) message, strlen (message), key);
  sodium_memzero (key, sizeof key);
  return TRUE;
}

char *
strand_pilot_proof (const char *token, const char *role, const char *nonce)
{
  guint8 out[crypto_auth_hmacsha256_BYTES];
  if (!mac (token, role, nonce, out))
    return NULL;
  char *hex = g_malloc (2 * sizeof out + 1);
  sodium_bin2hex (hex, 2 * sizeof out + 1, out, sizeof out);
  return hex;
}

gboolean
strand_pilot_proof_check (const char *token, const char *role, const char *nonce, const char *proof)
{
  guint8 want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
  size_t n = 0;
  if (!is_secret (proof) || !mac (token, role, nonce, want) ||
      sodium_hex2bin (got, sizeof got, proof, strlen (proof), NULL, &n, NULL) != 0 || n != sizeof got)
    return FALSE;
  return sodium_memcmp (want, got, sizeof got) == 0;
}

static gboolean
token_error (GError **error, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
token_error (GError **error, const char *path, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_TOKEN, "token file %s: %s", path, what);
  return FALSE;
}

gboolean
strand_pilot_token_write (const char *path, const char *token, GError **error)
{
  if (!is_secret (token))
    return token_error (error, path, "not a token");
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return token_error (error, path, "%s", g_strerror (errno));
  g_autofree char *text = g_strdup_printf ("%s\n", token);
  int err = fchmod (fd, 0600) != 0 ? errno : strand_write_all (fd, text, strlen (text), NULL);
  if (err == 0 && fsync (fd) != 0)
    err = errno;
  if (close (fd) != 0 && err == 0)
    err = errno;
  if (err != 0)
    {
      unlink (path);
      return token_error (error, path, "%s", g_strerror (err));
    }
  return TRUE;
}

char *
strand_pilot_token_read (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      token_error (error, path, "%s", g_strerror (errno));
      return NULL;
    }
  struct stat st;
  char buf[STRAND_PILOT_SECRET_HEX + 4];
  gssize n = -1;
  if (fstat (fd, &st) != 0)
    token_error (error, path, "%s", g_strerror (errno));
  else if (!S_ISREG (st.st_mode))
    token_error (error, path, "not a regular file");
  else if ((st.st_mode & 077) != 0)
    token_error (error, path, "readable by others (mode %03o); it must be 0600",
                 (unsigned) (st.st_mode & 0777));
  else if (st.st_uid != geteuid ())
    token_error (error, path, "owned by another user");
  else if ((n = strand_read_full (fd, buf, sizeof buf - 1)) < 0)
    token_error (error, path, "%s", g_strerror (errno));
  close (fd);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  g_strchomp (buf);
  if (!is_secret (buf))
    {
      sodium_memzero (buf, sizeof buf);
      token_error (error, path, "does not hold a token (64 lower-case hex digits)");
      return NULL;
    }
  char *token = g_strdup (buf);
  sodium_memzero (buf, sizeof buf);
  return token;
}

/* ---- connections ---------------------------------------------------------------- */

struct StrandPilotConn {
  int fd;
  GString *in;
  gsize scanned; /* bytes of `in` known to hold no newline */
  GString *out;
  gsize out_done;
};

StrandPilotConn *
strand_pilot_conn_new (int fd)
{
  StrandPilotConn *c = g_new0 (StrandPilotConn, 1);
  c->fd = fd;
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  fcntl (fd, F_SETFD, FD_CLOEXEC);
  c->in = g_string_new (NULL);
  c->out = g_string_new (NULL);
  return c;
}

void
strand_pilot_conn_free (StrandPilotConn *c)
{
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close (c->fd);
  g_string_free (c->in, TRUE);
  g_string_free (c->out, TRUE);
  g_free (c);
}

int
strand_pilot_conn_fd (StrandPilotConn *c)
{
  return c->fd;
}

gboolean
strand_pilot_conn_flush (StrandPilotConn *c, GError **error)
{
  while (c->out_done < c->out->len)
    {
      ssize_t n = send (c->fd, c->out->str + c->out_done, c->out->len - c->out_done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        {
          g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "sending: %s", g_strerror (errno));
          return FALSE;
        }
      c->out_done += (gsize) n;
    }
  if (c->out_done == c->out->len)
    {
      g_string_truncate (c->out, 0);
      c->out_done = 0;
    }
  else if (c->out_done > (1u << 20))
    {
      g_string_erase (c->out, 0, (gssize) c->out_done);
      c->out_done = 0;
    }
  return TRUE;
}

void
strand_pilot_conn_send (StrandPilotConn *c, const StrandPilotMsg *msg)
{
  gsize len = 0;
  g_autofree char *line = strand_pilot_msg_encode (msg, &len);
  g_string_append_len (c->out, line, (gssize) len);
  /* A failure shows at the next read or flush, where the caller looks. */
  strand_pilot_conn_flush (c, NULL);
}

gboolean
strand_pilot_conn_pending (StrandPilotConn *c)
{
  return c->out_done < c->out->len;
}

gboolean
strand_pilot_conn_drain (StrandPilotConn *c, int timeout_ms)
{
  while (strand_pilot_conn_pending (c))
    {
      struct pollfd p = { .fd = c->fd, .events = POLLOUT };
      int r = poll (&p, 1, timeout_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0 || !strand_pilot_conn_flush (c, NULL))
        return FALSE;
    }
  return TRUE;
}

/* Takes the complete lines out of the input buffer. */
static gboolean
take_lines (StrandPilotConn *c, GPtrArray *msgs, GError **error)
{
  gsize start = 0;
  for (;;)
    {
      char *nl = memchr (c->in->str + MAX (start, c->scanned), '\n', c->in->len - MAX (start, c->scanned));
      if (nl == NULL)
        break;
      gsize end = (gsize) (nl - c->in->str);
      StrandPilotMsg *msg = g_new0 (StrandPilotMsg, 1);
      if (!strand_pilot_msg_parse (c->in->str + start, end - start, msg, error))
        {
          g_free (msg);
          return FALSE;
        }
      g_ptr_array_add (msgs, msg);
      start = end + 1;
    }
  g_string_erase (c->in, 0, (gssize) start);
  c->scanned = c->in->len;
  if (c->in->len > STRAND_PILOT_MAX_LINE)
    return bad (error, "a line of more than %u bytes", STRAND_PILOT_MAX_LINE);
  return TRUE;
}

gboolean
strand_pilot_conn_read (StrandPilotConn *c, GPtrArray *msgs, GError **error)
{
  char buf[65536];
  /* A few reads per call, so one busy connection does not starve others. */
  for (int round = 0; round < 16; round++)
    {
      ssize_t n = recv (c->fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        {
          int saved = errno;
          take_lines (c, msgs, NULL);
          g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "receiving: %s", g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        {
          if (!take_lines (c, msgs, error))
            return FALSE;
          g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_CLOSED, "the connection was closed%s",
                       c->in->len ? " in the middle of a line" : "");
          return FALSE;
        }
      g_string_append_len (c->in, buf, n);
      if (!take_lines (c, msgs, error))
        return FALSE;
    }
  return TRUE;
}

int
strand_pilot_connect (const char *address, int timeout_ms, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, (guint) MAX ((timeout_ms + 999) / 1000, 1));
  g_autoptr (GError) local = NULL;
  g_autoptr (GSocketConnection) conn = g_socket_client_connect_to_host (client, address, 0, NULL, &local);
  if (conn == NULL)
    {
      g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "cannot connect to %s: %s", address,
                   local->message);
      return -1;
    }
  GSocket *socket = g_socket_connection_get_socket (conn);
  int fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "cannot connect to %s: %s", address,
                 g_strerror (errno));
  return fd;
}
