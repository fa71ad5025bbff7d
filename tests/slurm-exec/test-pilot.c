/* The pilot protocol and `strand worker`, without a cluster: messages read
 * back as they were written and malformed lines are refused with the
 * reason; proofs check only with the token; a token file others can read
 * is refused; and the worker program, facing a host this test plays, runs
 * tasks as a local worker would, stops a task it is asked to cancel,
 * refuses a plugin that is not the registered file, stops everything when
 * its host goes away or it is signalled, and takes no work from a host
 * that cannot prove it holds the token. Issue 9, part 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pilot-wire.h"
#include "registry.h"
#include "test-run.h"
#include "test-util.h"

static char *tmp;
static StrandRegistry *registry;

/* A task of wait-stage (plugins/sx-stage.c) in a fresh folder. */
static StrandTaskSpec *
wait_spec (const char *sample, const char *marker, const char *started)
{
  const StrandPluginInfo *plugin = strand_registry_lookup (registry, "wait-stage", NULL);
  g_assert_nonnull (plugin);
  g_autofree char *id = g_strdup_printf ("%s/w", sample);
  StrandTaskSpec *spec = strand_task_spec_new (plugin, id);
  spec->sample_id = g_strdup (sample);
  spec->stage_id = g_strdup ("w");
  spec->work_dir = strand_test_fresh_dir (tmp, sample);
  g_hash_table_insert (spec->params, g_strdup ("marker"), g_strdup (marker ? marker : ""));
  g_hash_table_insert (spec->params, g_strdup ("started"), g_strdup (started ? started : ""));
  g_hash_table_insert (spec->params, g_strdup ("seconds"), g_strdup ("0"));
  spec->memory_bytes = 64u << 20;
  return spec;
}

/* ---- messages ---------------------------------------------------------------- */

static StrandPilotMsg *
roundtrip (const StrandPilotMsg *msg)
{
  gsize len = 0;
  g_autofree char *line = strand_pilot_msg_encode (msg, &len);
  g_assert_cmpuint (len, ==, strlen (line));
  g_assert_true (line[len - 1] == '\n');
  g_assert_null (memchr (line, '\n', len - 1));
  StrandPilotMsg *back = g_new0 (StrandPilotMsg, 1);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_pilot_msg_parse (line, len - 1, back, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back->type, ==, msg->type);
  return back;
}

static void
test_messages (void)
{
  g_autofree char *nonce = strand_pilot_secret_new ();
  g_autofree char *token = strand_pilot_secret_new ();
  g_autofree char *proof = strand_pilot_proof (token, "worker", nonce);
  StrandPilotMsg hello = { .type = STRAND_PILOT_MSG_HELLO, .version = 1, .nonce = nonce, .proof = proof,
                           .job = "125", .array_job = "123", .array_task = 2, .node = "cn01",
                           .cores = 8, .memory_bytes = G_GUINT64_CONSTANT (64) << 30, .pid = 4242 };
  g_autoptr (StrandPilotMsg) h = roundtrip (&hello);
  g_assert_cmpstr (h->job, ==, "125");
  g_assert_cmpstr (h->array_job, ==, "123");
  g_assert_cmpint (h->array_task, ==, 2);
  g_assert_cmpstr (h->node, ==, "cn01");
  g_assert_cmpuint (h->cores, ==, 8);
  g_assert_cmpuint (h->memory_bytes, ==, G_GUINT64_CONSTANT (64) << 30);
  g_assert_true (strand_pilot_proof_check (token, "worker", nonce, h->proof));

  g_autoptr (StrandTaskSpec) spec = wait_spec ("S1", "/nowhere/marker", NULL);
  spec->timeout_us = 5 * G_USEC_PER_SEC;
  StrandPilotMsg task = { .type = STRAND_PILOT_MSG_TASK, .id = 77, .spec = spec };
  g_autoptr (StrandPilotMsg) t = roundtrip (&task);
  g_assert_cmpuint (t->id, ==, 77);
  g_assert_cmpstr (t->spec->task_id, ==, "S1/w");
  g_assert_cmpstr (t->spec->work_dir, ==, spec->work_dir);
  g_assert_cmpstr (t->spec->plugin->path, ==, spec->plugin->path);
  g_assert_cmpstr (t->spec->plugin->sha256, ==, spec->plugin->sha256);
  g_assert_cmpstr (g_hash_table_lookup (t->spec->params, "marker"), ==, "/nowhere/marker");
  g_assert_cmpint (t->spec->timeout_us, ==, 5 * G_USEC_PER_SEC);

  g_autoptr (StrandTaskResult) r = strand_task_result_new ();
  r->error_class = STRAND_ERROR_EQUIPMENT;
  r->message = g_strdup ("gone");
  StrandPilotMsg result = { .type = STRAND_PILOT_MSG_RESULT, .id = 77, .result = r };
  g_autoptr (StrandPilotMsg) back = roundtrip (&result);
  g_assert_false (back->result->ok);
  g_assert_cmpint (back->result->error_class, ==, STRAND_ERROR_EQUIPMENT);
  g_assert_cmpstr (back->result->message, ==, "gone");

  StrandPilotMsg cancel = { .type = STRAND_PILOT_MSG_CANCEL, .id = 9, .force = TRUE };
  g_autoptr (StrandPilotMsg) c = roundtrip (&cancel);
  g_assert_true (c->force);
  StrandPilotMsg bye = { .type = STRAND_PILOT_MSG_BYE, .reason = "signal 15" };
  g_autoptr (StrandPilotMsg) b = roundtrip (&bye);
  g_assert_cmpstr (b->reason, ==, "signal 15");
}

