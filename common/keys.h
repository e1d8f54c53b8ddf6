/* keys: CURVE key pairs and how a peer secures its connection to a scheduler.
 *
 * Keys are ZeroMQ's Z85 text (40 characters for 32 bytes). A key pair file holds
 *     public-key = "Z85"
 *     secret-key = "Z85"
 * and is 0600 (a secret file others can read is refused, as ssh does); beside it FILE.pub
 * holds the public line only. A public key argument is either the 40 characters themselves
 * or a file holding a public-key line (a .pub or a key pair file).
 *
 * A connection over tcp:// speaks CURVE: the peer needs its key pair and the scheduler's
 * public key. Plain TCP is allowed only when asked for (--insecure) and the address is
 * loopback. ipc:// and inproc:// need no keys: the scheduler knows a local peer by its uid. */
#ifndef WEFT_KEYS_H
#define WEFT_KEYS_H

#include <stddef.h>

#include <zmq.h>

#include "common/err.h"

#define KEY_Z85_LEN 40

typedef struct keypair {
    char pub[KEY_Z85_LEN + 1];
    char sec[KEY_Z85_LEN + 1];
} keypair;

/* A fresh key pair (libsodium via libzmq). */
int keys_generate(keypair *kp, weft_err *err);
/* Writes kp to path (0600, never over an existing file or through a symlink) and its public
 * half to path.pub (0644). */
int keys_write(const char *path, const keypair *kp, weft_err *err);
/* Reads a key pair file; refuses one that group or others may read. */
int keys_read(const char *path, keypair *kp, weft_err *err);
/* Whether s is 40 characters of Z85 that decode to a key. */
int keys_valid(const char *s);
/* A public key given as the key itself or as a file holding a public-key line. */
int keys_public_arg(const char *arg, char out[KEY_Z85_LEN + 1], weft_err *err);

/* How a peer connects: with CURVE (curve = 1, mine and server set) or plainly. */
typedef struct keys_conn {
    int curve;
    int ipv6;     /* the endpoint is an IPv6 address */
    keypair mine;
    char server[KEY_Z85_LEN + 1];
} keys_conn;

/* Decides how to connect to endpoint from the peer's options (key_file, server_key may be
 * NULL: then $WEFT_KEY and $WEFT_SERVER_KEY are used; insecure also from $WEFT_INSECURE).
 * Fails with the reason when tcp:// has no keys and is not an insecure loopback address. */
int keys_conn_setup(keys_conn *kc, const char *endpoint, const char *key_file,
                    const char *server_key, int insecure, weft_err *err);
/* Sets the CURVE client options (and IPv6) on a ZeroMQ socket, before it connects. */
void keys_conn_apply(const keys_conn *kc, void *zsock);
/* Handshake failures, from a ZeroMQ socket monitor (zmq_socket_monitor). The events to
 * watch, and the reason an event frame (6 bytes: event, value) gives, in words for the
 * scheduler's side (server) or a peer's; NULL when the frame is not such an event. */
#define KEYS_HANDSHAKE_EVENTS                                                              \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |         \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
const char *keys_handshake_why(const void *frame, size_t len, int server);
/* Whether a tcp:// endpoint's host is a loopback address (127.0.0.0/8, ::1, localhost). */
int keys_is_loopback(const char *endpoint);

#endif
