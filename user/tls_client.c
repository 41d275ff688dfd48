// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_client.c - the TLS step of a check, with GnuTLS (tls_client.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "tls_client.h"

#define ALPN_MAX 8

/* Read-only once made: credentials (the CA loaded once) shared by every session. */
struct sp_tls_config {
	gnutls_certificate_credentials_t cred;
	bool insecure;
	char *sni;
	char alpn[256]; /* the names, NUL-separated in place by alpn_split() */
	gnutls_datum_t protos[ALPN_MAX];
	unsigned int n_protos;
};

struct sp_tls {
	gnutls_session_t session;
	bool started, done;
	bool handshake_ended; /* the handshake itself ended, verified or not */
	bool insecure;
	char *verify_name; /* the name verified after the handshake; NULL: the chain only */
	__u64 start_ns, end_ns;
	char error[512];
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ALPN "a,b" into gnutls datums pointing into @copy. Returns the count, or -1 if a name is bad. */
static int alpn_split(char *copy, gnutls_datum_t *out)
{
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == ALPN_MAX || !*tok || strlen(tok) > 255)
			return -1;
		out[n].data = (unsigned char *)tok;
		out[n].size = (unsigned int)strlen(tok);
		n++;
	}
	return n ? n : -1;
}

struct sp_tls_config *sp_tls_config_new(const struct sp_tls_opts *o, char *err, size_t errlen)
{
	struct sp_tls_config *c;
	int rc, n;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	c->insecure = o->insecure;
	if (o->sni) {
		c->sni = strdup(o->sni);
		if (!c->sni) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	rc = gnutls_certificate_allocate_credentials(&c->cred);
	if (rc < 0)
		goto fail_gnutls;
	if (!o->insecure) {
		if (o->ca_file) {
			rc = gnutls_certificate_set_x509_trust_file(c->cred, o->ca_file,
								    GNUTLS_X509_FMT_PEM);
			if (rc <= 0) {
				snprintf(err, errlen,
					 "--ca %s: %s: give a readable file of PEM certificates",
					 o->ca_file,
					 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
				goto fail;
			}
		} else {
			rc = gnutls_certificate_set_x509_system_trust(c->cred);
			if (rc < 0)
				goto fail_gnutls;
		}
	}
	if (o->alpn) {
		if (strlen(o->alpn) >= sizeof(c->alpn)) {
			snprintf(err, errlen, "--alpn '%.40s...' is too long", o->alpn);
			goto fail;
		}
		strcpy(c->alpn, o->alpn);
		n = alpn_split(c->alpn, c->protos);
		if (n < 0) {
			snprintf(err, errlen,
				 "--alpn '%s': give at most %d protocol names, comma-separated, "
				 "e.g. h2,http/1.1",
				 o->alpn, ALPN_MAX);
			goto fail;
		}
		c->n_protos = (unsigned int)n;
	}
	return c;

fail_gnutls:
	snprintf(err, errlen, "TLS set-up failed: %s", gnutls_strerror(rc));
fail:
	sp_tls_config_free(c);
	errno = EINVAL;
	return NULL;
}

void sp_tls_config_free(struct sp_tls_config *c)
{
	if (!c)
		return;
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c->sni);
	free(c);
}

struct sp_tls *sp_tls_new(int fd, const struct sp_tls_config *c, const char *host, char *err,
			  size_t errlen)
{
	const char *name = c->sni ? c->sni : host;
	struct sp_tls *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	t->insecure = c->insecure;
	rc = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (rc < 0)
		goto fail_gnutls;
	rc = gnutls_set_default_priority(t->session);
	if (!rc)
		rc = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, c->cred);
	if (rc < 0)
		goto fail_gnutls;
	if (name && *name && !is_ip(name)) {
		rc = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, name, strlen(name));
		if (rc < 0)
			goto fail_gnutls;
	}
	/*
	 * Verification runs after the handshake (sp_tls_handshake()), not inside it as
	 * gnutls_session_set_verify_cert() would: a handshake aborted from the verify callback
	 * has no cipher suite to report yet, and a failed check should still say what was agreed.
	 */
	if (!c->insecure && name && *name) {
		t->verify_name = strdup(name);
		if (!t->verify_name) {
			rc = GNUTLS_E_MEMORY_ERROR;
			goto fail_gnutls;
		}
	}
	if (c->n_protos) {
		rc = gnutls_alpn_set_protocols(t->session, c->protos, c->n_protos, 0);
		if (rc < 0)
			goto fail_gnutls;
	}
	gnutls_transport_set_int(t->session, fd);
	gnutls_handshake_set_timeout(t->session, 0); /* the check's deadline rules */
	return t;

