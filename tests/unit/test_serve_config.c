// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_serve_config.c - the YAML config of `synprobe serve`: every key, every bad value, unknown
 * keys, duplicate keys and names, each error naming file, line and key.
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

#define FILE_NAME "t.yaml"

static int parse(const char *yaml, struct serve_config *cfg, char *err, size_t errlen)
{
	return serve_config_parse(yaml, strlen(yaml), FILE_NAME, cfg, err, errlen);
}

struct duration_case {
	const char *in;
	int rc;
	__u32 ms;
};

static const struct duration_case duration_cases[] = {
    {"200ms", 0, 200},	  {"1s", 0, 1000},     {"5m", 0, 300000},     {"1h", 0, 3600000},
    {"1d", 0, 86400000},  {"1m30s", 0, 90000}, {"1h30m", 0, 5400000}, {"1s500ms", 0, 1500},
    {"0s", 0, 0},	  {"", -EINVAL, 0},    {"1", -EINVAL, 0},     {"1.5s", -EINVAL, 0},
    {"s", -EINVAL, 0},	  {"1x", -EINVAL, 0},  {"-1s", -EINVAL, 0},   {"1 s", -EINVAL, 0},
    {"1sec", -EINVAL, 0}, {"1us", -EINVAL, 0}, {"50d", -ERANGE, 0},   {"99999999999ms", -ERANGE, 0},
};

static void test_durations(void **state)
{
	size_t i;
	__u32 ms;
	int rc;

	for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
		ms = 4242;
		rc = serve_parse_duration_ms(duration_cases[i].in, &ms);
		if (rc != duration_cases[i].rc)
			fail_msg("'%s': rc %d, want %d", duration_cases[i].in, rc,
				 duration_cases[i].rc);
		if (!rc && ms != duration_cases[i].ms)
			fail_msg("'%s': %u ms, want %u", duration_cases[i].in, ms,
				 duration_cases[i].ms);
	}
}

