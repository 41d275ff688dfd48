// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_serve_shard.c - serve --shard K/N: the K/N syntax and its one-line errors, Prometheus'
 * hashmod against values computed independently (Python: int.from_bytes(hashlib.md5(v).digest()
 * [8:], "big") % n), the split of a config being a partition, and the config's `shard` key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "serve_config.h"
#include "serve_shard.h"

struct parse_case {
	const char *in;
	int rc;
	__u32 index, count;
	const char *msg; /* the start of the message when rc != 0 */
};

static const struct parse_case parse_cases[] = {
    {"0/1", 0, 0, 1, NULL},
    {"0/3", 0, 0, 3, NULL},
    {"2/3", 0, 2, 3, NULL},
    {"07/10", 0, 7, 10, NULL},
    {"4294967294/4294967295", 0, 4294967294u, 4294967295u, NULL},
    {"3/3", -EINVAL, 0, 0, "'3/3': K must be less than N (shards are 0 to 2), e.g. 2/3"},
    {"0/0", -EINVAL, 0, 0, "'0/0': N is 0"},
    {"", -EINVAL, 0, 0, "'' is not K/N"},
    {"1", -EINVAL, 0, 0, "'1' is not K/N"},
    {"1/", -EINVAL, 0, 0, "'1/' is not K/N"},
    {"/3", -EINVAL, 0, 0, "'/3' is not K/N"},
    {"-1/3", -EINVAL, 0, 0, "'-1/3' is not K/N"},
    {"+1/3", -EINVAL, 0, 0, "'+1/3' is not K/N"},
    {" 1/3", -EINVAL, 0, 0, "' 1/3' is not K/N"},
    {"1/3 ", -EINVAL, 0, 0, "'1/3 ' is not K/N"},
    {"1/2/3", -EINVAL, 0, 0, "'1/2/3' is not K/N"},
    {"0x1/3", -EINVAL, 0, 0, "'0x1/3' is not K/N"},
    {"1/4294967296", -EINVAL, 0, 0, "'1/4294967296' is not K/N"},
    {"1\n/3", -EINVAL, 0, 0, "'1?/3' is not K/N"},
    {"0/333333333333333333333333333333333333333333", -EINVAL, 0, 0,
     "'0/333333333333333333333333333333...' is not K/N"},
};

static void test_parse(void **state)
{
	struct serve_shard sh;
	char msg[SERVE_SHARD_ERR_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];

		sh = (struct serve_shard){.index = 99, .count = 99};
		msg[0] = '\0';
		rc = serve_shard_parse(c->in, &sh, msg, sizeof(msg));
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d (%s)", i, c->in, rc, c->rc, msg);
		if (rc) {
			if (strncmp(msg, c->msg, strlen(c->msg)))
				fail_msg("case %zu:\n got: %s\nwant: %s...", i, msg, c->msg);
			if (strchr(msg, '\n'))
				fail_msg("case %zu: more than one line: %s", i, msg);
			/* not written on error */
			assert_int_equal(sh.index, 99);
			assert_int_equal(sh.count, 99);
		} else {
			assert_int_equal(sh.index, c->index);
			assert_int_equal(sh.count, c->count);
		}
	}
}

/* Values of Prometheus' hashmod, computed in Python from hashlib.md5 (see the top). */
static void test_hashmod(void **state)
{
	static const struct {
		const char *value;
		__u64 modulus, want;
	} cases[] = {
	    {"web", UINT64_MAX, 14035894863137216669ull % UINT64_MAX},
	    {"web", 2, 1},
	    {"web", 3, 2},
	    {"web", 7, 5},
	    {"web", 1000, 669},
	    {"", 1000, 958},
	    {"check-0", 3, 2},
	    {"check-0", 1000, 841},
	    {"a\xc3\xa9"
	     "b",
	     1000, 157}, /* UTF-8 bytes as written */
	    {"anything", 1, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (serve_hashmod(cases[i].value, cases[i].modulus) != cases[i].want)
			fail_msg(
			    "hashmod('%s', %llu) = %llu, want %llu", cases[i].value,
			    (unsigned long long)cases[i].modulus,
			    (unsigned long long)serve_hashmod(cases[i].value, cases[i].modulus),
			    (unsigned long long)cases[i].want);
}

/* N shards of 300 names: each name in exactly one, and 0/1 takes them all. */
static void test_partition(void **state)
{
	struct serve_shard sh;
	char name[32];
	unsigned int i, k, owners, per[5] = {};

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "check-%u", i);
		owners = 0;
		for (k = 0; k < 5; k++) {
			sh = (struct serve_shard){.index = k, .count = 5};
			if (serve_shard_owns(&sh, name)) {
				owners++;
				per[k]++;
			}
		}
		assert_int_equal(owners, 1);
		sh = (struct serve_shard){.index = 0, .count = 1};
		assert_true(serve_shard_owns(&sh, name));
	}
	/* MD5 spreads them: no shard empty (each expects 60) */
	for (k = 0; k < 5; k++)
		assert_true(per[k] > 20);
}

#define CHECK "checks:\n  - name: a\n    target: 10.0.0.1:80\n"

static void test_config_key(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX];
	const char *good = "shard: 1/3\n" CHECK;
	const char *bad[][2] = {
	    {"shard: 3/3\n" CHECK, "t.yaml:1: key 'shard': '3/3': K must be less than N"},
	    {"shard: [1, 3]\n" CHECK, "t.yaml:1: key 'shard': is a list: write a single value"},
	    {"shard: 1\n" CHECK, "t.yaml:1: key 'shard': '1' is not K/N"},
	    {"shard: 0/2\nshard: 1/2\n" CHECK, "t.yaml:2: key 'shard': given twice"},
	};
	size_t i;

	if (serve_config_parse(good, strlen(good), "t.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(cfg.has_shard);
	assert_int_equal(cfg.shard.index, 1);
	assert_int_equal(cfg.shard.count, 3);
	serve_config_free(&cfg);
	assert_false(cfg.has_shard);
	if (serve_config_parse(CHECK, strlen(CHECK), "t.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_false(cfg.has_shard);
	serve_config_free(&cfg);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(serve_config_parse(bad[i][0], strlen(bad[i][0]), "t.yaml", &cfg,
						    err, sizeof(err)),
				 -EINVAL);
		if (strncmp(err, bad[i][1], strlen(bad[i][1])))
			fail_msg("case %zu:\n got: %s\nwant: %s...", i, err, bad[i][1]);
		assert_null(cfg.checks);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_hashmod),
	    cmocka_unit_test(test_partition),
	    cmocka_unit_test(test_config_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