static void
test_malformed (void)
{
  g_autofree char *n = strand_pilot_secret_new ();
  g_autofree char *upper = g_ascii_strup (n, -1);
  struct {
    const char *line;
    const char *says;
  } cases[] = {
    { "", "not a JSON object" },
    { "{\"t\":", "not JSON" },
    { "[1,2]", "not a JSON object" },
    { "{\"t\":\"hello?\"}", "unknown type 'hello?'" },
    { "{\"t\":7}", "'t' has the wrong type" },
    { "{\"t\":\"challenge\",\"v\":1}", "'nonce' is missing" },
    { "{\"t\":\"challenge\",\"v\":1,\"nonce\":\"abc\"}", "'nonce' is not 64 lower-case hex digits" },
    { "{\"t\":\"challenge\",\"v\":0,\"nonce\":\"NONCE\"}", "'v' is 0" },
    { "{\"t\":\"challenge\",\"v\":1,\"nonce\":\"UPPER\"}", "lower-case" },
    { "{\"t\":\"hello\",\"v\":1,\"nonce\":\"NONCE\",\"proof\":\"NONCE\",\"cores\":0,\"memory_bytes\":1}",
      "'cores' is 0" },
    { "{\"t\":\"hello\",\"v\":1,\"nonce\":\"NONCE\",\"proof\":\"NONCE\",\"cores\":1,\"memory_bytes\":-1}",
      "'memory_bytes' is -1" },
    { "{\"t\":\"hello\",\"v\":1,\"nonce\":\"NONCE\",\"proof\":\"NONCE\",\"cores\":1,\"memory_bytes\":1,"
      "\"job\":\"12;rm\"}", "'job' is not a Slurm job id" },
    { "{\"t\":\"hello\",\"v\":1,\"nonce\":\"NONCE\",\"proof\":\"NONCE\",\"cores\":1,\"memory_bytes\":1,"
      "\"node\":\"a b\"}", "'node' is not a node name" },
    { "{\"t\":\"welcome\",\"proof\":\"NONCE\",\"heartbeat_ms\":0}", "'heartbeat_ms' is 0" },
    { "{\"t\":\"task\",\"id\":1}", "'spec' is missing" },
    { "{\"t\":\"task\",\"id\":-1,\"spec\":{}}", "'id' is -1" },
    { "{\"t\":\"task\",\"id\":1,\"spec\":{\"task_id\":\"x\"}}", "member 'plugin' is missing" },
    { "{\"t\":\"result\",\"id\":1,\"result\":[]}", "'result' has the wrong type" },
    { "{\"t\":\"result\",\"id\":1,\"result\":{\"outputs\":[{\"port\":\"out\"}]}}",
      "'port' and 'path' are required" },
    { "{\"t\":\"cancel\",\"id\":1,\"force\":\"yes\"}", "'force' has the wrong type" },
    { "{\"t\":\"bye\",\"reason\":5}", "'reason' has the wrong type" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *a = strand_test_subst (cases[i].line, "NONCE", n);
      g_autofree char *line = strand_test_subst (a, "UPPER", upper);
      g_autofree char *says = strand_test_subst (cases[i].says, "NONCE", n);
      StrandPilotMsg msg = { 0 };
      g_autoptr (GError) error = NULL;
      if (strand_pilot_msg_parse (line, strlen (line), &msg, &error))
        g_error ("accepted: %s", line);
      g_assert_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_PROTOCOL);
      if (strstr (error->message, says) == NULL)
        g_error ("%s: said '%s', not '%s'", line, error->message, says);
      g_assert_cmpint (msg.type, ==, 0);
    }
  /* A task whose plugin or work directory is relative: refused, whatever it is. */
  g_autoptr (StrandTaskSpec) spec = wait_spec ("S9", NULL, NULL);
  g_free (spec->work_dir);
  spec->work_dir = g_strdup ("relative/dir");
  StrandPilotMsg task = { .type = STRAND_PILOT_MSG_TASK, .id = 3, .spec = spec };
  g_autofree char *line = strand_pilot_msg_encode (&task, NULL);
  StrandPilotMsg msg = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_false (strand_pilot_msg_parse (line, strlen (line) - 1, &msg, &error));
  g_assert_nonnull (strstr (error->message, "must be absolute paths"));
  /* NUL bytes and invalid UTF-8. */
  const char nul[] = "{\"t\":\"hb\"}\0x";
  g_clear_error (&error);
  g_assert_false (strand_pilot_msg_parse (nul, sizeof nul - 1, &msg, &error));
  g_clear_error (&error);
  g_assert_false (strand_pilot_msg_parse ("{\"t\":\"\xff\"}", 8, &msg, &error));
  g_assert_nonnull (strstr (error->message, "not UTF-8"));
}

