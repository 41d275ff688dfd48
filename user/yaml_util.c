// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* yaml_util.c - see yaml_util.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "yaml_util.h"
#include "util.h"

int sp_yaml_load(const char *buf, size_t len, const char *file, yaml_document_t *doc, char *err,
		 size_t errlen)
{
	yaml_parser_t parser;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot set up the YAML parser", file);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, doc)) {
		snprintf(err, errlen, "%s:%lu: not valid YAML: %s%s%s", file,
			 (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "parse error", parser.context ? " " : "",
			 parser.context ? parser.context : "");
		if (errlen)
			sp_one_line(err);
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	return 0;
}

const char *sp_yaml_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

int sp_err_line(char *err, size_t errlen, const char *file, long line, const char *key,
		const char *fmt, va_list ap)
{
	size_t n;

	if (!errlen)
		return -EINVAL;
	if (line > 0)
		n = (size_t)snprintf(err, errlen, "%s:%ld: ", file, line);
	else
		n = (size_t)snprintf(err, errlen, "%s: ", file);
	if (key && n < errlen)
		n += (size_t)snprintf(err + n, errlen - n, "key '%s': ", key);
	if (n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	sp_one_line(err);
	return -EINVAL;
}

int sp_yaml_fail(struct sp_yaml_ctx *c, const yaml_node_t *node, const char *key, const char *fmt,
		 ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sp_err_line(c->err, c->errlen, c->file,
			  node ? (long)node->start_mark.line + 1 : 1L, key, fmt, ap);
	va_end(ap);
	return ret;
}

yaml_node_t *sp_yaml_node(struct sp_yaml_ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

yaml_node_t *sp_yaml_lookup(struct sp_yaml_ctx *c, yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = sp_yaml_node(c, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, name))
			return sp_yaml_node(c, p->value);
	}
	return NULL;
}