fail_gnutls:
	snprintf(err, errlen, "TLS set-up failed: %s", gnutls_strerror(rc));
	sp_tls_free(t);
	errno = EINVAL;
	return NULL;
}

/* The verification's words in one line: GnuTLS's sentences, newlines made spaces. */
static void verify_reason(struct sp_tls *t, unsigned int status)
{
	gnutls_datum_t out = {};
	char *p;

	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0) {
		snprintf(t->error, sizeof(t->error), "certificate not verified (status 0x%x)",
			 status);
		return;
	}
	snprintf(t->error, sizeof(t->error), "certificate not verified: %s", (char *)out.data);
	for (p = t->error; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (p > t->error && p[-1] == ' ')
		*--p = '\0';
	gnutls_free(out.data);
}

/*
 * The server's chain against the trust set up (a CA file or the system's) and its name against
 * @t->verify_name (gnutls_certificate_verify_peers3(): a DNS name, or an IP address against the
 * certificate's IP addresses; NULL: the chain only), as gnutls_session_set_verify_cert() would
 * do inside the handshake. Returns 0 if it verified, else -EPROTO with the reason in t->error.
 */
static int verify_peer(struct sp_tls *t)
{
	unsigned int status = 0;
	int rc;

	if (t->insecure)
		return 0;
	rc = gnutls_certificate_verify_peers3(t->session, t->verify_name, &status);
	if (rc < 0) {
		snprintf(t->error, sizeof(t->error), "certificate not verified: %s",
			 gnutls_strerror(rc));
		return -EPROTO;
	}
	if (status) {
		verify_reason(t, status);
		return -EPROTO;
	}
	return 0;
}

int sp_tls_handshake(struct sp_tls *t)
{
	int rc;

	if (t->handshake_ended) /* verified, or failed verification */
		return t->done ? 0 : -EPROTO;
	if (!t->started) {
		t->started = true;
		t->start_ns = mono_ns();
	}
	do {
		rc = gnutls_handshake(t->session);
	} while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_AGAIN &&
		 rc != GNUTLS_E_INTERRUPTED);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	t->end_ns = mono_ns();
	if (rc < 0) {
		snprintf(t->error, sizeof(t->error), "handshake failed: %s", gnutls_strerror(rc));
		if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
			snprintf(t->error + strlen(t->error), sizeof(t->error) - strlen(t->error),
				 " (%s)", gnutls_alert_get_name(gnutls_alert_get(t->session)));
		return -EPROTO;
	}
	t->handshake_ended = true;
	/*
	 * The handshake ended (our Finished is sent) but no application data has been sent yet:
	 * the check sends its first byte only after this verification passed. A failure tells
	 * the server with a fatal alert (best effort: the connection is then closed with RST).
	 */
	if (verify_peer(t)) {
		gnutls_alert_send_appropriate(t->session, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
		return -EPROTO;
	}
	t->done = true;
	return 0;
}

void sp_tls_phase(const struct sp_tls *t, char *buf, size_t len)
{
	/* GnuTLS starts both at -1 (nothing sent or received yet). */
	int out = (int)gnutls_handshake_get_last_out(t->session);
	int in = (int)gnutls_handshake_get_last_in(t->session);
	const char *name;

	if (t->handshake_ended) {
		snprintf(buf, len, "the handshake had ended");
		return;
	}
	if (!t->started || out < 0) {
		snprintf(buf, len, "the ClientHello was not sent");
		return;
	}
	if (in < 0) {
		snprintf(buf, len, "no reply to the ClientHello");
		return;
	}
	name = gnutls_handshake_description_get_name((gnutls_handshake_description_t)in);
	snprintf(buf, len, "the last message received was %s", name ? name : "unknown");
}

