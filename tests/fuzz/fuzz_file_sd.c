// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_file_sd.c - libFuzzer harness for file_sd_parse() (user/file_sd.c), a Prometheus file_sd
 * file of `synprobe serve` as file_sd_refresh() hands it over after reading: bytes and a length,
 * no NUL needed.
 *
 * Input: byte 0 picks the format (odd: YAML, even: JSON); the rest is the file, in a heap buffer
 * of exactly its size (so ASan sees a read past it).
 *
 * Invariants, from file_sd.h. Success: at most FILE_SD_TARGETS_PER_FILE_MAX targets, each name
 * once, 1..127 characters, equal to its target, whose spec is what sp_target_parse(target, 0)
 * makes of it; the settings are the defaults' but for labels: at most SERVE_LABELS_MAX, each a
 * label name synprobe accepts (serve_label_name_error() NULL), once. Parsing again gives the
 * same. Failure: -EINVAL, no targets, "fuzz.EXT: ..." or "fuzz.EXT:LINE: ..." on one line.
 * LeakSanitizer checks that nothing is left.
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "file_sd.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static const struct serve_settings defaults = {
    .interval_ms = 2000,
    .timeout_ms = 1000,
    .rise = 2,
    .fall = 3,
    .resolve_interval_ms = 60000,
    .labels = {{"env", "prod"}},
    .n_labels = 1,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_sd_target *t, *again;
	struct sp_target_spec spec;
	char *buf, err[SERVE_ERR_MAX], err2[SERVE_ERR_MAX], terr[SP_ERR_MAX];
	const char *file;
	size_t n, n2, i, j, len;
	bool yaml;
	int rc;

	if (!size)
		return 0;
	yaml = data[0] & 1;
	file = yaml ? "fuzz.yml" : "fuzz.json";
	buf = malloc(size - 1 ? size - 1 : 1);
	CHECK(buf);
	memcpy(buf, data + 1, size - 1);

	rc = file_sd_parse(buf, size - 1, file, yaml, &defaults, &t, &n, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		CHECK(n <= FILE_SD_TARGETS_PER_FILE_MAX);
		CHECK(!n || t);
		for (i = 0; i < n; i++) {
			const struct serve_check_config *c = &t[i].cfg;

			len = strnlen(c->name, sizeof(c->name));
			CHECK(len >= 1 && len < SERVE_NAME_MAX);
			CHECK(!strcmp(c->name, c->target));
			CHECK(sp_target_parse(c->target, 0, &spec, terr, sizeof(terr)) == 0);
			CHECK(!memcmp(&spec, &c->spec, sizeof(spec)));
			CHECK(c->set.interval_ms == defaults.interval_ms);
			CHECK(c->set.rise == defaults.rise && c->set.fall == defaults.fall);
			CHECK(c->set.n_labels >= 1 && c->set.n_labels <= SERVE_LABELS_MAX);
			for (j = 0; j < c->set.n_labels; j++) {
				CHECK(memchr(c->set.labels[j].name, '\0', SERVE_LABEL_NAME_MAX));
				CHECK(memchr(c->set.labels[j].value, '\0', SERVE_LABEL_VALUE_MAX));
				CHECK(!serve_label_name_error(c->set.labels[j].name));
			}
			for (j = 0; j < i; j++)
				CHECK(strcmp(c->name, t[j].cfg.name));
		}
	} else {
		CHECK(!t && !n);
		CHECK(!strncmp(err, file, strlen(file)));
		CHECK(err[strlen(file)] == ':');
		CHECK(!strchr(err, '\n') && !strchr(err, '\r'));
	}
	rc = file_sd_parse(buf, size - 1, file, yaml, &defaults, &again, &n2, err2, sizeof(err2));
	if (rc == 0) {
		CHECK(n2 == n);
		for (i = 0; i < n; i++)
			CHECK(serve_check_config_equal(&t[i].cfg, &again[i].cfg));
	} else {
		CHECK(!strcmp(err, err2));
	}
	free(again);
	free(t);
	free(buf);
	return 0;
}
