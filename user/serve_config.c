// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_config.c - the YAML configuration of `synprobe serve`, through libyaml's document API. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "serve_config.h"
#include "util.h"
#include "yaml_util.h"

/* Label names our metrics use themselves: a configured label must not hide them. */
static const char *const reserved_labels[] = {
    "check", "target", "outcome", "le", "instance", "job", "program", "verdict", "map", "phase",
    NULL,
};

int serve_parse_duration_ms(const char *s, __u32 *ms)
{
	static const struct {
		const char *unit;
		__u64 ms;
	} units[] = {
	    /* "ms" before "m": the longest unit that matches wins. */
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	__u64 total = 0, v;
	size_t i, len;
	bool found;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (__u64)(*s - '0');
			if (v > UINT32_MAX)
				return -ERANGE;
			s++;
		}
		found = false;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			len = strlen(units[i].unit);
			if (!strncmp(s, units[i].unit, len) && !(s[len] >= 'a' && s[len] <= 'z')) {
				total += v * units[i].ms;
				if (total > UINT32_MAX)
					return -ERANGE;
				s += len;
				found = true;
				break;
			}
		}
		if (!found)
			return -EINVAL;
	}
	*ms = (__u32)total;
	return 0;
}

static const char *scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

/*
 * Checks that @map is a mapping whose keys are scalars, each at most once, each in @allowed.
 * @path names the mapping in messages ("defaults", "checks[0]").
 */
static int check_keys(struct sp_yaml_ctx *c, yaml_node_t *map, const char *path,
		      const char *const *allowed)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *k, *k2;
	char key[160];
	size_t i;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return sp_yaml_fail(c, k, path, "a key is %s: write 'name: value' pairs",
					    k ? sp_yaml_kind(k) : "missing");
		snprintf(key, sizeof(key), "%s%s%s", path, *path ? "." : "", scalar(k));
		for (i = 0; allowed[i]; i++)
			if (!strcmp(allowed[i], scalar(k)))
				break;
		if (!allowed[i]) {
			char list[256] = "";
			size_t n = 0;

			for (i = 0; allowed[i] && n < sizeof(list); i++)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      i ? ", " : "", allowed[i]);
			return sp_yaml_fail(c, k, key, "unknown key: the keys here are %s", list);
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			k2 = sp_yaml_node(c, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp(scalar(k2), scalar(k)))
				return sp_yaml_fail(c, k, key,
						    "given twice (first on line %lu): keep one",
						    (unsigned long)k2->start_mark.line + 1);
		}
	}
	return 0;
}

static int want_scalar(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, const char *example)
{
	if (v->type != YAML_SCALAR_NODE)
		return sp_yaml_fail(c, v, key, "is %s: write a single value such as %s",
				    sp_yaml_kind(v), example);
	return 0;
}

static int parse_duration_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, bool zero_ok,
			      __u32 *ms)
{
	int err;

	err = want_scalar(c, v, key, "500ms");
	if (err)
		return err;
	err = serve_parse_duration_ms(scalar(v), ms);
	if (err == -ERANGE)
		return sp_yaml_fail(c, v, key, "'%s' is too long: at most 49d", scalar(v));
	if (err)
		return sp_yaml_fail(
		    c, v, key,
		    "'%s' is not a duration: write a number with a unit, as Prometheus "
		    "does: 200ms, 1s, 5m, 1h30m",
		    scalar(v));
	if (!*ms && !zero_ok)
		return sp_yaml_fail(c, v, key, "'%s' is zero: give at least 1ms", scalar(v));
	return 0;
}

static int parse_count_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, __u32 *out)
{
	const char *s;
	unsigned long n;
	char *end;
	int err;

	err = want_scalar(c, v, key, "3");
	if (err)
		return err;
	s = scalar(v);
	errno = 0;
	n = strtoul(s, &end, 10);
	if (!(*s >= '0' && *s <= '9') || *end || errno || n < 1 || n > SERVE_RISE_FALL_MAX)
		return sp_yaml_fail(c, v, key,
				    "'%s' is not a count: give a whole number from 1 to %d", s,
				    SERVE_RISE_FALL_MAX);
	*out = (__u32)n;
	return 0;
}

static bool label_name_ok(const char *s)
{
	const char *p;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* mark: as `ip rule fwmark` takes it, 1 to 4294967295, decimal or 0x hex. */
static int parse_mark_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, __u32 *out)
{
	unsigned long long n;
	const char *s;
	char *end;
	int err;

	err = want_scalar(c, v, key, "16");
	if (err)
		return err;
	s = scalar(v);
	errno = 0;
	n = strtoull(s, &end, 0);
	if (!(*s >= '0' && *s <= '9') || *end || errno || n < 1 || n > 0xffffffffULL)
		return sp_yaml_fail(
		    c, v, key,
		    "'%s' is not a mark: give a number from 1 to 4294967295, decimal or 0x hex", s);
	*out = (__u32)n;
	return 0;
}

