/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_client.h - the TLS step of a check (--tls, --sni, --ca, --insecure, --alpn) with GnuTLS,
 * on a connected non-blocking socket: the handshake, then what it tells about the server (the
 * version and cipher suite agreed, the leaf certificate's notAfter, subject and issuer, the
 * earliest notAfter of the chain the server sent, as blackbox_exporter's
 * probe_ssl_earliest_cert_expiry) and, when it did not verify, why, in one line.
 *
 * Verification (unless insecure): the chain against the CA file given or the system's trust
 * store (gnutls_certificate_set_x509_system_trust()), and the name: the SNI name, else the
 * target's host (an IP address is checked against the certificate's IP addresses) -
 * gnutls_certificate_verify_peers3(), once the handshake has ended and before any application
 * data is sent, so that a check failing verification still reports the version and cipher suite
 * agreed. SNI is sent unless the name is an IP address (RFC 6066, 3).
 */
#ifndef __SP_TLS_CLIENT_H
#define __SP_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#define SP_TLS_DN_MAX 256 /* subject and issuer, RFC 4514 strings, cut beyond */

/*
 * struct sp_tls_config: what the options set up once (the CA file loaded, ALPN names): shared,
 * read-only, by every session of every check configured alike (GnuTLS credentials may be shared
 * by sessions in several threads). struct sp_tls: one session on one connection.
 */
struct sp_tls_config;
struct sp_tls;

struct sp_tls_opts {
	const char *sni;     /* the name to send and verify instead of the target's; NULL: its */
	const char *ca_file; /* PEM CA bundle; NULL: the system's trust store */
	bool insecure;	     /* no verification: the handshake passes whatever the certificate */
	const char *alpn;    /* ALPN protocols, comma-separated ("h2,http/1.1"); NULL: none */
};

/* What the handshake told (sp_tls_get_info()). Strings are "" when unknown. */
struct sp_tls_info {
	__u64 handshake_ns; /* first ClientHello write to the handshake's end, CLOCK_MONOTONIC */
	char version[16];   /* "TLS1.3", "TLS1.2" */
	char cipher[64];    /* the IANA name, "TLS_AES_256_GCM_SHA384" */
	char alpn[32];	    /* the protocol the server chose */
	bool has_cert;	    /* the server sent a certificate: the fields below are set */
	__s64 not_after;    /* leaf's notAfter, UNIX seconds */
	__s64 earliest_not_after; /* the earliest notAfter of the certificates sent */
	unsigned int chain_len;	  /* certificates sent */
	char subject[SP_TLS_DN_MAX];
	char issuer[SP_TLS_DN_MAX];
	bool verified; /* chain and name verified (false with insecure) */
};

/*
 * sp_tls_config_new - load what @opts name (copied). Returns the config, or NULL with one line
 * in @err (an unreadable or empty CA file names the file; a bad ALPN list) and errno set.
 */
struct sp_tls_config *sp_tls_config_new(const struct sp_tls_opts *opts, char *err, size_t errlen);

/* sp_tls_config_free - after every session made from it is freed; NULL is accepted. */
void sp_tls_config_free(struct sp_tls_config *c);

/*
 * sp_tls_new - a TLS client session of config @c (not copied: it must outlive the session) on
 * the connected socket @fd (not owned: the caller closes it), for the target's @host (its name
 * or address as given: the name sent and verified unless the config has an SNI name). Returns
 * the session, or NULL with one line in @err and errno set.
 */
struct sp_tls *sp_tls_new(int fd, const struct sp_tls_config *c, const char *host, char *err,
			  size_t errlen);

/*
 * sp_tls_handshake - go on with the handshake, then verify the server's certificate. Returns 0
 * when both are done, -EAGAIN when it waits for the socket (sp_tls_wants_write() says which
 * way), or -EPROTO when either failed: sp_tls_error() then says why in one line ("certificate
 * not verified: The certificate is NOT trusted. The certificate issuer is unknown.", "handshake
 * failed: ..."). After a verification failure, sp_tls_get_info() still has the version, cipher
 * suite and certificates; after a handshake failure, only what was known by then.
 */
int sp_tls_handshake(struct sp_tls *t);

/*
 * sp_tls_phase - where an unfinished handshake stands, one phrase into @buf for a message: "no
 * reply to the ClientHello", "the last message received was SERVER HELLO" (GnuTLS's names).
 */
void sp_tls_phase(const struct sp_tls *t, char *buf, size_t len);

/* sp_tls_wants_write - after -EAGAIN: the socket must turn writable (else readable). */
bool sp_tls_wants_write(const struct sp_tls *t);

/*
 * sp_tls_send / sp_tls_recv - application data after the handshake. Return the bytes written or
 * read (0 from recv: the peer closed), -EAGAIN, or -EPROTO (sp_tls_error() says why).
 */
ssize_t sp_tls_send(struct sp_tls *t, const void *buf, size_t len);
ssize_t sp_tls_recv(struct sp_tls *t, void *buf, size_t len);

/* sp_tls_get_info - what the handshake told, also after it failed verification. */
void sp_tls_get_info(const struct sp_tls *t, struct sp_tls_info *info);

/* sp_tls_error - the last failure, one line; "" if none. */
const char *sp_tls_error(const struct sp_tls *t);

/* sp_tls_free - frees the session (sends nothing: the check then closes with RST). NULL ok. */
void sp_tls_free(struct sp_tls *t);

/* sp_rfc3339 - UNIX seconds @t as RFC 3339 UTC, "2027-01-31T12:00:00Z", into @buf. */
void sp_rfc3339(__s64 t, char *buf, size_t len);

#endif