static void
test_proofs (void)
{
  g_autofree char *token = strand_pilot_secret_new ();
  g_autofree char *other = strand_pilot_secret_new ();
  g_autofree char *nonce = strand_pilot_secret_new ();
  g_assert_cmpuint (strlen (token), ==, 64);
  g_assert_cmpstr (token, !=, other);
  g_autofree char *proof = strand_pilot_proof (token, "host", nonce);
  g_assert_true (strand_pilot_proof_check (token, "host", nonce, proof));
  g_assert_false (strand_pilot_proof_check (other, "host", nonce, proof));
  g_assert_false (strand_pilot_proof_check (token, "worker", nonce, proof));
  g_assert_false (strand_pilot_proof_check (token, "host", other, proof));
  g_assert_false (strand_pilot_proof_check (token, "host", nonce, "00"));
  g_assert_false (strand_pilot_proof_check (token, "host", nonce, NULL));
  g_assert_null (strand_pilot_proof (token, "host", "not a nonce"));
  g_assert_null (strand_pilot_proof ("short", "host", nonce));
}

static void
test_token_file (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "token");
  g_autofree char *path = g_build_filename (dir, "token", NULL);
  g_autofree char *token = strand_pilot_secret_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_pilot_token_write (path, token, &error));
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autofree char *back = strand_pilot_token_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, token);
  /* Never replaced. */
  g_assert_false (strand_pilot_token_write (path, token, &error));
  g_assert_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_TOKEN);
  g_clear_error (&error);
  /* Others can read it: refused. */
  g_chmod (path, 0640);
  g_assert_null (strand_pilot_token_read (path, &error));
  g_assert_nonnull (strstr (error->message, "readable by others (mode 640)"));
  g_clear_error (&error);
  /* Not a token; a link. */
  g_autofree char *junk = g_build_filename (dir, "junk", NULL);
  g_assert_true (g_file_set_contents (junk, "hunter2\n", -1, NULL));
  g_chmod (junk, 0600);
  g_assert_null (strand_pilot_token_read (junk, &error));
  g_assert_nonnull (strstr (error->message, "does not hold a token"));
  g_clear_error (&error);
  g_chmod (path, 0600);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_assert_cmpint (symlink (path, link), ==, 0);
  g_assert_null (strand_pilot_token_read (link, &error));
  g_assert_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_TOKEN);
}