/* bind_interface: an interface name as the kernel allows it (dev_valid_name()). */
static int parse_ifname_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, char *out)
{
	const char *s, *p;
	int err;

	err = want_scalar(c, v, key, "eth1");
	if (err)
		return err;
	s = scalar(v);
	if (!*s || strlen(s) >= SERVE_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return sp_yaml_fail(
		    c, v, key,
		    "give an interface name of 1 to %d characters, as 'ip link' shows it",
		    SERVE_IFNAME_MAX - 1);
	for (p = s; *p; p++)
		if (*p == '/' || *p == ':' || (unsigned char)*p <= ' ' || *p == 0x7f)
			return sp_yaml_fail(c, v, key,
					    "'%s' is not an interface name: no '/', ':', spaces or "
					    "control characters",
					    s);
	snprintf(out, SERVE_IFNAME_MAX, "%s", s);
	return 0;
}

/* Labels of @v (a mapping of names to values) merged into @set: same name replaces. */
static int parse_labels(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key,
			struct serve_settings *set)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *k, *val, *k2;
	char lkey[200];
	size_t i;

	if (v->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, v, key, "is %s: write a mapping such as {team: web}",
				    sp_yaml_kind(v));
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		val = sp_yaml_node(c, p->value);
		if (!k || k->type != YAML_SCALAR_NODE || !val)
			return sp_yaml_fail(c, k ? k : v, key,
					    "a label name is %s: write 'name: value'",
					    k ? sp_yaml_kind(k) : "missing");
		snprintf(lkey, sizeof(lkey), "%s.%s", key, scalar(k));
		if (!label_name_ok(scalar(k)) || !strncmp(scalar(k), "__", 2) ||
		    strlen(scalar(k)) >= SERVE_LABEL_NAME_MAX)
			return sp_yaml_fail(
			    c, k, lkey,
			    "not a Prometheus label name: letters, digits and '_', not "
			    "starting with a digit or '__', at most %d characters",
			    SERVE_LABEL_NAME_MAX - 1);
		for (i = 0; reserved_labels[i]; i++)
			if (!strcmp(reserved_labels[i], scalar(k)))
				return sp_yaml_fail(
				    c, k, lkey,
				    "synprobe's metrics use this label name themselves: "
				    "choose another");
		for (q = v->data.mapping.pairs.start; q < p; q++) {
			k2 = sp_yaml_node(c, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp(scalar(k2), scalar(k)))
				return sp_yaml_fail(c, k, lkey,
						    "given twice (first on line %lu): keep one",
						    (unsigned long)k2->start_mark.line + 1);
		}
		if (val->type != YAML_SCALAR_NODE)
			return sp_yaml_fail(c, val, lkey, "is %s: a label value is a single string",
					    sp_yaml_kind(val));
		if (strlen(scalar(val)) >= SERVE_LABEL_VALUE_MAX)
			return sp_yaml_fail(c, val, lkey, "value longer than %d characters",
					    SERVE_LABEL_VALUE_MAX - 1);
		for (i = 0; i < set->n_labels; i++)
			if (!strcmp(set->labels[i].name, scalar(k)))
				break;
		if (i == set->n_labels) {
			if (set->n_labels == SERVE_LABELS_MAX)
				return sp_yaml_fail(c, k, lkey, "more than %d labels: remove some",
						    SERVE_LABELS_MAX);
			set->n_labels++;
		}
		snprintf(set->labels[i].name, sizeof(set->labels[i].name), "%s", scalar(k));
		snprintf(set->labels[i].value, sizeof(set->labels[i].value), "%s", scalar(val));
	}
	return 0;
}

static const char *key_of(char *buf, size_t len, const char *path, const char *name);

/* A boolean scalar: true/false (YAML 1.1's yes/no/on/off too). */
static int parse_bool_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "on", NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "off", NULL};
	size_t i;
	int err;

	err = want_scalar(c, v, key, "true");
	if (err)
		return err;
	for (i = 0; yes[i]; i++)
		if (!strcmp(scalar(v), yes[i])) {
			*out = true;
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (!strcmp(scalar(v), no[i])) {
			*out = false;
			return 0;
		}
	return sp_yaml_fail(c, v, key, "'%s' is not a boolean: give true or false", scalar(v));
}

/* A string scalar of 1 to @max characters, no NUL, into *@out (points into the document). */
static int parse_string_key(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key,
			    const char *example, size_t max, const char **out)
{
	int err;

	err = want_scalar(c, v, key, example);
	if (err)
		return err;
	if (!*scalar(v) || strlen(scalar(v)) > max || strlen(scalar(v)) != v->data.scalar.length)
		return sp_yaml_fail(c, v, key, "give a string of 1 to %zu characters, such as %s",
				    max, example);
	*out = scalar(v);
	return 0;
}

static const char *const tls_keys[] = {"sni", "ca_file", "insecure", "alpn", NULL};
static const char *const step_keys[] = {"send", "expect", NULL};

