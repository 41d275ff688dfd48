// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * file_sd.c - targets of `synprobe serve` from Prometheus file_sd files: the parser (json-c and
 * libyaml), the set of files with the targets each one gave, and an inotify watcher thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <search.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <yaml.h>
#include "file_sd.h"
#include "util.h"
#include "yaml_util.h"

/* --- the parser --- */

struct parse_ctx {
	const char *file;
	char *err;
	size_t errlen;
	const struct serve_settings *defaults;
	struct file_sd_target *t; /* grows */
	size_t n, cap;
};

static int perr(struct parse_ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One error line "FILE[:LINE]: ..." (sp_err_line()). Returns -EINVAL. */
static int perr(struct parse_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sp_err_line(c->err, c->errlen, c->file, line, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

/* Prometheus' own labels (__address__, __meta_*...): a label name made of [A-Za-z0-9_]. */
static bool internal_label(const char *name)
{
	const char *p;

	if (strncmp(name, "__", 2))
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/*
 * Label @name=@value of group @g over @set; @mine marks the labels the group set itself (a name
 * twice in one group is an error, over a default label is not).
 */
static int add_label(struct parse_ctx *c, int line, unsigned int g, const char *name,
		     size_t name_len, const char *value, size_t value_len,
		     struct serve_settings *set, __u32 *mine)
{
	const char *why;
	size_t i;

	if (strlen(name) != name_len)
		return perr(c, line, "entry [%u].labels: a label name holds a NUL: remove it", g);
	if (internal_label(name))
		return 0;
	why = serve_label_name_error(name);
	if (why)
		return perr(c, line, "entry [%u].labels.%s: %s", g, name, why);
	if (!value)
		return perr(c, line, "entry [%u].labels.%s: not a string: quote the value", g,
			    name);
	if (strlen(value) != value_len)
		return perr(c, line, "entry [%u].labels.%s: the value holds a NUL: remove it", g,
			    name);
	if (value_len >= SERVE_LABEL_VALUE_MAX)
		return perr(c, line, "entry [%u].labels.%s: value longer than %d characters", g,
			    name, SERVE_LABEL_VALUE_MAX - 1);
	for (i = 0; i < set->n_labels; i++)
		if (!strcmp(set->labels[i].name, name))
			break;
	if (i < set->n_labels && (*mine & (1U << i)))
		return perr(c, line, "entry [%u].labels.%s: given twice: keep one", g, name);
	if (i == set->n_labels) {
		if (set->n_labels == SERVE_LABELS_MAX)
			return perr(c, line,
				    "entry [%u].labels.%s: more than %d labels with the defaults': "
				    "remove some",
				    g, name, SERVE_LABELS_MAX);
		set->n_labels++;
	}
	*mine |= 1U << i;
	snprintf(set->labels[i].name, sizeof(set->labels[i].name), "%s", name);
	snprintf(set->labels[i].value, sizeof(set->labels[i].value), "%s", value);
	return 0;
}

/* Target @s (@len bytes) of group @g at @index, with the group's settings @set. */
static int add_target(struct parse_ctx *c, int line, unsigned int g, unsigned int index,
		      const char *s, size_t len, const struct serve_settings *set)
{
	struct file_sd_target *t;
	char terr[SP_ERR_MAX], *p;

	if (!s)
		return perr(c, line, "entry [%u].targets[%u]: not a string: write \"host:port\"", g,
			    index);
	if (strlen(s) != len)
		return perr(c, line, "entry [%u].targets[%u]: holds a NUL: remove it", g, index);
	if (c->n == FILE_SD_TARGETS_PER_FILE_MAX)
		return perr(c, line,
			    "entry [%u].targets[%u]: more than %d targets in one file: split it", g,
			    index, FILE_SD_TARGETS_PER_FILE_MAX);
	if (len >= SERVE_NAME_MAX || len >= SERVE_TARGET_MAX)
		return perr(c, line,
			    "entry [%u].targets[%u]: longer than %d characters: give a shorter "
			    "name",
			    g, index, SERVE_NAME_MAX - 1);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		t = realloc(c->t, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		c->t = t;
		c->cap = cap;
	}
	t = &c->t[c->n];
	memset(t, 0, sizeof(*t));
	if (sp_target_parse(s, 0, &t->cfg.spec, terr, sizeof(terr))) {
		/* The CLI's message offers -p, which a file does not have. */
		p = strstr(terr, " or give -p");
		if (p)
			*p = '\0';
		return perr(c, line, "entry [%u].targets[%u]: %s", g, index, terr);
	}
	snprintf(t->cfg.name, sizeof(t->cfg.name), "%s", s);
	snprintf(t->cfg.target, sizeof(t->cfg.target), "%s", s);
	t->cfg.set = *set;
	t->cfg.line = line > 0 ? line : 0;
	t->group = g;
	t->index = index;
	c->n++;
	return 0;
}

/* --- JSON --- */

static int json_group(struct parse_ctx *c, json_object *grp, unsigned int g)
{
	struct serve_settings set = *c->defaults;
	json_object *targets = NULL, *labels = NULL, *v;
	__u32 mine = 0;
	size_t i, n;
	int err;

	if (!json_object_is_type(grp, json_type_object))
		return perr(c, 0,
			    "entry [%u]: not an object: write {\"targets\": [...], "
			    "\"labels\": {...}}",
			    g);
	json_object_object_foreach(grp, key, val)
	{
		if (!strcmp(key, "targets"))
			targets = val;
		else if (!strcmp(key, "labels"))
			labels = val;
		else
			return perr(c, 0,
				    "entry [%u].%s: unknown key: the keys are targets and "
				    "labels",
				    g, key);
	}
	if (labels && !json_object_is_type(labels, json_type_null)) {
		if (!json_object_is_type(labels, json_type_object))
			return perr(c, 0,
				    "entry [%u].labels: not an object: write {\"name\": "
				    "\"value\"}",
				    g);
		json_object_object_foreach(labels, name, lv)
		{
			err = add_label(c, 0, g, name, strlen(name),
					json_object_is_type(lv, json_type_string)
					    ? json_object_get_string(lv)
					    : NULL,
					json_object_is_type(lv, json_type_string)
					    ? (size_t)json_object_get_string_len(lv)
					    : 0,
					&set, &mine);
			if (err)
				return err;
		}
	}
	if (!targets)
		return perr(c, 0, "entry [%u].targets: missing: give a list of \"host:port\"", g);
	if (!json_object_is_type(targets, json_type_array))
		return perr(c, 0, "entry [%u].targets: not a list: write [\"host:port\", ...]", g);
	n = json_object_array_length(targets);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(targets, i);
		err = add_target(
		    c, 0, g, (unsigned int)i,
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL,
		    json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v)
							     : 0,
		    &set);
		if (err)
			return err;
	}
	return 0;
}

static int parse_json(struct parse_ctx *c, const char *buf, size_t len)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	json_object *root;
	size_t i, n, end;
	int err = 0;

	tok = json_tokener_new_ex(FILE_SD_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		err = perr(c, 0, "not valid JSON: the text ends early: complete the list");
		goto cleanup;
	}
	if (jerr != json_tokener_success) {
		err = perr(c, 0, "not valid JSON at byte %zu: %s", end,
			   json_tokener_error_desc(jerr));
		goto cleanup;
	}
	for (i = end; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
			err = perr(c, 0, "text after the JSON list at byte %zu: remove it", i);
			goto cleanup;
		}
	}
	if (!json_object_is_type(root, json_type_array)) {
		err = perr(c, 0,
			   "the top level is not a list: write [{\"targets\": [...], "
			   "\"labels\": {...}}]");
		goto cleanup;
	}
	n = json_object_array_length(root);
	for (i = 0; i < n && !err; i++)
		err = json_group(c, json_object_array_get_idx(root, i), (unsigned int)i);
cleanup:
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

/* --- YAML --- */

static int yline(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

static int yaml_group(struct parse_ctx *c, yaml_document_t *doc, yaml_node_t *grp, unsigned int g)
{
	struct serve_settings set = *c->defaults;
	yaml_node_t *k, *v, *targets = NULL, *labels = NULL;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	const char *key;
	unsigned int i = 0;
	__u32 mine = 0;
	int err;

	if (grp->type != YAML_MAPPING_NODE)
		return perr(c, yline(grp),
			    "entry [%u]: is %s: write a mapping with targets and "
			    "labels",
			    g, sp_yaml_kind(grp));
	for (p = grp->data.mapping.pairs.start; p < grp->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(doc, p->key);
		v = yaml_document_get_node(doc, p->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return perr(c, yline(grp),
				    "entry [%u]: a key is not a name: write "
				    "'targets:' and 'labels:'",
				    g);
		key = (const char *)k->data.scalar.value;
		if (!strcmp(key, "targets") && !targets)
			targets = v;
		else if (!strcmp(key, "labels") && !labels)
			labels = v;
		else if (!strcmp(key, "targets") || !strcmp(key, "labels"))
			return perr(c, yline(k), "entry [%u].%s: given twice: keep one", g, key);
		else
			return perr(c, yline(k),
				    "entry [%u].%s: unknown key: the keys are targets "
				    "and labels",
				    g, key);
	}
	if (labels && !(labels->type == YAML_SCALAR_NODE && !labels->data.scalar.length)) {
		if (labels->type != YAML_MAPPING_NODE)
			return perr(c, yline(labels),
				    "entry [%u].labels: is %s: write a mapping "
				    "such as {team: web}",
				    g, sp_yaml_kind(labels));
		for (p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top;
		     p++) {
			k = yaml_document_get_node(doc, p->key);
			v = yaml_document_get_node(doc, p->value);
			if (!k || !v || k->type != YAML_SCALAR_NODE)
				return perr(c, yline(labels),
					    "entry [%u].labels: a label name is "
					    "not a value: write 'name: value'",
					    g);
			err = add_label(
			    c, yline(k), g, (const char *)k->data.scalar.value,
			    k->data.scalar.length,
			    v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL,
			    v->type == YAML_SCALAR_NODE ? v->data.scalar.length : 0, &set, &mine);
			if (err)
				return err;
		}
	}
	if (!targets)
		return perr(c, yline(grp), "entry [%u].targets: missing: give a list of host:port",
			    g);
	if (targets->type != YAML_SEQUENCE_NODE)
		return perr(c, yline(targets),
			    "entry [%u].targets: is %s: write a list such as "
			    "[\"10.0.0.5:443\"]",
			    g, sp_yaml_kind(targets));
	for (it = targets->data.sequence.items.start; it < targets->data.sequence.items.top;
	     it++, i++) {
		v = yaml_document_get_node(doc, *it);
		if (!v)
			return perr(c, yline(targets), "entry [%u].targets[%u]: empty: remove it",
				    g, i);
		err = add_target(c, yline(v), g, i,
				 v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value
							     : NULL,
				 v->type == YAML_SCALAR_NODE ? v->data.scalar.length : 0, &set);
		if (err)
			return err;
	}
	return 0;
}

static int parse_yaml(struct parse_ctx *c, const char *buf, size_t len)
{
	yaml_document_t doc;
	yaml_node_item_t *it;
	yaml_node_t *root, *grp;
	unsigned int g = 0;
	int err;

	err = sp_yaml_load(buf, len, c->file, &doc, c->err, c->errlen);
	if (err)
		return err;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err = perr(c, 0, "empty: write [] for no targets");
		goto cleanup;
	}
	if (root->type != YAML_SEQUENCE_NODE) {
		err = perr(c, yline(root),
			   "the top level is %s: write a list of '- targets: "
			   "[...]' entries",
			   sp_yaml_kind(root));
		goto cleanup;
	}
	for (it = root->data.sequence.items.start; it < root->data.sequence.items.top && !err;
	     it++, g++) {
		grp = yaml_document_get_node(&doc, *it);
		if (!grp)
			err = perr(c, yline(root), "entry [%u]: empty: remove it", g);
		else
			err = yaml_group(c, &doc, grp, g);
	}
cleanup:
	yaml_document_delete(&doc);
	return err;
}

static int cmp_target_name(const void *a, const void *b)
{
	const struct file_sd_target *x = *(const struct file_sd_target *const *)a;
	const struct file_sd_target *y = *(const struct file_sd_target *const *)b;
	int r = strcmp(x->cfg.name, y->cfg.name);

	if (r)
		return r;
	return x < y ? -1 : x > y;
}

/* Each target once in a file: the second of two is named, with where the first is. */
static int check_unique(struct parse_ctx *c)
{
	const struct file_sd_target **by_name, *a, *b;
	size_t i;
	int err = 0;

	if (c->n < 2)
		return 0;
	by_name = malloc(c->n * sizeof(*by_name));
	if (!by_name)
		return -ENOMEM;
	for (i = 0; i < c->n; i++)
		by_name[i] = &c->t[i];
	qsort(by_name, c->n, sizeof(*by_name), cmp_target_name);
	for (i = 1; i < c->n; i++) {
		a = by_name[i - 1];
		b = by_name[i];
		if (!strcmp(a->cfg.name, b->cfg.name)) {
			err = perr(c, b->cfg.line,
				   "entry [%u].targets[%u]: '%s' is listed twice (first as "
				   "[%u].targets[%u]): list each target once",
				   b->group, b->index, b->cfg.name, a->group, a->index);
			break;
		}
	}
	free(by_name);
	return err;
}

/* Whether @buf (@len bytes, not NUL-terminated) is only blanks. */
static bool blank(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
			return false;
	return true;
}

int file_sd_parse(const char *buf, size_t len, const char *file, bool yaml,
		  const struct serve_settings *defaults, struct file_sd_target **targets, size_t *n,
		  char *err, size_t errlen)
{
	struct parse_ctx c = {.file = file, .err = err, .errlen = errlen, .defaults = defaults};
	int ret;

	*targets = NULL;
	*n = 0;
	if (len > FILE_SD_FILE_SIZE_MAX)
		ret = perr(&c, 0, "larger than %d bytes: split it into several files",
			   FILE_SD_FILE_SIZE_MAX);
	else if (memchr(buf, '\0', len))
		ret = perr(&c, 0, "holds a NUL byte: not a text file");
	else if (blank(buf, len))
		ret = perr(&c, 0, "empty: write [] for no targets");
	else
		ret = yaml ? parse_yaml(&c, buf, len) : parse_json(&c, buf, len);
	if (!ret)
		ret = check_unique(&c);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", file);
	if (ret) {
		free(c.t);
		return ret;
	}
	*targets = c.t;
	*n = c.n;
	return 0;
}

int file_sd_format(const char *path)
{
	size_t n = strlen(path);

	if (n > 5 && !strcmp(path + n - 5, ".json"))
		return 0;
	if ((n > 4 && !strcmp(path + n - 4, ".yml")) || (n > 5 && !strcmp(path + n - 5, ".yaml")))
		return 1;
	return -1;
}

/* --- the files and their watcher --- */

/* A glob split into the directory watched and the file name pattern. */
struct fsd_dir {
	int wd;
	char dir[SERVE_FILE_SD_PATH_MAX];
	char pattern[SERVE_FILE_SD_PATH_MAX];
};

/* One file matched, with the targets it gave (those kept when it went bad). */
struct fsd_file {
	char *path;
	struct file_sd_target *t;
	size_t n;
};

struct file_sd {
	void (*wake)(void *ctx);
	void *ctx;
	int ino;     /* inotify; -1 without a watcher */
	int stop_fd; /* eventfd: the watcher ends */
	pthread_t thread;
	bool thread_started;
	atomic_bool changed;
	pthread_mutex_t lock; /* dirs and n_dirs, shared with the watcher */
	struct fsd_dir *dirs;
	size_t n_dirs;
	/* the main thread's */
	char (*globs)[SERVE_FILE_SD_PATH_MAX];
	size_t n_globs;
	struct fsd_file *files; /* sorted by path */
	size_t n_files;
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* Whether inotify event @ev can change what the globs match or what a matched file holds. */
static bool event_matters(struct file_sd *fsd, const struct inotify_event *ev)
{
	bool matters = false;
	size_t i;

	if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		return true;
	if (!ev->len)
		return false;
	pthread_mutex_lock(&fsd->lock);
	for (i = 0; i < fsd->n_dirs && !matters; i++)
		matters = fsd->dirs[i].wd == ev->wd &&
			  !fnmatch(fsd->dirs[i].pattern, ev->name, FNM_PERIOD);
	pthread_mutex_unlock(&fsd->lock);
	return matters;
}

/*
 * The watcher: inotify events of the watched directories; once none came for
 * FILE_SD_DEBOUNCE_MS (or FILE_SD_DEBOUNCE_MAX_MS after the first), one wake-up. Writers that
 * write a file in several steps are so read once, when done.
 */
static void *watch_thread(void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct file_sd *fsd = arg;
	struct pollfd pfd[2] = {{.fd = fsd->ino, .events = POLLIN},
				{.fd = fsd->stop_fd, .events = POLLIN}};
	const struct inotify_event *ev;
	__u64 first = 0, last = 0, due = 0, now;
	bool pending = false;
	ssize_t len;
	char *p;
	int n, timeout;

	for (;;) {
		timeout = -1;
		if (pending) {
			now = now_ms();
			timeout = due > now ? (int)(due - now) : 0;
		}
		n = poll(pfd, 2, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && pfd[1].revents)
			break;
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			len = read(fsd->ino, buf, sizeof(buf));
			for (p = buf; len > 0 && p < buf + len;
			     p += sizeof(struct inotify_event) + ev->len) {
				ev = (const struct inotify_event *)p;
				if (!event_matters(fsd, ev))
					continue;
				now = now_ms();
				if (!pending)
					first = now;
				pending = true;
				last = now;
			}
		}
		if (!pending)
			continue;
		due = last + FILE_SD_DEBOUNCE_MS;
		if (due > first + FILE_SD_DEBOUNCE_MAX_MS)
			due = first + FILE_SD_DEBOUNCE_MAX_MS;
		if (now_ms() >= due) {
			pending = false;
			atomic_store(&fsd->changed, true);
			fsd->wake(fsd->ctx);
		}
	}
	return NULL;
}

struct file_sd *file_sd_new(void (*wake)(void *ctx), void *ctx)
{
	struct file_sd *fsd;
	int err;

	fsd = calloc(1, sizeof(*fsd));
	if (!fsd)
		return NULL;
	fsd->ino = -1;
	fsd->stop_fd = -1;
	pthread_mutex_init(&fsd->lock, NULL);
	atomic_init(&fsd->changed, false);
	if (!wake)
		return fsd;
	fsd->wake = wake;
	fsd->ctx = ctx;
	fsd->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	fsd->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fsd->ino < 0 || fsd->stop_fd < 0)
		goto fail;
	err = pthread_create(&fsd->thread, NULL, watch_thread, fsd);
	if (err) {
		errno = err;
		goto fail;
	}
	fsd->thread_started = true;
	return fsd;
fail:
	err = errno;
	file_sd_free(fsd);
	errno = err;
	return NULL;
}

/* Splits @glob into the directory and the file name pattern. */
static void split_glob(const char *glob, struct fsd_dir *d)
{
	const char *slash = strrchr(glob, '/');

	if (!slash) {
		snprintf(d->dir, sizeof(d->dir), ".");
		snprintf(d->pattern, sizeof(d->pattern), "%s", glob);
	} else {
		snprintf(d->dir, sizeof(d->dir), "%.*s", slash == glob ? 1 : (int)(slash - glob),
			 glob);
		snprintf(d->pattern, sizeof(d->pattern), "%s", slash + 1);
	}
}

int file_sd_set_globs(struct file_sd *fsd, const struct serve_config *cfg, char *err, size_t errlen)
{
	const __u32 mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
			   IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
	char(*globs)[SERVE_FILE_SD_PATH_MAX] = NULL;
	struct fsd_dir *dirs = NULL, *old;
	size_t i, j, n_old;
	struct stat st;
	int ret = 0;

	if (cfg->n_file_sd) {
		dirs = calloc(cfg->n_file_sd, sizeof(*dirs));
		globs = calloc(cfg->n_file_sd, sizeof(*globs));
		if (!dirs || !globs) {
			ret = -ENOMEM;
			snprintf(err, errlen, "file_sd: out of memory");
			goto fail;
		}
	}
	for (i = 0; i < cfg->n_file_sd; i++) {
		memcpy(globs[i], cfg->file_sd[i], sizeof(globs[i]));
		split_glob(cfg->file_sd[i], &dirs[i]);
		if (fsd->ino >= 0)
			dirs[i].wd = inotify_add_watch(fsd->ino, dirs[i].dir, mask);
		else
			dirs[i].wd = stat(dirs[i].dir, &st) ? -1 : S_ISDIR(st.st_mode) ? 0 : -1;
		if (dirs[i].wd < 0) {
			ret = errno ? -errno : -ENOTDIR;
			snprintf(err, errlen,
				 "file_sd '%s': cannot watch the directory %s (%s): create it or "
				 "fix the glob",
				 cfg->file_sd[i], dirs[i].dir, strerror(-ret));
			sp_one_line(err);
			goto fail;
		}
	}
	pthread_mutex_lock(&fsd->lock);
	old = fsd->dirs;
	n_old = fsd->n_dirs;
	fsd->dirs = dirs;
	fsd->n_dirs = cfg->n_file_sd;
	pthread_mutex_unlock(&fsd->lock);
	/* Directories no glob names any more are no longer watched. */
	for (i = 0; fsd->ino >= 0 && i < n_old; i++) {
		for (j = 0; j < fsd->n_dirs; j++)
			if (fsd->dirs[j].wd == old[i].wd)
				break;
		if (j == fsd->n_dirs)
			inotify_rm_watch(fsd->ino, old[i].wd);
	}
	free(old);
	free(fsd->globs);
	fsd->globs = globs;
	fsd->n_globs = cfg->n_file_sd;
	return 0;
fail:
	/* A watch added here for a new directory stays: it only causes a re-read. */
	free(dirs);
	free(globs);
	return ret;
}

bool file_sd_changed(struct file_sd *fsd)
{
	return atomic_exchange(&fsd->changed, false);
}

size_t file_sd_n_files(const struct file_sd *fsd)
{
	return fsd->n_files;
}

/* Reads @path (a regular file, at most FILE_SD_FILE_SIZE_MAX + 1 bytes) into *@buf (owned). */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t cap, got = 0;
	ssize_t n;
	int fd, ret = 0;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file: make the glob match only files",
			 path);
		goto cleanup;
	}
	cap = st.st_size > 0 && st.st_size <= FILE_SD_FILE_SIZE_MAX ? (size_t)st.st_size + 1
								    : FILE_SD_FILE_SIZE_MAX + 1;
	*buf = malloc(cap);
	if (!*buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	while (got < cap) {
		n = read(fd, *buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto cleanup;
		}
		if (!n)
			break;
		got += (size_t)n;
		if (got == cap && cap <= FILE_SD_FILE_SIZE_MAX) {
			/* It grew since fstat(): read on, up to one byte over the bound. */
			char *nbuf = realloc(*buf, FILE_SD_FILE_SIZE_MAX + 1);

			if (!nbuf) {
				ret = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto cleanup;
			}
			*buf = nbuf;
			cap = FILE_SD_FILE_SIZE_MAX + 1;
		}
	}
	*len = got;
cleanup:
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return ret;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files the globs match now, sorted, each once: *@paths (owned, each strdup'd). */
static int match_globs(struct file_sd *fsd, char ***paths, size_t *n, file_sd_log_fn log, void *ctx,
		       int *failed)
{
	char **p = NULL, **np, msg[SERVE_ERR_MAX];
	size_t i, j, count = 0;
	glob_t g;
	int rc;

	for (i = 0; i < fsd->n_globs; i++) {
		memset(&g, 0, sizeof(g));
		rc = glob(fsd->globs[i], 0, NULL, &g);
		if (rc == GLOB_NOSPACE) {
			globfree(&g);
			goto nomem;
		}
		if (rc && rc != GLOB_NOMATCH) {
			snprintf(msg, sizeof(msg), "file_sd '%s': cannot list the directory",
				 fsd->globs[i]);
			if (log)
				log(ctx, FILE_SD_FAILED, fsd->globs[i], 0, msg);
			(*failed)++;
		}
		for (j = 0; !rc && j < g.gl_pathc; j++) {
			if (count == FILE_SD_FILES_MAX) {
				snprintf(msg, sizeof(msg),
					 "file_sd '%s': more than %d files in all: the others are "
					 "not read; use fewer, larger files",
					 fsd->globs[i], FILE_SD_FILES_MAX);
				if (log)
					log(ctx, FILE_SD_FAILED, fsd->globs[i], 0, msg);
				(*failed)++;
				break;
			}
			np = realloc(p, (count + 1) * sizeof(*p));
			if (!np) {
				globfree(&g);
				goto nomem;
			}
			p = np;
			p[count] = strdup(g.gl_pathv[j]);
			if (!p[count]) {
				globfree(&g);
				goto nomem;
			}
			count++;
		}
		globfree(&g);
	}
	if (count)
		qsort(p, count, sizeof(*p), cmp_path);
	/* Two globs matching one file: once. */
	for (i = j = 0; i < count; i++) {
		if (j && !strcmp(p[j - 1], p[i])) {
			free(p[i]);
			continue;
		}
		p[j++] = p[i];
	}
	*paths = p;
	*n = j;
	return 0;
nomem:
	for (i = 0; i < count; i++)
		free(p[i]);
	free(p);
	return -ENOMEM;
}

static struct fsd_file *find_file(struct file_sd *fsd, const char *path)
{
	size_t lo = 0, hi = fsd->n_files, mid;
	int r;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		r = strcmp(fsd->files[mid].path, path);
		if (!r)
			return &fsd->files[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool targets_equal(const struct file_sd_target *a, size_t na, const struct file_sd_target *b,
			  size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!serve_check_config_equal(&a[i].cfg, &b[i].cfg))
			return false;
	return true;
}

/* The names in use; each entry's data is who uses it (a file's path, or NULL: the config). */
static bool name_taken(struct hsearch_data *names, const char *name, const char **owner)
{
	ENTRY e = {.key = (char *)name}, *found = NULL;

	if (!hsearch_r(e, FIND, &found, names) || !found)
		return false;
	*owner = found->data;
	return true;
}

static int name_add(struct hsearch_data *names, const char *name, const char *owner)
{
	ENTRY e = {.key = (char *)name, .data = (void *)owner}, *found;

	return hsearch_r(e, ENTER, &found, names) ? 0 : -ENOMEM;
}

/*
 * The targets of @t (@n) that take no name of @names and fit under @room, copied to *@out. With
 * @why, the first that does not is described there instead (and nothing is copied).
 */
static int fit_targets(struct hsearch_data *names, const struct file_sd_target *t, size_t n,
		       size_t room, const char *file, struct file_sd_target **out, size_t *n_out,
		       char *why, size_t whylen)
{
	const char *owner;
	size_t i;

	*out = NULL;
	*n_out = 0;
	if (n)
		*out = malloc(n * sizeof(**out));
	if (n && !*out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (name_taken(names, t[i].cfg.name, &owner)) {
			if (!why)
				continue;
			if (owner)
				snprintf(why, whylen,
					 "%s: entry [%u].targets[%u]: '%s' is also a target of %s: "
					 "list each target in one file only",
					 file, t[i].group, t[i].index, t[i].cfg.name, owner);
			else
				snprintf(why, whylen,
					 "%s: entry [%u].targets[%u]: '%s' is the name of a check "
					 "of the config: rename that check or drop the target",
					 file, t[i].group, t[i].index, t[i].cfg.name);
			goto refused;
		}
		if (*n_out == room) {
			if (!why)
				break;
			snprintf(why, whylen,
				 "%s: entry [%u].targets[%u]: more than %d checks in all: remove "
				 "targets",
				 file, t[i].group, t[i].index, FILE_SD_CHECKS_MAX);
			goto refused;
		}
		(*out)[(*n_out)++] = t[i];
	}
	return 0;
refused:
	sp_one_line(why);
	free(*out);
	*out = NULL;
	*n_out = 0;
	return -EINVAL;
}

/* A copy of @n targets at @t into *@out (NULL when none). */
static int dup_targets(const struct file_sd_target *t, size_t n, struct file_sd_target **out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, t, n * sizeof(**out));
	return 0;
}

int file_sd_refresh(struct file_sd *fsd, const struct serve_config *cfg, struct serve_config *out,
		    file_sd_log_fn log, void *ctx)
{
	struct hsearch_data names;
	struct fsd_file *files = NULL, *old;
	struct file_sd_target *parsed, *kept;
	char **paths = NULL, msg[SERVE_ERR_MAX], *buf;
	size_t n_paths = 0, n_files = 0, n_parsed, n_kept, total, room, len = 0, i, j, k;
	bool *good = NULL, *changed = NULL, names_made = false;
	int failed = 0, err, fmt;

	memset(out, 0, sizeof(*out));
	err = match_globs(fsd, &paths, &n_paths, log, ctx, &failed);
	if (err)
		return err;
	if (n_paths) {
		files = calloc(n_paths, sizeof(*files));
		good = calloc(n_paths, sizeof(*good));
		changed = calloc(n_paths, sizeof(*changed));
		if (!files || !good || !changed)
			goto nomem;
	}
	/* Read and parse each file; a bad one keeps (a copy of) what it had, none if new. */
	total = cfg->n_checks;
	for (i = 0; i < n_paths; i++) {
		old = find_file(fsd, paths[i]);
		fmt = file_sd_format(paths[i]);
		if (fmt < 0) {
			snprintf(
			    msg, sizeof(msg),
			    "%s: not a .json, .yml or .yaml file: rename it or narrow the glob",
			    paths[i]);
			sp_one_line(msg);
			err = -EINVAL;
		} else {
			err = read_file(paths[i], &buf, &len, msg, sizeof(msg));
			if (err == -ENOENT) /* gone since glob() */
				continue;
			if (!err) {
				err = file_sd_parse(buf, len, paths[i], fmt == 1, &cfg->defaults,
						    &parsed, &n_parsed, msg, sizeof(msg));
				free(buf);
			}
		}
		if (err == -ENOMEM)
			goto nomem;
		files[n_files].path = paths[i];
		paths[i] = NULL;
		if (err) {
			failed++;
			if (log)
				log(ctx, FILE_SD_FAILED, files[n_files].path, old ? old->n : 0,
				    msg);
			if (old && dup_targets(old->t, old->n, &files[n_files].t))
				goto nomem;
			files[n_files].n = old ? old->n : 0;
		} else {
			files[n_files].t = parsed;
			files[n_files].n = n_parsed;
			good[n_files] = true;
			changed[n_files] = !old || !targets_equal(old->t, old->n, parsed, n_parsed);
		}
		total += files[n_files].n;
		n_files++;
	}
	/*
	 * Each name once in all: the config's checks first, then the files that did not change,
	 * then those that did, each in path order. So a target stays with the file that has it,
	 * and a file that now lists it too is refused.
	 */
	memset(&names, 0, sizeof(names));
	if (!hcreate_r(2 * total + 16, &names))
		goto nomem;
	names_made = true;
	for (i = 0; i < cfg->n_checks; i++)
		if (name_add(&names, cfg->checks[i].name, NULL))
			goto nomem;
	total = cfg->n_checks;
	for (k = 0; k < 2 * n_files; k++) {
		/* Two rounds: first the files that did not change, then those that did. */
		i = k % n_files;
		if (changed[i] != (k >= n_files))
			continue;
		old = find_file(fsd, files[i].path);
		room = total < FILE_SD_CHECKS_MAX ? FILE_SD_CHECKS_MAX - total : 0;
		err = fit_targets(&names, files[i].t, files[i].n, room, files[i].path, &kept,
				  &n_kept, good[i] ? msg : NULL, sizeof(msg));
		if (err == -EINVAL) {
			/* Refused as a whole: back to what it had, as far as that still fits. */
			failed++;
			good[i] = false;
			changed[i] = false;
			if (log)
				log(ctx, FILE_SD_FAILED, files[i].path, old ? old->n : 0, msg);
			err = fit_targets(&names, old ? old->t : NULL, old ? old->n : 0, room,
					  files[i].path, &kept, &n_kept, NULL, 0);
		}
		if (err)
			goto nomem;
		free(files[i].t);
		files[i].t = kept;
		files[i].n = n_kept;
		for (j = 0; j < n_kept; j++)
			if (name_add(&names, kept[j].cfg.name, files[i].path))
				goto nomem;
		total += n_kept;
	}
	/* The checks: the config's, then the files'. */
	out->defaults = cfg->defaults;
	if (total) {
		out->checks = calloc(total, sizeof(*out->checks));
		if (!out->checks)
			goto nomem;
	}
	for (i = 0; i < cfg->n_checks; i++)
		out->checks[out->n_checks++] = cfg->checks[i];
	for (i = 0; i < n_files; i++)
		for (j = 0; j < files[i].n; j++)
			out->checks[out->n_checks++] = files[i].t[j].cfg;
	/* From here on nothing fails: tell what changed, and replace the old set. */
	for (i = 0; log && i < n_files; i++)
		if (changed[i])
			log(ctx, FILE_SD_READ, files[i].path, files[i].n, NULL);
	for (k = 0; k < fsd->n_files; k++) {
		for (i = 0; i < n_files; i++)
			if (!strcmp(files[i].path, fsd->files[k].path))
				break;
		if (i == n_files && log)
			log(ctx, FILE_SD_GONE, fsd->files[k].path, fsd->files[k].n, NULL);
		free(fsd->files[k].path);
		free(fsd->files[k].t);
	}
	free(fsd->files);
	fsd->files = files;
	fsd->n_files = n_files;
	hdestroy_r(&names);
	free(good);
	free(changed);
	free(paths);
	return failed;
nomem:
	for (i = 0; i < n_files; i++) {
		free(files[i].t);
		free(files[i].path);
	}
	for (i = 0; paths && i < n_paths; i++)
		free(paths[i]);
	if (names_made)
		hdestroy_r(&names);
	free(files);
	free(good);
	free(changed);
	free(paths);
	serve_config_free(out);
	return -ENOMEM;
}

void file_sd_free(struct file_sd *fsd)
{
	__u64 one = 1;
	size_t i;

	if (!fsd)
		return;
	if (fsd->thread_started) {
		if (write(fsd->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(fsd->thread);
		pthread_join(fsd->thread, NULL);
	}
	if (fsd->ino >= 0)
		close(fsd->ino);
	if (fsd->stop_fd >= 0)
		close(fsd->stop_fd);
	pthread_mutex_destroy(&fsd->lock);
	for (i = 0; i < fsd->n_files; i++) {
		free(fsd->files[i].path);
		free(fsd->files[i].t);
	}
	free(fsd->files);
	free(fsd->dirs);
	free(fsd->globs);
	free(fsd);
}
