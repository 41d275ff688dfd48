/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * yaml_util.h - what the YAML readers (serve's config, the web config, file_sd files) share on
 * top of libyaml's document API.
 */
#ifndef __SP_YAML_UTIL_H
#define __SP_YAML_UTIL_H

#include <stddef.h>
#include <stdarg.h>
#include <yaml.h>

/*
 * sp_yaml_load - parse @len bytes of @buf (one YAML document) into @doc, for error messages
 * named @file. Returns 0 (free @doc with yaml_document_delete()), -ENOMEM, or -EINVAL with one
 * line in @err: "FILE:LINE: not valid YAML: <libyaml's problem and context>".
 */
int sp_yaml_load(const char *buf, size_t len, const char *file, yaml_document_t *doc, char *err,
		 size_t errlen);

/* sp_yaml_kind - "a value", "a list", "a mapping" or "nothing", for messages about @node. */
const char *sp_yaml_kind(const yaml_node_t *node);

/* A reader's state: the loaded document, the file name for messages, and where a message goes. */
struct sp_yaml_ctx {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
};

/*
 * sp_err_line - one error line into @err (@errlen bytes, NUL-terminated, cut to fit):
 * "FILE:LINE: key 'KEY': MESSAGE", without ":LINE" when @line <= 0 and without the key part when
 * @key is NULL, made one line (sp_one_line()). The config, web config and file_sd readers' one
 * format. Returns -EINVAL (the readers' error), also when @errlen is 0 (nothing written).
 */
int sp_err_line(char *err, size_t errlen, const char *file, long line, const char *key,
		const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/*
 * sp_yaml_fail - one error line into c->err: "FILE:LINE: key 'KEY': MESSAGE" (LINE of @node, 1
 * without one; no key part when @key is NULL), made one line (sp_one_line(): keys and values are
 * echoed, and a quoted "a\nb" must not break it). Returns -EINVAL.
 */
int sp_yaml_fail(struct sp_yaml_ctx *c, const yaml_node_t *node, const char *key, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));

/* sp_yaml_node - the node of @index in c->doc, or NULL. */
yaml_node_t *sp_yaml_node(struct sp_yaml_ctx *c, int index);

/* sp_yaml_lookup - the value node of the scalar key @name in mapping @map, or NULL. */
yaml_node_t *sp_yaml_lookup(struct sp_yaml_ctx *c, yaml_node_t *map, const char *name);

#endif /* __SP_YAML_UTIL_H */
