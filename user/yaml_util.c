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

int sp_yaml_fail(struct sp_yaml_ctx *c, const yaml_node_t *node, const char *key, const char *fmt,
		 ...)
{
	size_t n;
	va_list ap;

	if (!c->errlen)
		return -EINVAL;
	n = (size_t)snprintf(c->err, c->errlen, "%s:%lu: ", c->file,
			     node ? (unsigned long)node->start_mark.line + 1 : 1UL);
	if (key && n < c->errlen)
		n += (size_t)snprintf(c->err + n, c->errlen - n, "key '%s': ", key);
	if (n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	sp_one_line(c->err);
	return -EINVAL;
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
