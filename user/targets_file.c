// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* targets_file.c - the targets file: getline(), trim, comments, sp_target_parse(). */
#include <ctype.h>
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

int sp_targets_file_read(FILE *f, const char *name, __u16 default_port, struct sp_target_list *out,
			 char *err, size_t errlen)
{
	struct sp_target_line *items, *item;
	char *buf = NULL, *text, *hash, reason[SP_ERR_MAX];
	size_t cap = 0, alloc = 0;
	unsigned int line = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (getline(&buf, &cap, f) >= 0) {
		line++;
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		text = trim(buf);
		if (!*text)
			continue;
		if (strpbrk(text, " \t")) {
			snprintf(err, errlen, "%s:%u: '%s': one target per line", name, line, text);
			if (errlen)
				sp_one_line(err); /* a '\r' or '\v' inside the line is echoed */
			rc = -EINVAL;
			goto cleanup;
		}
		if (out->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			items = realloc(out->items, alloc * sizeof(*items));
			if (!items) {
				snprintf(err, errlen, "%s: out of memory after %zu targets", name, out->n);
				rc = -ENOMEM;
				goto cleanup;
			}
			out->items = items;
		}
		item = &out->items[out->n];
		if (sp_target_parse(text, default_port, &item->spec, reason, sizeof(reason))) {
			snprintf(err, errlen, "%s:%u: %s", name, line, reason);
			rc = -EINVAL;
			goto cleanup;
		}
		item->text = strdup(text);
		if (!item->text) {
			snprintf(err, errlen, "%s: out of memory after %zu targets", name, out->n);
			rc = -ENOMEM;
			goto cleanup;
		}
		item->line = line;
		out->n++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error after line %u: %s", name, line, strerror(errno));
		rc = -EIO;
	}
cleanup:
	free(buf);
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
