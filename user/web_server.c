// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* web_server.c - TLS (GnuTLS), basic auth (bcrypt, libxcrypt) and reloads of --web.config.file. */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <gnutls/crypto.h>
#include "web_server.h"

#define SHA256_LEN 32

/* One set of settings: the parsed file and what was loaded from the files it names. */
struct web_gen {
	int refs; /* __atomic */
	struct web_config cfg;
	gnutls_certificate_credentials_t cred;	    /* NULL without TLS */
	gnutls_priority_t prio;			    /* NULL without TLS */
	char dummy_hash[CRYPT_GENSALT_OUTPUT_SIZE]; /* checked against for unknown users */
	unsigned char salt[16]; /* random: the cache's keys are of no use outside the process */
	pthread_mutex_t lock;	/* the cache */
	unsigned char cache[WEB_AUTH_CACHE][SHA256_LEN];
	unsigned int n_cache, next_cache;
};

/* What tells that a file changed. */
struct file_sig {
	int err; /* errno of stat(), or 0 */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* The web config file, then cert_file, key_file, client_ca_file. */
#define SIG_FILES 4

struct web_server {
	char *path;
	bool tls;
	web_log_fn log;
	void *log_ctx;
	pthread_mutex_t lock; /* cur, sigs, failed, last_check_ns, verifying */
	struct web_gen *cur;
	struct file_sig sigs[SIG_FILES];   /* of the files behind cur */
	struct file_sig failed[SIG_FILES]; /* of the files of the last refused reload */
	bool has_failed;
	unsigned long long last_check_ns;
	unsigned int verifying;	     /* bcrypt runs in flight */
	pthread_mutex_t reload_lock; /* one reload at a time */
};

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void gen_put(struct web_gen *g)
{
	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (g->cred)
		gnutls_certificate_free_credentials(g->cred);
	if (g->prio)
		gnutls_priority_deinit(g->prio);
	pthread_mutex_destroy(&g->lock);
	explicit_bzero(g->cache, sizeof(g->cache));
	web_config_free(&g->cfg);
	free(g);
}

static struct web_gen *gen_get(struct web_server *ws)
{
	struct web_gen *g;

	pthread_mutex_lock(&ws->lock);
	g = ws->cur;
	__atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&ws->lock);
	return g;
}