/* tls: a mapping (sni, ca_file, insecure, alpn); it replaces the defaults' tls as a whole. */
static int parse_tls(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key,
		     struct serve_l7_spec *sp)
{
	yaml_node_t *x;
	char k[200];
	int err;

	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "false")) {
		/* A check turns off the defaults' TLS. */
		sp->tls = sp->insecure = false;
		sp->sni = sp->ca_file = sp->alpn = NULL;
		return 0;
	}
	if (v->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, v, key,
				    "is %s: write a mapping such as {sni: web.example} ({} for the "
				    "defaults; false for none)",
				    sp_yaml_kind(v));
	err = check_keys(c, v, key, tls_keys);
	if (err)
		return err;
	sp->tls = true;
	sp->sni = sp->ca_file = sp->alpn = NULL;
	sp->insecure = false;
	x = sp_yaml_lookup(c, v, "sni");
	if (x && (err = parse_string_key(c, x, key_of(k, sizeof(k), key, "sni"), "web.example", 253,
					 &sp->sni)))
		return err;
	x = sp_yaml_lookup(c, v, "ca_file");
	if (x && (err = parse_string_key(c, x, key_of(k, sizeof(k), key, "ca_file"),
					 "/etc/synprobe/ca.pem", 4095, &sp->ca_file)))
		return err;
	x = sp_yaml_lookup(c, v, "alpn");
	if (x && (err = parse_string_key(c, x, key_of(k, sizeof(k), key, "alpn"), "h2,http/1.1",
					 255, &sp->alpn)))
		return err;
	x = sp_yaml_lookup(c, v, "insecure");
	if (x && (err = parse_bool_key(c, x, key_of(k, sizeof(k), key, "insecure"), &sp->insecure)))
		return err;
	if (sp->insecure && sp->ca_file)
		return sp_yaml_fail(
		    c, x, key_of(k, sizeof(k), key, "insecure"),
		    "ca_file and insecure together: insecure verifies nothing, give one");
	return 0;
}

/*
 * query_response: a list of {send: STR} and {expect: REGEX} (or both in one item, send first), as
 * blackbox_exporter's tcp module; an expect joins the send before it, as check's --expect does.
 */
static int parse_query_response(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key,
				struct serve_l7_spec *sp)
{
	const char *send, *expect;
	yaml_node_item_t *it;
	yaml_node_t *item, *x;
	char k[200], k2[220];
	unsigned int i = 0;
	int err;

	if (v->type != YAML_SEQUENCE_NODE)
		return sp_yaml_fail(
		    c, v, key,
		    "is %s: write a list such as [{send: \"PING\\r\\n\"}, {expect: \"^\\+PONG\"}]",
		    sp_yaml_kind(v));
	sp->n_steps = 0;
	memset(sp->sends, 0, sizeof(sp->sends));
	memset(sp->expects, 0, sizeof(sp->expects));
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++, i++) {
		snprintf(k, sizeof(k), "%s[%u]", key, i);
		item = sp_yaml_node(c, *it);
		if (!item || item->type != YAML_MAPPING_NODE)
			return sp_yaml_fail(c, item ? item : v, k,
					    "is %s: write {send: STR} or {expect: REGEX}",
					    item ? sp_yaml_kind(item) : "missing");
		err = check_keys(c, item, k, step_keys);
		if (err)
			return err;
		send = expect = NULL;
		x = sp_yaml_lookup(c, item, "send");
		if (x) {
			snprintf(k2, sizeof(k2), "%s.send", k);
			err = want_scalar(c, x, k2, "\"PING\\r\\n\"");
			if (err)
				return err;
			if (strlen(scalar(x)) != x->data.scalar.length)
				return sp_yaml_fail(c, x, k2, "holds a NUL: write it as \\0");
			send = scalar(x);
		}
		x = sp_yaml_lookup(c, item, "expect");
		if (x) {
			snprintf(k2, sizeof(k2), "%s.expect", k);
			err = parse_string_key(c, x, k2, "\"^\\+PONG\"", SP_EXPECT_PATTERN_MAX,
					       &expect);
			if (err)
				return err;
		}
		if (!send && !expect)
			return sp_yaml_fail(c, item, k,
					    "empty: write {send: STR} or {expect: REGEX}");
		if (send || !sp->n_steps || sp->expects[sp->n_steps - 1]) {
			if (sp->n_steps == SP_EXPECT_STEPS_MAX)
				return sp_yaml_fail(c, item, k, "more than %d steps: use fewer",
						    SP_EXPECT_STEPS_MAX);
			sp->n_steps++;
		}
		if (send)
			sp->sends[sp->n_steps - 1] = send;
		if (expect)
			sp->expects[sp->n_steps - 1] = expect;
	}
	return 0; /* [] : none (a check drops the defaults' steps) */
}

/*
 * The l7 keys of @map over @set->kind (the defaults' when a check's): a given key replaces the
 * one it inherits; the result is compiled and interned (serve_l7_get()). The l7 row's YAML
 * keys: not yet a hook of the table of completing kinds (check_kind.h), the one kind there is.
 */
static int parse_l7(struct sp_yaml_ctx *c, yaml_node_t *map, const char *path,
		    struct serve_settings *set)
{
	struct serve_l7_spec sp = {};
	yaml_node_t *v, *at = NULL;
	const struct serve_l7 *l;
	char key[160], msg[SERVE_ERR_MAX];
	const char *s;
	int err;

