/* The pilot protocol: how the host and a worker job (pilot.h) talk.
 *
 * A worker job connects to the host over TCP and the two exchange JSON
 * objects, one per line ("\n"-terminated, at most STRAND_PILOT_MAX_LINE
 * bytes), each with a type member "t":
 *
 *   host   -> worker  {"t":"challenge","v":1,"nonce":N1}
 *   worker -> host    {"t":"hello","v":1,"nonce":N2,"proof":HMAC(token,"worker\n"+N1),
 *                      "job":"123","array_job":"120","array_task":3,"node":"cn01",
 *                      "cores":4,"memory_bytes":M,"pid":P}
 *   host   -> worker  {"t":"welcome","proof":HMAC(token,"host\n"+N2),"heartbeat_ms":H,
 *                      "max_tasks":K}
 *   host   -> worker  {"t":"task","id":I,"spec":TASK}       (task.h JSON)
 *   host   -> worker  {"t":"cancel","id":I,"force":B}
 *   worker -> host    {"t":"result","id":I,"result":RESULT}  (task.h JSON)
 *   either            {"t":"hb"}                             (heartbeat)
 *   host   -> worker  {"t":"exit","reason":R}                (leave once idle: no more work)
 *   worker -> host    {"t":"bye","reason":R}                 (leaving now: a signal, an error)
 *
 * Authentication is mutual and comes first: the token is a random secret
 * the host writes to a file only its user can read (on storage the worker
 * nodes share) and it never crosses the wire; each side proves it knows it
 * by an HMAC-SHA256 over the other's fresh nonce (libsodium). The host
 * sends no task before the worker's proof checks, and the worker runs
 * nothing before the host's does: a stranger on the port can neither take
 * work nor hand a worker a plugin to load.
 *
 * Parsing is strict: an unknown type, a missing or mistyped member, a line
 * too long or a task spec that does not read is an error naming what is
 * wrong; the side that meets it closes the connection. */
#pragma once

#include <glib.h>

#include "task.h"

G_BEGIN_DECLS

#define STRAND_PILOT_PROTOCOL 1
#define STRAND_PILOT_MAX_LINE (16u << 20)
/* Hex characters of a token and of a nonce (32 random bytes each). */
#define STRAND_PILOT_SECRET_HEX 64

#define STRAND_PILOT_ERROR (strand_pilot_error_quark ())
GQuark strand_pilot_error_quark (void);

typedef enum {
  STRAND_PILOT_ERROR_PROTOCOL, /* a line that is not a message of this protocol */
  STRAND_PILOT_ERROR_AUTH,     /* a proof that does not check */
  STRAND_PILOT_ERROR_IO,       /* the connection failed */
  STRAND_PILOT_ERROR_CLOSED,   /* the other side closed the connection */
  STRAND_PILOT_ERROR_TOKEN,    /* the token file is missing, unsafe or malformed */
} StrandPilotErrorCode;

typedef enum {
  STRAND_PILOT_MSG_CHALLENGE = 1,
  STRAND_PILOT_MSG_HELLO,
  STRAND_PILOT_MSG_WELCOME,
  STRAND_PILOT_MSG_TASK,
  STRAND_PILOT_MSG_CANCEL,
  STRAND_PILOT_MSG_RESULT,
  STRAND_PILOT_MSG_HEARTBEAT,
  STRAND_PILOT_MSG_EXIT,
  STRAND_PILOT_MSG_BYE,
} StrandPilotMsgType;

