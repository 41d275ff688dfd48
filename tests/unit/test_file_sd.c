// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_file_sd.c - serve's file_sd: the parser (JSON and YAML, every bad input naming file and
 * entry), the config's file_sd key, and file_sd_refresh() over a directory of files (a bad file
 * keeps its targets, a target in two files, files gone, the config's names).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "file_sd.h"

static const struct serve_settings defaults = {
    .interval_ms = 2000,
    .timeout_ms = 1000,
    .rise = 2,
    .fall = 3,
    .resolve_interval_ms = 60000,
    .labels = {{"env", "prod"}},
    .n_labels = 1,
};

static int parse(const char *text, bool yaml, struct file_sd_target **t, size_t *n, char *err,
		 size_t errlen)
{
	return file_sd_parse(text, strlen(text), yaml ? "sd.yml" : "sd.json", yaml, &defaults, t, n,
			     err, errlen);
}

static const char *label(const struct serve_check_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->set.n_labels; i++)
		if (!strcmp(c->set.labels[i].name, name))
			return c->set.labels[i].value;
	return NULL;
}

static void test_json(void **state)
{
	static const char json[] =
	    "[{\"targets\": [\"10.0.0.1:80\", \"[fd00::1]:443\"],\n"
	    "  \"labels\": {\"team\": \"web\", \"env\": \"test\", \"__meta_x\": \"dropped\"}},\n"
	    " {\"targets\": [\"db.example:5432\"]},\n"
	    " {\"targets\": [], \"labels\": {\"team\": \"none\"}}]\n";
	struct file_sd_target *t;
	char err[SERVE_ERR_MAX] = "";
	size_t n;

	if (parse(json, false, &t, &n, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].cfg.name, "10.0.0.1:80");
	assert_string_equal(t[0].cfg.target, "10.0.0.1:80");
	assert_int_equal(t[0].cfg.spec.port, 80);
	assert_string_equal(t[1].cfg.spec.host, "fd00::1");
	assert_int_equal(t[1].group, 0);
	assert_int_equal(t[1].index, 1);
	/* the group's labels over the defaults; __ labels dropped, as Prometheus does */
	assert_int_equal(t[0].cfg.set.n_labels, 2);
	assert_string_equal(label(&t[0].cfg, "env"), "test");
	assert_string_equal(label(&t[0].cfg, "team"), "web");
	assert_null(label(&t[0].cfg, "__meta_x"));
	/* the second group: the defaults only */
	assert_string_equal(t[2].cfg.name, "db.example:5432");
	assert_int_equal(t[2].group, 1);
	assert_int_equal(t[2].cfg.set.n_labels, 1);
	assert_string_equal(label(&t[2].cfg, "env"), "prod");
	assert_int_equal(t[2].cfg.set.interval_ms, 2000);
	free(t);

	assert_int_equal(parse(" []\n", false, &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(t);
}

static void test_yaml(void **state)
{
	static const char yaml[] = "- targets:\n"
				   "    - 10.0.0.1:80\n"
				   "    - \"[fd00::1]:443\"\n"
				   "  labels:\n"
				   "    team: web\n"
				   "- labels: {team: db}\n"
				   "  targets: [db.example:5432]\n";
	struct file_sd_target *t;
	char err[SERVE_ERR_MAX] = "";
	size_t n;

	if (parse(yaml, true, &t, &n, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(n, 3);
	assert_string_equal(t[1].cfg.name, "[fd00::1]:443");
	assert_int_equal(t[1].cfg.line, 3);
	assert_string_equal(label(&t[1].cfg, "team"), "web");
	assert_string_equal(t[2].cfg.name, "db.example:5432");
	assert_string_equal(label(&t[2].cfg, "team"), "db");
	assert_string_equal(label(&t[2].cfg, "env"), "prod");
	free(t);

	/* JSON is YAML too: a .yml file may hold it */
	assert_int_equal(parse("[{\"targets\": [\"a:1\"]}]", true, &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	free(t);
}

struct bad_case {
	bool yaml;
	const char *in;
	const char *err; /* the whole message */
};

static const struct bad_case bad_cases[] = {
    {false, "", "sd.json: empty: write [] for no targets"},
    {false, "{}",
     "sd.json: the top level is not a list: write [{\"targets\": [...], \"labels\": {...}}]"},
    {false, "[{\"targets\": [\"a:1\"]}",
     "sd.json: not valid JSON: the text ends early: complete "
     "the list"},
    {false, "[] x", "sd.json: text after the JSON list at byte 3: remove it"},
    {false, "[1]",
     "sd.json: entry [0]: not an object: write {\"targets\": [...], \"labels\": "
     "{...}}"},
    {false, "[{\"targets\": [\"a:1\"], \"label\": {}}]",
     "sd.json: entry [0].label: unknown key: the keys are targets and labels"},
    {false, "[{\"labels\": {}}]",
     "sd.json: entry [0].targets: missing: give a list of \"host:port\""},
    {false, "[{\"targets\": \"a:1\"}]",
     "sd.json: entry [0].targets: not a list: write [\"host:port\", ...]"},
    {false, "[{\"targets\": [\"a:1\"]}, {\"targets\": [1]}]",
     "sd.json: entry [1].targets[0]: not a string: write \"host:port\""},
    {false, "[{\"targets\": [\"a\"]}]",
     "sd.json: entry [0].targets[0]: target 'a': no port; write a:port"},
    {false, "[{\"targets\": [\"a:1\", \"b:2\"]}, {\"targets\": [\"a:1\"]}]",
     "sd.json: entry [1].targets[0]: 'a:1' is listed twice (first as [0].targets[0]): list each "
     "target once"},
    {false, "[{\"targets\": [\"a:1\"], \"labels\": {\"a-b\": \"x\"}}]",
     "sd.json: entry [0].labels.a-b: not a Prometheus label name: letters, digits and '_', not "
     "starting with a digit"},
    {false, "[{\"targets\": [\"a:1\"], \"labels\": {\"job\": \"x\"}}]",
     "sd.json: entry [0].labels.job: synprobe's metrics use this label name themselves: choose "
     "another"},
    {false, "[{\"targets\": [\"a:1\"], \"labels\": {\"n\": 1}}]",
     "sd.json: entry [0].labels.n: not a string: quote the value"},
    {false, "[{\"targets\": [\"a\\u0000:1\"]}]",
     "sd.json: entry [0].targets[0]: holds a NUL: remove it"},
    {false, "[[[[[[[[[[[]]]]]]]]]]]", "sd.json: not valid JSON at byte 8: nesting too deep"},
    {true, "\n", "sd.yml: empty: write [] for no targets"},
    {true, "targets: [a:1]\n",
     "sd.yml:1: the top level is a mapping: write a list of '- targets: [...]' entries"},
    {true, "- targets: [a:1]\n  targets: [b:2]\n",
     "sd.yml:2: entry [0].targets: given twice: keep one"},
    {true, "- targets: [a:1]\n  labels: {x: 1, x: 2}\n",
     "sd.yml:2: entry [0].labels.x: given twice: keep one"},
    {true, "- targets: [a:1]\n  labels: {x: [1]}\n",
     "sd.yml:2: entry [0].labels.x: not a string: quote the value"},
    {true, "- targets:\n  - a:1\n  - [b]\n",
     "sd.yml:3: entry [0].targets[1]: not a string: write \"host:port\""},
    {true, "- targets: a:1\n",
     "sd.yml:1: entry [0].targets: is a value: write a list such as [\"10.0.0.5:443\"]"},
    {true, "- [a:1]\n", "sd.yml:1: entry [0]: is a list: write a mapping with targets and labels"},
    {true, "- targets: [a:1\n",
     "sd.yml:2: not valid YAML: did not find expected ',' or ']' while "
     "parsing a flow sequence"},
};

static void test_bad(void **state)
{
	struct file_sd_target *t = (void *)1;
	char err[SERVE_ERR_MAX];
	size_t i, n = 7;
	int rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		/* The JSON case with \u0000 holds no NUL byte itself: strlen() is its length. */
		rc = parse(bad_cases[i].in, bad_cases[i].yaml, &t, &n, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("case %zu '%s': rc %d, want -EINVAL", i, bad_cases[i].in, rc);
		if (strcmp(err, bad_cases[i].err))
			fail_msg("case %zu '%s':\n got  '%s'\n want '%s'", i, bad_cases[i].in, err,
				 bad_cases[i].err);
		assert_null(t);
		assert_int_equal(n, 0);
	}
}

static void test_bounds(void **state)
{
	struct file_sd_target *t;
	char err[SERVE_ERR_MAX], *buf;
	size_t n, len, i;

	/* FILE_SD_TARGETS_PER_FILE_MAX targets, then one more */
	buf = malloc((FILE_SD_TARGETS_PER_FILE_MAX + 1) * 24 + 64);
	assert_non_null(buf);
	len = (size_t)sprintf(buf, "[{\"targets\": [");
	for (i = 0; i < FILE_SD_TARGETS_PER_FILE_MAX; i++)
		len += (size_t)sprintf(buf + len, "%s\"10.%zu.%zu.1:80\"", i ? "," : "", i / 256,
				       i % 256);
	strcpy(buf + len, "]}]");
	if (parse(buf, false, &t, &n, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(n, FILE_SD_TARGETS_PER_FILE_MAX);
	free(t);
	len += (size_t)sprintf(buf + len, ",\"10.99.99.1:80\"]}]");
	assert_int_equal(parse(buf, false, &t, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "sd.json: entry [0].targets[10000]: more than 10000 targets in one "
			    "file: split it");
	free(buf);

	/* the size bound, before any parsing */
	buf = calloc(1, FILE_SD_FILE_SIZE_MAX + 2);
	assert_non_null(buf);
	memset(buf, ' ', FILE_SD_FILE_SIZE_MAX + 1);
	assert_int_equal(file_sd_parse(buf, FILE_SD_FILE_SIZE_MAX + 1, "big.json", false, &defaults,
				       &t, &n, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "big.json: larger than 4194304 bytes: split it into several files");
	free(buf);
}

static void test_config_key(void **state)
{
	struct serve_config cfg;
	char err[SERVE_ERR_MAX] = "";
	static const char yaml[] = "defaults: {interval: 5s}\n"
				   "file_sd: [sd/*.json, /abs/x-*.yml, y.yaml]\n";

	if (serve_config_parse(yaml, strlen(yaml), "/etc/synprobe/serve.yaml", &cfg, err,
			       sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg.n_checks, 0); /* checks may be absent with file_sd */
	assert_int_equal(cfg.n_file_sd, 3);
	assert_string_equal(cfg.file_sd[0], "/etc/synprobe/sd/*.json");
	assert_string_equal(cfg.file_sd[1], "/abs/x-*.yml");
	assert_string_equal(cfg.file_sd[2], "/etc/synprobe/y.yaml");
	assert_int_equal(cfg.defaults.interval_ms, 5000);
	serve_config_free(&cfg);

	assert_int_equal(
	    serve_config_parse("file_sd: [a/*/x.json]\n", 22, "s.yaml", &cfg, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "s.yaml:1: key 'file_sd[0]': 'a/*/x.json' has a wildcard in its "
				 "directory: put wildcards only in the file name");
	assert_int_equal(serve_config_parse("file_sd: []\n", 12, "s.yaml", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "s.yaml:1: key 'checks': missing: give a list of checks (or "
				 "file_sd)");
}

/* --- file_sd_refresh() over a directory --- */

struct events {
	char log[4096];
	char error[SERVE_ERR_MAX]; /* the last one */
};

static void on_event(void *ctx, enum file_sd_event ev, const char *file, size_t n,
		     const char *error)
{
	struct events *e = ctx;
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t len = strlen(e->log);

	if (error)
		snprintf(e->error, sizeof(e->error), "%s", error);

	snprintf(e->log + len, sizeof(e->log) - len, "%s %s %zu;",
		 ev == FILE_SD_READ	? "read"
		 : ev == FILE_SD_FAILED ? "failed"
					: "gone",
		 base, n);
}

static char dir[64];

static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool has_check(const struct serve_config *all, const char *name, const char *team)
{
	size_t i;

	for (i = 0; i < all->n_checks; i++)
		if (!strcmp(all->checks[i].name, name))
			return !team || (label(&all->checks[i], "team") &&
					 !strcmp(label(&all->checks[i], "team"), team));
	return false;
}

static void test_refresh(void **state)
{
	struct serve_config cfg, all;
	struct events ev = {};
	struct file_sd *fsd;
	char yaml[256], err[SERVE_ERR_MAX] = "", path[128];
	int n;

	snprintf(dir, sizeof(dir), "/tmp/test_file_sd.XXXXXX");
	assert_non_null(mkdtemp(dir));
	n = snprintf(
	    yaml, sizeof(yaml),
	    "checks: [{name: '10.0.0.8:80', target: '10.0.0.9:80'}]\nfile_sd: ['%s/*.json', "
	    "'%s/*.yml']\n",
	    dir, dir);
	if (serve_config_parse(yaml, (size_t)n, "s.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	fsd = file_sd_new(NULL, NULL);
	assert_non_null(fsd);
	assert_int_equal(file_sd_set_globs(fsd, &cfg, err, sizeof(err)), 0);

	put("a.json", "[{\"targets\": [\"10.0.0.1:80\", \"10.0.0.2:80\"], \"labels\": {\"team\": "
		      "\"a\"}}]");
	put("b.yml", "- targets: [10.0.0.3:80]\n");
	put("c.txt", "not matched");
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 0);
	assert_string_equal(ev.log, "read a.json 2;read b.yml 1;");
	assert_int_equal(all.n_checks, 4);
	assert_string_equal(all.checks[0].name, "10.0.0.8:80"); /* the config's first */
	assert_true(has_check(&all, "10.0.0.1:80", "a"));
	assert_int_equal(file_sd_n_files(fsd), 2);
	serve_config_free(&all);

	/* Nothing changed: nothing told. */
	ev.log[0] = '\0';
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 0);
	assert_string_equal(ev.log, "");
	serve_config_free(&all);

	/* A broken file keeps its targets; a good one changes. */
	put("a.json", "[{\"targets\": [\"10.0.0.1:80\"");
	put("b.yml", "- targets: [10.0.0.3:80, 10.0.0.4:80]\n  labels: {team: b}\n");
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 1);
	assert_string_equal(ev.log, "failed a.json 2;read b.yml 2;");
	assert_int_equal(all.n_checks, 5);
	assert_true(has_check(&all, "10.0.0.2:80", "a"));
	assert_true(has_check(&all, "10.0.0.4:80", "b"));
	serve_config_free(&all);

	/* A target of another file, or a name of the config: the file is refused. */
	ev.log[0] = '\0';
	put("a.json", "[{\"targets\": [\"10.0.0.1:80\", \"10.0.0.3:80\"]}]");
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 1);
	assert_string_equal(ev.log, "failed a.json 2;");
	assert_non_null(strstr(ev.error, "a.json: entry [0].targets[1]: '10.0.0.3:80' is also a "
					 "target of "));
	assert_true(has_check(&all, "10.0.0.2:80", "a"));
	assert_true(has_check(&all, "10.0.0.3:80", NULL));
	serve_config_free(&all);
	ev.log[0] = '\0';
	put("a.json", "[{\"targets\": [\"10.0.0.8:80\"]}]");
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 1);
	assert_non_null(strstr(ev.error, "'10.0.0.8:80' is the name of a check of the config"));
	serve_config_free(&all);

	/* A file gone takes its targets with it; a new file brings its own. */
	ev.log[0] = '\0';
	snprintf(path, sizeof(path), "%s/a.json", dir);
	unlink(path);
	put("d.json", "[{\"targets\": [\"10.0.0.5:80\"]}]");
	assert_int_equal(file_sd_refresh(fsd, &cfg, &all, on_event, &ev), 0);
	assert_string_equal(ev.log, "read d.json 1;gone a.json 2;");
	assert_int_equal(all.n_checks, 4);
	assert_false(has_check(&all, "10.0.0.1:80", NULL));
	assert_true(has_check(&all, "10.0.0.5:80", NULL));
	serve_config_free(&all);

	/* A directory that is not there: the glob is refused. */
	snprintf(yaml, sizeof(yaml), "file_sd: ['%s/nodir/*.json']\n", dir);
	serve_config_free(&cfg);
	if (serve_config_parse(yaml, strlen(yaml), "s.yaml", &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(file_sd_set_globs(fsd, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nodir/*.json': cannot watch the directory"));

	file_sd_free(fsd);
	serve_config_free(&cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json),       cmocka_unit_test(test_yaml),
	    cmocka_unit_test(test_bad),	       cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_config_key), cmocka_unit_test(test_refresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