	if (set->kind && !strcmp(set->kind->row, "l7"))
		sp = ((const struct serve_l7 *)set->kind)->spec;
	v = sp_yaml_lookup(c, map, "tls");
	if (v) {
		at = v;
		err = parse_tls(c, v, key_of(key, sizeof(key), path, "tls"), &sp);
		if (err)
			return err;
	}
	v = sp_yaml_lookup(c, map, "query_response");
	if (v) {
		at = v;
		err = parse_query_response(c, v, key_of(key, sizeof(key), path, "query_response"),
					   &sp);
		if (err)
			return err;
	}
	v = sp_yaml_lookup(c, map, "proxy_protocol");
	if (v) {
		at = v;
		key_of(key, sizeof(key), path, "proxy_protocol");
		err = want_scalar(c, v, key, "v2");
		if (err)
			return err;
		if (!strcmp(scalar(v), "none"))
			sp.proxy = SP_PROXY_NONE;
		else if (sp_proxy_version_parse(scalar(v), &sp.proxy))
			return sp_yaml_fail(c, v, key, "'%s': give v1, v2 or none", scalar(v));
	}
	v = sp_yaml_lookup(c, map, "close");
	if (v) {
		at = v;
		key_of(key, sizeof(key), path, "close");
		err = want_scalar(c, v, key, "fin");
		if (err)
			return err;
		s = scalar(v);
		if (strcmp(s, "fin") && strcmp(s, "rst"))
			return sp_yaml_fail(c, v, key, "'%s': give fin or rst", s);
		sp.close_given = true;
		sp.close_fin = !strcmp(s, "fin");
	}
	if (!at)
		return 0;
	l = serve_l7_get(&sp, msg, sizeof(msg));
	if (!l) {
		/* Name the key the message is about. */
		if (msg[0] == '[') {
			v = sp_yaml_lookup(c, map, "query_response");
			snprintf(key, sizeof(key), "%s%squery_response%.*s", path, *path ? "." : "",
				 (int)strcspn(msg, ":"), msg);
			return sp_yaml_fail(c, v ? v : at, key, "%s", msg + strcspn(msg, ":") + 2);
		}
		if (!strncmp(msg, "close ", 6)) {
			v = sp_yaml_lookup(c, map, "close");
			return sp_yaml_fail(c, v ? v : at, key_of(key, sizeof(key), path, "close"),
					    "%s", msg);
		}
		v = sp_yaml_lookup(c, map, "tls");
		return sp_yaml_fail(c, v ? v : at, key_of(key, sizeof(key), path, "tls"), "%s",
				    msg);
	}
	set->kind = l->active || l->spec.close_given ? &l->base : NULL;
	return 0;
}

/* "PATH.NAME" (or "NAME" at the top) into @buf: a key as error messages name it. */
static const char *key_of(char *buf, size_t len, const char *path, const char *name)
{
	snprintf(buf, len, "%s%s%s", path, *path ? "." : "", name);
	return buf;
}

/*
 * The settings keys of mapping @map (defaults or one check) over @set. @path prefixes the keys in
 * messages.
 */
static int parse_settings(struct sp_yaml_ctx *c, yaml_node_t *map, const char *path,
			  struct serve_settings *set)
{
	yaml_node_t *v;
	char key[160];
	int err = 0;

	v = sp_yaml_lookup(c, map, "interval");
	if (v && (err = parse_duration_key(c, v, key_of(key, sizeof(key), path, "interval"), false,
					   &set->interval_ms)))
		return err;
	v = sp_yaml_lookup(c, map, "timeout");
	if (v && (err = parse_duration_key(c, v, key_of(key, sizeof(key), path, "timeout"), false,
					   &set->timeout_ms)))
		return err;
	v = sp_yaml_lookup(c, map, "fast_interval");
	if (v && (err = parse_duration_key(c, v, key_of(key, sizeof(key), path, "fast_interval"),
					   true, &set->fast_interval_ms)))
		return err;
	v = sp_yaml_lookup(c, map, "resolve_interval");
	if (v && (err = parse_duration_key(c, v, key_of(key, sizeof(key), path, "resolve_interval"),
					   false, &set->resolve_interval_ms)))
		return err;
	v = sp_yaml_lookup(c, map, "rise");
	if (v && (err = parse_count_key(c, v, key_of(key, sizeof(key), path, "rise"), &set->rise)))
		return err;
	v = sp_yaml_lookup(c, map, "fall");
	if (v && (err = parse_count_key(c, v, key_of(key, sizeof(key), path, "fall"), &set->fall)))
		return err;
	v = sp_yaml_lookup(c, map, "labels");
	if (v && (err = parse_labels(c, v, key_of(key, sizeof(key), path, "labels"), set)))
		return err;
	v = sp_yaml_lookup(c, map, "mark");
	if (v && (err = parse_mark_key(c, v, key_of(key, sizeof(key), path, "mark"), &set->mark)))
		return err;
	v = sp_yaml_lookup(c, map, "bind_interface");
	if (v && (err = parse_ifname_key(c, v, key_of(key, sizeof(key), path, "bind_interface"),
					 set->bind_interface)))
		return err;
	return parse_l7(c, map, path, set);
}

