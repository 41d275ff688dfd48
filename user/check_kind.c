// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* check_kind.c - the table of completing kinds (check_kind.h) and the commands' walk over it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check_kind.h"
#include "output.h"

const struct sp_kind_row *const sp_completing_kinds[] = {
	&sp_kind_row_l7,
	NULL,
};

const struct sp_kind_row *sp_kind_row_of(const struct synprobe_kind *kind)
{
	int i;

	for (i = 0; kind && sp_completing_kinds[i]; i++)
		if (sp_completing_kinds[i]->kind == kind)
			return sp_completing_kinds[i];
	return NULL;
}

const struct sp_kind_row *sp_kind_row_by_name(const char *name)
{
	int i;

	for (i = 0; name && sp_completing_kinds[i]; i++)
		if (!strcmp(sp_completing_kinds[i]->name, name))
			return sp_completing_kinds[i];
	return NULL;
}

const struct sp_kind_row *sp_kind_row_of_cfg(const struct serve_kind_cfg *cfg)
{
	return cfg ? sp_kind_row_by_name(cfg->row) : NULL;
}

int sp_kind_cli_init(struct sp_kind_cli *c, const struct option *base,
		     struct option out[SP_KIND_OPTIONS_MAX])
{
	const struct option *o;
	size_t n = 0;
	int i;

	memset(c, 0, sizeof(*c));
	for (o = base; o->name; o++) {
		if (n == SP_KIND_OPTIONS_MAX - 1)
			goto too_many;
		out[n++] = *o;
	}
	for (i = 0; sp_completing_kinds[i] && i < SP_KIND_ROWS_MAX; i++) {
		const struct sp_kind_row *row = sp_completing_kinds[i];

		for (o = row->long_options; o && o->name; o++) {
			if (n == SP_KIND_OPTIONS_MAX - 1)
				goto too_many;
			out[n++] = *o;
		}
		if (!row->cli_size)
			continue;
		c->state[i] = calloc(1, row->cli_size);
		if (!c->state[i]) {
			sp_err("out of memory for the %s options", row->name);
			return -ENOMEM;
		}
	}
	memset(&out[n], 0, sizeof(out[n]));
	return 0;
too_many:
	sp_err("more than %d long options: raise SP_KIND_OPTIONS_MAX in check_kind.h",
	       SP_KIND_OPTIONS_MAX - 1);
	return -E2BIG;
}

int sp_kind_cli_option(struct sp_kind_cli *c, int opt, const char *arg)
{
	int i, err;

	for (i = 0; sp_completing_kinds[i] && i < SP_KIND_ROWS_MAX; i++) {
		if (!sp_completing_kinds[i]->cli_option || !c->state[i])
			continue;
		err = sp_completing_kinds[i]->cli_option(c->state[i], opt, arg);
		if (err <= 0)
			return err;
	}
	return 1;
}

int sp_kind_cli_finish(struct sp_kind_cli *c)
{
	bool active;
	int i, err;

	for (i = 0; sp_completing_kinds[i] && i < SP_KIND_ROWS_MAX; i++) {
		const struct sp_kind_row *row = sp_completing_kinds[i];

		if (!row->cli_finish || !c->state[i])
			continue;
		active = false;
		err = row->cli_finish(c->state[i], &active);
		if (err)
			return err;
		if (!active)
			continue;
		if (c->active) {
			sp_err("options of the %s and %s checks together: give one kind's",
			       c->active->name, row->name);
			return -EINVAL;
		}
		c->active = row;
		c->active_state = c->state[i];
	}
	return 0;
}

void sp_kind_cli_check_opts(const struct sp_kind_cli *c, const char *host,
			    union sp_kind_arg_buf *arg, struct synprobe_check_opts *copts)
{
	if (!c->active || !c->active->cli_check_opts)
		return;
	memset(arg, 0, sizeof(*arg));
	c->active->cli_check_opts(c->active_state, host, arg->bytes, copts);
}

void sp_kind_cli_usage(FILE *f)
{
	int i;

	for (i = 0; sp_completing_kinds[i]; i++)
		if (sp_completing_kinds[i]->cli_usage)
			sp_completing_kinds[i]->cli_usage(f);
}

void sp_kind_cli_free(struct sp_kind_cli *c)
{
	int i;

	for (i = 0; sp_completing_kinds[i] && i < SP_KIND_ROWS_MAX; i++) {
		if (!c->state[i])
			continue;
		if (sp_completing_kinds[i]->cli_free)
			sp_completing_kinds[i]->cli_free(c->state[i]);
		free(c->state[i]);
		c->state[i] = NULL;
	}
	c->active = NULL;
	c->active_state = NULL;
}

void sp_kind_result_copy(const struct synprobe_result *res, union sp_kind_result_buf *buf,
			 struct synprobe_result *copy)
{
	const struct sp_kind_row *row = sp_kind_row_of(res->kind);

	if (!row || !res->kind_result || row->result_size > sizeof(buf->bytes)) {
		copy->kind_result = NULL;
		return;
	}
	memcpy(buf->bytes, res->kind_result, row->result_size);
	copy->kind_result = buf->bytes;
}
