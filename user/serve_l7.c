// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_l7.c - serve's l7 settings, compiled once per distinct setting and interned (serve_l7.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cescape.h"
#include "serve_l7.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct serve_l7 *table;
static unsigned int table_len;

/* Appends "len:str;" (or "-;" for NULL) to the key: unambiguous whatever the bytes. */
static int key_add(char **key, size_t *len, const char *s)
{
	size_t n = s ? strlen(s) : 0, need = n + 32;
	char *k;

	k = realloc(*key, *len + need);
	if (!k)
		return -ENOMEM;
	*key = k;
	if (s) {
		*len += (size_t)snprintf(k + *len, need, "%zu:", n);
		memcpy(k + *len, s, n);
		*len += n;
		k[(*len)++] = ';';
	} else {
		*len += (size_t)snprintf(k + *len, need, "-;");
	}
	k[*len] = '\0';
	return 0;
}

static char *make_key(const struct serve_l7_spec *sp)
{
	char buf[160], *key = NULL;
	struct stat st = {};
	size_t len = 0;
	unsigned int i;

	if (sp->ca_file && stat(sp->ca_file, &st))
		memset(&st, 0, sizeof(st));
	snprintf(buf, sizeof(buf), "tls=%d,insecure=%d,proxy=%d,close=%d%d,ca=%llu.%llu.%lld.%lld.%ld,",
		 sp->tls, sp->insecure, (int)sp->proxy, sp->close_given, sp->close_fin,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (key_add(&key, &len, buf) || key_add(&key, &len, sp->sni) ||
	    key_add(&key, &len, sp->ca_file) || key_add(&key, &len, sp->alpn))
		goto nomem;
	for (i = 0; i < sp->n_steps; i++)
		if (key_add(&key, &len, sp->sends[i]) || key_add(&key, &len, sp->expects[i]))
			goto nomem;
	return key;
nomem:
	free(key);
	return NULL;
}

static void l7_free(struct serve_l7 *l)
{
	unsigned int i;

	if (!l)
		return;
	sp_tls_config_free(l->tls_cfg);
	sp_steps_free(l->steps);
	free((char *)l->spec.sni);
	free((char *)l->spec.ca_file);
	free((char *)l->spec.alpn);
	for (i = 0; i < l->spec.n_steps; i++) {
		free((char *)l->spec.sends[i]);
		free((char *)l->spec.expects[i]);
	}
	free(l->key);
	free(l);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* Copies @sp into a new object and compiles it: NULL with one line in @err. */
static struct serve_l7 *l7_new(const struct serve_l7_spec *sp, char *key, char *err,
			       size_t errlen)
{
	struct sp_tls_opts topts = {
	    .sni = sp->sni, .ca_file = sp->ca_file, .insecure = sp->insecure, .alpn = sp->alpn,
	};
	char msg[512];
	__u8 *buf = NULL;
	struct serve_l7 *l;
	bool oom = false;
	unsigned int i;
	size_t len;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto nomem;
	l->base.row = "l7";
	l->key = key;
	l->spec = *sp;
	l->spec.sni = dup_or_null(sp->sni, &oom);
	l->spec.ca_file = dup_or_null(sp->ca_file, &oom);
	l->spec.alpn = dup_or_null(sp->alpn, &oom);
	for (i = 0; i < sp->n_steps; i++) {
		l->spec.sends[i] = dup_or_null(sp->sends[i], &oom);
		l->spec.expects[i] = dup_or_null(sp->expects[i], &oom);
	}
	if (oom)
		goto nomem;
	l->active = sp->tls || sp->n_steps || sp->proxy != SP_PROXY_NONE;
	if (sp->close_given && !l->active) {
		snprintf(err, errlen,
			 "close applies to checks that complete the connection (tls, query_response, proxy_protocol); a half-open check always ends with RST");
		goto fail;
	}
	if (!l->active)
		return l;
	if (sp->tls) {
		l->tls_cfg = sp_tls_config_new(&topts, msg, sizeof(msg));
		if (!l->tls_cfg) {
			snprintf(err, errlen, "%s", msg);
			goto fail;
		}
	}
	l->steps = sp_steps_new();
	buf = malloc(SP_SEND_MAX);
	if (!l->steps || !buf)
		goto nomem;
	for (i = 0; i < sp->n_steps; i++) {
		len = 0;
		if (sp->sends[i] &&
		    sp_cescape_parse(sp->sends[i], buf, SP_SEND_MAX, &len, msg, sizeof(msg))) {
			snprintf(err, errlen, "[%u].send: %s", i, msg);
			goto fail;
		}
		if (sp_steps_add(l->steps, buf, len, sp->expects[i], msg, sizeof(msg))) {
			snprintf(err, errlen, "[%u].expect: %s", i, msg);
			goto fail;
		}
	}
	free(buf);
	l->opts.tls = l->tls_cfg;
	l->opts.steps = l->steps;
	l->opts.proxy = sp->proxy;
	return l;
nomem:
	snprintf(err, errlen, "out of memory for the l7 settings");
fail:
	free(buf);
	if (l)
		l7_free(l);
	else
		free(key);
	return NULL;
}

const struct serve_l7 *serve_l7_get(const struct serve_l7_spec *spec, char *err, size_t errlen)
{
	struct serve_l7 *l = NULL;
	char *key;

	key = make_key(spec);
	if (!key) {
		snprintf(err, errlen, "out of memory for the l7 settings");
		return NULL;
	}
	pthread_mutex_lock(&table_lock);
	for (l = table; l; l = l->next)
		if (!strcmp(l->key, key))
			break;
	if (l) {
		free(key);
		goto out;
	}
	if (table_len == SERVE_L7_MAX) {
		snprintf(err, errlen,
			 "more than %d distinct tls/query_response/proxy_protocol/close settings since start: restart synprobe serve",
			 SERVE_L7_MAX);
		free(key);
		goto out;
	}
	l = l7_new(spec, key, err, errlen);
	if (l) {
		l->next = table;
		table = l;
		table_len++;
	}
out:
	pthread_mutex_unlock(&table_lock);
	return l;
}