static void test_every_key(void **state)
{
	static const char yaml[] = "defaults:\n"
				   "  interval: 5s\n"
				   "  timeout: 2s\n"
				   "  rise: 4\n"
				   "  fall: 5\n"
				   "  fast_interval: 3s\n"
				   "  resolve_interval: 10m\n"
				   "  labels: {team: web, env: prod}\n"
				   "  mark: 0x10\n"
				   "checks:\n"
				   "  - name: a\n"
				   "    target: 10.0.0.1:80\n"
				   "  - name: b\n"
				   "    target: \"[fd00::1]:443\"\n"
				   "    interval: 1s\n"
				   "    timeout: 100ms\n"
				   "    rise: 1\n"
				   "    fall: 1000\n"
				   "    fast_interval: 200ms\n"
				   "    resolve_interval: 1h\n"
				   "    labels:\n"
				   "      env: test\n"
				   "      tier: front\n"
				   "    mark: 4294967295\n"
				   "    bind_interface: vrf-blue\n";
	struct serve_config cfg;
	char err[SERVE_ERR_MAX] = "";
	const struct serve_check_config *a, *b;

	assert_int_equal(parse(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_checks, 2);
	a = &cfg.checks[0];
	b = &cfg.checks[1];
	assert_string_equal(a->name, "a");
	assert_string_equal(a->target, "10.0.0.1:80");
	assert_string_equal(a->spec.host, "10.0.0.1");
	assert_int_equal(a->spec.port, 80);
	assert_int_equal(a->line, 11);
	assert_int_equal(a->set.interval_ms, 5000);
	assert_int_equal(a->set.timeout_ms, 2000);
	assert_int_equal(a->set.rise, 4);
	assert_int_equal(a->set.fall, 5);
	assert_int_equal(a->set.fast_interval_ms, 3000);
	assert_int_equal(a->set.resolve_interval_ms, 600000);
	assert_int_equal(a->set.n_labels, 2);
	assert_string_equal(a->set.labels[0].name, "team");
	assert_string_equal(a->set.labels[1].value, "prod");
	assert_int_equal(a->set.mark, 16);
	assert_string_equal(a->set.bind_interface, "");

	assert_string_equal(b->spec.host, "fd00::1");
	assert_true(b->spec.ipv6_literal);
	assert_int_equal(b->spec.port, 443);
	assert_int_equal(b->set.interval_ms, 1000);
	assert_int_equal(b->set.timeout_ms, 100);
	assert_int_equal(b->set.rise, 1);
	assert_int_equal(b->set.fall, 1000);
	assert_int_equal(b->set.fast_interval_ms, 200);
	assert_int_equal(b->set.resolve_interval_ms, 3600000);
	/* the check's labels merge over the defaults: env replaced, tier added */
	assert_int_equal(b->set.n_labels, 3);
	assert_string_equal(b->set.labels[1].name, "env");
	assert_string_equal(b->set.labels[1].value, "test");
	assert_string_equal(b->set.labels[2].name, "tier");
	assert_int_equal(b->set.mark, 4294967295U);
	assert_string_equal(b->set.bind_interface, "vrf-blue");
	assert_false(serve_check_config_equal(a, b));
	assert_true(serve_check_config_equal(a, a));
	serve_config_free(&cfg);
}

static void test_defaults(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX];

	assert_int_equal(
	    parse("checks:\n  - {name: x, target: 'h.example:22'}\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.checks[0].set.interval_ms, SERVE_DEFAULT_INTERVAL_MS);
	assert_int_equal(cfg.checks[0].set.timeout_ms, SERVE_DEFAULT_TIMEOUT_MS);
	assert_int_equal(cfg.checks[0].set.rise, SERVE_DEFAULT_RISE);
	assert_int_equal(cfg.checks[0].set.fall, SERVE_DEFAULT_FALL);
	assert_int_equal(cfg.checks[0].set.fast_interval_ms, 0);
	assert_int_equal(cfg.checks[0].set.resolve_interval_ms, SERVE_DEFAULT_RESOLVE_INTERVAL_MS);
	assert_string_equal(cfg.checks[0].spec.host, "h.example");
	serve_config_free(&cfg);
}

/* A bad config and the start of the one error line it must give. */
struct bad_case {
	const char *yaml;
	const char *want; /* prefix of the message: "t.yaml:LINE: key 'KEY': ..." */
};

#define CHECK "checks:\n  - name: a\n    target: 10.0.0.1:80\n"

static const struct bad_case bad_cases[] = {
    /* the file */
    {"", "t.yaml:1: the file is empty"},
    {"checks: [\n", "t.yaml:2: not valid YAML"},
    {"- a\n- b\n", "t.yaml:1: the top level is a list"},
    {"checks: 1\n", "t.yaml:1: key 'checks': is a value"},
    {"checks: []\n", "t.yaml:1: key 'checks': the list is empty"},
    {"defaults: {}\n", "t.yaml:1: key 'checks': missing"},
    {"chekcs: []\n", "t.yaml:1: key 'chekcs': unknown key"},
    {CHECK "checks: []\n", "t.yaml:4: key 'checks': given twice (first on line 1)"},
    /* checks */
    {"checks:\n  - 1\n", "t.yaml:2: key 'checks[0]': is a value"},
    {"checks:\n  - target: 10.0.0.1:80\n", "t.yaml:2: key 'checks[0].name': missing"},
    {"checks:\n  - name: a\n", "t.yaml:2: key 'checks[0].target': missing"},
    {"checks:\n  - name: ''\n    target: 10.0.0.1:80\n",
     "t.yaml:2: key 'checks[0].name': give a name"},
    {"checks:\n  - name: [a]\n    target: 10.0.0.1:80\n",
     "t.yaml:2: key 'checks[0].name': is a list"},
    {"checks:\n  - name: \"a\\tb\"\n    target: 10.0.0.1:80\n",
     "t.yaml:2: key 'checks[0].name': the name has a control character"},
    {CHECK "  - name: a\n    target: 10.0.0.2:80\n",
     "t.yaml:4: key 'checks[1].name': name 'a' is used twice (first by the check on line 2)"},
    {"checks:\n  - name: a\n    target: 10.0.0.1\n",
     "t.yaml:3: key 'checks[0].target': target '10.0.0.1': no port"},
    {"checks:\n  - name: a\n    target: 10.0.0.1:0\n", "t.yaml:3: key 'checks[0].target':"},
    {"checks:\n  - name: a\n    target: 10.0.0.1:99999\n", "t.yaml:3: key 'checks[0].target':"},
    {"checks:\n  - name: a\n    target: {h: 1}\n",
     "t.yaml:3: key 'checks[0].target': is a mapping"},
    {CHECK "    color: red\n", "t.yaml:4: key 'checks[0].color': unknown key"},
    {CHECK "    name: b\n", "t.yaml:4: key 'checks[0].name': given twice (first on line 2)"},
    /* every setting, in a check and in defaults */
    {CHECK "    interval: 1\n", "t.yaml:4: key 'checks[0].interval': '1' is not a duration"},
    {CHECK "    interval: 0s\n", "t.yaml:4: key 'checks[0].interval': '0s' is zero"},
    {CHECK "    interval: 60d\n", "t.yaml:4: key 'checks[0].interval': '60d' is too long"},
    {CHECK "    interval: [1s]\n", "t.yaml:4: key 'checks[0].interval': is a list"},
    {CHECK "    timeout: 1.5s\n", "t.yaml:4: key 'checks[0].timeout': '1.5s' is not a duration"},
    {CHECK "    timeout: 0ms\n", "t.yaml:4: key 'checks[0].timeout': '0ms' is zero"},
    {CHECK "    timeout: 5s\n",
     "t.yaml:4: key 'checks[0].timeout': timeout 5000ms is longer than interval 2000ms"},
    {CHECK "    fast_interval: fast\n",
     "t.yaml:4: key 'checks[0].fast_interval': 'fast' is not a duration"},
    {CHECK "    fast_interval: 10ms\n", "t.yaml:4: key 'checks[0].fast_interval': fast_interval "
					"10ms must lie between timeout 1000ms and interval 2000ms"},
    {CHECK "    fast_interval: 3s\n",
     "t.yaml:4: key 'checks[0].fast_interval': fast_interval 3000ms must lie"},
    {CHECK "    resolve_interval: never\n",
     "t.yaml:4: key 'checks[0].resolve_interval': 'never' is not a duration"},
    {CHECK "    resolve_interval: 0s\n",
     "t.yaml:4: key 'checks[0].resolve_interval': '0s' is zero"},
    {CHECK "    rise: 0\n", "t.yaml:4: key 'checks[0].rise': '0' is not a count"},
    {CHECK "    rise: 1001\n", "t.yaml:4: key 'checks[0].rise': '1001' is not a count"},
    {CHECK "    rise: two\n", "t.yaml:4: key 'checks[0].rise': 'two' is not a count"},
    {CHECK "    rise: -1\n", "t.yaml:4: key 'checks[0].rise': '-1' is not a count"},
    {CHECK "    fall: 2.5\n", "t.yaml:4: key 'checks[0].fall': '2.5' is not a count"},
    {CHECK "    fall: {}\n", "t.yaml:4: key 'checks[0].fall': is a mapping"},
    {CHECK "    labels: web\n", "t.yaml:4: key 'checks[0].labels': is a value"},
    {CHECK "    labels: {1x: a}\n",
     "t.yaml:4: key 'checks[0].labels.1x': not a Prometheus label name"},
    {CHECK "    labels: {a-b: a}\n",
     "t.yaml:4: key 'checks[0].labels.a-b': not a Prometheus label name"},
    {CHECK "    labels: {__x: a}\n",
     "t.yaml:4: key 'checks[0].labels.__x': not a Prometheus label name"},
    {CHECK "    labels: {outcome: a}\n",
     "t.yaml:4: key 'checks[0].labels.outcome': synprobe's metrics use this label name"},
    {CHECK "    labels: {check: a}\n",
     "t.yaml:4: key 'checks[0].labels.check': synprobe's metrics use this label name"},
    {CHECK "    labels: {a: [1]}\n", "t.yaml:4: key 'checks[0].labels.a': is a list"},
    {CHECK "    labels: {a: 1, a: 2}\n", "t.yaml:4: key 'checks[0].labels.a': given twice"},
    {CHECK "    mark: 0\n", "t.yaml:4: key 'checks[0].mark': '0' is not a mark"},
    {CHECK "    mark: 4294967296\n", "t.yaml:4: key 'checks[0].mark': '4294967296' is not a mark"},
    {CHECK "    mark: -1\n", "t.yaml:4: key 'checks[0].mark': '-1' is not a mark"},
    {CHECK "    mark: 0x\n", "t.yaml:4: key 'checks[0].mark': '0x' is not a mark"},
    {CHECK "    mark: [1]\n", "t.yaml:4: key 'checks[0].mark': is a list"},
    {CHECK "    bind_interface: ''\n", "t.yaml:4: key 'checks[0].bind_interface': give an "
					  "interface name of 1 to 15 characters"},
    {CHECK "    bind_interface: abcdefghijklmnop\n",
     "t.yaml:4: key 'checks[0].bind_interface': give an interface name of 1 to 15"},
    {CHECK "    bind_interface: a/b\n",
     "t.yaml:4: key 'checks[0].bind_interface': 'a/b' is not an interface name"},
    {CHECK "    bind_interface: \"a b\"\n",
     "t.yaml:4: key 'checks[0].bind_interface': 'a b' is not an interface name"},
    {CHECK "    bind_interface: ..\n", "t.yaml:4: key 'checks[0].bind_interface': give an"},
    {"defaults:\n  mark: x\n" CHECK, "t.yaml:2: key 'defaults.mark': 'x' is not a mark"},
    {"defaults: 1s\n" CHECK, "t.yaml:1: key 'defaults': is a value"},
    {"defaults:\n  name: a\n" CHECK, "t.yaml:2: key 'defaults.name': unknown key"},
    {"defaults:\n  interval: 2\n" CHECK,
     "t.yaml:2: key 'defaults.interval': '2' is not a duration"},
    {"defaults:\n  timeout: 3s\n" CHECK,
     "t.yaml:2: key 'defaults.timeout': timeout 3000ms is longer than interval 2000ms"},
    {"defaults:\n  rise: 0\n" CHECK, "t.yaml:2: key 'defaults.rise': '0' is not a count"},
    {"defaults:\n  fall: x\n" CHECK, "t.yaml:2: key 'defaults.fall': 'x' is not a count"},
    {"defaults:\n  fast_interval: 1\n" CHECK,
     "t.yaml:2: key 'defaults.fast_interval': '1' is not a duration"},
    {"defaults:\n  resolve_interval: 1\n" CHECK,
     "t.yaml:2: key 'defaults.resolve_interval': '1' is not a duration"},
    {"defaults:\n  labels: {le: x}\n" CHECK,
     "t.yaml:2: key 'defaults.labels.le': synprobe's metrics use"},
    {"defaults:\n  rise: 2\n  rise: 3\n" CHECK,
     "t.yaml:3: key 'defaults.rise': given twice (first on line 2)"},
    /* probe_allow: a list of networks, each named by its index */
    {"probe_allow: 10.0.0.0/8\n" CHECK,
     "t.yaml:1: key 'probe_allow': is a value: write a list of networks such as [10.0.0.0/8, "
     "\"fd00::/8\"]"},
    {"probe_allow: [10.0.0.0/8, fd00::/8, 10.0.0.1/8]\n" CHECK,
     "t.yaml:1: key 'probe_allow[2]': '10.0.0.1/8' has host bits set: write the network "
     "10.0.0.0/8 (or 10.0.0.1/32 for the host alone)"},
    {"probe_allow:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n" CHECK,
     "t.yaml:3: key 'probe_allow[1]': '10.0.0.0/33': the prefix length of an IPv4 network is a "
     "number from 0 to 32"},
    {"probe_allow:\n  - web.example/24\n" CHECK,
     "t.yaml:2: key 'probe_allow[0]': 'web.example/24': 'web.example' is not an IPv4 or IPv6 "
     "address"},
    {"probe_allow:\n  - {net: 10.0.0.0/8}\n" CHECK,
     "t.yaml:2: key 'probe_allow[0]': is a mapping: write a network such as 10.0.0.0/8"},
    {"probe_allow: []\nprobe_allow: []\n" CHECK,
     "t.yaml:2: key 'probe_allow': given twice (first on line 1)"},
    /* modules: the checks' keys and messages, named modules.NAME.KEY */
    {CHECK "modules: [a]\n", "t.yaml:4: key 'modules': is a list: write a mapping"},
    {CHECK "modules:\n  a b: {}\n",
     "t.yaml:5: key 'modules.a b': a module name has letters, digits, '_', '-' and '.' only"},
    {CHECK "modules:\n  m: {bogus: 1}\n",
     "t.yaml:5: key 'modules.m.bogus': unknown key: the keys here are timeout, method, tls"},
    {CHECK "modules:\n  m: {name: x}\n", "t.yaml:5: key 'modules.m.name': unknown key"},
    {CHECK "modules:\n  m: {tls: {insecure: maybe}}\n",
     "t.yaml:5: key 'modules.m.tls.insecure': 'maybe' is not a boolean"},
    {CHECK "modules:\n  m:\n    query_response: [{expect: \"(\"}]\n",
     "t.yaml:6: key 'modules.m.query_response[0].expect': "},
    {CHECK "modules:\n  m: {proxy_protocol: v3}\n",
     "t.yaml:5: key 'modules.m.proxy_protocol': 'v3': give v1, v2 or none"},
    {CHECK "modules:\n  m: {close: fin}\n",
     "t.yaml:5: key 'modules.m.close': close applies to checks that complete the connection"},
    {CHECK "modules:\n  m: {timeout: 0s}\n", "t.yaml:5: key 'modules.m.timeout': '0s' is zero"},
    {CHECK "modules:\n  m: {method: raw}\n",
     "t.yaml:5: key 'modules.m.method': 'raw': give bpf or connect"},
    {CHECK "modules:\n  m: {}\n  m: {}\n",
     "t.yaml:6: key 'modules.m': given twice (first on line 5)"},
    /* a default that a check's own interval makes wrong is reported at the check */
    {"defaults:\n  timeout: 1s\n" CHECK "    interval: 500ms\n",
     "t.yaml:4: key 'checks[0].timeout': timeout 1000ms is longer than interval 500ms"},
};

static void test_bad_configs(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		rc = parse(bad_cases[i].yaml, &cfg, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("case %zu: rc %d, want -EINVAL (%s)", i, rc, err);
		if (strncmp(err, bad_cases[i].want, strlen(bad_cases[i].want)))
			fail_msg("case %zu:\n got: %s\nwant: %s...", i, err, bad_cases[i].want);
		if (strchr(err, '\n'))
			fail_msg("case %zu: more than one line: %s", i, err);
		assert_null(cfg.checks);
		assert_null(cfg.probe_allow);
		assert_int_equal(cfg.n_checks, 0);
	}
}

/* modules: parsed with the checks' code, standing alone (nothing from defaults). */
static void test_modules(void **state)
{
	static const char yaml[] = "defaults:\n"
				   "  timeout: 2s\n"
				   "  tls: {insecure: true}\n" CHECK "modules:\n"
				   "  tls_web:\n"
				   "    tls: {sni: web.example, insecure: true}\n"
				   "    query_response: [{expect: '^HTTP'}]\n"
				   "    close: fin\n"
				   "    timeout: 5s\n"
				   "    method: bpf\n"
				   "  plain.v-2: {timeout: 200ms}\n"
				   "  same: {tls: {sni: web.example, insecure: true}, close: fin,\n"
				   "         query_response: [{expect: '^HTTP'}]}\n";
	struct serve_config cfg;
	char err[SERVE_ERR_MAX] = "";
	const struct serve_module *m;
	const struct serve_l7 *l7;

	assert_int_equal(parse(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_modules, 3);
	m = &cfg.modules[0];
	assert_string_equal(m->name, "tls_web");
	assert_int_equal(m->line, 8);
	assert_int_equal(m->timeout_ms, 5000);
	assert_int_equal(m->method, SERVE_MODULE_METHOD_BPF);
	assert_non_null(m->kind);
	assert_string_equal(m->kind->row, "l7");
	l7 = (const struct serve_l7 *)m->kind;
	assert_true(l7->active && l7->spec.tls && l7->spec.close_fin);
	assert_int_equal(l7->spec.n_steps, 1);
	m = &cfg.modules[1];
	assert_string_equal(m->name, "plain.v-2");
	assert_int_equal(m->timeout_ms, 200);
	assert_int_equal(m->method, SERVE_MODULE_METHOD_ANY);
	assert_null(m->kind); /* the defaults' tls is not taken: half-open */
	/* One compiled object per distinct setting, checks and modules alike. */
	assert_ptr_equal(cfg.modules[2].kind, cfg.modules[0].kind);
	assert_int_equal(cfg.modules[2].timeout_ms, 0);
	serve_config_free(&cfg);
	assert_null(cfg.modules);
	assert_int_equal(cfg.n_modules, 0);
}

static void test_probe_allow(void **state)
{
	static const char yaml[] = "probe_allow:\n"
				   "  - 10.0.0.0/8\n"
				   "  - \"fd00::/8\"\n"
				   "  - ::/0\n"
				   "  - 192.0.2.7\n"
				   "  - ::ffff:172.16.0.0/108\n" CHECK;
	struct serve_config cfg;
	char err[SERVE_ERR_MAX], buf[SP_CIDR_STR_MAX];
	static const char *const want[] = {"10.0.0.0/8", "fd00::/8", "::/0", "192.0.2.7/32",
					   "172.16.0.0/12"};
	size_t i;

	if (parse(yaml, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(cfg.has_probe_allow);
	assert_int_equal(cfg.n_probe_allow, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(sp_cidr_format(&cfg.probe_allow[i], buf, sizeof(buf)), want[i]);
	serve_config_free(&cfg);
	assert_null(cfg.probe_allow);
	assert_false(cfg.has_probe_allow);

	/* [] is a list that allows nothing; no key is no list */
	if (parse("probe_allow: []\n" CHECK, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(cfg.has_probe_allow);
	assert_int_equal(cfg.n_probe_allow, 0);
	serve_config_free(&cfg);
	if (parse(CHECK, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_false(cfg.has_probe_allow);
	serve_config_free(&cfg);
}

static void test_load_missing_file(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX];

	assert_int_equal(serve_config_load("/nonexistent/synprobe.yaml", &cfg, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(
	    err,
	    "/nonexistent/synprobe.yaml: cannot open the config file: No such file or directory");
}

/* A file larger than SERVE_FILE_MAX is refused before it is all read (/dev/zero never ends). */
static void test_load_too_large(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX];

	assert_int_equal(serve_config_load("/dev/zero", &cfg, err, sizeof(err)), -EFBIG);
	assert_string_equal(err,
			    "/dev/zero: larger than 16777216 bytes: is it the config file?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),	      cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_defaults),	      cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_load_missing_file), cmocka_unit_test(test_probe_allow),
	    cmocka_unit_test(test_load_too_large),    cmocka_unit_test(test_modules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
