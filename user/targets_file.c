// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* targets_file.c - the targets file: getline(), trim, comments, sp_target_parse(). */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "targets_file.h"
#include "util.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * One line of @f into @buf (@size bytes, NUL-terminated, newline dropped): returns its length
 * (what was kept), -1 at the end of @f, or -2 when the line was longer than @size - 1 bytes (the
 * rest of it is read and dropped). Bytes after a NUL are kept but unseen by the string functions,
 * as with getline().
 */
static long read_line(FILE *f, char *buf, size_t size)
{
	size_t n = 0;
	bool too_long = false;
	int c;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (n + 1 < size)
			buf[n++] = (char)c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	if (c == EOF && !n && !too_long)
		return -1;
	return too_long ? -2 : (long)n;
}

int sp_targets_file_next(FILE *f, const char *name, __u16 default_port, unsigned int *line,
			 struct sp_target_line *out, char *err, size_t errlen)
{
	char buf[SP_TARGETS_LINE_MAX + 1], *text, *hash, reason[SP_ERR_MAX];
	long len;

	memset(out, 0, sizeof(*out));
	for (;;) {
		len = read_line(f, buf, sizeof(buf));
		if (len == -1) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: read error after line %u: %s", name, *line,
					 strerror(errno));
				return -EIO;
			}
			return 0;
		}
		(*line)++;
		if (len == -2) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes: one target per line",
				 name, *line, SP_TARGETS_LINE_MAX);
			return -EINVAL;
		}
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		text = trim(buf);
		if (*text)
			break;
	}
	if (strpbrk(text, " \t")) {
		snprintf(err, errlen, "%s:%u: '%s': one target per line", name, *line, text);
		if (errlen)
			sp_one_line(err); /* a '\r' or '\v' inside the line is echoed */
		return -EINVAL;
	}
	if (sp_target_parse(text, default_port, &out->spec, reason, sizeof(reason))) {
		snprintf(err, errlen, "%s:%u: %s", name, *line, reason);
		return -EINVAL;
	}
	out->text = strdup(text);
	if (!out->text) {
		snprintf(err, errlen, "%s: out of memory at line %u", name, *line);
		return -ENOMEM;
	}
	out->line = *line;
	return 1;
}

int sp_targets_file_read(FILE *f, const char *name, __u16 default_port, struct sp_target_list *out,
			 char *err, size_t errlen)
{
	struct sp_target_line *items, item;
	unsigned int line = 0;
	size_t alloc = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	while ((rc = sp_targets_file_next(f, name, default_port, &line, &item, err, errlen)) > 0) {
		if (out->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			items = realloc(out->items, alloc * sizeof(*items));
			if (!items) {
				free(item.text);
				snprintf(err, errlen, "%s: out of memory after %zu targets", name, out->n);
				return -ENOMEM;
			}
			out->items = items;
		}
		out->items[out->n++] = item;
	}
	return rc;
}

void sp_target_list_free(struct sp_target_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->items[i].text);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}