/* The rules between settings, checked once defaults and the check's keys are merged. */
static int check_settings(struct sp_yaml_ctx *c, yaml_node_t *map, const char *path,
			  const struct serve_settings *set)
{
	yaml_node_t *at;
	char key[160];

	at = sp_yaml_lookup(c, map, "timeout");
	if (set->timeout_ms > set->interval_ms) {
		snprintf(key, sizeof(key), "%s.timeout", path);
		return sp_yaml_fail(
		    c, at ? at : map, key,
		    "timeout %ums is longer than interval %ums: make it at most the interval",
		    set->timeout_ms, set->interval_ms);
	}
	at = sp_yaml_lookup(c, map, "fast_interval");
	if (set->fast_interval_ms &&
	    (set->fast_interval_ms < set->timeout_ms || set->fast_interval_ms > set->interval_ms)) {
		snprintf(key, sizeof(key), "%s.fast_interval", path);
		return sp_yaml_fail(
		    c, at ? at : map, key,
		    "fast_interval %ums must lie between timeout %ums and interval %ums",
		    set->fast_interval_ms, set->timeout_ms, set->interval_ms);
	}
	return 0;
}

static const char *const settings_keys[] = {
    "interval", "timeout", "rise", "fall", "fast_interval", "resolve_interval", "labels",
    "mark", "bind_interface", "tls", "query_response", "proxy_protocol", "close", NULL,
};
static const char *const check_keys_allowed[] = {
    "name", "target",	     "interval",	 "timeout", "rise",
    "fall", "fast_interval", "resolve_interval", "labels",  "mark", "bind_interface",
    "tls",  "query_response", "proxy_protocol", "close", NULL,
};
static const char *const top_keys[] = {"defaults", "checks", "probe_allow", "shard", "file_sd",
					       "modules", NULL};
static const char *const module_keys[] = {
    "timeout", "method", "tls", "query_response", "proxy_protocol", "close", NULL,
};

static int parse_check(struct sp_yaml_ctx *c, yaml_node_t *node, size_t index,
		       const struct serve_settings *defaults, struct serve_config *cfg)
{
	struct serve_check_config *chk = &cfg->checks[index];
	char path[32], key[48], terr[SP_ERR_MAX];
	yaml_node_t *v;
	const char *s;
	size_t i;
	int err;

	snprintf(path, sizeof(path), "checks[%zu]", index);
	if (node->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, node, path,
				    "is %s: each check is a mapping with name and target",
				    sp_yaml_kind(node));
	err = check_keys(c, node, path, check_keys_allowed);
	if (err)
		return err;
	chk->line = (int)node->start_mark.line + 1;
	chk->set = *defaults;

	snprintf(key, sizeof(key), "%s.name", path);
	v = sp_yaml_lookup(c, node, "name");
	if (!v)
		return sp_yaml_fail(c, node, key, "missing: give every check a unique name");
	err = want_scalar(c, v, key, "web");
	if (err)
		return err;
	s = scalar(v);
	if (!*s || strlen(s) >= SERVE_NAME_MAX)
		return sp_yaml_fail(c, v, key, "give a name of 1 to %d characters",
				    SERVE_NAME_MAX - 1);
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sp_yaml_fail(c, v, key,
					    "the name has a control character: remove it");
	for (i = 0; i < index; i++)
		if (!strcmp(cfg->checks[i].name, s))
			return sp_yaml_fail(
			    c, v, key,
			    "name '%s' is used twice (first by the check on line %d): "
			    "names must be unique",
			    s, cfg->checks[i].line);
	snprintf(chk->name, sizeof(chk->name), "%s", s);

	snprintf(key, sizeof(key), "%s.target", path);
	v = sp_yaml_lookup(c, node, "target");
	if (!v)
		return sp_yaml_fail(c, node, key, "missing: write host:port or [ipv6]:port");
	err = want_scalar(c, v, key, "10.0.0.5:443");
	if (err)
		return err;
	if (strlen(scalar(v)) >= SERVE_TARGET_MAX)
		return sp_yaml_fail(c, v, key, "longer than %d characters", SERVE_TARGET_MAX - 1);
	if (sp_target_parse(scalar(v), 0, &chk->spec, terr, sizeof(terr))) {
		/* The CLI's message offers -p, which a config does not have. */
		char *p = strstr(terr, " or give -p");

		if (p)
			*p = '\0';
		return sp_yaml_fail(c, v, key, "%s", terr);
	}
	snprintf(chk->target, sizeof(chk->target), "%s", scalar(v));

	err = parse_settings(c, node, path, &chk->set);
	if (!err)
		err = check_settings(c, node, path, &chk->set);
	return err;
}