/* One message; which members count depends on the type (see above). */
typedef struct {
  StrandPilotMsgType type;
  int version;              /* challenge, hello */
  char *nonce;              /* challenge, hello */
  char *proof;              /* hello, welcome */
  char *job;                /* hello: SLURM_JOB_ID; may be NULL outside Slurm */
  char *array_job;          /* hello: SLURM_ARRAY_JOB_ID, or NULL */
  gint64 array_task;        /* hello: SLURM_ARRAY_TASK_ID, or -1 */
  char *node;               /* hello: the node's name */
  guint cores;              /* hello */
  guint64 memory_bytes;     /* hello */
  gint64 pid;               /* hello */
  gint64 heartbeat_ms;      /* welcome */
  guint max_tasks;          /* welcome: tasks this worker takes in all; 0: no limit */
  guint64 id;               /* task, cancel, result */
  gboolean force;           /* cancel */
  StrandTaskSpec *spec;     /* task: owned */
  StrandTaskResult *result; /* result: owned */
  char *reason;             /* exit, bye; may be NULL */
} StrandPilotMsg;

void strand_pilot_msg_clear (StrandPilotMsg *msg);
void strand_pilot_msg_free (StrandPilotMsg *msg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StrandPilotMsg, strand_pilot_msg_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPilotMsg, strand_pilot_msg_free)

/* The message as one line, "\n" included. */
char *strand_pilot_msg_encode (const StrandPilotMsg *msg, gsize *len);
/* Reads one line (without its "\n"; `len` bytes of any content) into `msg`,
 * which must be zeroed or cleared; on failure `msg` stays empty and `error`
 * (PROTOCOL) names what is wrong. */
gboolean strand_pilot_msg_parse (const char *line, gsize len, StrandPilotMsg *msg, GError **error);

/* ---- secrets ------------------------------------------------------------ */

/* 32 random bytes as 64 lower-case hex characters: a token or a nonce. */
char *strand_pilot_secret_new (void);
/* HMAC-SHA256 keyed with the token over "ROLE\nNONCE", in hex. NULL when
 * the token is not a valid secret. */
char *strand_pilot_proof (const char *token, const char *role, const char *nonce);
/* Constant-time check of a proof; FALSE for anything malformed. */
gboolean strand_pilot_proof_check (const char *token, const char *role, const char *nonce,
                                   const char *proof);
/* Writes a new token file readable by its owner only (0600, created, never
 * replaced). */
gboolean strand_pilot_token_write (const char *path, const char *token, GError **error);
/* Reads a token file; refuses one that others can read or that does not
 * hold a token. */
char *strand_pilot_token_read (const char *path, GError **error);

/* ---- a connection ------------------------------------------------------- */

/* Lines in and out of a non-blocking socket, with buffers. */
typedef struct StrandPilotConn StrandPilotConn;

/* Takes `fd` (made non-blocking and close-on-exec). */
StrandPilotConn *strand_pilot_conn_new (int fd);
void strand_pilot_conn_free (StrandPilotConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPilotConn, strand_pilot_conn_free)

int strand_pilot_conn_fd (StrandPilotConn *conn);
/* Queues a message and writes what the socket takes now. */
void strand_pilot_conn_send (StrandPilotConn *conn, const StrandPilotMsg *msg);
/* TRUE while queued bytes wait for the socket (poll for POLLOUT). */
gboolean strand_pilot_conn_pending (StrandPilotConn *conn);
/* Writes queued bytes; FALSE (IO) when the connection failed. */
gboolean strand_pilot_conn_flush (StrandPilotConn *conn, GError **error);
/* Reads what is available and appends each complete message to `msgs`
 * (StrandPilotMsg*, owned by the array's free function). FALSE with CLOSED
 * at the end of the stream, IO on a failure, PROTOCOL on a bad line; the
 * messages read before it are in `msgs`. */
gboolean strand_pilot_conn_read (StrandPilotConn *conn, GPtrArray *msgs, GError **error);
/* Blocks (poll) until all queued bytes are written or `timeout_ms` passes. */
gboolean strand_pilot_conn_drain (StrandPilotConn *conn, int timeout_ms);

/* Connects to "HOST:PORT" ("[v6addr]:PORT" too), blocking, within
 * `timeout_ms`. Returns the socket, or -1 with IO. */
int strand_pilot_connect (const char *address, int timeout_ms, GError **error);

G_END_DECLS
