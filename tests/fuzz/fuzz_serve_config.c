// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_serve_config.c - libFuzzer harness for serve_config_parse() (user/serve_config.c), the
 * YAML configuration of `synprobe serve` as serve_config_load() hands it over after reading the
 * file: bytes and a length, no NUL needed.
 *
 * Input: the whole input is the file, in a heap buffer of exactly its size (so ASan sees a read
 * past it). The error goes to a heap buffer of exactly ERR_LEN bytes.
 *
 * Invariants, from serve_config.h. Success: at least one check (or a file_sd glob); each has a name of 1..127
 * characters without control characters, unique; a target shorter than SERVE_TARGET_MAX whose
 * spec is what sp_target_parse(target, 0) makes of it; interval, timeout and resolve_interval
 * > 0, timeout <= interval, fast_interval 0 or between timeout and interval; rise and fall
 * 1..SERVE_RISE_FALL_MAX; at most SERVE_LABELS_MAX labels, each a Prometheus name (not '__',
 * not reserved), unique, NUL-terminated in its array; line >= 1. Parsing again gives the same
 * config. Where the config has probe_allow: at most SERVE_PROBE_ALLOW_MAX networks, each IPv4 or
 * IPv6 with its host bits zero. Failure: -EINVAL, @cfg empty, and "serve.yml:LINE: ..." NUL-terminated within ERR_LEN,
 * one line unless a scalar of the document holds a line break (fail() echoes values: see the
 * report of issue 10). LeakSanitizer checks that serve_config_free() frees everything.
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <yaml.h>
#include "serve_config.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

#define FILE_NAME "serve.yml"
#define ERR_LEN SERVE_ERR_MAX

static const char *const reserved[] = {
	"check", "target", "outcome", "le", "instance", "job", "program", "verdict", "map", NULL,
};

static bool label_name_ok(const char *s)
{
	size_t i;

	if (!*s || (*s >= '0' && *s <= '9') || !strncmp(s, "__", 2))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	for (i = 0; reserved[i]; i++)
		if (!strcmp(s, reserved[i]))
			return false;
	return true;
}

static void check_settings(const struct serve_settings *s)
{
	size_t i, j;

	CHECK(s->interval_ms > 0 && s->timeout_ms > 0 && s->resolve_interval_ms > 0);
	CHECK(s->timeout_ms <= s->interval_ms);
	CHECK(!s->fast_interval_ms ||
	      (s->fast_interval_ms >= s->timeout_ms && s->fast_interval_ms <= s->interval_ms));
	CHECK(s->rise >= 1 && s->rise <= SERVE_RISE_FALL_MAX);
	CHECK(s->fall >= 1 && s->fall <= SERVE_RISE_FALL_MAX);
	CHECK(s->n_labels <= SERVE_LABELS_MAX);
	for (i = 0; i < s->n_labels; i++) {
		CHECK(memchr(s->labels[i].name, '\0', sizeof(s->labels[i].name)));
		CHECK(memchr(s->labels[i].value, '\0', sizeof(s->labels[i].value)));
		CHECK(label_name_ok(s->labels[i].name));
		for (j = 0; j < i; j++)
			CHECK(strcmp(s->labels[i].name, s->labels[j].name));
	}
}

static void check_config(const struct serve_config *cfg)
{
	struct sp_target_spec spec;
	char terr[SP_ERR_MAX];
	size_t i, j, n;

	/* At least one check, unless file_sd brings them. */
	CHECK((cfg->n_checks >= 1 && cfg->checks) || (!cfg->n_checks && cfg->n_file_sd >= 1));
	CHECK(cfg->n_file_sd <= SERVE_FILE_SD_MAX);
	for (i = 0; i < cfg->n_file_sd; i++) {
		n = strnlen(cfg->file_sd[i], SERVE_FILE_SD_PATH_MAX);
		CHECK(n >= 1 && n < SERVE_FILE_SD_PATH_MAX);
	}
	for (i = 0; i < cfg->n_checks; i++) {
		const struct serve_check_config *c = &cfg->checks[i];

		n = strnlen(c->name, sizeof(c->name));
		CHECK(n >= 1 && n < SERVE_NAME_MAX);
		for (j = 0; j < n; j++)
			CHECK((unsigned char)c->name[j] >= 0x20 && c->name[j] != 0x7f);
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->name, cfg->checks[j].name));
		CHECK(strnlen(c->target, sizeof(c->target)) < SERVE_TARGET_MAX);
		CHECK(sp_target_parse(c->target, 0, &spec, terr, sizeof(terr)) == 0);
		CHECK(!memcmp(&spec, &c->spec, sizeof(spec)));
		CHECK(c->spec.port >= 1);
		CHECK(c->line >= 1);
		check_settings(&c->set);
		CHECK(serve_check_config_equal(c, c));
	}
