// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_web_config.c - serve's --web.config.file: every key, the rules between them, bad values
 * each named by file, line and key; web_server's basic auth (bcrypt, cost 4 here) against a
 * file, its cache, and a reload that keeps the old settings when the new file is bad.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "web_config.h"
#include "web_server.h"

#define FILE_NAME "etc/web.yml"
#define HASH	  "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

static int parse(const char *yaml, struct web_config *cfg, char *err, size_t errlen)
{
	return web_config_parse(yaml, strlen(yaml), FILE_NAME, cfg, err, errlen);
}

static void test_every_key(void **state)
{
	struct web_config cfg;
	char err[WEB_ERR_MAX] = "";

	assert_int_equal(parse("tls_server_config:\n"
			       "  cert_file: tls.crt\n"
			       "  key_file: /k/tls.key\n"
			       "  client_ca_file: ca.crt\n"
			       "  client_auth_type: RequireAndVerifyClientCert\n"
			       "  min_version: TLS13\n"
			       "  max_version: TLS13\n"
			       "basic_auth_users:\n"
			       "  prometheus: " HASH "\n"
			       "  other: \"" HASH "\"\n",
			       &cfg, err, sizeof(err)),
			 0);
	assert_true(cfg.tls);
	assert_string_equal(cfg.cert_file, "etc/tls.crt");
	assert_string_equal(cfg.key_file, "/k/tls.key");
	assert_string_equal(cfg.client_ca_file, "etc/ca.crt");
	assert_int_equal(cfg.client_auth, WEB_REQUIRE_AND_VERIFY_CLIENT_CERT);
	assert_int_equal(cfg.min_version, WEB_TLS13);
	assert_int_equal(cfg.max_version, WEB_TLS13);
	assert_int_equal(cfg.n_users, 2);
	assert_string_equal(cfg.users[0].name, "prometheus");
	assert_string_equal(cfg.users[1].hash, HASH);
	web_config_free(&cfg);

	/* Empty file, empty tls_server_config: plain HTTP, no users; defaults TLS12..TLS13. */
	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.tls);
	assert_int_equal(cfg.n_users, 0);
	assert_int_equal(cfg.min_version, WEB_TLS12);
	assert_int_equal(cfg.max_version, WEB_TLS13);
	assert_int_equal(parse("tls_server_config: {}\n", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.tls);
	assert_int_equal(parse("tls_server_config:\nbasic_auth_users:\n", &cfg, err, sizeof(err)),
			 0);
	assert_false(cfg.tls);
}

struct bad_case {
	const char *yaml;
	const char *err; /* the start of the message */
};

static const struct bad_case bad_cases[] = {
    {"tls: 1\n", FILE_NAME ":1: key 'tls': unknown key: the keys here are tls_server_config, "
			   "basic_auth_users"},
    {"tls_server_config:\n  cipher_suites: [a]\n",
     FILE_NAME ":2: key 'tls_server_config.cipher_suites': not supported by synprobe"},
    {"tls_server_config:\n  key_file: k\n",
     FILE_NAME ":2: key 'tls_server_config.cert_file': missing"},
    {"tls_server_config:\n  cert_file: c\n",
     FILE_NAME ":2: key 'tls_server_config.key_file': missing"},
    {"tls_server_config:\n  min_version: TLS13\n",
     FILE_NAME ":2: key 'tls_server_config.cert_file': missing"},
    {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: "
     "VerifyClientCertIfGiven\n",
     FILE_NAME ":2: key 'tls_server_config.client_ca_file': missing: client_auth_type "
	       "VerifyClientCertIfGiven"},
    {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
     FILE_NAME ":2: key 'tls_server_config.client_auth_type': client_ca_file is given without"},
    {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Yes\n",
     FILE_NAME ":4: key 'tls_server_config.client_auth_type': 'Yes' is not a client auth type"},
    {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\n",
     FILE_NAME ":4: key 'tls_server_config.min_version': 'TLS14' is not a TLS version"},
    {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: "
     "TLS12\n",
     FILE_NAME ":2: key 'tls_server_config.min_version': TLS13 is above max_version TLS12"},
    {"tls_server_config:\n  cert_file: [a]\n",
     FILE_NAME ":2: key 'tls_server_config.cert_file': is a list"},
    {"tls_server_config:\n  cert_file: c\n  cert_file: d\n",
     FILE_NAME ":3: key 'tls_server_config.cert_file': given twice (first on line 2)"},
    {"basic_auth_users:\n  p: secret\n",
     FILE_NAME ":2: key 'basic_auth_users.p': not a bcrypt hash"},
    {"basic_auth_users:\n  p: $2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n",
     FILE_NAME ":2: key 'basic_auth_users.p': not a bcrypt hash"},
    {"basic_auth_users:\n  p: $1$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n",
     FILE_NAME ":2: key 'basic_auth_users.p': not a bcrypt hash"},
    {"basic_auth_users:\n  \"a:b\": " HASH "\n",
     FILE_NAME ":2: key 'basic_auth_users.a:b': not a user name"},
    {"basic_auth_users:\n  p: " HASH "\n  p: " HASH "\n",
     FILE_NAME ":3: key 'basic_auth_users.p': given twice (first on line 2)"},
    {"basic_auth_users: [p]\n", FILE_NAME ":1: key 'basic_auth_users': is a list"},
    {"- a\n", FILE_NAME ":1: the top level is a list"},
    {"a: [\n", FILE_NAME ":2: not valid YAML"},
};