/* Messages through a socket pair, written whole and read in pieces. */
static void
test_connection (void)
{
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  g_autoptr (StrandPilotConn) a = strand_pilot_conn_new (sv[0]);
  g_autoptr (StrandPilotConn) b = strand_pilot_conn_new (sv[1]);
  g_autoptr (StrandTaskResult) r = strand_task_result_new ();
  r->ok = TRUE;
  /* A long message: more than the socket holds at once. */
  g_autoptr (GString) big = g_string_new (NULL);
  for (guint i = 0; i < 200000; i++)
    g_string_append_c (big, (char) ('a' + i % 26));
  r->message = g_strdup (big->str);
  for (guint i = 0; i < 20; i++)
    {
      StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_RESULT, .id = i, .result = r };
      strand_pilot_conn_send (a, &msg);
    }
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  while (msgs->len < 20)
    {
      g_assert_true (strand_pilot_conn_flush (a, NULL));
      g_assert_true (strand_pilot_conn_read (b, msgs, NULL));
    }
  for (guint i = 0; i < 20; i++)
    {
      StrandPilotMsg *m = msgs->pdata[i];
      g_assert_cmpuint (m->id, ==, i);
      g_assert_cmpstr (m->result->message, ==, big->str);
    }
  g_assert_false (strand_pilot_conn_pending (a));
  /* A line that never ends is refused at the limit, not buffered forever. */
  g_autofree char *junk = g_malloc0 (1 << 20);
  memset (junk, 'x', 1 << 20);
  g_autoptr (GError) error = NULL;
  gsize sent = 0;
  g_ptr_array_set_size (msgs, 0);
  while (error == NULL && sent < STRAND_PILOT_MAX_LINE + (2u << 20))
    {
      ssize_t n = write (sv[0], junk, 1 << 20);
      if (n > 0)
        sent += (gsize) n;
      strand_pilot_conn_read (b, msgs, &error);
    }
  g_assert_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_PROTOCOL);
  g_clear_error (&error);
  /* The other end closes: CLOSED. */
  g_autoptr (StrandPilotConn) c = NULL;
  int sv2[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv2), ==, 0);
  c = strand_pilot_conn_new (sv2[1]);
  close (sv2[0]);
  g_assert_false (strand_pilot_conn_read (c, msgs, &error));
  g_assert_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_CLOSED);
}

/* ---- the worker program against a host played here ------------------------------ */

typedef struct {
  int listen_fd;
  guint16 port;
  GPid pid;
  int err_fd;
  StrandPilotConn *conn;
  GPtrArray *inbox; /* StrandPilotMsg read but not taken */
  char *token;
  char *token_path;
  char *nonce;      /* the worker's, from its hello */
} FakeHost;

static void
fake_listen (FakeHost *h)
{
  h->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_cmpint (bind (h->listen_fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (listen (h->listen_fd, 4), ==, 0);
  socklen_t len = sizeof a;
  g_assert_cmpint (getsockname (h->listen_fd, (struct sockaddr *) &a, &len), ==, 0);
  h->port = ntohs (a.sin_port);
}

/* Starts `strand worker` for this host; `token_mode` 0: no token file. */
static void
fake_start (FakeHost *h, int token_mode)
{
  memset (h, 0, sizeof *h);
  h->inbox = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  fake_listen (h);
  g_autofree char *dir = strand_test_fresh_dir (tmp, "fake-host");
  h->token = strand_pilot_secret_new ();
  h->token_path = g_build_filename (dir, "token", NULL);
  g_assert_true (strand_pilot_token_write (h->token_path, h->token, NULL));
  if (token_mode != 0)
    g_chmod (h->token_path, token_mode);
  g_autofree char *connect = g_strdup_printf ("127.0.0.1:%u", h->port);
  const char *argv[] = { STRAND_CLI, "worker", "--connect", connect, "--token-file", h->token_path,
                         "--cores", "2", "--memory", "1073741824", "--grace", "0.5", NULL };
  if (token_mode == 0)
    argv[4] = NULL;
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "STRAND_WORKER_TOKEN");
  env = g_environ_unsetenv (env, "SLURM_JOB_ID");
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &h->pid, NULL, NULL, &h->err_fd, &error));
  g_assert_no_error (error);
}

