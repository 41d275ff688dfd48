/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * file_sd.h - targets of `synprobe serve` from Prometheus file-based service discovery
 * (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config).
 *
 * The config's `file_sd:` lists globs; each file they match is JSON (.json, through json-c) or
 * YAML (.yml/.yaml, through libyaml) holding a list of target groups:
 *
 *   [{"targets": ["10.0.0.5:443", "db.example:5432"], "labels": {"team": "web"}}]
 *
 * Every target becomes a check named as the target is written, with the config's `defaults`
 * and the group's labels over the default labels. Label names starting with "__" are
 * Prometheus' own (__meta_*, __metrics_path__...) and dropped, as Prometheus drops them after
 * relabelling; other names must be label names synprobe does not use itself.
 *
 * A watcher thread follows the globs' directories with inotify and, once changes have settled
 * (FILE_SD_DEBOUNCE_MS), wakes the caller, who re-reads with file_sd_refresh(): a file that
 * reads well replaces its targets, a bad one keeps those it had.
 */
#ifndef __SP_FILE_SD_H
#define __SP_FILE_SD_H

#include <stdbool.h>
#include <stddef.h>
#include "serve_config.h"

#define FILE_SD_FILE_SIZE_MAX	     (4 << 20) /* bytes of one file */
#define FILE_SD_TARGETS_PER_FILE_MAX 10000
#define FILE_SD_FILES_MAX	     1000  /* files matched by all globs together */
#define FILE_SD_CHECKS_MAX	     20000 /* checks of serve: the config's and every file's */
#define FILE_SD_DEBOUNCE_MS	     200   /* quiet time after the last change before a re-read */
#define FILE_SD_DEBOUNCE_MAX_MS	     1000  /* a re-read at the latest this long after a change */
#define FILE_SD_JSON_DEPTH	     8

/* One target of a file: its check, and where it was written (for messages). */
struct file_sd_target {
	struct serve_check_config cfg; /* name = target as written; line: its line (YAML) or 0 */
	unsigned int group;	       /* index of its group in the file */
	unsigned int index;	       /* index in the group's targets */
};

/*
 * file_sd_parse - parse the file_sd text @buf (@len bytes, no NUL needed) named @file: YAML if
 * @yaml, else JSON. Each target gets @defaults with the group's labels merged over. Returns 0
 * with *@targets (owned, free()) and *@n set (0 targets is fine: "[]"), or -EINVAL (-ENOMEM)
 * with one line in @err (@errlen bytes): "FILE[:LINE]: entry [G].KEY: what is wrong, the fix",
 * and *@targets NULL. Bounds: FILE_SD_TARGETS_PER_FILE_MAX targets, each target once.
 */
int file_sd_parse(const char *buf, size_t len, const char *file, bool yaml,
		  const struct serve_settings *defaults, struct file_sd_target **targets, size_t *n,
		  char *err, size_t errlen);

/* file_sd_format - whether @path is a file_sd file and which: 1 YAML, 0 JSON, -1 neither. */
int file_sd_format(const char *path);

struct file_sd;

/*
 * file_sd_new - an empty set of files. With @wake, a watcher thread calls @wake(@ctx) when
 * watched files changed (it must be callable from that thread: pthread_kill() is); start it
 * with signals blocked if they are to reach only the caller. Without, nothing is watched (for
 * --check-config). Returns NULL with errno on failure.
 */
struct file_sd *file_sd_new(void (*wake)(void *ctx), void *ctx);

/*
 * file_sd_set_globs - follow the globs of @cfg (cfg->file_sd) from now on: their directories are
 * watched (they must exist). Returns 0, or a negative errno with one line in @err.
 */
int file_sd_set_globs(struct file_sd *fsd, const struct serve_config *cfg, char *err,
		      size_t errlen);

/* file_sd_changed - whether the watcher saw a change since the last call (and clears it). */
bool file_sd_changed(struct file_sd *fsd);

enum file_sd_event {
	FILE_SD_READ,	/* a file was read and its targets changed (or it is new) */
	FILE_SD_FAILED, /* a file was bad: it keeps the targets it had */
	FILE_SD_GONE,	/* a file is no longer there (or no longer matched): its targets go */
};

/* Told for each file that changed in a refresh; @error only with FILE_SD_FAILED. */
typedef void (*file_sd_log_fn)(void *ctx, enum file_sd_event ev, const char *file, size_t n_targets,
			       const char *error);

/*
 * file_sd_refresh - read every file the globs match now, then make *@out the checks to run:
 * those of @cfg (the config's) followed by every file's, in path order. A file that cannot be
 * read or parsed, that repeats a target of the config or of another file, or that would take the
 * checks over FILE_SD_CHECKS_MAX, keeps its previous targets (as far as they still fit). @out is
 * a copy of @cfg's checks and settings only (file_sd, probe_allow left empty); free it with
 * serve_config_free(). @log may be NULL. Returns the number of files that failed (0: all good),
 * or -ENOMEM (nothing changed, @out empty).
 */
int file_sd_refresh(struct file_sd *fsd, const struct serve_config *cfg, struct serve_config *out,
		    file_sd_log_fn log, void *ctx);

/* file_sd_n_files - files read (or kept) at the last refresh. */
size_t file_sd_n_files(const struct file_sd *fsd);

/* file_sd_free - stop the watcher and free everything; NULL-safe. */
void file_sd_free(struct file_sd *fsd);

#endif