bool sp_tls_wants_write(const struct sp_tls *t)
{
	return gnutls_record_get_direction(t->session) == 1;
}

ssize_t sp_tls_send(struct sp_tls *t, const void *buf, size_t len)
{
	ssize_t n = gnutls_record_send(t->session, buf, len);

	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	if (n < 0) {
		snprintf(t->error, sizeof(t->error), "TLS send failed: %s",
			 gnutls_strerror((int)n));
		return -EPROTO;
	}
	return n;
}

ssize_t sp_tls_recv(struct sp_tls *t, void *buf, size_t len)
{
	ssize_t n = gnutls_record_recv(t->session, buf, len);

	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	/* A peer that closes without close_notify has still ended its reply. */
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	if (n < 0) {
		snprintf(t->error, sizeof(t->error), "TLS receive failed: %s",
			 gnutls_strerror((int)n));
		return -EPROTO;
	}
	return n;
}

/* A distinguished name of @crt (issuer or subject) as RFC 4514 text into @out. */
static void dn_of(gnutls_x509_crt_t crt, bool issuer, char *out, size_t len)
{
	gnutls_datum_t d = {};
	int rc;

	rc = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0)
		    : gnutls_x509_crt_get_dn3(crt, &d, 0);
	if (rc < 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%.*s", (int)d.size, (char *)d.data);
	gnutls_free(d.data);
}

void sp_tls_get_info(const struct sp_tls *t, struct sp_tls_info *info)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0, i;
	gnutls_x509_crt_t crt;
	gnutls_datum_t proto;
	const char *s;
	time_t na;
	char *suite;

	memset(info, 0, sizeof(*info));
	if (t->started && t->end_ns)
		info->handshake_ns = t->end_ns - t->start_ns;
	/*
	 * What was agreed, once the handshake ended (verified or not). Before that, GnuTLS's
	 * version is its own proposal (a server that is not TLS at all would read "TLS1.2").
	 */
	if (t->handshake_ended) {
		s = gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
		snprintf(info->version, sizeof(info->version), "%s", s ? s : "");
		suite = (char *)gnutls_ciphersuite_get(t->session);
		snprintf(info->cipher, sizeof(info->cipher), "%s", suite ? suite : "");
		if (gnutls_alpn_get_selected_protocol(t->session, &proto) == 0)
			snprintf(info->alpn, sizeof(info->alpn), "%.*s", (int)proto.size,
				 (char *)proto.data);
	}
	/* With verification on, a handshake that ended passed it (else it fails). */
	info->verified = t->done && !t->insecure;
	certs = gnutls_certificate_get_peers(t->session, &n);
	for (i = 0; certs && i < n; i++) {
		if (gnutls_x509_crt_init(&crt) < 0)
			break;
		if (gnutls_x509_crt_import(crt, &certs[i], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt);
			continue;
		}
		na = gnutls_x509_crt_get_expiration_time(crt);
		if (i == 0) {
			info->has_cert = true;
			info->not_after = na;
			info->earliest_not_after = na;
			dn_of(crt, false, info->subject, sizeof(info->subject));
			dn_of(crt, true, info->issuer, sizeof(info->issuer));
		} else if (na < info->earliest_not_after) {
			info->earliest_not_after = na;
		}
		info->chain_len++;
		gnutls_x509_crt_deinit(crt);
	}
}

const char *sp_tls_error(const struct sp_tls *t)
{
	return t->error;
}

void sp_tls_free(struct sp_tls *t)
{
	if (!t)
		return;
	if (t->session)
		gnutls_deinit(t->session);
	free(t->verify_name);
	free(t);
}

void sp_rfc3339(__s64 t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%s", "");
}