/* Waits for the worker to end: its status and what it wrote to stderr. */
static int
fake_wait (FakeHost *h, char **err)
{
  int status = 0;
  for (int i = 0; i < 3000; i++)
    {
      if (waitpid (h->pid, &status, WNOHANG) == h->pid)
        {
          g_autoptr (GIOChannel) ch = g_io_channel_unix_new (h->err_fd);
          g_io_channel_set_close_on_unref (ch, TRUE);
          g_autofree char *text = NULL;
          g_io_channel_read_to_end (ch, &text, NULL, NULL);
          if (g_test_verbose ())
            g_printerr ("%s", text ? text : "");
          if (err)
            *err = g_steal_pointer (&text);
          h->pid = 0;
          return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        }
      g_usleep (10000);
    }
  g_error ("the worker did not end within 30 s");
}

static void
fake_free (FakeHost *h)
{
  if (h->pid > 0)
    {
      kill (h->pid, SIGKILL);
      waitpid (h->pid, NULL, 0);
      close (h->err_fd);
    }
  strand_pilot_conn_free (h->conn);
  if (h->listen_fd >= 0)
    close (h->listen_fd);
  g_ptr_array_unref (h->inbox);
  g_free (h->token);
  g_free (h->token_path);
  g_free (h->nonce);
}

static void
fake_accept (FakeHost *h)
{
  struct pollfd p = { .fd = h->listen_fd, .events = POLLIN };
  g_assert_cmpint (poll (&p, 1, 20000), ==, 1);
  h->conn = strand_pilot_conn_new (accept4 (h->listen_fd, NULL, NULL, SOCK_CLOEXEC));
}

/* The next message of `type` (heartbeats are skipped). */
static StrandPilotMsg *
fake_expect (FakeHost *h, StrandPilotMsgType type)
{
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  for (;;)
    {
      while (h->inbox->len > 0)
        {
          StrandPilotMsg *m = g_ptr_array_steal_index (h->inbox, 0);
          if (m->type == type)
            return m;
          g_assert_cmpint (m->type, ==, STRAND_PILOT_MSG_HEARTBEAT);
          strand_pilot_msg_free (m);
        }
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      struct pollfd p = { .fd = strand_pilot_conn_fd (h->conn), .events = POLLIN };
      if (strand_pilot_conn_pending (h->conn))
        p.events |= POLLOUT;
      poll (&p, 1, 100);
      strand_pilot_conn_flush (h->conn, NULL);
      g_autoptr (GError) error = NULL;
      if (!strand_pilot_conn_read (h->conn, h->inbox, &error) && h->inbox->len == 0)
        g_error ("the worker's connection: %s", error->message);
    }
}

static void
fake_send (FakeHost *h, const StrandPilotMsg *msg)
{
  strand_pilot_conn_send (h->conn, msg);
  g_assert_true (strand_pilot_conn_drain (h->conn, 5000));
}

/* Challenge, hello (checked), welcome (with a true proof unless `lie`). */
static void
fake_handshake (FakeHost *h, gboolean lie)
{
  fake_accept (h);
  g_autofree char *nonce = strand_pilot_secret_new ();
  StrandPilotMsg challenge = { .type = STRAND_PILOT_MSG_CHALLENGE, .version = 1, .nonce = nonce };
  fake_send (h, &challenge);
  g_autoptr (StrandPilotMsg) hello = fake_expect (h, STRAND_PILOT_MSG_HELLO);
  g_assert_true (strand_pilot_proof_check (h->token, "worker", nonce, hello->proof));
  g_assert_cmpuint (hello->cores, ==, 2);
  g_assert_cmpuint (hello->memory_bytes, ==, 1u << 30);
  g_assert_null (hello->job);
  g_autofree char *other = strand_pilot_secret_new ();
  g_autofree char *proof = strand_pilot_proof (lie ? other : h->token, "host", hello->nonce);
  StrandPilotMsg welcome = { .type = STRAND_PILOT_MSG_WELCOME, .proof = proof, .heartbeat_ms = 300 };
  fake_send (h, &welcome);
}