#ifdef SERVE_PROBE_ALLOW_MAX
	/* probe_allow (where the config has it): networks with their host bits zero. */
	CHECK(cfg->n_probe_allow <= SERVE_PROBE_ALLOW_MAX);
	CHECK(!cfg->n_probe_allow || (cfg->probe_allow && cfg->has_probe_allow));
	for (i = 0; i < cfg->n_probe_allow; i++) {
		const struct sp_cidr *a = &cfg->probe_allow[i];
		unsigned int bits = a->family == AF_INET ? 32 : 128, b;

		CHECK(a->family == AF_INET || a->family == AF_INET6);
		CHECK(a->prefix <= bits);
		for (b = a->prefix; b < bits; b++)
			CHECK(!(a->addr[b / 8] & (0x80 >> (b % 8))));
	}
#endif
	/* modules: at most SERVE_MODULES_MAX, each a valid unique name, kind NULL or interned. */
	CHECK(cfg->n_modules <= SERVE_MODULES_MAX);
	CHECK(!cfg->n_modules || cfg->modules);
	for (i = 0; i < cfg->n_modules; i++) {
		const struct serve_module *m = &cfg->modules[i];

		CHECK(memchr(m->name, '\0', sizeof(m->name)));
		CHECK(!serve_module_name_error(m->name));
		CHECK(m->line >= 1);
		for (j = 0; j < i; j++)
			CHECK(strcmp(cfg->modules[j].name, m->name));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve_config cfg, again;
	char *buf, *err, *err2;
	const char *nul, *p;
	size_t i;
	int rc;

	buf = malloc(size ? size : 1);
	CHECK(buf);
	memcpy(buf, data, size);
	err = malloc(ERR_LEN);
	err2 = malloc(ERR_LEN);
	CHECK(err && err2);
	memset(err, 0x5a, ERR_LEN);

	rc = serve_config_parse(buf, size, FILE_NAME, &cfg, err, ERR_LEN);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_config(&cfg);
	} else {
		CHECK(cfg.n_checks == 0 && !cfg.checks);
		CHECK(cfg.n_modules == 0 && !cfg.modules);
#ifdef SERVE_PROBE_ALLOW_MAX
		CHECK(cfg.n_probe_allow == 0 && !cfg.probe_allow && !cfg.has_probe_allow);
#endif
		nul = memchr(err, '\0', ERR_LEN);
		CHECK(nul);
		/* "serve.yml:LINE: " */
		CHECK(!strncmp(err, FILE_NAME ":", strlen(FILE_NAME ":")));
		p = err + strlen(FILE_NAME ":");
		CHECK(*p >= '1' && *p <= '9');
		p += strspn(p, "0123456789");
		CHECK(p[0] == ':' && p[1] == ' ' && p[2]);
		/* One line, whatever the input holds: echoed control characters are '?'. */
		CHECK(!memchr(err, '\n', (size_t)(nul - err)) && !memchr(err, '\r', (size_t)(nul - err)));
	}

	/* Deterministic: the same config, or the same error. */
	CHECK(serve_config_parse(buf, size, FILE_NAME, &again, err2, ERR_LEN) == rc);
	if (rc == 0) {
		CHECK(again.n_checks == cfg.n_checks);
		for (i = 0; i < cfg.n_checks; i++) {
			CHECK(serve_check_config_equal(&cfg.checks[i], &again.checks[i]));
			CHECK(cfg.checks[i].line == again.checks[i].line);
		}
#ifdef SERVE_PROBE_ALLOW_MAX
		CHECK(again.n_modules == cfg.n_modules);
		for (i = 0; i < cfg.n_modules; i++)
			CHECK(!memcmp(&again.modules[i], &cfg.modules[i], sizeof(cfg.modules[i])));
		CHECK(again.has_probe_allow == cfg.has_probe_allow);
		CHECK(again.n_probe_allow == cfg.n_probe_allow);
		for (i = 0; i < cfg.n_probe_allow; i++) {
			CHECK(again.probe_allow[i].family == cfg.probe_allow[i].family);
			CHECK(again.probe_allow[i].prefix == cfg.probe_allow[i].prefix);
			CHECK(!memcmp(again.probe_allow[i].addr, cfg.probe_allow[i].addr, 16));
		}
#endif
	} else {
		CHECK(!strcmp(err, err2));
	}
	serve_config_free(&again);
	serve_config_free(&cfg);
	CHECK(cfg.n_checks == 0 && !cfg.checks);
	serve_config_free(NULL);

	free(err2);
	free(err);
	free(buf);
	return 0;
}
