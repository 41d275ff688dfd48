/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * web_server.h - what serve's HTTP listener does with the web config (web_config.h): TLS through
 * GnuTLS, HTTP basic authentication against bcrypt hashes (libxcrypt's crypt_rn()), and the
 * re-reading of the file and of the files it names when they change.
 *
 * Settings live in generations: each connection's TLS session and each request's password check
 * hold a reference to the generation current when they began, so a reload never pulls
 * credentials from under a handshake. libmicrohttpd sets up each TLS session with its own
 * credentials; web_server_session_start() replaces them with the current generation's (certificate,
 * key, client CAs), priorities (min/max version) and client certificate request, before the
 * handshake. TLS on or off is fixed at start (the listener's MHD daemon is built for one).
 *
 * Password checks: bcrypt costs tens of ms of CPU on purpose. A pair (user, password) that
 * verified is remembered (SHA-256 of it, WEB_AUTH_CACHE entries per generation), so a scraper's
 * repeated requests cost no bcrypt; at most WEB_AUTH_VERIFY_MAX bcrypt runs at once, and a
 * request finding them busy is answered 503 at once: a flood of wrong passwords uses at most one
 * CPU and never delays /metrics for credentials already verified. An unknown user costs a bcrypt
 * run too (against a fixed hash), so that timing does not tell which users exist.
 */
#ifndef __SP_WEB_SERVER_H
#define __SP_WEB_SERVER_H

#include <stdbool.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include "web_config.h"

#define WEB_AUTH_CACHE	    64
#define WEB_AUTH_VERIFY_MAX 1
/* The file and the files it names are looked at (stat) at most this often. */
#define WEB_RELOAD_MIN_MS 1000

struct web_server;

/* Where a reload is told: @ok false, @msg is one line naming the file and the fault. */
typedef void (*web_log_fn)(void *ctx, bool ok, const char *file, const char *msg);

/*
 * web_server_new - the web settings of @path: web_config_load() it and load the TLS files it
 * names. Returns the server, or NULL with one line in @err (@errlen bytes) naming the file and
 * the fault. @log (with @log_ctx) tells of each reload, done or refused; NULL: nothing.
 */
struct web_server *web_server_new(const char *path, web_log_fn log, void *log_ctx, char *err,
				  size_t errlen);

/* web_server_tls - whether the listener serves HTTPS (fixed for the server's life). */
bool web_server_tls(const struct web_server *ws);

/* web_server_auth_required - whether the current settings have basic_auth_users. */
bool web_server_auth_required(struct web_server *ws);

/*
 * web_server_maybe_reload - re-read the file (and the certificate, key and CA files) if one of
 * them changed (size, mtime, inode), looking at most every WEB_RELOAD_MIN_MS. A bad new file
 * keeps the current settings and is logged once. Thread-safe; cheap when nothing changed.
 */
void web_server_maybe_reload(struct web_server *ws);

/*
 * web_server_session_start - set up the TLS session @session (not yet handshaken) from the
 * current generation; *@ctx gets what web_server_session_end() releases. Returns 0 or a negative
 * GnuTLS error.
 */
int web_server_session_start(struct web_server *ws, gnutls_session_t session, void **ctx);
void web_server_session_end(void *ctx);

enum web_auth {
	WEB_AUTH_OK,	 /* no users configured, or @user and @password are right */
	WEB_AUTH_DENIED, /* missing or wrong: 401 */
	WEB_AUTH_BUSY,	 /* WEB_AUTH_VERIFY_MAX bcrypt runs in flight: 503, retry */
	WEB_AUTH_ERROR,	 /* out of memory or crypt failure: 500 */
};

/*
 * web_server_check_auth - HTTP basic authentication (RFC 7617) of @user and @password (NULL:
 * none sent) against the current basic_auth_users.
 */
enum web_auth web_server_check_auth(struct web_server *ws, const char *user, const char *password);

/*
 * web_server_cert_callback - for MHD_OPTION_HTTPS_CERT_CALLBACK: refuses every handshake. It is
 * only called for a session web_server_session_start() did not set up, which must not happen.
 */
int web_server_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
			     gnutls_pcert_st **pcert, unsigned int *pcert_length,
			     gnutls_privkey_t *pkey);

/* web_server_free - free @ws (NULL-safe); no session or request may still use it. */
void web_server_free(struct web_server *ws);

#endif