static gboolean
wait_for_file_in (const char *dir, char **name)
{
  for (int i = 0; i < 2000; i++)
    {
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *n = d ? g_dir_read_name (d) : NULL;
      if (n != NULL)
        {
          *name = g_strdup (n);
          return TRUE;
        }
      g_usleep (10000);
    }
  return FALSE;
}

/* The process a started file names ("SAMPLE.ATTEMPT.PID") is gone. */
static void
assert_gone (const char *started_name)
{
  const char *dot = strrchr (started_name, '.');
  pid_t pid = (pid_t) atoi (dot + 1);
  for (int i = 0; i < 500 && kill (pid, 0) == 0; i++)
    g_usleep (10000);
  g_assert_cmpint (kill (pid, 0), ==, -1);
}

static void
test_worker_runs_tasks (void)
{
  FakeHost h;
  fake_start (&h, 0600);
  fake_handshake (&h, FALSE);
  /* A task: its output, where the task's folder is. */
  g_autoptr (StrandTaskSpec) one = wait_spec ("S1", NULL, NULL);
  StrandPilotMsg task = { .type = STRAND_PILOT_MSG_TASK, .id = 1, .spec = one };
  fake_send (&h, &task);
  g_autoptr (StrandPilotMsg) r1 = fake_expect (&h, STRAND_PILOT_MSG_RESULT);
  g_assert_cmpuint (r1->id, ==, 1);
  g_assert_true (r1->result->ok);
  g_assert_cmpuint (r1->result->outputs->len, ==, 1);
  StrandTaskOutput *out = r1->result->outputs->pdata[0];
  g_assert_true (g_str_has_prefix (out->path, one->work_dir));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (out->path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "S1: done\n");

  /* A task that waits, cancelled: it stops, and says so. */
  g_autofree char *started = strand_test_fresh_dir (tmp, "started");
  g_autofree char *marker = g_build_filename (started, "never", NULL);
  g_autoptr (StrandTaskSpec) two = wait_spec ("S2", marker, started);
  StrandPilotMsg task2 = { .type = STRAND_PILOT_MSG_TASK, .id = 2, .spec = two };
  fake_send (&h, &task2);
  g_autofree char *name = NULL;
  g_assert_true (wait_for_file_in (started, &name));
  StrandPilotMsg cancel = { .type = STRAND_PILOT_MSG_CANCEL, .id = 2 };
  fake_send (&h, &cancel);
  g_autoptr (StrandPilotMsg) r2 = fake_expect (&h, STRAND_PILOT_MSG_RESULT);
  g_assert_cmpuint (r2->id, ==, 2);
  g_assert_false (r2->result->ok);
  g_assert_cmpint (r2->result->error_class, ==, STRAND_ERROR_TRANSIENT);
  g_assert_nonnull (strstr (r2->result->message, "cancelled"));
  assert_gone (name);

  /* A plugin that is not the file the registry saw: not run. */
  g_autoptr (StrandTaskSpec) three = wait_spec ("S3", NULL, NULL);
  g_autoptr (JsonNode) pj = strand_plugin_info_to_json (three->plugin);
  three->owned_plugin = strand_plugin_info_from_json (pj, NULL);
  g_free (three->owned_plugin->sha256);
  three->owned_plugin->sha256 = g_strnfill (64, 'a');
  three->plugin = three->owned_plugin;
  StrandPilotMsg task3 = { .type = STRAND_PILOT_MSG_TASK, .id = 3, .spec = three };
  fake_send (&h, &task3);
  g_autoptr (StrandPilotMsg) r3 = fake_expect (&h, STRAND_PILOT_MSG_RESULT);
  g_assert_cmpint (r3->result->error_class, ==, STRAND_ERROR_CONFIG);
  g_assert_nonnull (strstr (r3->result->message, "is not the file the host registered"));
  g_autofree char *out3 = g_build_filename (three->work_dir, "outputs", NULL);
  g_assert_false (g_file_test (out3, G_FILE_TEST_EXISTS));

  /* Let go: it leaves, done. */
  StrandPilotMsg exit_msg = { .type = STRAND_PILOT_MSG_EXIT, .reason = "done" };
  fake_send (&h, &exit_msg);
  g_autofree char *err = NULL;
  g_assert_cmpint (fake_wait (&h, &err), ==, 0);
  g_assert_nonnull (strstr (err, "leaving: the host released it"));
  fake_free (&h);
}

