// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* web_config.c - serve's --web.config.file (exporter-toolkit's format), through libyaml. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "util.h"
#include "yaml_util.h"
#include "web_config.h"

static const char *const top_keys[] = {"tls_server_config", "basic_auth_users", NULL};
static const char *const tls_keys[] = {
    "cert_file",   "key_file", "client_ca_file", "client_auth_type", "min_version",
    "max_version", NULL,
};
/* exporter-toolkit's keys synprobe does not implement: named as such in the error. */
static const char *const unsupported_keys[] = {
    "cert",
    "key",
    "client_ca",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
    "http_server_config",
    "rate_limit",
    NULL,
};

static const struct {
	const char *name;
	enum web_client_auth auth;
} client_auths[] = {
    {"NoClientCert", WEB_NO_CLIENT_CERT},
    {"RequestClientCert", WEB_REQUEST_CLIENT_CERT},
    {"RequireAnyClientCert", WEB_REQUIRE_ANY_CLIENT_CERT},
    {"VerifyClientCertIfGiven", WEB_VERIFY_CLIENT_CERT_IF_GIVEN},
    {"RequireAndVerifyClientCert", WEB_REQUIRE_AND_VERIFY_CLIENT_CERT},
};

static const struct {
	const char *name;
	enum web_tls_version v;
} tls_versions[] = {
    {"TLS10", WEB_TLS10},
    {"TLS11", WEB_TLS11},
    {"TLS12", WEB_TLS12},
    {"TLS13", WEB_TLS13},
};

/* The text of scalar @v into *@s, or an error: not a scalar, or a NUL inside. */
static int get_scalar(struct sp_yaml_ctx *c, yaml_node_t *v, const char *key, const char *example,
		      const char **s)
{
	if (v->type != YAML_SCALAR_NODE)
		return sp_yaml_fail(c, v, key, "is %s: write a single value such as %s",
				    sp_yaml_kind(v), example);
	*s = (const char *)v->data.scalar.value;
	if (strlen(*s) != v->data.scalar.length)
		return sp_yaml_fail(c, v, key, "holds a NUL character: remove it");
	return 0;
}

/* Checks that the keys of mapping @map are scalars, each once, each in @allowed. */
static int check_keys(struct sp_yaml_ctx *c, yaml_node_t *map, const char *path,
		      const char *const *allowed)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *k, *k2;
	char key[160], list[256];
	const char *name;
	size_t i, n;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return sp_yaml_fail(c, k ? k : map, path,
					    "a key is %s: write 'name: value' pairs",
					    k ? sp_yaml_kind(k) : "missing");
		name = (const char *)k->data.scalar.value;
		snprintf(key, sizeof(key), "%s%s%.64s", path, *path ? "." : "", name);
		for (i = 0; allowed[i]; i++)
			if (!strcmp(allowed[i], name))
				break;
		if (!allowed[i]) {
			for (i = 0; unsupported_keys[i]; i++)
				if (!strcmp(unsupported_keys[i], name))
					return sp_yaml_fail(
					    c, k, key,
					    "not supported by synprobe: remove it (see "
					    "'synprobe serve --help' for the keys it reads)");
			list[0] = '\0';
			for (i = 0, n = 0; allowed[i] && n < sizeof(list); i++)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      i ? ", " : "", allowed[i]);
			return sp_yaml_fail(c, k, key, "unknown key: the keys here are %s", list);
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			k2 = sp_yaml_node(c, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)k2->data.scalar.value, name))
				return sp_yaml_fail(c, k, key,
						    "given twice (first on line %lu): keep one",
						    (unsigned long)k2->start_mark.line + 1);
		}
	}
	return 0;
}

/* A path of the file: absolute as is, relative from the directory of c->file. */
static int parse_path(struct sp_yaml_ctx *c, yaml_node_t *map, const char *name, char *out)
{
	const char *s, *slash;
	char key[64];
	yaml_node_t *v;
	int dir_len, err;

	snprintf(key, sizeof(key), "tls_server_config.%s", name);
	v = sp_yaml_lookup(c, map, name);
	if (!v)
		return 0;
	err = get_scalar(c, v, key, "/etc/synprobe/tls.crt", &s);
	if (err)
		return err;
	if (!*s)
		return 0; /* as absent, like exporter-toolkit's empty string */
	slash = strrchr(c->file, '/');
	dir_len = *s == '/' || !slash ? 0 : (int)(slash - c->file + 1);
	if ((size_t)dir_len + strlen(s) >= WEB_PATH_MAX)
		return sp_yaml_fail(c, v, key, "the path is longer than %d characters: shorten it",
				    WEB_PATH_MAX - 1);
	snprintf(out, WEB_PATH_MAX, "%.*s%s", dir_len, c->file, s);
	return 0;
}

