// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kind.c - the one table of the check kinds' TCP phase (struct sp_method, kind.h): the engine
 * takes its row by synprobe_opts.method, the CLI and serve by the name after --method. A new
 * row here, with its file, is all a new TCP phase needs.
 */
#include <string.h>
#include "kind.h"

static const struct sp_method *const methods[] = {
	&sp_method_halfopen, /* "bpf": SYNPROBE_METHOD_BPF */
	&sp_method_connect,  /* "connect": SYNPROBE_METHOD_CONNECT */
};

const struct sp_method *sp_method_by_id(enum synprobe_method method)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i]->method == method)
			return methods[i];
	return NULL;
}

const struct sp_method *sp_method_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(methods[i]->name, name))
			return methods[i];
	return NULL;
}