/* probe_allow: a list of networks, each "ADDR/LEN" or a bare address. */
static int parse_probe_allow(struct sp_yaml_ctx *c, yaml_node_t *v, struct serve_config *cfg)
{
	char key[32], msg[SP_CIDR_ERR_MAX];
	yaml_node_item_t *it;
	yaml_node_t *item;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE)
		return sp_yaml_fail(
		    c, v, "probe_allow",
		    "is %s: write a list of networks such as [10.0.0.0/8, \"fd00::/8\"]",
		    sp_yaml_kind(v));
	cfg->has_probe_allow = true;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > SERVE_PROBE_ALLOW_MAX)
		return sp_yaml_fail(c, v, "probe_allow",
				    "more than %d networks: merge some into larger ones",
				    SERVE_PROBE_ALLOW_MAX);
	if (!n)
		return 0;
	cfg->probe_allow = calloc(n, sizeof(*cfg->probe_allow));
	if (!cfg->probe_allow)
		return -ENOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		snprintf(key, sizeof(key), "probe_allow[%zu]", cfg->n_probe_allow);
		item = sp_yaml_node(c, *it);
		if (!item)
			return sp_yaml_fail(c, v, key, "an empty entry: remove it");
		if (item->type != YAML_SCALAR_NODE)
			return sp_yaml_fail(c, item, key,
					    "is %s: write a network such as 10.0.0.0/8",
					    sp_yaml_kind(item));
		if (sp_cidr_parse(scalar(item), &cfg->probe_allow[cfg->n_probe_allow], msg,
				  sizeof(msg)))
			return sp_yaml_fail(c, item, key, "%s", msg);
		cfg->n_probe_allow++;
	}
	return 0;
}

/* shard: "K/N", as serve's --shard. */
static int parse_shard(struct sp_yaml_ctx *c, yaml_node_t *v, struct serve_config *cfg)
{
	char msg[SERVE_SHARD_ERR_MAX];
	int err;

	err = want_scalar(c, v, "shard", "0/3");
	if (err)
		return err;
	if (serve_shard_parse(scalar(v), &cfg->shard, msg, sizeof(msg)))
		return sp_yaml_fail(c, v, "shard", "%s", msg);
	cfg->has_shard = true;
	return 0;
}

/*
 * file_sd: a list of globs of Prometheus file_sd files. Relative ones are joined to the config's
 * directory, as Prometheus does; wildcards only in the file name, whose directory is watched.
 */
static int parse_file_sd(struct sp_yaml_ctx *c, yaml_node_t *v, struct serve_config *cfg)
{
	const char *slash, *g;
	char key[32];
	yaml_node_item_t *it;
	yaml_node_t *item;
	size_t n;
	int dirlen = 0;
	bool in_dir;

	if (v->type != YAML_SEQUENCE_NODE)
		return sp_yaml_fail(c, v, "file_sd",
				    "is %s: write a list of globs such as [targets/*.json]",
				    sp_yaml_kind(v));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > SERVE_FILE_SD_MAX)
		return sp_yaml_fail(c, v, "file_sd",
				    "more than %d globs: put the files in fewer directories",
				    SERVE_FILE_SD_MAX);
	if (!n)
		return 0;
	cfg->file_sd = calloc(n, sizeof(*cfg->file_sd));
	if (!cfg->file_sd)
		return -ENOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		snprintf(key, sizeof(key), "file_sd[%zu]", cfg->n_file_sd);
		item = sp_yaml_node(c, *it);
		if (!item)
			return sp_yaml_fail(c, v, key, "an empty entry: remove it");
		if (item->type != YAML_SCALAR_NODE || !*scalar(item))
			return sp_yaml_fail(
			    c, item, key, "is %s: write a glob such as targets/*.json",
			    item->type == YAML_SCALAR_NODE ? "empty" : sp_yaml_kind(item));
		g = scalar(item);
		slash = strrchr(c->file, '/');
		dirlen = slash ? (int)(slash - c->file) : 0;
		in_dir = slash && g[0] != '/';
		slash = strrchr(g, '/');
		if (slash && strcspn(g, "*?[") < (size_t)(slash - g))
			return sp_yaml_fail(
			    c, item, key,
			    "'%s' has a wildcard in its directory: put wildcards only in "
			    "the file name",
			    g);
		if (g[strlen(g) - 1] == '/')
			return sp_yaml_fail(c, item, key,
					    "'%s' names a directory: add a file name glob such "
					    "as *.json",
					    g);
		n = (size_t)snprintf(cfg->file_sd[cfg->n_file_sd], SERVE_FILE_SD_PATH_MAX,
				     "%.*s%s%s", in_dir ? dirlen : 0, c->file, in_dir ? "/" : "", g);
		if (n >= SERVE_FILE_SD_PATH_MAX)
			return sp_yaml_fail(c, item, key, "longer than %d characters",
					    SERVE_FILE_SD_PATH_MAX - 1);
		cfg->n_file_sd++;
	}
	return 0;
}

const char *serve_module_name_error(const char *name)
{
	const char *p;

	if (!*name || strlen(name) >= SERVE_MODULE_NAME_MAX)
		return "give a module name of 1 to 63 characters";
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return "a module name has letters, digits, '_', '-' and '.' only";
	return NULL;
}

const char *serve_module_method_str(enum serve_module_method m)
{
	switch (m) {
	case SERVE_MODULE_METHOD_BPF:
		return "bpf";
	case SERVE_MODULE_METHOD_CONNECT:
		return "connect";
	case SERVE_MODULE_METHOD_ANY:
		break;
	}
	return "any";
}

/*
 * One module of modules: (@path "modules.NAME"): timeout, method, and the l7 keys through the
 * checks' own parse_l7(), so that their values and messages are the same. A module stands alone,
 * as blackbox_exporter's: it takes nothing from defaults.
 */
