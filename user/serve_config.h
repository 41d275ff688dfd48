/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_config.h - the YAML configuration of `synprobe serve` (libyaml's document API).
 *
 *   defaults:                  # optional; every key optional
 *     interval: 2s             # time between checks
 *     timeout: 1s              # wait for a reply; <= interval
 *     rise: 2                  # consecutive successes to turn UP
 *     fall: 3                  # consecutive failures to turn DOWN
 *     fast_interval: 200ms     # interval while the state is changing (0 or absent: none)
 *     resolve_interval: 1m     # re-resolve names this often
 *     labels: {team: web}      # extra Prometheus labels of every check
 *     mark: 16                 # SO_MARK of the checks' sockets (policy routing); absent: none
 *     bind_interface: vrf-blue # SO_BINDTODEVICE: leave by this interface (a VRF: inside it)
 *     tls: {sni: web.example, ca_file: ca.pem, insecure: false, alpn: "h2,http/1.1"}
 *     query_response:          # steps, as blackbox_exporter's tcp module
 *       - send: "HEAD / HTTP/1.0\r\n\r\n"
 *       - expect: "^HTTP/1\\.[01] 200"
 *     proxy_protocol: v2       # a PROXY header first: v1 or v2
 *     close: fin               # fin or rst (default), with a completing setting above
 *   checks:                    # required, at least one
 *     - name: web              # required, unique
 *       target: web.example:443
 *       interval: 1s           # ... any key of defaults, for this check
 *       labels: {tier: front}  # merged over the default labels
 *   probe_allow:               # optional: the networks /probe may check (CIDR; a bare
 *     - 10.0.0.0/8             # address is one host); [] allows none
 *     - "fd00::/8"
 *   shard: 1/3                 # optional: run only the checks whose name hashes to 1 mod 3
 *                              # (serve_shard.h); serve's --shard wins over it
 *   file_sd:                   # optional: globs of Prometheus file_sd files (file_sd.h);
 *     - sd/web-*.json          # relative to the config's directory; with it, checks may be
 *                              # absent or empty
 *   modules:                   # optional: what /probe?module=NAME runs, as blackbox_exporter's
 *     tls_web:                 # modules; names of [A-Za-z0-9_.-], at most 63 characters
 *       tls: {ca_file: ca.pem} # tls, query_response, proxy_protocol, close: as in a check
 *       timeout: 5s            # optional; the request's timeout and --probe-timeout-max cap it
 *       method: bpf            # optional: bpf or connect; serve refuses a module whose method
 *                              # is not the one it runs (-m)
 *
 * Durations are written as Prometheus writes them: one or more number-unit pairs, units ms, s, m,
 * h, d ("200ms", "1s", "1m30s").
 */
#ifndef __SP_SERVE_CONFIG_H
#define __SP_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cidr.h"
#include "serve_l7.h"
#include "serve_shard.h"
#include "target.h"

#define SERVE_NAME_MAX	      128
#define SERVE_LABELS_MAX      16
#define SERVE_LABEL_NAME_MAX  64
#define SERVE_LABEL_VALUE_MAX 256
#define SERVE_TARGET_MAX      (SP_HOST_MAX + 16)
#define SERVE_RISE_FALL_MAX   1000
#define SERVE_ERR_MAX	      512
#define SERVE_FILE_MAX	      (16 << 20) /* bytes of the config file */
#define SERVE_PROBE_ALLOW_MAX 256
#define SERVE_IFNAME_MAX      16 /* IF_NAMESIZE, with the NUL */

#define SERVE_MODULES_MAX     256 /* entries of modules */
#define SERVE_MODULE_NAME_MAX 64  /* a module's name, with the NUL */

#define SERVE_FILE_SD_MAX      64   /* globs in file_sd */
#define SERVE_FILE_SD_PATH_MAX 1024 /* a glob, joined to the config's directory */

struct serve_label {
	char name[SERVE_LABEL_NAME_MAX];
	char value[SERVE_LABEL_VALUE_MAX];
};

/* Settings a check takes from `defaults` unless it sets them itself. */
struct serve_settings {
	__u32 interval_ms;
	__u32 timeout_ms;
	__u32 rise;
	__u32 fall;
	__u32 fast_interval_ms; /* 0: none */
	__u32 resolve_interval_ms;
	struct serve_label labels[SERVE_LABELS_MAX];
	size_t n_labels;
	__u32 mark;				   /* SO_MARK; 0: none */
	char bind_interface[SERVE_IFNAME_MAX];	   /* SO_BINDTODEVICE; "": none */
	/*
	 * A completing kind's settings: its struct starts with struct serve_kind_cfg, which names
	 * its row (check_kind.h); l7's (tls, query_response, proxy_protocol, close) are a struct
	 * serve_l7. Interned, valid until exit, compared by pointer; NULL: none given (a
	 * half-open check).
	 */
	const struct serve_kind_cfg *kind;
};

struct serve_check_config {
	char name[SERVE_NAME_MAX];
	char target[SERVE_TARGET_MAX]; /* as written */
	struct sp_target_spec spec;    /* host and port of target */
	struct serve_settings set;     /* defaults merged with the check's own keys */
	int line;		       /* 1-based line of the check in the file */
};

/* What a module of `modules:` says (the /probe?module= check). */
enum serve_module_method {
	SERVE_MODULE_METHOD_ANY,     /* not given: serve's */
	SERVE_MODULE_METHOD_BPF,     /* bpf: serve must run method bpf */
	SERVE_MODULE_METHOD_CONNECT, /* connect: serve must run method connect */
};

/*
 * One module. Copied by value (into serve_http's table, into each /probe request): kind is an
 * interned object that stays valid until exit (serve_l7.h), so a copy outlives any reload.
 */
struct serve_module {
	char name[SERVE_MODULE_NAME_MAX];
	__u32 timeout_ms; /* 0: none given (the request's timeout) */
	enum serve_module_method method;
	const struct serve_kind_cfg *kind; /* as serve_settings.kind; NULL: half-open */
	int line;			   /* 1-based line of the module in the file */
};

struct serve_config {
	struct serve_check_config *checks; /* owned; free with serve_config_free() */
	size_t n_checks;
	bool has_probe_allow;	     /* the key is there (its list may be empty) */
	struct sp_cidr *probe_allow; /* owned; NULL when empty */
	size_t n_probe_allow;
	bool has_shard; /* the key is there */
	struct serve_shard shard;
	struct serve_settings defaults; /* what file_sd targets take */
	char (*file_sd)[SERVE_FILE_SD_PATH_MAX]; /* owned; globs, wildcards in the file name only */
	size_t n_file_sd;
	struct serve_module *modules; /* owned; NULL when none */
	size_t n_modules;
};

/* Defaults of the defaults: interval 2s, timeout 1s, rise 2, fall 3, resolve_interval 1m. */
#define SERVE_DEFAULT_INTERVAL_MS	  2000
#define SERVE_DEFAULT_TIMEOUT_MS	  1000
#define SERVE_DEFAULT_RISE		  2
#define SERVE_DEFAULT_FALL		  3
#define SERVE_DEFAULT_RESOLVE_INTERVAL_MS 60000

/*
 * serve_parse_duration_ms - a Prometheus duration ("200ms", "1s", "5m", "1h30m", units ms, s, m,
 * h, d; no bare numbers, no fractions) into *ms. Returns 0, -EINVAL (not such a duration) or
 * -ERANGE (more than UINT32_MAX ms). "0s" is accepted (0); callers decide whether 0 is allowed.
 */
int serve_parse_duration_ms(const char *s, __u32 *ms);

/*
 * serve_config_parse - parse the YAML text @buf (@len bytes) into @cfg; @file is the name used
 * in error messages. On error returns -EINVAL (or -ENOMEM) and writes one line to @err
 * (@errlen bytes): "FILE:LINE: key 'KEY': what is wrong and how to fix it". @cfg is then empty.
 */
int serve_config_parse(const char *buf, size_t len, const char *file, struct serve_config *cfg,
		       char *err, size_t errlen);

/* serve_config_load - read @path and serve_config_parse() it; errors as there (-errno on read). */
int serve_config_load(const char *path, struct serve_config *cfg, char *err, size_t errlen);

/* serve_config_free - free what @cfg owns and empty it; NULL-safe. */
void serve_config_free(struct serve_config *cfg);

/*
 * serve_module_name_error - why @name cannot be a module's name (empty, longer than
 * SERVE_MODULE_NAME_MAX - 1, a character outside [A-Za-z0-9_.-]), or NULL when it can.
 */
const char *serve_module_name_error(const char *name);

/* serve_module_method_str - "bpf", "connect" or "any". */
const char *serve_module_method_str(enum serve_module_method m);

/* serve_check_config_equal - whether two checks are configured alike (name, target, settings). */
bool serve_check_config_equal(const struct serve_check_config *a,
			      const struct serve_check_config *b);

/*
 * serve_label_name_error - why @name cannot be a label of a check (not a Prometheus label name,
 * starting with '__', too long, or one our metrics use), or NULL when it can.
 */
const char *serve_label_name_error(const char *name);

#endif
