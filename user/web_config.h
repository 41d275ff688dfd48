/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * web_config.h - the web config file of `synprobe serve` (--web.config.file), in the format of
 * Prometheus' exporter-toolkit (node_exporter, blackbox_exporter), parsed with libyaml:
 *
 *   tls_server_config:                 # optional; absent (or no cert_file): plain HTTP
 *     cert_file: server.crt            # PEM; relative paths are taken from the file's directory
 *     key_file: server.key             # PEM, unencrypted
 *     client_ca_file: ca.crt           # PEM; needed by the *Verify* client_auth_types
 *     client_auth_type: NoClientCert   # NoClientCert (default), RequestClientCert,
 *                                      # RequireAnyClientCert, VerifyClientCertIfGiven,
 *                                      # RequireAndVerifyClientCert (Go's tls.ClientAuthType)
 *     min_version: TLS12               # TLS10, TLS11, TLS12 (default) or TLS13
 *     max_version: TLS13               # default TLS13
 *   basic_auth_users:                  # optional; user: bcrypt hash ($2a$, $2b$ or $2y$)
 *     prometheus: $2y$10$...
 *
 * Source: https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
 * Keys of that format synprobe does not implement (cipher_suites, curve_preferences,
 * client_allowed_sans, http_server_config, ...) are refused with a one-line error, not ignored.
 */
#ifndef __SP_WEB_CONFIG_H
#define __SP_WEB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WEB_PATH_MAX  4096
#define WEB_USER_MAX  256
#define WEB_USERS_MAX 1024
/* A bcrypt hash: "$2b$" cost "$" 22 characters of salt and 31 of hash. */
#define WEB_BCRYPT_LEN 60
#define WEB_ERR_MAX    512
/* The file's size limit: it holds a few paths and hashes. */
#define WEB_FILE_MAX (256 * 1024)

/* Go's tls.ClientAuthType, by exporter-toolkit's names. */
enum web_client_auth {
	WEB_NO_CLIENT_CERT,
	WEB_REQUEST_CLIENT_CERT,
	WEB_REQUIRE_ANY_CLIENT_CERT,
	WEB_VERIFY_CLIENT_CERT_IF_GIVEN,
	WEB_REQUIRE_AND_VERIFY_CLIENT_CERT,
};

/* TLS versions, ordered. */
enum web_tls_version {
	WEB_TLS10 = 10,
	WEB_TLS11 = 11,
	WEB_TLS12 = 12,
	WEB_TLS13 = 13,
};

struct web_user {
	char name[WEB_USER_MAX];
	char hash[WEB_BCRYPT_LEN + 1];
};

struct web_config {
	bool tls;			   /* tls_server_config with a cert_file: serve HTTPS */
	char cert_file[WEB_PATH_MAX];	   /* resolved against the file's directory */
	char key_file[WEB_PATH_MAX];	   /* idem */
	char client_ca_file[WEB_PATH_MAX]; /* idem; "" when not given */
	enum web_client_auth client_auth;
	enum web_tls_version min_version;
	enum web_tls_version max_version;
	struct web_user *users; /* owned; n_users entries */
	size_t n_users;
};

/*
 * web_config_parse - parse the YAML text @buf (@len bytes) into @cfg. @file names the file in
 * messages, and its directory is where relative paths start from. An empty document is a valid
 * config (plain HTTP, no authentication). On error returns -EINVAL (or -ENOMEM) and writes one
 * line to @err (@errlen bytes): "FILE:LINE: key 'KEY': what is wrong and how to fix it"; @cfg is
 * then empty. Checks the form of each value (bcrypt hashes included), not the files named.
 */
int web_config_parse(const char *buf, size_t len, const char *file, struct web_config *cfg,
		     char *err, size_t errlen);

/* web_config_load - read @path (at most WEB_FILE_MAX bytes) and web_config_parse() it. */
int web_config_load(const char *path, struct web_config *cfg, char *err, size_t errlen);

/* web_config_free - free what @cfg owns and empty it; NULL-safe. */
void web_config_free(struct web_config *cfg);

/* web_client_auth_str - exporter-toolkit's name of @a ("NoClientCert", ...). */
const char *web_client_auth_str(enum web_client_auth a);

#endif