static void test_bad_configs(void **state)
{
	struct web_config cfg;
	char err[WEB_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad_cases[i].yaml, &cfg, err, sizeof(err)), -EINVAL);
		if (strncmp(err, bad_cases[i].err, strlen(bad_cases[i].err)))
			fail_msg("case %zu: got '%s', want '%s...'", i, err, bad_cases[i].err);
		assert_null(strchr(err, '\n'));
		assert_null(cfg.users);
		assert_false(cfg.tls);
	}
}

/* A bcrypt hash of @password at cost 4 (fast), through libxcrypt. */
static void make_hash(const char *password, char *out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data = {};

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)));
	assert_non_null(crypt_rn(password, setting, &data, sizeof(data)));
	assert_int_equal(strlen(data.output), WEB_BCRYPT_LEN);
	strcpy(out, data.output);
}

static int n_logged, n_refused;
static char last_log[WEB_ERR_MAX + WEB_PATH_MAX];

static void log_cb(void *ctx, bool ok, const char *file, const char *msg)
{
	n_logged++;
	n_refused += !ok;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void write_file(const char *path, const char *text)
{
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

/* Waits out WEB_RELOAD_MIN_MS so that the next web_server_maybe_reload() looks. */
static void after_min_interval(void)
{
	long ms = WEB_RELOAD_MIN_MS + 50;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void test_auth(void **state)
{
	char dir[] = "/tmp/sp-web-XXXXXX", path[128], text[512], h1[64], h2[64];
	char err[WEB_ERR_MAX + WEB_PATH_MAX];
	struct web_server *ws;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	make_hash("secret", h1);
	make_hash("other", h2);
	snprintf(text, sizeof(text), "basic_auth_users:\n  prom: %s\n", h1);
	write_file(path, text);
	ws = web_server_new(path, log_cb, NULL, err, sizeof(err));
	assert_non_null(ws);
	assert_false(web_server_tls(ws));
	assert_true(web_server_auth_required(ws));

	assert_int_equal(web_server_check_auth(ws, "prom", "secret"), WEB_AUTH_OK);
	assert_int_equal(web_server_check_auth(ws, "prom", "secret"), WEB_AUTH_OK); /* cached */
	assert_int_equal(web_server_check_auth(ws, "prom", "secreT"), WEB_AUTH_DENIED);
	assert_int_equal(web_server_check_auth(ws, "prom", ""), WEB_AUTH_DENIED);
	assert_int_equal(web_server_check_auth(ws, "nobody", "secret"), WEB_AUTH_DENIED);
	assert_int_equal(web_server_check_auth(ws, "prom", NULL), WEB_AUTH_DENIED);
	assert_int_equal(web_server_check_auth(ws, NULL, NULL), WEB_AUTH_DENIED);
	/* The cache is keyed by user and password together. */
	assert_int_equal(web_server_check_auth(ws, "prom2", "secret"), WEB_AUTH_DENIED);

	/* A new user: taken at the next look after the minimum interval. */
	snprintf(text, sizeof(text), "basic_auth_users:\n  prom: %s\n  new: %s\n", h1, h2);
	write_file(path, text);
	after_min_interval();
	web_server_maybe_reload(ws);
	assert_int_equal(n_logged, 1);
	assert_int_equal(n_refused, 0);
	assert_int_equal(web_server_check_auth(ws, "new", "other"), WEB_AUTH_OK);

	/* A bad file: refused, logged once with file and fault, the old settings stay. */
	write_file(path, "basic_auth_users:\n  prom: nope\n");
	after_min_interval();
	web_server_maybe_reload(ws);
	after_min_interval();
	web_server_maybe_reload(ws);
	assert_int_equal(n_refused, 1);
	assert_non_null(strstr(last_log, "web.yml:2: key 'basic_auth_users.prom': not a bcrypt"));
	assert_int_equal(web_server_check_auth(ws, "new", "other"), WEB_AUTH_OK);
	assert_int_equal(web_server_check_auth(ws, "prom", "secret"), WEB_AUTH_OK);

	/* Turning TLS on needs a restart: refused. */
	write_file(path, "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: k\n");
	after_min_interval();
	web_server_maybe_reload(ws);
	assert_int_equal(n_refused, 2);
	assert_non_null(strstr(last_log, "cert_file"));

	/* No users: every request passes. */
	write_file(path, "");
	after_min_interval();
	web_server_maybe_reload(ws);
	assert_false(web_server_auth_required(ws));
	assert_int_equal(web_server_check_auth(ws, NULL, NULL), WEB_AUTH_OK);

	web_server_free(ws);
	unlink(path);
	rmdir(dir);
}

static void test_load_errors(void **state)
{
	char err[WEB_ERR_MAX + WEB_PATH_MAX];

	assert_null(web_server_new("/nonexistent/web.yml", NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/web.yml: cannot open the web config file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