static int parse_module(struct sp_yaml_ctx *c, yaml_node_t *v, const char *path,
			struct serve_module *m)
{
	struct serve_settings set = {};
	yaml_node_t *x;
	char key[160];
	int err;

	if (v->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, v, path,
				    "is %s: write a mapping such as {tls: {}, timeout: 5s}",
				    sp_yaml_kind(v));
	err = check_keys(c, v, path, module_keys);
	if (err)
		return err;
	x = sp_yaml_lookup(c, v, "timeout");
	if (x && (err = parse_duration_key(c, x, key_of(key, sizeof(key), path, "timeout"), false,
					   &m->timeout_ms)))
		return err;
	x = sp_yaml_lookup(c, v, "method");
	if (x) {
		key_of(key, sizeof(key), path, "method");
		err = want_scalar(c, x, key, "bpf");
		if (err)
			return err;
		if (!strcmp(scalar(x), "bpf"))
			m->method = SERVE_MODULE_METHOD_BPF;
		else if (!strcmp(scalar(x), "connect"))
			m->method = SERVE_MODULE_METHOD_CONNECT;
		else
			return sp_yaml_fail(c, x, key, "'%s': give bpf or connect", scalar(x));
	}
	err = parse_l7(c, v, path, &set);
	if (err)
		return err;
	m->kind = set.kind;
	return 0;
}

/* modules: a mapping of names to modules (/probe?module=NAME), as blackbox_exporter's. */
static int parse_modules(struct sp_yaml_ctx *c, yaml_node_t *v, struct serve_config *cfg)
{
	char path[SERVE_MODULE_NAME_MAX + 16];
	yaml_node_pair_t *p, *q;
	yaml_node_t *k, *k2, *val;
	const char *why;
	size_t n;
	int err;

	if (v->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, v, "modules",
				    "is %s: write a mapping of names to modules such as "
				    "{tls_web: {tls: {}}}",
				    sp_yaml_kind(v));
	n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n > SERVE_MODULES_MAX)
		return sp_yaml_fail(c, v, "modules", "more than %d modules: remove some",
				    SERVE_MODULES_MAX);
	if (!n)
		return 0;
	cfg->modules = calloc(n, sizeof(*cfg->modules));
	if (!cfg->modules)
		return -ENOMEM;
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		val = sp_yaml_node(c, p->value);
		if (!k || k->type != YAML_SCALAR_NODE || !val)
			return sp_yaml_fail(c, k ? k : v, "modules",
					    "a module name is %s: write 'name: {...}'",
					    k ? sp_yaml_kind(k) : "missing");
		/* The name is echoed in the key: cut and made printable by sp_yaml_fail(). */
		snprintf(path, sizeof(path), "modules.%.*s%s", SERVE_MODULE_NAME_MAX - 1, scalar(k),
			 strlen(scalar(k)) >= SERVE_MODULE_NAME_MAX ? "..." : "");
		why = strlen(scalar(k)) != k->data.scalar.length
			  ? "a module name cannot hold a NUL"
			  : serve_module_name_error(scalar(k));
		if (why)
			return sp_yaml_fail(c, k, path, "%s", why);
		for (q = v->data.mapping.pairs.start; q < p; q++) {
			k2 = sp_yaml_node(c, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp(scalar(k2), scalar(k)))
				return sp_yaml_fail(c, k, path,
						    "given twice (first on line %lu): keep one",
						    (unsigned long)k2->start_mark.line + 1);
		}
		snprintf(cfg->modules[cfg->n_modules].name, SERVE_MODULE_NAME_MAX, "%s", scalar(k));
		cfg->modules[cfg->n_modules].line = (int)k->start_mark.line + 1;
		err = parse_module(c, val, path, &cfg->modules[cfg->n_modules]);
		if (err)
			return err;
		cfg->n_modules++;
	}
	return 0;
}

