/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * yaml_util.h - what the YAML readers (serve's config, the web config, file_sd files) share on
 * top of libyaml's document API.
 */
#ifndef __SP_YAML_UTIL_H
#define __SP_YAML_UTIL_H

#include <stddef.h>
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

#endif /* __SP_YAML_UTIL_H */