/* The host goes away (or is signalled away from) while a task runs: the
 * task is stopped, not left running for nobody. */
static void
test_worker_host_lost (void)
{
  for (int signalled = 0; signalled < 2; signalled++)
    {
      FakeHost h;
      fake_start (&h, 0600);
      fake_handshake (&h, FALSE);
      g_autofree char *started = strand_test_fresh_dir (tmp, "started");
      g_autofree char *marker = g_build_filename (started, "never", NULL);
      g_autoptr (StrandTaskSpec) spec = wait_spec ("S1", marker, started);
      StrandPilotMsg task = { .type = STRAND_PILOT_MSG_TASK, .id = 1, .spec = spec };
      fake_send (&h, &task);
      g_autofree char *name = NULL;
      g_assert_true (wait_for_file_in (started, &name));
      g_autofree char *err = NULL;
      if (signalled)
        {
          kill (h.pid, SIGTERM);
          g_autoptr (StrandPilotMsg) bye = fake_expect (&h, STRAND_PILOT_MSG_BYE);
          g_assert_nonnull (strstr (bye->reason, "signal 15"));
          g_assert_cmpint (fake_wait (&h, &err), ==, 143);
          g_assert_nonnull (strstr (err, "leaving: it was signalled; the tasks it ran were stopped"));
        }
      else
        {
          g_clear_pointer (&h.conn, strand_pilot_conn_free);
          g_assert_cmpint (fake_wait (&h, &err), ==, 1);
          g_assert_nonnull (strstr (err, "leaving: the host went away; the tasks it ran were stopped"));
        }
      assert_gone (name);
      fake_free (&h);
    }
}

/* A host that cannot prove it holds the token gets nothing run. */
static void
test_worker_refuses_impostor (void)
{
  FakeHost h;
  fake_start (&h, 0600);
  fake_handshake (&h, TRUE);
  g_autofree char *err = NULL;
  g_assert_cmpint (fake_wait (&h, &err), ==, 1);
  g_assert_nonnull (strstr (err, "did not prove it holds the run's token"));
  g_assert_null (strstr (err, "connected"));
  fake_free (&h);
}

static void
test_worker_token_checks (void)
{
  FakeHost h;
  fake_start (&h, 0644);
  g_autofree char *err = NULL;
  g_assert_cmpint (fake_wait (&h, &err), ==, 1);
  g_assert_nonnull (strstr (err, "readable by others (mode 644); it must be 0600"));
  fake_free (&h);
  fake_start (&h, 0);
  g_autofree char *err2 = NULL;
  g_assert_cmpint (fake_wait (&h, &err2), ==, 1);
  g_assert_nonnull (strstr (err2, "no token"));
  fake_free (&h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  tmp = g_dir_make_tmp ("strand-pilot-XXXXXX", NULL);
  registry = strand_test_registry (STRAND_SX_PLUGIN_DIR, NULL);
  g_test_add_func ("/pilot/messages", test_messages);
  g_test_add_func ("/pilot/malformed", test_malformed);
  g_test_add_func ("/pilot/proofs", test_proofs);
  g_test_add_func ("/pilot/token-file", test_token_file);
  g_test_add_func ("/pilot/connection", test_connection);
  g_test_add_func ("/pilot/worker/runs-tasks", test_worker_runs_tasks);
  g_test_add_func ("/pilot/worker/host-lost", test_worker_host_lost);
  g_test_add_func ("/pilot/worker/refuses-impostor", test_worker_refuses_impostor);
  g_test_add_func ("/pilot/worker/token-checks", test_worker_token_checks);
  int rc = g_test_run ();
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