static int parse_version(struct sp_yaml_ctx *c, yaml_node_t *map, const char *name,
			 enum web_tls_version *out)
{
	yaml_node_t *v;
	const char *s;
	char key[64];
	size_t i;
	int err;

	snprintf(key, sizeof(key), "tls_server_config.%s", name);
	v = sp_yaml_lookup(c, map, name);
	if (!v)
		return 0;
	err = get_scalar(c, v, key, "TLS12", &s);
	if (err)
		return err;
	for (i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++) {
		if (!strcmp(s, tls_versions[i].name)) {
			*out = tls_versions[i].v;
			return 0;
		}
	}
	return sp_yaml_fail(c, v, key,
			    "'%.64s' is not a TLS version: give TLS10, TLS11, TLS12 or TLS13", s);
}

static int parse_tls(struct sp_yaml_ctx *c, yaml_node_t *map, struct web_config *cfg)
{
	yaml_node_t *v;
	const char *s;
	size_t i;
	int err;

	if (map->type == YAML_SCALAR_NODE && !map->data.scalar.length)
		return 0; /* "tls_server_config:" alone */
	if (map->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, map, "tls_server_config",
				    "is %s: write a mapping (cert_file, ...)", sp_yaml_kind(map));
	err = check_keys(c, map, "tls_server_config", tls_keys);
	if (!err)
		err = parse_path(c, map, "cert_file", cfg->cert_file);
	if (!err)
		err = parse_path(c, map, "key_file", cfg->key_file);
	if (!err)
		err = parse_path(c, map, "client_ca_file", cfg->client_ca_file);
	if (!err)
		err = parse_version(c, map, "min_version", &cfg->min_version);
	if (!err)
		err = parse_version(c, map, "max_version", &cfg->max_version);
	if (err)
		return err;
	v = sp_yaml_lookup(c, map, "client_auth_type");
	if (v) {
		err = get_scalar(c, v, "tls_server_config.client_auth_type",
				 "RequireAndVerifyClientCert", &s);
		if (err)
			return err;
		for (i = 0; i < sizeof(client_auths) / sizeof(client_auths[0]); i++)
			if (!strcmp(s, client_auths[i].name))
				break;
		if (i == sizeof(client_auths) / sizeof(client_auths[0]))
			return sp_yaml_fail(c, v, "tls_server_config.client_auth_type",
					    "'%.64s' is not a client auth type: give NoClientCert, "
					    "RequestClientCert, RequireAnyClientCert, "
					    "VerifyClientCertIfGiven or RequireAndVerifyClientCert",
					    s);
		cfg->client_auth = client_auths[i].auth;
	}
	/* The rules of exporter-toolkit's ConfigToTLSConfig(). */
	if (map->type == YAML_MAPPING_NODE &&
	    map->data.mapping.pairs.top == map->data.mapping.pairs.start)
		return 0; /* "tls_server_config: {}": plain HTTP */
	/* Unlike exporter-toolkit, min_version (say) alone is an error, not plain HTTP: whoever
	 * wrote it meant TLS. */
	if (!*cfg->cert_file)
		return sp_yaml_fail(
		    c, map, "tls_server_config.cert_file",
		    "missing: give the server certificate (PEM) along with key_file");
	if (!*cfg->key_file)
		return sp_yaml_fail(
		    c, map, "tls_server_config.key_file",
		    "missing: give the server's private key (PEM) along with cert_file");
	if ((cfg->client_auth == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
	     cfg->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT) &&
	    !*cfg->client_ca_file)
		return sp_yaml_fail(
		    c, map, "tls_server_config.client_ca_file",
		    "missing: client_auth_type %s verifies client certificates against it",
		    web_client_auth_str(cfg->client_auth));
	if (*cfg->client_ca_file && cfg->client_auth == WEB_NO_CLIENT_CERT)
		return sp_yaml_fail(c, map, "tls_server_config.client_auth_type",
				    "client_ca_file is given without a client auth type: set "
				    "client_auth_type, e.g. RequireAndVerifyClientCert");
	if (cfg->min_version > cfg->max_version)
		return sp_yaml_fail(c, map, "tls_server_config.min_version",
				    "TLS1%d is above max_version TLS1%d: lower it",
				    cfg->min_version - 10, cfg->max_version - 10);
	cfg->tls = true;
	return 0;
}

