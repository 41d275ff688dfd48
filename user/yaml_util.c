// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* yaml_util.c - see yaml_util.h. */
#include <errno.h>
#include <stdio.h>
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