static void file_sig(const char *path, struct file_sig *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (!*path)
		return;
	if (stat(path, &st)) {
		s->err = errno;
		return;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->ctime = st.st_ctim;
}

static void gen_sigs(const char *path, const struct web_config *cfg, struct file_sig *sigs)
{
	file_sig(path, &sigs[0]);
	file_sig(cfg->cert_file, &sigs[1]);
	file_sig(cfg->key_file, &sigs[2]);
	file_sig(cfg->client_ca_file, &sigs[3]);
}

/* Whether @f can be opened for reading; else one line in @err naming it and why. */
static bool readable(const char *path, const char *key, const char *f, char *err, size_t errlen)
{
	FILE *fp = fopen(f, "r");

	if (fp) {
		fclose(fp);
		return true;
	}
	snprintf(err, errlen, "%s: tls_server_config.%s '%s': cannot open it: %s", path, key, f,
		 strerror(errno));
	return false;
}

/* GnuTLS' priority string for TLS versions @min to @max. */
static void priority_string(char *buf, size_t len, enum web_tls_version min,
			    enum web_tls_version max)
{
	size_t n;
	int v;

	n = (size_t)snprintf(buf, len, "NORMAL:-VERS-ALL");
	for (v = (int)min; v <= (int)max && n < len; v++)
		n += (size_t)snprintf(buf + n, len - n, ":+VERS-TLS1.%d", v - 10);
}

/* Loads the TLS files of @g->cfg into credentials and priorities. */
static int gen_load_tls(const char *path, struct web_gen *g, char *err, size_t errlen)
{
	const struct web_config *cfg = &g->cfg;
	char prio[128];
	int ret;

	if (!readable(path, "cert_file", cfg->cert_file, err, errlen) ||
	    !readable(path, "key_file", cfg->key_file, err, errlen) ||
	    (*cfg->client_ca_file &&
	     !readable(path, "client_ca_file", cfg->client_ca_file, err, errlen)))
		return -ENOENT;
	ret = gnutls_certificate_allocate_credentials(&g->cred);
	if (ret < 0) {
		g->cred = NULL;
		snprintf(err, errlen, "%s: cannot set up TLS: %s", path, gnutls_strerror(ret));
		return -ENOMEM;
	}
	ret = gnutls_certificate_set_x509_key_file2(g->cred, cfg->cert_file, cfg->key_file,
						    GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		snprintf(err, errlen,
			 "%s: tls_server_config cert_file '%s' and key_file '%s': %s: give a PEM "
			 "certificate and its unencrypted PEM key",
			 path, cfg->cert_file, cfg->key_file, gnutls_strerror(ret));
		return -EINVAL;
	}
	if (*cfg->client_ca_file) {
		ret = gnutls_certificate_set_x509_trust_file(g->cred, cfg->client_ca_file,
							     GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			snprintf(err, errlen,
				 "%s: tls_server_config.client_ca_file '%s': %s: give PEM CA "
				 "certificates",
				 path, cfg->client_ca_file,
				 ret < 0 ? gnutls_strerror(ret) : "no certificate in it");
			return -EINVAL;
		}
	}
	priority_string(prio, sizeof(prio), cfg->min_version, cfg->max_version);
	ret = gnutls_priority_init(&g->prio, prio, NULL);
	if (ret < 0) {
		g->prio = NULL;
		snprintf(err, errlen, "%s: tls_server_config: TLS versions %s: %s", path, prio,
			 gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

/* A new generation from @path; *@sigs gets the signatures of the files it was made from. */
static struct web_gen *gen_load(const char *path, struct file_sig *sigs, char *err, size_t errlen)
{
	struct web_gen *g;
	char setting[8] = "$2b$";
	int cost = 10;

	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	g->refs = 1;
	pthread_mutex_init(&g->lock, NULL);
	if (web_config_load(path, &g->cfg, err, errlen))
		goto fail;
	gen_sigs(path, &g->cfg, sigs);
	if (g->cfg.tls && gen_load_tls(path, g, err, errlen))
		goto fail;
	if (g->cfg.n_users)
		cost = (g->cfg.users[0].hash[4] - '0') * 10 + (g->cfg.users[0].hash[5] - '0');
	/* Unknown users are checked against a hash of the first user's cost, as exporter-toolkit
	 * does, so that the time of a 401 does not tell whether a user exists. */
	if (!crypt_gensalt_rn(setting, cost, NULL, 0, g->dummy_hash, sizeof(g->dummy_hash)) ||
	    gnutls_rnd(GNUTLS_RND_NONCE, g->salt, sizeof(g->salt))) {
		snprintf(err, errlen, "%s: cannot make a bcrypt salt: %s", path, strerror(errno));
		goto fail;
	}
	return g;
fail:
	gen_put(g);
	return NULL;
}

struct web_server *web_server_new(const char *path, web_log_fn log, void *log_ctx, char *err,
				  size_t errlen)
{
	struct web_server *ws;

	ws = calloc(1, sizeof(*ws));
	if (!ws || !(ws->path = strdup(path))) {
		free(ws);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	ws->cur = gen_load(path, ws->sigs, err, errlen);
	if (!ws->cur) {
		free(ws->path);
		free(ws);
		return NULL;
	}
	ws->tls = ws->cur->cfg.tls;
	ws->log = log;
	ws->log_ctx = log_ctx;
	ws->last_check_ns = mono_ns();
	pthread_mutex_init(&ws->lock, NULL);
	pthread_mutex_init(&ws->reload_lock, NULL);
	return ws;
}

bool web_server_tls(const struct web_server *ws)
{
	return ws->tls;
}

bool web_server_auth_required(struct web_server *ws)
{
	struct web_gen *g = gen_get(ws);
	bool ret = g->cfg.n_users > 0;

	gen_put(g);
	return ret;
}

void web_server_maybe_reload(struct web_server *ws)
{
	struct file_sig now[SIG_FILES], sigs[SIG_FILES];
	char err[WEB_ERR_MAX + WEB_PATH_MAX];
	unsigned long long t = mono_ns();
	struct web_gen *g, *old;

	if (pthread_mutex_trylock(&ws->reload_lock))
		return; /* another thread is at it */
	pthread_mutex_lock(&ws->lock);
	if (t - ws->last_check_ns < (unsigned long long)WEB_RELOAD_MIN_MS * 1000000ULL) {
		pthread_mutex_unlock(&ws->lock);
		goto out;
	}
	ws->last_check_ns = t;
	gen_sigs(ws->path, &ws->cur->cfg, now);
	if (!memcmp(now, ws->sigs, sizeof(now)) ||
	    (ws->has_failed && !memcmp(now, ws->failed, sizeof(now)))) {
		pthread_mutex_unlock(&ws->lock);
		goto out;
	}
	pthread_mutex_unlock(&ws->lock);

	g = gen_load(ws->path, sigs, err, sizeof(err));
	if (g && g->cfg.tls != ws->tls) {
		snprintf(err, sizeof(err),
			 "%s: tls_server_config: turning TLS %s needs a restart of "
			 "serve; the old settings stay",
			 ws->path, g->cfg.tls ? "on" : "off");
		gen_put(g);
		g = NULL;
	}
	pthread_mutex_lock(&ws->lock);
	if (!g) {
		memcpy(ws->failed, now, sizeof(now));
		ws->has_failed = true;
		pthread_mutex_unlock(&ws->lock);
		if (ws->log)
			ws->log(ws->log_ctx, false, ws->path, err);
		goto out;
	}
	old = ws->cur;
	ws->cur = g;
	memcpy(ws->sigs, sigs, sizeof(sigs));
	ws->has_failed = false;
	pthread_mutex_unlock(&ws->lock);
	gen_put(old);
	if (ws->log)
		ws->log(ws->log_ctx, true, ws->path, "web config reloaded");
out:
	pthread_mutex_unlock(&ws->reload_lock);
}

/* Client certificate checks for the *Verify* types: against client_ca_file, if one came. */
static int verify_client(gnutls_session_t session, bool if_given)
{
	unsigned int n = 0, status = 0;

	if (!gnutls_certificate_get_peers(session, &n) || !n)
		return if_given ? 0 : -1;
	if (gnutls_certificate_verify_peers2(session, &status) < 0 || status)
		return -1;
	return 0;
}

static int verify_if_given(gnutls_session_t session)
{
	return verify_client(session, true);
}

static int verify_required(gnutls_session_t session)
{
	return verify_client(session, false);
}

int web_server_session_start(struct web_server *ws, gnutls_session_t session, void **ctx)
{
	gnutls_certificate_request_t req = GNUTLS_CERT_IGNORE;
	struct web_gen *g;
	int ret;

	*ctx = NULL;
	g = gen_get(ws);
	if (!g->cred) {
		gen_put(g);
		return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
	}
	ret = gnutls_priority_set(session, g->prio);
	if (!ret)
		ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, g->cred);
	if (ret) {
		gen_put(g);
		return ret;
	}
	switch (g->cfg.client_auth) {
	case WEB_NO_CLIENT_CERT:
		break;
	case WEB_REQUEST_CLIENT_CERT:
		req = GNUTLS_CERT_REQUEST;
		break;
	case WEB_REQUIRE_ANY_CLIENT_CERT:
		req = GNUTLS_CERT_REQUIRE;
		break;
	case WEB_VERIFY_CLIENT_CERT_IF_GIVEN:
		req = GNUTLS_CERT_REQUEST;
		gnutls_session_set_verify_function(session, verify_if_given);
		break;
	case WEB_REQUIRE_AND_VERIFY_CLIENT_CERT:
		req = GNUTLS_CERT_REQUIRE;
		gnutls_session_set_verify_function(session, verify_required);
		break;
	}
	gnutls_certificate_server_set_request(session, req);
	*ctx = g;
	return 0;
}

void web_server_session_end(void *ctx)
{
	gen_put(ctx);
}

int web_server_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
			     gnutls_pcert_st **pcert, unsigned int *pcert_length,
			     gnutls_privkey_t *pkey)
{
	return -1;
}

/* Compares @n bytes in a time that depends on @n only. */
static bool equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return !d;
}

/* SHA-256 of the generation's salt, @user, a NUL and @password: the cache's key. */
static int cache_key(const struct web_gen *g, const char *user, const char *password,
		     unsigned char *key)
{
	gnutls_hash_hd_t h;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -ENOMEM;
	gnutls_hash(h, g->salt, sizeof(g->salt));
	gnutls_hash(h, user, strlen(user) + 1);
	gnutls_hash(h, password, strlen(password));
	gnutls_hash_deinit(h, key);
	return 0;
}

enum web_auth web_server_check_auth(struct web_server *ws, const char *user, const char *password)
{
	unsigned char key[SHA256_LEN];
	struct crypt_data *data = NULL;
	const struct web_user *u = NULL;
	enum web_auth ret = WEB_AUTH_DENIED;
	const char *hash, *out;
	struct web_gen *g;
	unsigned int i;
	bool hit = false;

	g = gen_get(ws);
	if (!g->cfg.n_users) {
		ret = WEB_AUTH_OK;
		goto out;
	}
	if (!user || !password)
		goto out;
	for (i = 0; i < g->cfg.n_users; i++)
		if (!strcmp(g->cfg.users[i].name, user))
			u = &g->cfg.users[i];
	if (cache_key(g, user, password, key)) {
		ret = WEB_AUTH_ERROR;
		goto out;
	}
	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->n_cache; i++)
		hit |= equal_ct(g->cache[i], key, sizeof(key));
	pthread_mutex_unlock(&g->lock);
	if (hit) {
		ret = WEB_AUTH_OK;
		goto out;
	}
	/* Not verified before: a bcrypt run, if one is free. */
	pthread_mutex_lock(&ws->lock);
	if (ws->verifying >= WEB_AUTH_VERIFY_MAX) {
		pthread_mutex_unlock(&ws->lock);
		ret = WEB_AUTH_BUSY;
		goto out;
	}
	ws->verifying++;
	pthread_mutex_unlock(&ws->lock);
	hash = u ? u->hash : g->dummy_hash;
	data = calloc(1, sizeof(*data));
	out = data ? crypt_rn(password, hash, data, sizeof(*data)) : NULL;
	if (!out || *out == '*') {
		ret = u ? WEB_AUTH_ERROR : WEB_AUTH_DENIED;
	} else if (u && strlen(out) == WEB_BCRYPT_LEN && equal_ct(out, u->hash, WEB_BCRYPT_LEN)) {
		ret = WEB_AUTH_OK;
		pthread_mutex_lock(&g->lock);
		memcpy(g->cache[g->next_cache], key, sizeof(key));
		g->next_cache = (g->next_cache + 1) % WEB_AUTH_CACHE;
		if (g->n_cache < WEB_AUTH_CACHE)
			g->n_cache++;
		pthread_mutex_unlock(&g->lock);
	}
	pthread_mutex_lock(&ws->lock);
	ws->verifying--;
	pthread_mutex_unlock(&ws->lock);
out:
	if (data) {
		explicit_bzero(data, sizeof(*data));
		free(data);
	}
	explicit_bzero(key, sizeof(key));
	gen_put(g);
	return ret;
}

void web_server_free(struct web_server *ws)
{
	if (!ws)
		return;
	gen_put(ws->cur);
	pthread_mutex_destroy(&ws->lock);
	pthread_mutex_destroy(&ws->reload_lock);
	free(ws->path);
	free(ws);
}
