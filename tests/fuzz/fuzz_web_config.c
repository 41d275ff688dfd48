// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_web_config.c - libFuzzer harness for web_config_parse() (user/web_config.c), serve's
 * --web.config.file as web_config_load() hands it over: bytes and a length, no NUL needed.
 *
 * Input: the whole input is the file, in a heap buffer of exactly its size. The file is named
 * "etc/web.yml", so that relative paths are joined to "etc/".
 *
 * Invariants, from web_config.h. Success: at most WEB_USERS_MAX users, each a name of 1 to
 * WEB_USER_MAX - 1 characters without ':', unique, with a bcrypt hash of the form $2[aby]$CC$
 * (cost 04..31) and 53 characters of [./A-Za-z0-9]; min_version <= max_version, both TLS10..13;
 * with tls: cert_file and key_file set, each path absolute or under "etc/", NUL-terminated in
 * WEB_PATH_MAX; the *Verify* client auth types have a client_ca_file, and a client_ca_file has a
 * client auth type other than NoClientCert; without tls: no path and NoClientCert. Failure:
 * -EINVAL, @cfg empty, and one line "etc/web.yml:LINE: ..." NUL-terminated within WEB_ERR_MAX.
 * Parsing again gives the same result. LeakSanitizer checks web_config_free().
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "web_config.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define FILE_NAME "etc/web.yml"

static void check_path(const char *p, bool set)
{
	const char *nul = memchr(p, '\0', WEB_PATH_MAX);

	CHECK(nul);
	if (!set) {
		CHECK(!*p);
		return;
	}
	CHECK(*p == '/' || !strncmp(p, "etc/", 4));
	CHECK(*p == '/' || p[4]);
}

static void check_hash(const char *h)
{
	size_t i;

	CHECK(memchr(h, '\0', WEB_BCRYPT_LEN + 1));
	CHECK(strlen(h) == WEB_BCRYPT_LEN);
	CHECK(!strncmp(h, "$2a$", 4) || !strncmp(h, "$2b$", 4) || !strncmp(h, "$2y$", 4));
	CHECK(h[6] == '$');
	CHECK((h[4] - '0') * 10 + (h[5] - '0') >= 4 && (h[4] - '0') * 10 + (h[5] - '0') <= 31);
	for (i = 7; i < WEB_BCRYPT_LEN; i++)
		CHECK(strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
			     h[i]) &&
		      h[i]);
}

static void check_config(const struct web_config *c)
{
	size_t i, j;

	CHECK(c->n_users <= WEB_USERS_MAX);
	CHECK(!c->n_users == !c->users);
	for (i = 0; i < c->n_users; i++) {
		const char *n = c->users[i].name;

		CHECK(memchr(n, '\0', WEB_USER_MAX));
		CHECK(*n && !strchr(n, ':'));
		check_hash(c->users[i].hash);
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->users[j].name, n));
	}
	CHECK(c->min_version >= WEB_TLS10 && c->min_version <= c->max_version &&
	      c->max_version <= WEB_TLS13);
	CHECK(c->client_auth >= WEB_NO_CLIENT_CERT &&
	      c->client_auth <= WEB_REQUIRE_AND_VERIFY_CLIENT_CERT);
	check_path(c->cert_file, c->tls);
	check_path(c->key_file, c->tls);
	check_path(c->client_ca_file, c->tls && *c->client_ca_file);
	if (!c->tls) {
		CHECK(c->client_auth == WEB_NO_CLIENT_CERT);
		return;
	}
	if (c->client_auth == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
	    c->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT)
		CHECK(*c->client_ca_file);
	if (*c->client_ca_file)
		CHECK(c->client_auth != WEB_NO_CLIENT_CERT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct web_config cfg, again;
	char *buf, *err, *err2;
	const char *nul, *p;
	size_t i;
	int rc;

	buf = malloc(size ? size : 1);
	err = malloc(WEB_ERR_MAX);
	err2 = malloc(WEB_ERR_MAX);
	CHECK(buf && err && err2);
	memcpy(buf, data, size);
	memset(err, 0x5a, WEB_ERR_MAX);

	rc = web_config_parse(buf, size, FILE_NAME, &cfg, err, WEB_ERR_MAX);
	CHECK(rc == 0 || rc == -EINVAL);
	if (!rc) {
		check_config(&cfg);
	} else {
		CHECK(!cfg.users && !cfg.n_users && !cfg.tls);
		nul = memchr(err, '\0', WEB_ERR_MAX);
		CHECK(nul);
		CHECK(!strncmp(err, FILE_NAME ":", strlen(FILE_NAME ":")));
		p = err + strlen(FILE_NAME ":");
		CHECK(*p >= '1' && *p <= '9');
		p += strspn(p, "0123456789");
		CHECK(p[0] == ':' && p[1] == ' ' && p[2]);
		for (p = err; p < nul; p++)
			CHECK((unsigned char)*p >= 0x20 || *p == '\t');
	}

	/* Deterministic: the same config, or the same error. */
	CHECK(web_config_parse(buf, size, FILE_NAME, &again, err2, WEB_ERR_MAX) == rc);
	if (!rc) {
		CHECK(again.tls == cfg.tls && again.n_users == cfg.n_users &&
		      again.client_auth == cfg.client_auth &&
		      !strcmp(again.cert_file, cfg.cert_file));
		for (i = 0; i < cfg.n_users; i++)
			CHECK(!strcmp(again.users[i].hash, cfg.users[i].hash));
	} else {
		CHECK(!strcmp(err, err2));
	}
	web_config_free(&cfg);
	web_config_free(&again);
	free(buf);
	free(err);
	free(err2);
	return 0;
}