static int parse_root(struct sp_yaml_ctx *c, struct serve_config *cfg)
{
	struct serve_settings defaults = {
	    .interval_ms = SERVE_DEFAULT_INTERVAL_MS,
	    .timeout_ms = SERVE_DEFAULT_TIMEOUT_MS,
	    .rise = SERVE_DEFAULT_RISE,
	    .fall = SERVE_DEFAULT_FALL,
	    .resolve_interval_ms = SERVE_DEFAULT_RESOLVE_INTERVAL_MS,
	};
	yaml_node_t *root, *v, *item;
	yaml_node_item_t *it;
	size_t n;
	int err;

	root = yaml_document_get_root_node(c->doc);
	if (!root)
		return sp_yaml_fail(c, NULL, NULL, "the file is empty: give a 'checks' list");
	if (root->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, root, NULL,
				    "the top level is %s: write a mapping with 'checks'",
				    sp_yaml_kind(root));
	err = check_keys(c, root, "", top_keys);
	if (err)
		return err;
	v = sp_yaml_lookup(c, root, "defaults");
	if (v) {
		if (v->type != YAML_MAPPING_NODE)
			return sp_yaml_fail(c, v, "defaults", "is %s: write a mapping of settings",
					    sp_yaml_kind(v));
		err = check_keys(c, v, "defaults", settings_keys);
		if (!err)
			err = parse_settings(c, v, "defaults", &defaults);
		if (!err)
			err = check_settings(c, v, "defaults", &defaults);
		if (err)
			return err;
	}
	cfg->defaults = defaults;
	v = sp_yaml_lookup(c, root, "probe_allow");
	if (v && (err = parse_probe_allow(c, v, cfg)))
		return err;
	v = sp_yaml_lookup(c, root, "shard");
	if (v && (err = parse_shard(c, v, cfg)))
		return err;
	v = sp_yaml_lookup(c, root, "file_sd");
	if (v && (err = parse_file_sd(c, v, cfg)))
		return err;
	v = sp_yaml_lookup(c, root, "modules");
	if (v && (err = parse_modules(c, v, cfg)))
		return err;
	v = sp_yaml_lookup(c, root, "checks");
	if (!v && cfg->n_file_sd)
		return 0;
	if (!v)
		return sp_yaml_fail(c, root, "checks",
				    "missing: give a list of checks (or file_sd)");
	if (v->type != YAML_SEQUENCE_NODE)
		return sp_yaml_fail(c, v, "checks", "is %s: write a list ('- name: ...')",
				    sp_yaml_kind(v));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (!n && cfg->n_file_sd)
		return 0;
	if (!n)
		return sp_yaml_fail(c, v, "checks", "the list is empty: give at least one check");
	cfg->checks = calloc(n, sizeof(*cfg->checks));
	if (!cfg->checks)
		return -ENOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		item = sp_yaml_node(c, *it);
		if (!item)
			return sp_yaml_fail(c, v, "checks", "an empty entry: remove it");
		err = parse_check(c, item, cfg->n_checks, &defaults, cfg);
		if (err)
			return err;
		cfg->n_checks++;
	}
	return 0;
}

int serve_config_parse(const char *buf, size_t len, const char *file, struct serve_config *cfg,
		       char *err, size_t errlen)
{
	struct sp_yaml_ctx c = {.file = file, .err = err, .errlen = errlen};
	yaml_document_t doc;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = sp_yaml_load(buf, len, file, &doc, err, errlen);
	if (ret)
		return ret;
	c.doc = &doc;
	ret = parse_root(&c, cfg);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", file);
	yaml_document_delete(&doc);
	if (ret)
		serve_config_free(cfg);
	return ret;
}

int serve_config_load(const char *path, struct serve_config *cfg, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open the config file: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		if (len == cap) {
			char *nbuf;

			cap = cap ? cap * 2 : 4096;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto cleanup;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
		if (len > SERVE_FILE_MAX) {
			ret = -EFBIG;
			snprintf(err, errlen, "%s: larger than %d bytes: is it the config file?", path,
				 SERVE_FILE_MAX);
			goto cleanup;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot read the config file", path);
		goto cleanup;
	}
	ret = serve_config_parse(buf, len, path, cfg, err, errlen);
cleanup:
	free(buf);
	fclose(f);
	return ret;
}

void serve_config_free(struct serve_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->checks);
	cfg->checks = NULL;
	cfg->n_checks = 0;
	free(cfg->probe_allow);
	cfg->probe_allow = NULL;
	cfg->n_probe_allow = 0;
	cfg->has_probe_allow = false;
	cfg->has_shard = false;
	free(cfg->file_sd);
	cfg->file_sd = NULL;
	cfg->n_file_sd = 0;
	free(cfg->modules);
	cfg->modules = NULL;
	cfg->n_modules = 0;
}

bool serve_check_config_equal(const struct serve_check_config *a,
			      const struct serve_check_config *b)
{
	const struct serve_settings *x = &a->set, *y = &b->set;
	size_t i;

	if (strcmp(a->name, b->name) || strcmp(a->target, b->target) ||
	    x->interval_ms != y->interval_ms || x->timeout_ms != y->timeout_ms ||
	    x->rise != y->rise || x->fall != y->fall ||
	    x->fast_interval_ms != y->fast_interval_ms ||
	    x->resolve_interval_ms != y->resolve_interval_ms || x->n_labels != y->n_labels ||
	    x->mark != y->mark || strcmp(x->bind_interface, y->bind_interface) ||
	    x->kind != y->kind)
		return false;
	for (i = 0; i < x->n_labels; i++)
		if (strcmp(x->labels[i].name, y->labels[i].name) ||
		    strcmp(x->labels[i].value, y->labels[i].value))
			return false;
	return true;
}

const char *serve_label_name_error(const char *name)
{
	size_t i;

	if (!label_name_ok(name))
		return "not a Prometheus label name: letters, digits and '_', not starting with a "
		       "digit";
	if (!strncmp(name, "__", 2))
		return "names starting with '__' are Prometheus' own: choose another";
	if (strlen(name) >= SERVE_LABEL_NAME_MAX)
		return "longer than 63 characters: choose a shorter one";
	for (i = 0; reserved_labels[i]; i++)
		if (!strcmp(reserved_labels[i], name))
			return "synprobe's metrics use this label name themselves: choose another";
	return NULL;
}