/* "$2a$", "$2b$" or "$2y$", a cost of 04 to 31, "$", then 53 characters of bcrypt's base64. */
static bool bcrypt_hash_ok(const char *s)
{
	size_t i;
	int cost;

	if (strlen(s) != WEB_BCRYPT_LEN || s[0] != '$' || s[1] != '2' ||
	    (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$' || s[6] != '$')
		return false;
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9')
		return false;
	cost = (s[4] - '0') * 10 + (s[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (i = 7; i < WEB_BCRYPT_LEN; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '/'))
			return false;
	return true;
}

static int parse_users(struct sp_yaml_ctx *c, yaml_node_t *map, struct web_config *cfg)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *k, *v, *k2;
	const char *name, *hash;
	char key[WEB_USER_MAX + 32];
	size_t n;
	int err;

	if (map->type == YAML_SCALAR_NODE && !map->data.scalar.length)
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(c, map, "basic_auth_users",
				    "is %s: write a mapping of user names to bcrypt hashes",
				    sp_yaml_kind(map));
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > WEB_USERS_MAX)
		return sp_yaml_fail(c, map, "basic_auth_users", "%zu users: at most %d", n,
				    WEB_USERS_MAX);
	if (!n)
		return 0;
	cfg->users = calloc(n, sizeof(*cfg->users));
	if (!cfg->users)
		return -ENOMEM;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		v = sp_yaml_node(c, p->value);
		if (!k || !v)
			return sp_yaml_fail(c, map, "basic_auth_users",
					    "an empty entry: remove it");
		err = get_scalar(c, k, "basic_auth_users", "prometheus", &name);
		if (err)
			return err;
		snprintf(key, sizeof(key), "basic_auth_users.%.64s", name);
		/* RFC 7617: the user name cannot hold ':'; control characters never arrive. */
		if (!*name || strlen(name) >= WEB_USER_MAX || strchr(name, ':'))
			return sp_yaml_fail(c, k, key,
					    "not a user name: give 1 to %d characters without ':'",
					    WEB_USER_MAX - 1);
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			k2 = sp_yaml_node(c, q->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)k2->data.scalar.value, name))
				return sp_yaml_fail(c, k, key,
						    "given twice (first on line %lu): keep one",
						    (unsigned long)k2->start_mark.line + 1);
		}
		err = get_scalar(c, v, key, "$2y$10$...", &hash);
		if (err)
			return err;
		if (!bcrypt_hash_ok(hash))
			return sp_yaml_fail(
			    c, v, key,
			    "not a bcrypt hash ($2y$10$ and 53 characters): make one with "
			    "'htpasswd -nBC 10 USER' (apache2-utils) or 'mkpasswd -m "
			    "bcrypt' (whois)");
		snprintf(cfg->users[cfg->n_users].name, WEB_USER_MAX, "%s", name);
		memcpy(cfg->users[cfg->n_users].hash, hash, WEB_BCRYPT_LEN + 1);
		cfg->n_users++;
	}
	return 0;
}

static int parse_root(struct sp_yaml_ctx *c, struct web_config *cfg)
{
	yaml_node_t *root, *v;
	int err;

	root = yaml_document_get_root_node(c->doc);
	/* An empty file (or a bare "---" or "{}") is a valid config: nothing changes. */
	if (!root || (root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return sp_yaml_fail(
		    c, root, NULL,
		    "the top level is %s: write a mapping with tls_server_config and/or "
		    "basic_auth_users",
		    sp_yaml_kind(root));
	err = check_keys(c, root, "", top_keys);
	if (err)
		return err;
	v = sp_yaml_lookup(c, root, "tls_server_config");
	if (v && (err = parse_tls(c, v, cfg)))
		return err;
	v = sp_yaml_lookup(c, root, "basic_auth_users");
	if (v && (err = parse_users(c, v, cfg)))
		return err;
	return 0;
}

int web_config_parse(const char *buf, size_t len, const char *file, struct web_config *cfg,
		     char *err, size_t errlen)
{
	struct sp_yaml_ctx c = {.file = file, .err = err, .errlen = errlen};
	yaml_document_t doc;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->min_version = WEB_TLS12;
	cfg->max_version = WEB_TLS13;
	ret = sp_yaml_load(buf, len, file, &doc, err, errlen);
	if (ret)
		return ret;
	c.doc = &doc;
	ret = parse_root(&c, cfg);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", file);
	yaml_document_delete(&doc);
	if (ret)
		web_config_free(cfg);
	return ret;
}

int web_config_load(const char *path, struct web_config *cfg, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open the web config file: %s", path,
			 strerror(errno));
		return ret;
	}
	buf = malloc(WEB_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	len = fread(buf, 1, WEB_FILE_MAX + 1, f);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot read the web config file", path);
	} else if (len > WEB_FILE_MAX) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: larger than %d bytes: is it the web config file?", path,
			 WEB_FILE_MAX);
	} else {
		ret = web_config_parse(buf, len, path, cfg, err, errlen);
	}
	free(buf);
	fclose(f);
	return ret;
}

void web_config_free(struct web_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->users);
	memset(cfg, 0, sizeof(*cfg));
}

const char *web_client_auth_str(enum web_client_auth a)
{
	size_t i;

	for (i = 0; i < sizeof(client_auths) / sizeof(client_auths[0]); i++)
		if (client_auths[i].auth == a)
			return client_auths[i].name;
	return "?";
}
