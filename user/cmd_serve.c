// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_serve.c - `synprobe serve`: the long-running prober. Checks from a YAML config, each on its
 * own schedule with jitter, on the engine's one event loop; rise/fall state per check; JSON-lines
 * logs on stderr; Prometheus metrics, blackbox-style /probe and /healthz over HTTP; SIGHUP
 * reloads the config, SIGTERM/SIGINT exit 0.
 *
 * Threads: the main thread owns the engine and every check. The HTTP threads (serve_http.c) only
 * queue requests for it and wake it with SIGUSR1, which interrupts synprobe_poll()'s wait.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <json-c/json.h>
#include "check_kind.h"
#include "cidr.h"
#include "file_sd.h"
#include "libsynprobe.h"
#include "main.h"
#include "output.h"
#include "privdrop.h"
#include "serve_config.h"
#include "serve_http.h"
#include "serve_metrics.h"
#include "serve_shard.h"
#include "serve_state.h"
#include "resolver.h"
#include "target.h"
#include "util.h"

#define DEFAULT_LISTEN	"127.0.0.1:9123"
#define DEFAULT_PIN_DIR "/sys/fs/bpf/synprobe"
#define IFACES_MAX	32
#define WAKE_SIGNAL	SIGUSR1
#define OUTCOMES_N	SYNPROBE_OUTCOMES

/* Where systemd mounts the bpffs, and the only place serve mounts one itself. */
#define BPFFS_ROOT "/sys/fs/bpf"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* One configured check and everything it has learned. Allocated one by one: its address is the
 * engine's `user` and must outlive a reload while the check is in flight. */
struct serve_check {
	enum serve_job_tag tag; /* SERVE_JOB_CHECK: first, as in every engine `user` */
	struct serve_check_config cfg;
	char *labels; /* label text without braces: check="..",target="..",... (owned) */
	size_t index; /* in serve.checks, the id in the schedule heap */
	bool in_flight;
	bool removed; /* gone from the config while in flight: freed when its result comes */
	struct serve_check *next_orphan;
	__u64 start_ms; /* the current or last run, CLOCK_MONOTONIC */
	__u64 due_ms;	/* the next run, when not in flight */
	struct sp_address addr;
	bool have_addr;
	bool resolving; /* a lookup of its name is with the resolver, which holds this check */
	__u64 resolved_ms;
	char addr_str[64];
	/* state and metrics */
	struct serve_health health;
	bool has_last;
	bool last_success;
	__u64 outcomes[OUTCOMES_N];
	__u64 state_changes;
	__u64 syn_retransmits;
	struct serve_histogram rtt;
	/*
	 * a completing check (cfg.set.kind, its row's hooks: check_kind.h): the kind's argument,
	 * what its last run found, and what the row keeps across runs for the metrics
	 */
	union sp_kind_arg_buf kind_arg;
	const struct sp_kind_row *result_row; /* kind_result's row; NULL: the last run had none */
	union sp_kind_result_buf kind_result; /* the last run's (result_row->result_size bytes) */
	const struct sp_kind_row *kept_row;   /* kept's row; NULL: nothing kept yet */
	union sp_kind_kept_buf kept;	      /* serve_keep()'s state (l7: the last certificate) */
	__u64 last_rtt_ns;		      /* the last run's handshake RTT; 0: none */
};

struct serve_args {
	const char *config_path;
	const char *listen;
	const char *pin_dir; /* NULL: no pins */
	enum method_choice method;
	bool force_clsact;
	bool keep_attach_caps;
	bool has_user; /* --user: run as it after set-up */
	struct sp_user user;
	bool check_config_only;
	unsigned int threads;
	int ifindexes[IFACES_MAX];
	size_t n_ifindexes;
	struct serve_http_opts http;
	bool has_probe_allow; /* --probe-allow given: it wins over the config's probe_allow */
	struct sp_cidr probe_allow[SERVE_PROBE_ALLOW_MAX];
	size_t n_probe_allow;
	bool has_shard; /* --shard given: it wins over the config's shard */
	struct serve_shard shard;
	const char *web_config_path; /* --web.config.file, or NULL */
};

struct serve {
	const struct serve_args *args;
	struct synprobe *sp;
	struct sp_resolver *resolver; /* names, resolved off the loop */
	pthread_t main_thread;
	struct serve_http *http;
	bool listen_loopback; /* --listen is on 127.0.0.0/8 or ::1 */
	const char *method;
	struct serve_check **checks;
	size_t n_checks;
	struct serve_check *orphans;
	struct serve_heap heap;
	__u64 rng;
	__u64 reloads_ok, reloads_failed;
	bool last_reload_ok;
	double last_reload_ok_time_s;
	struct serve_shard shard; /* of the running config */
	struct serve_config cfg;  /* the running config (its own checks; file_sd's are in fsd) */
	struct file_sd *fsd;	 /* targets from file_sd files */
	int file_sd_failed;	 /* files that failed at the last read: 0 is good */
};

static volatile sig_atomic_t exiting, reload_requested;
static enum log_level log_min = LOG_INFO;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGINT || sig == SIGTERM)
		exiting = 1;
	/* WAKE_SIGNAL: nothing to do, the interrupted wait is the point */
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static __u64 mono_ms(void)
{
	return mono_ns() / 1000000;
}

/*
 * One JSON line on stderr: time (RFC 3339, UTC, ns), level, msg, then the keys of @fields
 * (consumed; may be NULL).
 */
static void log_json(enum log_level level, const char *msg, json_object *fields)
{
	char when[64], frac[16];
	json_object *obj;
	struct timespec ts;
	struct tm tm;

	if (level < log_min) {
		json_object_put(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09ldZ", ts.tv_nsec);
	strncat(when, frac, sizeof(when) - strlen(when) - 1);
	obj = json_object_new_object();
	json_object_object_add(obj, "time", json_object_new_string(when));
	json_object_object_add(obj, "level", json_object_new_string(log_level_names[level]));
	json_object_object_add(obj, "msg", json_object_new_string(msg));
	if (fields) {
		json_object_object_foreach(fields, key, val)
		{
			json_object_object_add(obj, key, json_object_get(val));
		}
		json_object_put(fields);
	}
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stderr);
	json_object_put(obj);
}

static json_object *check_fields(const struct serve_check *c)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "check", json_object_new_string(c->cfg.name));
	json_object_object_add(f, "target", json_object_new_string(c->cfg.target));
	json_object_object_add(f, "address",
			       c->have_addr ? json_object_new_string(c->addr_str) : NULL);
	return f;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: synprobe serve -c FILE [OPTIONS]\n"
	    "\n"
	    "The long-running prober: every check of the YAML config FILE runs on its own\n"
	    "schedule (with jitter), turns UP after `rise` successes in a row and DOWN after\n"
	    "`fall` failures (HAProxy's rule), logs state changes as JSON lines on stderr, and\n"
	    "serves Prometheus metrics. SIGHUP reloads FILE (a bad one is refused and logged);\n"
	    "SIGTERM or SIGINT stop it (exit 0). See contrib/synprobe.yaml for the config.\n"
	    "\n"
	    "HTTP: /metrics (Prometheus text format), /probe?target=HOST:PORT&timeout=DUR (one\n"
	    "check on demand, blackbox_exporter's multi-target style; &module=NAME runs a module\n"
	    "of the config's modules:), /healthz.\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE      the YAML config (required)\n"
	    "  -l, --listen ADDR:PORT HTTP address (default %s; [::1]:9123 for IPv6)\n"
	    "      --pin DIR          pin the BPF maps in bpffs DIR (default %s)\n"
	    "      --no-pin           pin nothing\n"
	    "      --log-level LEVEL  debug (every result), info (default), warn or error\n"
	    "      --keep-caps WHICH  attach (default): keep CAP_BPF and CAP_NET_ADMIN after "
	    "start,\n"
	    "                         to attach to the interface of a route a reload or /probe\n"
	    "                         brings; none: drop every capability (give -i for every\n"
	    "                         interface the targets' routes use)\n"
	    "  -u, --user NAME        after set-up, run as the user NAME (start as root):\n"
	    "                         FILE must be readable by it for SIGHUP\n"
	    "  -i, --interface IF     attach to IF at start (repeat or comma-separate); default:\n"
	    "                         the interface of each target's route, as it comes\n"
	    "      --clsact           attach through a clsact qdisc even where TCX links exist\n"
	    "  -m, --method METHOD    auto (default), bpf or connect, as in 'synprobe check'\n"
	    "      --threads N        event loops of the engine, as in 'synprobe check'\n"
	    "      --check-config     parse FILE, report, and exit (0 good, 2 bad)\n"
	    "      --shard K/N        run only the checks whose name hashes to K mod N\n"
	    "                         (Prometheus' hashmod: MD5, last 8 bytes) over the\n"
	    "                         config's shard; N probers with 0/N..N-1/N split one\n"
	    "                         config. /probe is not sharded\n"
	    "      --probe-max-concurrent N  /probe requests in flight at once, from every\n"
	    "                         client (default %u, at most %u); more are answered 503\n"
	    "      --probe-max-per-client N  /probe requests in flight from one client address\n"
	    "                         (default half of --probe-max-concurrent); more: 429\n"
	    "      --probe-allow CIDR[,CIDR...]  the networks /probe may check (repeatable;\n"
	    "                         over the config's probe_allow); other targets: 403.\n"
	    "                         Without a list /probe checks any target on a loopback\n"
	    "                         --listen and none elsewhere; 0.0.0.0/0,::/0 allows all\n"
	    "      --probe-timeout-max DUR  the longest /probe timeout (default 60s, at most\n"
	    "                         10m); a longer one asked for is cut to it\n"
	    "      --web.config.file FILE  TLS and basic auth of the HTTP listener, in the\n"
	    "                         format of Prometheus' exporter-toolkit (as node_exporter):\n"
	    "                         tls_server_config (cert_file, key_file, client_ca_file,\n"
	    "                         client_auth_type, min_version, max_version) and\n"
	    "                         basic_auth_users (user: bcrypt hash); re-read on change\n"
	    "  -v, --verbose          libbpf's warnings (-vv: debug)\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "Exit status: 0 after SIGTERM/SIGINT, 1 if the event loop failed, 2 for usage or\n"
	    "set-up errors (bad config, address in use, no privileges).\n"
	    "\n"
	    "Examples:\n"
	    "  synprobe serve -c /etc/synprobe/synprobe.yaml\n"
	    "  synprobe serve -c synprobe.yaml --listen 0.0.0.0:9123 --probe-allow 10.0.0.0/8\n"
	    "  curl -s 'http://127.0.0.1:9123/probe?target=10.0.0.5:443&timeout=500ms'\n"
	    "  synprobe serve -c synprobe.yaml --web.config.file /etc/synprobe/web.yml\n",
	    DEFAULT_LISTEN, DEFAULT_PIN_DIR, SERVE_HTTP_CONNECTIONS_DEFAULT / 4,
	    SERVE_HTTP_CONNECTIONS_DEFAULT / 2);
}

static int parse_args(int argc, char **argv, struct serve_args *a)
{
	enum {
		OPT_PIN = 256,
		OPT_NO_PIN,
		OPT_LOG_LEVEL,
		OPT_KEEP_CAPS,
		OPT_CLSACT,
		OPT_CHECK,
		OPT_PROBE_MAX,
		OPT_PROBE_MAX_CLIENT,
		OPT_PROBE_ALLOW,
		OPT_PROBE_TIMEOUT_MAX,
		OPT_SHARD,
		OPT_WEB_CONFIG,
		OPT_THREADS,
	};
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"pin", required_argument, NULL, OPT_PIN},
	    {"no-pin", no_argument, NULL, OPT_NO_PIN},
	    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	    {"keep-caps", required_argument, NULL, OPT_KEEP_CAPS},
	    {"user", required_argument, NULL, 'u'},
	    {"interface", required_argument, NULL, 'i'},
	    {"clsact", no_argument, NULL, OPT_CLSACT},
	    {"method", required_argument, NULL, 'm'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"probe-max-concurrent", required_argument, NULL, OPT_PROBE_MAX},
	    {"probe-max-per-client", required_argument, NULL, OPT_PROBE_MAX_CLIENT},
	    {"probe-allow", required_argument, NULL, OPT_PROBE_ALLOW},
	    {"probe-timeout-max", required_argument, NULL, OPT_PROBE_TIMEOUT_MAX},
	    {"shard", required_argument, NULL, OPT_SHARD},
	    {"web.config.file", required_argument, NULL, OPT_WEB_CONFIG},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char msg[SP_CIDR_ERR_MAX], shard_msg[SERVE_SHARD_ERR_MAX];
	int opt, i, err;

	a->listen = DEFAULT_LISTEN;
	a->pin_dir = DEFAULT_PIN_DIR;
	a->keep_attach_caps = true;
	a->threads = sp_threads_default();
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:l:i:m:u:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a->config_path = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case OPT_THREADS:
			if (sp_parse_threads(optarg, &a->threads))
				return -EINVAL;
			break;
		case OPT_PIN:
			if (optarg[0] != '/') {
				sp_err("--pin '%s': give an absolute directory in bpffs, e.g. %s",
				       optarg, DEFAULT_PIN_DIR);
				return -EINVAL;
			}
			a->pin_dir = optarg;
			break;
		case OPT_NO_PIN:
			a->pin_dir = NULL;
			break;
		case OPT_LOG_LEVEL:
			for (i = 0; i < 4; i++)
				if (!strcmp(optarg, log_level_names[i]))
					break;
			if (i == 4) {
				sp_err("--log-level '%s': give debug, info, warn or error", optarg);
				return -EINVAL;
			}
			log_min = (enum log_level)i;
			break;
		case OPT_KEEP_CAPS:
			if (strcmp(optarg, "attach") && strcmp(optarg, "none")) {
				sp_err("--keep-caps '%s': give attach or none", optarg);
				return -EINVAL;
			}
			a->keep_attach_caps = !strcmp(optarg, "attach");
			break;
		case 'u':
			err = sp_user_lookup(optarg, &a->user);
			if (err) {
				sp_err("--user '%.64s': %s", optarg,
				       err == -ENOENT ? "no such user: create it (useradd --system "
							"--no-create-home synprobe) or name another"
						      : strerror(-err));
				return -EINVAL;
			}
			a->has_user = true;
			break;
		case 'i':
			if (sp_parse_interfaces(optarg, a->ifindexes, &a->n_ifindexes, IFACES_MAX))
				return -EINVAL;
			break;
		case OPT_CLSACT:
			a->force_clsact = true;
			break;
		case 'm':
			if (sp_parse_method(optarg, &a->method))
				return -EINVAL;
			break;
		case OPT_CHECK:
			a->check_config_only = true;
			break;
		case OPT_PROBE_MAX:
		case OPT_PROBE_MAX_CLIENT:
			/* At most half the connections: the others stay for /metrics and /healthz. */
			if (sp_parse_count(optarg, SERVE_HTTP_CONNECTIONS_DEFAULT / 2,
					   opt == OPT_PROBE_MAX ? &a->http.probe_max
								: &a->http.probe_max_per_client)) {
				sp_err("--%s '%s': give a count from 1 to %u",
				       opt == OPT_PROBE_MAX ? "probe-max-concurrent"
							    : "probe-max-per-client",
				       optarg, SERVE_HTTP_CONNECTIONS_DEFAULT / 2);
				return -EINVAL;
			}
			break;
		case OPT_PROBE_ALLOW:
			if (sp_cidr_parse_list(optarg, a->probe_allow, SERVE_PROBE_ALLOW_MAX,
					       &a->n_probe_allow, msg, sizeof(msg))) {
				sp_err("--probe-allow '%.64s%s': %s", optarg,
				       strlen(optarg) > 64 ? "..." : "", msg);
				return -EINVAL;
			}
			a->has_probe_allow = true;
			break;
		case OPT_PROBE_TIMEOUT_MAX:
			if (sp_parse_duration_ms(optarg, &a->http.probe_timeout_max_ms) ||
			    a->http.probe_timeout_max_ms > SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_LIMIT) {
				sp_err("--probe-timeout-max '%s': give a duration from 1ms to 10m, "
				       "such as 30s",
				       optarg);
				return -EINVAL;
			}
			break;
		case OPT_SHARD:
			if (serve_shard_parse(optarg, &a->shard, shard_msg, sizeof(shard_msg))) {
				sp_err("--shard %s", shard_msg);
				return -EINVAL;
			}
			a->has_shard = true;
			break;
		case OPT_WEB_CONFIG:
			a->web_config_path = optarg;
			break;
		case 'v':
			sp_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			sp_err("option '%s' needs a value: see 'synprobe serve --help'",
			       argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				sp_err("unknown option '-%c': see 'synprobe serve --help'", optopt);
			else
				sp_err("unknown option '%s': see 'synprobe serve --help'",
				       argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		sp_err("unexpected argument '%s': the checks come from the config file (-c FILE)",
		       argv[optind]);
		return -EINVAL;
	}
	if (!a->config_path) {
		sp_err(
		    "no config file: give -c FILE, e.g. 'synprobe serve -c contrib/synprobe.yaml'");
		return -EINVAL;
	}
	return 0;
}

/*
 * After set-up: the pin directory given to --user (so that it can remove the pins at exit), then
 * sp_privdrop() (@keep_mark: CAP_NET_RAW stays, for SO_MARK), then a check that the config can still be read for SIGHUP. Returns 0, or
 * -1 after one error line.
 */
static int drop_privileges(const struct serve_args *a, bool keep_mark)
{
	const char *step;
	int err;

	if (a->has_user && a->pin_dir && geteuid() != a->user.uid) {
		err = sp_pin_dir_give(a->pin_dir, &a->user);
		if (err) {
			sp_err("--user %s: cannot give its group the pin directory %s (%s): start "
			       "serve as root with CAP_CHOWN, or give --no-pin",
			       a->user.name, a->pin_dir, strerror(-err));
			return -1;
		}
	}
	err = sp_privdrop(a->has_user ? &a->user : NULL, a->keep_attach_caps, keep_mark, &step);
	if (err) {
		if (a->has_user && (err == -EPERM || err == -EINVAL))
			sp_err("--user %s: cannot switch to it (%s: %s): start serve as root, or "
			       "as that user without --user",
			       a->user.name, step, strerror(-err));
		else
			sp_err("cannot drop privileges (%s: %s)", step, strerror(-err));
		return -1;
	}
	if (a->has_user && access(a->config_path, R_OK)) {
		sp_err("--user %s: cannot read the config %s (%s): make it readable by %s, e.g. "
		       "chmod 644, so that SIGHUP can reload it",
		       a->user.name, a->config_path, strerror(errno), a->user.name);
		return -1;
	}
	return 0;
}

/* Whether some check sets a mark (SO_MARK needs a capability kept). */
static bool config_has_mark(const struct serve_config *cfg)
{
	size_t i;

	if (cfg->defaults.mark) /* file_sd's targets take it */
		return true;
	for (i = 0; i < cfg->n_checks; i++)
		if (cfg->checks[i].set.mark)
			return true;
	return false;
}

/* The file system type of @dir, or of its parent if @dir is not there yet (0 if neither is). */
static long pin_dir_fs_type(const char *dir, char *parent, size_t len)
{
	struct statfs fs;
	char *slash;

	snprintf(parent, len, "%s", dir);
	if (statfs(parent, &fs)) {
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		else
			snprintf(parent, len, "/");
		if (statfs(parent, &fs))
			fs.f_type = 0;
	}
	return (long)fs.f_type;
}

/* @dir is /sys/fs/bpf or below it (no "..": the mount is for that directory only). */
static bool under_bpffs_root(const char *dir)
{
	size_t n = strlen(BPFFS_ROOT);

	return !strncmp(dir, BPFFS_ROOT, n) && (!dir[n] || dir[n] == '/') && !strstr(dir, "/..");
}

/*
 * Whether the pins can go to @dir: it, or the directory it is to be made in, is on a bpffs.
 * Where @dir is under /sys/fs/bpf and no bpffs is mounted there (a system without systemd, or
 * inside `ip netns exec`, whose fresh /sys has none), mounts one there as bpftool and Cilium do,
 * and logs it; never anywhere else. Returns 0 or -ENOTDIR after one error line.
 */
static int check_pin_dir(const char *dir)
{
	char parent[PATH_MAX], why[128] = "";
	struct statfs fs;
	json_object *f;

	if (pin_dir_fs_type(dir, parent, sizeof(parent)) == BPF_FS_MAGIC)
		return 0;
	if (under_bpffs_root(dir) && !statfs(BPFFS_ROOT, &fs) && fs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			snprintf(why, sizeof(why), " and mounting one there failed (%s)",
				 strerror(errno));
		} else {
			f = json_object_new_object();
			json_object_object_add(f, "path", json_object_new_string(BPFFS_ROOT));
			json_object_object_add(f, "options", json_object_new_string("mode=0700"));
			json_object_object_add(f, "pin_dir", json_object_new_string(dir));
			log_json(LOG_INFO,
				 "no BPF file system was mounted at " BPFFS_ROOT ": mounted one",
				 f);
			if (pin_dir_fs_type(dir, parent, sizeof(parent)) == BPF_FS_MAGIC)
				return 0;
		}
	}
	sp_err("--pin %s: %s is not on a BPF file system%s: mount one ('mount -t bpf bpf %s'), "
	       "choose a directory in one, or give --no-pin",
	       dir, parent, why, parent);
	return -ENOTDIR;
}

/*
 * The /probe policy from --probe-allow, else the config's probe_allow, else the listener: any
 * target on loopback, none elsewhere. Returns 0 or -ENOMEM (the policy as it was).
 */
static int apply_probe_policy(struct serve *s, const struct serve_config *cfg)
{
	const struct serve_args *a = s->args;

	if (a->has_probe_allow)
		return serve_http_set_probe_policy(s->http, SERVE_PROBE_LIST, a->probe_allow,
						   a->n_probe_allow);
	if (cfg->has_probe_allow)
		return serve_http_set_probe_policy(s->http, SERVE_PROBE_LIST, cfg->probe_allow,
						   cfg->n_probe_allow);
	return serve_http_set_probe_policy(
	    s->http, s->listen_loopback ? SERVE_PROBE_ALL : SERVE_PROBE_OFF, NULL, 0);
}

/* For the logs: what /probe may check under @cfg ("all", "none" or the networks). */
static json_object *probe_policy_json(const struct serve *s, const struct serve_config *cfg)
{
	const struct sp_cidr *list = s->args->probe_allow;
	size_t n = s->args->n_probe_allow, i;
	char buf[SP_CIDR_STR_MAX];
	json_object *arr;

	if (!s->args->has_probe_allow) {
		if (!cfg->has_probe_allow)
			return json_object_new_string(s->listen_loopback ? "all" : "none");
		list = cfg->probe_allow;
		n = cfg->n_probe_allow;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(
		    arr, json_object_new_string(sp_cidr_format(&list[i], buf, sizeof(buf))));
	return arr;
}

/* --- shard --- */

/*
 * The shard from --shard, else the config's shard key, else 0/1 (every check) into @shard; keeps
 * in @cfg only the checks of that shard, in their order. Returns how many checks @cfg had.
 */
static size_t shard_checks(const struct serve_args *a, struct serve_config *cfg,
			   struct serve_shard *shard)
{
	size_t i, n = 0, total = cfg->n_checks;

	if (a->has_shard)
		*shard = a->shard;
	else if (cfg->has_shard)
		*shard = cfg->shard;
	else
		*shard = (struct serve_shard){.index = 0, .count = 1};
	for (i = 0; i < total; i++) {
		if (!serve_shard_owns(shard, cfg->checks[i].name))
			continue;
		if (n != i)
			cfg->checks[n] = cfg->checks[i];
		n++;
	}
	cfg->n_checks = n;
	return total;
}

/* For the logs: "K/N". */
static json_object *shard_json(const struct serve_shard *shard)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u/%u", shard->index, shard->count);
	return json_object_new_string(buf);
}

/* --- checks --- */

static void check_free(struct serve_check *c)
{
	if (!c)
		return;
	free(c->labels);
	free(c);
}

static struct serve_check *check_new(struct serve *s, const struct serve_check_config *cfg,
				     __u64 now_ms)
{
	struct serve_buf b = {};
	struct serve_check *c;
	size_t i;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->tag = SERVE_JOB_CHECK;
	c->cfg = *cfg;
	serve_buf_label(&b, true, "check", cfg->name);
	serve_buf_label(&b, false, "target", cfg->target);
	for (i = 0; i < cfg->set.n_labels; i++)
		serve_buf_label(&b, false, cfg->set.labels[i].name, cfg->set.labels[i].value);
	if (b.oom) {
		free(b.data);
		free(c);
		return NULL;
	}
	c->labels = b.data;
	/* A random phase in the interval: 10,000 checks at 1 s do not fire at once. */
	c->due_ms = now_ms + serve_jitter_ms(&s->rng, cfg->set.interval_ms);
	return c;
}

static void schedule(struct serve *s, struct serve_check *c)
{
	if (serve_heap_push(&s->heap, c->due_ms, (__u32)c->index))
		log_json(LOG_ERROR, "out of memory: check no longer scheduled", check_fields(c));
}

/* One result of @c, from the engine or a local failure (@errmsg): state, metrics, next run. */
static void record_result(struct serve *s, struct serve_check *c, enum synprobe_outcome outcome,
			  bool has_rtt, __u64 rtt_ns, __u32 syn_retransmits, const char *errmsg)
{
	bool success = outcome == SYNPROBE_OPEN;
	enum serve_state old = SERVE_UNKNOWN;
	__u32 interval_ms;
	json_object *f;
	__u64 now = mono_ms();

	c->outcomes[outcome]++;
	c->syn_retransmits += syn_retransmits;
	if (has_rtt)
		serve_histogram_observe(&c->rtt, rtt_ns);
	c->last_rtt_ns = has_rtt ? rtt_ns : 0;
	c->has_last = true;
	c->last_success = success;
	if (log_min <= LOG_DEBUG) {
		f = check_fields(c);
		json_object_object_add(f, "outcome",
				       json_object_new_string(synprobe_outcome_str(outcome)));
		json_object_object_add(f, "rtt_ns",
				       has_rtt ? json_object_new_int64((int64_t)rtt_ns) : NULL);
		json_object_object_add(f, "error", errmsg ? json_object_new_string(errmsg) : NULL);
		log_json(LOG_DEBUG, "check result", f);
	}
	if (serve_health_update(&c->health, success, c->cfg.set.rise, c->cfg.set.fall, &old)) {
		c->state_changes++;
		f = check_fields(c);
		json_object_object_add(f, "old_state",
				       json_object_new_string(serve_state_str(old)));
		json_object_object_add(f, "new_state",
				       json_object_new_string(serve_state_str(c->health.state)));
		json_object_object_add(f, "outcome",
				       json_object_new_string(synprobe_outcome_str(outcome)));
		json_object_object_add(f, "rtt_ns",
				       has_rtt ? json_object_new_int64((int64_t)rtt_ns) : NULL);
		json_object_object_add(f, "error", errmsg ? json_object_new_string(errmsg) : NULL);
		json_object_object_add(
		    f, "consecutive",
		    json_object_new_int64(success ? c->health.successes : c->health.failures));
		log_json(c->health.state == SERVE_DOWN ? LOG_WARN : LOG_INFO, "state change", f);
	}
	interval_ms = c->cfg.set.interval_ms;
	if (c->cfg.set.fast_interval_ms && serve_health_changing(&c->health))
		interval_ms = c->cfg.set.fast_interval_ms;
	c->due_ms = serve_next_due_ms(&s->rng, c->start_ms, interval_ms, now);
	schedule(s, c);
}

/*
 * A run of @c that failed before the engine had it (the name did not resolve, the
 * bind_interface is gone, start failed): nothing past the handshake ran, so the last run's TLS
 * and send/expect results are dropped (synprobe_expect_matched reads 0, the phase and handshake
 * gauges go absent); the certificate gauges keep the last handshake that got a certificate.
 */
static void record_failure(struct serve *s, struct serve_check *c, const char *errmsg)
{
	c->result_row = NULL;
	record_result(s, c, SYNPROBE_ERROR, false, 0, 0, errmsg);
}

/* A check holds the engine or the resolver: a reload that drops it keeps it as an orphan. */
static bool check_busy(const struct serve_check *c)
{
	return c->in_flight || c->resolving;
}

/* Not scheduled while it runs, or while it waits for its first address. */
static bool check_waiting(const struct serve_check *c)
{
	return c->in_flight || (c->resolving && !c->have_addr);
}

/* An orphan (dropped by a reload) that nothing holds any more is freed. */
static void orphan_release(struct serve *s, struct serve_check *c)
{
	struct serve_check **p;

	if (!c->removed || check_busy(c))
		return;
	for (p = &s->orphans; *p; p = &(*p)->next_orphan) {
		if (*p == c) {
			*p = c->next_orphan;
			break;
		}
	}
	check_free(c);
}

/* Hands the check to the engine, to its known address. */
static void engine_start(struct serve *s, struct serve_check *c)
{
	struct synprobe_check_opts copts = { .sz = sizeof(copts), .mark = c->cfg.set.mark };
	const struct sp_kind_row *row = sp_kind_row_of_cfg(c->cfg.set.kind);
	const char *ifname = c->cfg.set.bind_interface;
	char msg[SP_ERR_MAX];
	int err;

	/* By name at every run: an interface (a VRF) made or re-made after the config counts. */
	if (ifname[0]) {
		copts.bind_ifindex = (int)if_nametoindex(ifname);
		if (!copts.bind_ifindex) {
			snprintf(msg, sizeof(msg),
				 "bind_interface '%s' not found: see 'ip link' for the interfaces here",
				 ifname);
			record_failure(s, c, msg);
			return;
		}
	}
	if (row && row->serve_active && row->serve_active(c->cfg.set.kind) &&
	    row->serve_check_opts) {
		memset(&c->kind_arg, 0, sizeof(c->kind_arg));
		row->serve_check_opts(c->cfg.set.kind, c->cfg.spec.host, c->kind_arg.bytes, &copts);
	}
	err = synprobe_start_ex(s->sp, (struct sockaddr *)&c->addr.addr, c->addr.addrlen,
				c->cfg.set.timeout_ms, &copts, c);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot start the check: %s", strerror(-err));
		record_failure(s, c, msg);
		return;
	}
	c->in_flight = true;
}

static void start_check(struct serve *s, struct serve_check *c, __u64 now_ms)
{
	char msg[SP_ERR_MAX];
	int err;

	c->start_ms = now_ms;
	/*
	 * Names are resolved again every resolve_interval (literals once), by the resolver's
	 * threads: a hung resolver delays no other check. Meanwhile a check with an address runs
	 * on it; one without waits for collect_lookups() to start it.
	 */
	if (!c->resolving && (!c->have_addr || (!c->cfg.spec.ipv6_literal &&
						now_ms - c->resolved_ms >= c->cfg.set.resolve_interval_ms))) {
		err = sp_resolver_submit(s->resolver, &c->cfg.spec, AF_UNSPEC, false, c);
		if (!err) {
			c->resolving = true;
		} else if (!c->have_addr) {
			snprintf(msg, sizeof(msg), "cannot resolve '%s' now: %s", c->cfg.spec.host,
				 strerror(-err));
			record_failure(s, c, msg);
			return;
		}
	}
	if (c->have_addr)
		engine_start(s, c);
}

/* The lookups that ended: addresses learned, first runs started, failures recorded. */
static void collect_lookups(struct serve *s)
{
	struct sp_resolve_job *j, *next;
	struct serve_check *c;
	bool first;

	for (j = sp_resolver_collect(s->resolver); j; j = next) {
		next = j->next;
		c = j->user;
		c->resolving = false;
		if (c->removed) {
			orphan_release(s, c);
		} else if (j->n > 0) {
			first = !c->have_addr;
			c->addr = j->addrs[0];
			c->have_addr = true;
			c->resolved_ms = mono_ms();
			sp_address_str(&c->addr.addr, c->addr_str, sizeof(c->addr_str), NULL);
			if (first && !c->in_flight) {
				c->start_ms = c->resolved_ms;
				engine_start(s, c);
			}
		} else if (!c->have_addr) {
			/* The first lookup failed: that is the run's result; the next run asks again. */
			record_failure(s, c, j->err);
		} else {
			/* A later lookup failed: the known address stays until the next one. */
			c->resolved_ms = mono_ms();
		}
		free(j);
	}
}

static void wake_main(void *ctx)
{
	pthread_kill(*(pthread_t *)ctx, WAKE_SIGNAL);
}

static void on_result(const struct synprobe_result *res, void *ctx)
{
	enum serve_job_tag *tag = res->user;
	struct serve *s = ctx;
	const struct sp_kind_row *row;
	struct serve_check *c;
	struct serve_req *r;

	if (*tag == SERVE_JOB_PROBE) {
		r = res->user;
		r->result.outcome = res->outcome;
		r->result.has_rtt = res->has_rtt;
		r->result.rtt_ns = res->rtt_ns;
		r->result.syn_retransmits = res->syn_retransmits;
		r->result.error = res->error;
		row = sp_kind_row_of(res->kind);
		r->result.kind_result = NULL;
		if (row && res->kind_result && row->result_size <= SP_KIND_RESULT_MAX) {
			memcpy(r->result.kind_result_buf.bytes, res->kind_result,
			       row->result_size);
			r->result.kind_result = r->result.kind_result_buf.bytes;
		}
		r->duration_ns = mono_ns() - r->start_ns;
		serve_http_done(s->http, r, 200, NULL);
		return;
	}
	c = res->user;
	c->in_flight = false;
	if (c->removed) {
		orphan_release(s, c);
		return;
	}
	row = sp_kind_row_of(res->kind);
	c->result_row = NULL;
	if (row && res->kind_result && row->result_size <= SP_KIND_RESULT_MAX) {
		memcpy(c->kind_result.bytes, res->kind_result, row->result_size);
		c->result_row = row;
		/* What the row keeps across runs: a check whose kind changes starts it again. */
		if (row->serve_keep && row->kept_size <= SP_KIND_KEPT_MAX) {
			if (c->kept_row != row)
				memset(&c->kept, 0, sizeof(c->kept));
			c->kept_row = row->serve_keep(c->kept.bytes, c->kind_result.bytes) ? row :
											  NULL;
		}
	}
	record_result(s, c, res->outcome, res->has_rtt, res->rtt_ns, res->syn_retransmits,
		      res->detail ? res->detail : res->error ? strerror(res->error) : NULL);
}

/* --- metrics --- */

static void family(struct serve_buf *b, const char *name, const char *type, const char *help)
{
	serve_buf_header(b, name, type, help);
}

static void render_bpf(struct serve *s, struct serve_buf *b)
{
	const struct {
		const char *program, *verdict;
		size_t offset;
	} counters[] = {
	    {"egress", "not_tcp", offsetof(struct sp_stats, eg_not_tcp)},
	    {"egress", "other_tcp", offsetof(struct sp_stats, eg_other_tcp)},
	    {"egress", "untracked", offsetof(struct sp_stats, eg_untracked)},
	    {"egress", "syn_tracked", offsetof(struct sp_stats, eg_syn_tracked)},
	    {"egress", "syn_retransmit", offsetof(struct sp_stats, eg_syn_retransmits)},
	    {"egress", "ack_dropped", offsetof(struct sp_stats, eg_ack_dropped)},
	    {"egress", "flows_full", offsetof(struct sp_stats, eg_flows_full)},
	    {"egress", "ack_passed", offsetof(struct sp_stats, eg_ack_passed)},
	    {"ingress", "not_tcp", offsetof(struct sp_stats, in_not_tcp)},
	    {"ingress", "other_tcp", offsetof(struct sp_stats, in_other_tcp)},
	    {"ingress", "other_icmp", offsetof(struct sp_stats, in_other_icmp)},
	    {"ingress", "untracked", offsetof(struct sp_stats, in_untracked)},
	    {"ingress", "matched", offsetof(struct sp_stats, in_matched)},
	    {"ingress", "spoofed", offsetof(struct sp_stats, in_spoofed)},
	    {"ingress", "duplicate", offsetof(struct sp_stats, in_duplicate)},
	    {"ingress", "ringbuf_full", offsetof(struct sp_stats, in_ringbuf_full)},
	};
	unsigned int socks, flows;
	struct sp_stats st;
	size_t i;

	if (synprobe_read_stats(s->sp, &st, sizeof(st)))
		return;
	family(b, "synprobe_bpf_packets_total", "counter",
	       "Packets seen by the tc programs, by program and by how each left.");
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		serve_buf_printf(
		    b, "synprobe_bpf_packets_total{program=\"%s\",verdict=\"%s\"} %llu\n",
		    counters[i].program, counters[i].verdict,
		    (unsigned long long)*(const __u64 *)((const char *)&st + counters[i].offset));
	family(b, "synprobe_bpf_spoofed_replies_total", "counter",
	       "Replies for a tracked 4-tuple that did not acknowledge our ISN: ignored.");
	serve_buf_printf(b, "synprobe_bpf_spoofed_replies_total %llu\n",
			 (unsigned long long)st.in_spoofed);
	family(b, "synprobe_bpf_ringbuf_drops_total", "counter",
	       "Replies whose event was lost to a full ring buffer (answered from sp_socks).");
	serve_buf_printf(b, "synprobe_bpf_ringbuf_drops_total %llu\n",
			 (unsigned long long)st.in_ringbuf_full);
	if (!synprobe_count_flows(s->sp, &socks, &flows)) {
		family(b, "synprobe_bpf_flows_in_flight", "gauge",
		       "Entries in the BPF flow maps: checks the kernel side tracks now.");
		serve_buf_printf(b, "synprobe_bpf_flows_in_flight{map=\"sp_socks\"} %u\n", socks);
		serve_buf_printf(b, "synprobe_bpf_flows_in_flight{map=\"sp_flows\"} %u\n", flows);
	}
}

/*
 * serve's check @i as row @row's metrics see it (sp_kind_serve_check_at, check_kind.h): its
 * settings, last result and kept state only when they are that row's.
 */
static void kind_check_at(const void *ctx, size_t i, const struct sp_kind_row *row,
			  struct sp_kind_serve_check *v)
{
	const struct serve *s = ctx;
	const struct serve_check *c = s->checks[i];

	v->labels = c->labels;
	v->cfg = sp_kind_row_of_cfg(c->cfg.set.kind) == row ? c->cfg.set.kind : NULL;
	v->has_last = c->has_last;
	v->last_success = c->last_success;
	v->last_rtt_ns = c->last_rtt_ns;
	v->result = c->result_row == row ? c->kind_result.bytes : NULL;
	v->kept = c->kept_row == row ? c->kept.bytes : NULL;
}

/* The metrics of completing checks (tls, query_response): each row's, over every check. */
static void render_kinds(struct serve *s, struct serve_buf *b)
{
	int i;

	for (i = 0; sp_completing_kinds[i]; i++)
		if (sp_completing_kinds[i]->serve_metrics)
			sp_completing_kinds[i]->serve_metrics(b, s->n_checks, kind_check_at, s);
}

static char *render_metrics(struct serve *s)
{
	struct synprobe_engine_stats es;
	struct serve_buf b = {};
	struct serve_check *c;
	size_t i;
	int o;

	family(&b, "synprobe_up", "gauge",
	       "1 if the check's target is UP, 0 if DOWN (rise/fall); absent until known.");
	for (i = 0; i < s->n_checks; i++) {
		c = s->checks[i];
		if (c->health.state != SERVE_UNKNOWN)
			serve_buf_printf(&b, "synprobe_up{%s} %d\n", c->labels,
					 c->health.state == SERVE_UP);
	}
	family(&b, "synprobe_check_success", "gauge",
	       "1 if the last check found the port open, else 0.");
	for (i = 0; i < s->n_checks; i++) {
		c = s->checks[i];
		if (c->has_last)
			serve_buf_printf(&b, "synprobe_check_success{%s} %d\n", c->labels,
					 c->last_success);
	}
	family(&b, "synprobe_rtt_seconds", "histogram",
	       "Handshake RTT, first SYN out to SYN-ACK or RST in, stamped at tc, in seconds.");
	for (i = 0; i < s->n_checks; i++)
		serve_buf_histogram(&b, "synprobe_rtt_seconds", s->checks[i]->labels,
				    &s->checks[i]->rtt);
	family(&b, "synprobe_checks_total", "counter", "Checks made, by outcome.");
	for (i = 0; i < s->n_checks; i++)
		for (o = SYNPROBE_OPEN; o < OUTCOMES_N; o++)
			serve_buf_printf(&b, "synprobe_checks_total{%s,outcome=\"%s\"} %llu\n",
					 s->checks[i]->labels,
					 synprobe_outcome_str((enum synprobe_outcome)o),
					 (unsigned long long)s->checks[i]->outcomes[o]);
	render_kinds(s, &b);
	family(&b, "synprobe_state_changes_total", "counter",
	       "State changes (unknown, up, down) of the check.");
	for (i = 0; i < s->n_checks; i++)
		serve_buf_printf(&b, "synprobe_state_changes_total{%s} %llu\n",
				 s->checks[i]->labels,
				 (unsigned long long)s->checks[i]->state_changes);
	family(&b, "synprobe_syn_retransmits_total", "counter",
	       "SYNs sent after the first one of a check: loss on the path.");
	for (i = 0; i < s->n_checks; i++)
		serve_buf_printf(&b, "synprobe_syn_retransmits_total{%s} %llu\n",
				 s->checks[i]->labels,
				 (unsigned long long)s->checks[i]->syn_retransmits);
	family(&b, "synprobe_checks_in_flight", "gauge", "Checks started and not finished.");
	serve_buf_printf(&b, "synprobe_checks_in_flight %u\n", synprobe_in_flight(s->sp));
	synprobe_engine_stats(s->sp, &es, sizeof(es));
	family(&b, "synprobe_engine_destinations", "gauge",
	       "Addresses and ports in the engine's per-target table (it follows what is in flight).");
	serve_buf_printf(&b, "synprobe_engine_destinations %u\n", es.destinations);
	render_bpf(s, &b);
	family(&b, "synprobe_config_reloads_total", "counter",
	       "Config reloads (SIGHUP), by result.");
	serve_buf_printf(&b, "synprobe_config_reloads_total{result=\"success\"} %llu\n",
			 (unsigned long long)s->reloads_ok);
	serve_buf_printf(&b, "synprobe_config_reloads_total{result=\"failure\"} %llu\n",
			 (unsigned long long)s->reloads_failed);
	family(&b, "synprobe_config_last_reload_successful", "gauge",
	       "1 if the last config load succeeded.");
	serve_buf_printf(&b, "synprobe_config_last_reload_successful %d\n",
			 s->last_reload_ok && !s->file_sd_failed);
	family(&b, "synprobe_config_last_reload_success_timestamp_seconds", "gauge",
	       "When the config was last loaded successfully, Unix time.");
	serve_buf_printf(&b, "synprobe_config_last_reload_success_timestamp_seconds %.3f\n",
			 s->last_reload_ok_time_s);
	family(&b, "synprobe_file_sd_files", "gauge", "Files the file_sd globs match, read or kept.");
	serve_buf_printf(&b, "synprobe_file_sd_files %zu\n", file_sd_n_files(s->fsd));
	family(&b, "synprobe_file_sd_failed_files", "gauge",
	       "file_sd files refused at their last read (each keeps its previous targets).");
	serve_buf_printf(&b, "synprobe_file_sd_failed_files %d\n", s->file_sd_failed);
	family(&b, "synprobe_build_info", "gauge", "Version and check method; always 1.");
	serve_buf_printf(&b, "synprobe_build_info{version=\"%s\",method=\"%s\"} 1\n",
			 SYNPROBE_VERSION, s->method);
	family(&b, "synprobe_shard_info", "gauge",
	       "The shard of the config this prober runs (--shard K/N; 0 of 1: every check); 1.");
	serve_buf_printf(&b, "synprobe_shard_info{shard=\"%u\",shards=\"%u\"} 1\n", s->shard.index,
			 s->shard.count);
	if (b.oom) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/*
 * Starts the check of /probe request @r: its module's completing check (its row's, with the
 * module's interned settings, valid until exit), else the half-open one. Returns as
 * synprobe_start().
 */
static int start_probe(struct serve *s, struct serve_req *r)
{
	struct synprobe_check_opts copts = {.sz = sizeof(copts)};
	const struct serve_kind_cfg *cfg = r->has_module ? r->module.kind : NULL;
	const struct sp_kind_row *row = sp_kind_row_of_cfg(cfg);

	if (!row || !row->serve_active || !row->serve_active(cfg) || !row->serve_check_opts)
		return synprobe_start(s->sp, (struct sockaddr *)&r->addr.addr, r->addr.addrlen,
				      r->timeout_ms, r);
	memset(&r->kind_arg, 0, sizeof(r->kind_arg));
	row->serve_check_opts(cfg, r->host, r->kind_arg.bytes, &copts);
	return synprobe_start_ex(s->sp, (struct sockaddr *)&r->addr.addr, r->addr.addrlen,
				 r->timeout_ms, &copts, r);
}

static void answer_requests(struct serve *s)
{
	struct serve_req *r;
	char *body;
	int err;

	while ((r = serve_http_take(s->http))) {
		switch (r->kind) {
		case SERVE_REQ_METRICS:
			body = render_metrics(s);
			serve_http_done(s->http, r, body ? 200 : 500, body);
			break;
		case SERVE_REQ_HEALTH:
			serve_http_done(s->http, r, 200, strdup("ok\n"));
			break;
		case SERVE_REQ_PROBE:
			r->start_ns = mono_ns();
			err = start_probe(s, r);
			if (err) {
				r->result.outcome = SYNPROBE_ERROR;
				r->result.error = -err;
				r->duration_ns = mono_ns() - r->start_ns;
				serve_http_done(s->http, r, 200, NULL);
			}
			break;
		}
	}
}

/* --- config --- */

/*
 * A module whose method: is not the one this serve runs: the config's one line about it (as
 * serve_config_parse() words its errors) in @msg and -EINVAL; else 0.
 */
static int check_module_methods(const struct serve *s, const struct serve_config *cfg,
				char *msg, size_t len)
{
	const struct serve_module *m;
	size_t i;

	for (i = 0; i < cfg->n_modules; i++) {
		m = &cfg->modules[i];
		if (m->method == SERVE_MODULE_METHOD_ANY ||
		    !strcmp(serve_module_method_str(m->method), s->method))
			continue;
		snprintf(msg, len,
			 "%s:%d: key 'modules.%s.method': %s, but this serve runs method %s: "
			 "run serve with -m %s or remove the key",
			 s->args->config_path, m->line, m->name, serve_module_method_str(m->method),
			 s->method, serve_module_method_str(m->method));
		return -EINVAL;
	}
	return 0;
}

static double real_time_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Makes @cfg the running config: checks configured alike (serve_check_config_equal) keep their
 * state, history and schedule; the others start afresh. Returns 0 or -ENOMEM (nothing changed).
 */
static int apply_config(struct serve *s, const struct serve_config *cfg, size_t *kept)
{
	struct serve_check **checks, *c;
	bool *reused = NULL;
	__u64 now = mono_ms();
	size_t i, j = 0, k, hint = 0;
	int err = 0;

	*kept = 0;
	/* A shard may have no check: calloc(0) may give NULL. */
	checks = calloc(cfg->n_checks ? cfg->n_checks : 1, sizeof(*checks));
	if (s->n_checks)
		reused = calloc(s->n_checks, sizeof(*reused));
	if (!checks || (s->n_checks && !reused)) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < cfg->n_checks; i++) {
		/* From where the last match was: checks that stay keep their order, so mostly 1. */
		for (k = 0; k < s->n_checks; k++) {
			j = (hint + k) % s->n_checks;
			if (!reused[j] &&
			    serve_check_config_equal(&s->checks[j]->cfg, &cfg->checks[i]))
				break;
		}
		if (k < s->n_checks) {
			hint = j + 1;
			reused[j] = true;
			checks[i] = s->checks[j];
			(*kept)++;
			continue;
		}
		checks[i] = check_new(s, &cfg->checks[i], now);
		if (!checks[i]) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	/* From here on nothing fails. */
	for (j = 0; j < s->n_checks; j++) {
		if (reused[j])
			continue;
		c = s->checks[j];
		if (check_busy(c)) {
			c->removed = true;
			c->next_orphan = s->orphans;
			s->orphans = c;
		} else {
			check_free(c);
		}
	}
	free(s->checks);
	s->checks = checks;
	s->n_checks = cfg->n_checks;
	checks = NULL;
	s->heap.len = 0;
	for (i = 0; i < s->n_checks; i++) {
		s->checks[i]->index = i;
		if (!check_waiting(s->checks[i]))
			schedule(s, s->checks[i]);
	}
cleanup:
	if (checks) {
		for (i = 0; i < cfg->n_checks; i++) {
			for (j = 0; j < s->n_checks; j++)
				if (s->checks[j] == checks[i])
					break;
			if (j == s->n_checks)
				check_free(checks[i]);
		}
		free(checks);
	}
	free(reused);
	return err;
}

/* --- file_sd --- */

static void file_sd_log(void *ctx, enum file_sd_event ev, const char *file, size_t n_targets,
			const char *error)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "file", json_object_new_string(file));
	json_object_object_add(f, "targets", json_object_new_int64((int64_t)n_targets));
	if (ev == FILE_SD_FAILED) {
		json_object_object_add(f, "error", json_object_new_string(error));
		log_json(LOG_ERROR, "file_sd file refused, its previous targets stay", f);
	} else {
		log_json(LOG_INFO, ev == FILE_SD_READ ? "file_sd file read" : "file_sd file gone",
			 f);
	}
}

/* --check-config: the same, as one "Error:" line each on stderr. */
static void file_sd_log_stderr(void *ctx, enum file_sd_event ev, const char *file, size_t n_targets,
			       const char *error)
{
	if (ev == FILE_SD_FAILED)
		sp_err("%s", error);
}

/* Keeps in @cfg only the checks of @shard (file_sd's targets are sharded as the config's). */
static void shard_filter(const struct serve_shard *shard, struct serve_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->n_checks; i++)
		if (serve_shard_owns(shard, cfg->checks[i].name))
			cfg->checks[n++] = cfg->checks[i];
	cfg->n_checks = n;
}

/*
 * The checks of @cfg and of its file_sd files (read now), those of @shard, made the running set.
 * Returns 0 or -ENOMEM (nothing changed); the files that failed are counted in s->file_sd_failed.
 */
static int apply_file_sd(struct serve *s, const struct serve_config *cfg,
			 const struct serve_shard *shard, size_t *kept)
{
	struct serve_config all;
	int failed, err;

	failed = file_sd_refresh(s->fsd, cfg, &all, file_sd_log, NULL);
	if (failed < 0)
		return failed;
	shard_filter(shard, &all);
	err = apply_config(s, &all, kept);
	serve_config_free(&all);
	if (!err)
		s->file_sd_failed = failed;
	return err;
}

/* The watcher saw a change in the files: read them again, with the running config. */
static void file_sd_reread(struct serve *s)
{
	size_t kept = 0, old_n = s->n_checks;
	json_object *f;
	int err;

	err = apply_file_sd(s, &s->cfg, &s->shard, &kept);
	f = json_object_new_object();
	json_object_object_add(f, "files", json_object_new_int64((int64_t)file_sd_n_files(s->fsd)));
	if (err) {
		json_object_object_add(f, "error", json_object_new_string(strerror(-err)));
		log_json(LOG_ERROR, "file_sd re-read failed, the checks stay as they were", f);
		s->file_sd_failed++;
		return;
	}
	if (!s->file_sd_failed && s->last_reload_ok)
		s->last_reload_ok_time_s = real_time_s();
	json_object_object_add(f, "failed", json_object_new_int64(s->file_sd_failed));
	json_object_object_add(f, "checks", json_object_new_int64((int64_t)s->n_checks));
	json_object_object_add(f, "kept", json_object_new_int64((int64_t)kept));
	json_object_object_add(f, "added", json_object_new_int64((int64_t)(s->n_checks - kept)));
	json_object_object_add(f, "removed", json_object_new_int64((int64_t)(old_n - kept)));
	log_json(kept == old_n && kept == s->n_checks ? LOG_DEBUG : LOG_INFO, "file_sd re-read",
		 f);
}

static void reload(struct serve *s)
{
	struct serve_config cfg;
	struct serve_shard shard;
	char msg[SERVE_ERR_MAX];
	size_t kept = 0, old_n = s->n_checks, total = 0;
	json_object *f;
	int err;

	err = serve_config_load(s->args->config_path, &cfg, msg, sizeof(msg));
	if (!err)
		err = file_sd_set_globs(s->fsd, &cfg, msg, sizeof(msg));
	if (!err) {
		total = shard_checks(s->args, &cfg, &shard);
		err = check_module_methods(s, &cfg, msg, sizeof(msg));
		/* The allow list first: only it fails (out of memory) without changing anything. */
		if (!err)
			err = apply_probe_policy(s, &cfg);
		/* A /probe in flight keeps its copy of its module: the old table can go. */
		if (!err)
			err = serve_http_set_modules(s->http, cfg.modules, cfg.n_modules);
		if (!err)
			err = apply_file_sd(s, &cfg, &shard, &kept);
		if (err && err != -EINVAL)
			snprintf(msg, sizeof(msg), "%s: %s", s->args->config_path, strerror(-err));
	}
	f = json_object_new_object();
	json_object_object_add(f, "config", json_object_new_string(s->args->config_path));
	if (err) {
		s->reloads_failed++;
		s->last_reload_ok = false;
		json_object_object_add(f, "error", json_object_new_string(msg));
		json_object_object_add(f, "checks", json_object_new_int64((int64_t)s->n_checks));
		log_json(LOG_ERROR, "config reload refused, the old config keeps running", f);
		serve_config_free(&cfg);
		file_sd_set_globs(s->fsd, &s->cfg, msg, sizeof(msg));
		return;
	}
	s->reloads_ok++;
	s->shard = shard;
	s->last_reload_ok = true;
	if (!s->file_sd_failed)
		s->last_reload_ok_time_s = real_time_s();
	json_object_object_add(f, "checks", json_object_new_int64((int64_t)s->n_checks));
	json_object_object_add(f, "kept", json_object_new_int64((int64_t)kept));
	json_object_object_add(f, "added", json_object_new_int64((int64_t)(s->n_checks - kept)));
	json_object_object_add(f, "removed", json_object_new_int64((int64_t)(old_n - kept)));
	json_object_object_add(f, "probe_allow", probe_policy_json(s, &cfg));
	json_object_object_add(f, "shard", shard_json(&s->shard));
	json_object_object_add(f, "config_checks", json_object_new_int64((int64_t)total));
	json_object_object_add(f, "file_sd_failed", json_object_new_int64(s->file_sd_failed));
	serve_config_free(&s->cfg);
	s->cfg = cfg; /* the running config from now on */
	log_json(LOG_INFO, "config reloaded", f);
}

/* --- main --- */

static int run_loop(struct serve *s)
{
	const struct serve_heap_entry *top;
	struct serve_heap_entry e;
	__u64 now, wait;
	json_object *f;
	int err;

	while (!exiting) {
		if (reload_requested) {
			reload_requested = 0;
			reload(s);
		}
		if (file_sd_changed(s->fsd))
			file_sd_reread(s);
		answer_requests(s);
		collect_lookups(s);
		now = mono_ms();
		while ((top = serve_heap_peek(&s->heap)) && top->due_ms <= now) {
			serve_heap_pop(&s->heap, &e);
			start_check(s, s->checks[e.id], now);
		}
		top = serve_heap_peek(&s->heap);
		wait = top ? top->due_ms - now : 0;
		if (wait > INT_MAX)
			wait = INT_MAX;
		err = synprobe_poll(s->sp, top ? (int)wait : -1);
		if (err < 0 && err != -EINTR) {
			f = json_object_new_object();
			json_object_object_add(f, "error", json_object_new_string(strerror(-err)));
			log_json(LOG_ERROR, "event loop failed", f);
			return err;
		}
	}
	return 0;
}

/* web_server's reloads of --web.config.file, as log lines. */
static void log_web(void *ctx, bool ok, const char *file, const char *msg)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "web_config", json_object_new_string(file));
	if (!ok)
		json_object_object_add(f, "error", json_object_new_string(msg));
	log_json(ok ? LOG_INFO : LOG_WARN,
		 ok ? "web config reloaded" : "web config not reloaded: the old settings stay", f);
}

int do_serve(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct serve_args a = {};
	struct serve s = {.args = &a};
	struct serve_config cfg = {};
	struct sp_target_spec lspec;
	struct sp_address laddr;
	char msg[SERVE_ERR_MAX];
	sigset_t block, wait_mask;
	struct serve_check *c;
	json_object *f;
	size_t kept, i, total;
	int err, ret = SP_EXIT_USAGE;

	err = parse_args(argc, argv, &a);
	if (err)
		return err > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
	sp_setup_libbpf_print(sp_verbose);
	if (serve_config_load(a.config_path, &cfg, msg, sizeof(msg))) {
		sp_err("%s", msg);
		return SP_EXIT_USAGE;
	}
	if (a.web_config_path) {
		/* Bad at start: exit 2 with the file and the fault (a bad reload keeps the old). */
		a.http.web = web_server_new(a.web_config_path, log_web, NULL, msg, sizeof(msg));
		if (!a.http.web) {
			sp_err("--web.config.file %s", msg);
			goto cleanup;
		}
	}
	total = shard_checks(&a, &cfg, &s.shard);
	if (a.check_config_only) {
		struct serve_config all;
		size_t from_files;
		int failed = -ENOMEM;

		s.fsd = file_sd_new(NULL, NULL);
		if (s.fsd && file_sd_set_globs(s.fsd, &cfg, msg, sizeof(msg))) {
			sp_err("%s", msg);
			goto cleanup;
		}
		if (s.fsd)
			failed = file_sd_refresh(s.fsd, &cfg, &all, file_sd_log_stderr, NULL);
		if (failed < 0) {
			sp_err("%s: %s", a.config_path, strerror(ENOMEM));
			goto cleanup;
		}
		from_files = all.n_checks - cfg.n_checks;
		total += from_files;
		shard_filter(&s.shard, &all);
		if (!failed && cfg.n_file_sd)
			printf("%s: %zu checks (%zu from %zu file_sd files), good", a.config_path,
			       total, from_files, file_sd_n_files(s.fsd));
		else if (!failed)
			printf("%s: %zu checks, good", a.config_path, total);
		if (!failed && s.shard.count > 1)
			printf("; shard %u/%u runs %zu of them", s.shard.index, s.shard.count,
			       all.n_checks);
		if (!failed)
			printf("\n");
		serve_config_free(&all);
		ret = failed ? SP_EXIT_USAGE : SP_EXIT_OK;
		goto cleanup;
	}
	if (sp_target_parse(a.listen, 0, &lspec, msg, sizeof(msg)) ||
	    sp_target_resolve(&lspec, AF_UNSPEC, false, &laddr, 1, msg, sizeof(msg)) < 0) {
		sp_err("--listen: %s", msg);
		goto cleanup;
	}
	s.listen_loopback = sp_addr_is_loopback((const struct sockaddr *)&laddr.addr);
	if (a.pin_dir && check_pin_dir(a.pin_dir))
		goto cleanup;
	/* Bound now, while a port below 1024 is allowed; the HTTP threads start after the drop. */
	err = sp_listen_socket((const struct sockaddr *)&laddr.addr, laddr.addrlen);
	if (err == -EACCES) {
		sp_err("--listen %s: cannot serve HTTP there (%s): a port below 1024 needs "
		       "CAP_NET_BIND_SERVICE (in a unit: add it to CapabilityBoundingSet=), or "
		       "choose a port from 1024",
		       a.listen, strerror(-err));
		goto cleanup;
	} else if (err < 0) {
		sp_err("--listen %s: cannot serve HTTP there (%s): choose a free address and port",
		       a.listen, strerror(-err));
		goto cleanup;
	}
	a.http.listen_fd = err;
	if (getrandom(&s.rng, sizeof(s.rng), 0) != sizeof(s.rng) || !s.rng)
		s.rng = mono_ns() | 1;

	/* Signals: blocked everywhere (the HTTP threads inherit that), taken in the engine's wait.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(WAKE_SIGNAL, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, WAKE_SIGNAL);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGHUP);
	sigdelset(&wait_mask, WAKE_SIGNAL);

	s.sp = sp_open_engine(a.method,
			      (struct synprobe_opts){
				  .sz = sizeof(struct synprobe_opts),
				  .ifindexes = a.n_ifindexes ? a.ifindexes : NULL,
				  .n_ifindexes = a.n_ifindexes,
				  .on_result = on_result,
				  .ctx = &s,
				  .wait_sigmask = &wait_mask,
				  .force_clsact = a.force_clsact,
				  .pin_dir = a.pin_dir,
				  .threads = a.threads,
			      },
			      &s.method);
	if (!s.sp)
		goto cleanup;
	if (drop_privileges(&a, config_has_mark(&cfg)))
		goto cleanup;
	s.http = serve_http_start(&laddr.addr, laddr.addrlen, &a.http, pthread_self(), WAKE_SIGNAL);
	if (s.http)
		a.http.listen_fd = 0; /* the server's now */
	if (!s.http) {
		sp_err("--listen %s: cannot serve HTTP there (%s): choose a free address and port",
		       a.listen, strerror(errno));
		goto cleanup;
	}
	if (apply_probe_policy(&s, &cfg)) {
		sp_err("cannot set up the /probe allow list: %s", strerror(ENOMEM));
		goto cleanup;
	}
	if (check_module_methods(&s, &cfg, msg, sizeof(msg))) {
		sp_err("%s", msg);
		goto cleanup;
	}
	if (serve_http_set_modules(s.http, cfg.modules, cfg.n_modules)) {
		sp_err("cannot set up the /probe modules: %s", strerror(ENOMEM));
		goto cleanup;
	}
	if (a.has_probe_allow && cfg.has_probe_allow) {
		f = json_object_new_object();
		json_object_object_add(f, "config", json_object_new_string(a.config_path));
		log_json(LOG_WARN, "--probe-allow is given: the config's probe_allow is not used",
			 f);
	}
	if (a.has_shard && cfg.has_shard) {
		f = json_object_new_object();
		json_object_object_add(f, "config", json_object_new_string(a.config_path));
		json_object_object_add(f, "shard", shard_json(&a.shard));
		json_object_object_add(f, "config_shard", shard_json(&cfg.shard));
		log_json(LOG_WARN, "--shard is given: the config's shard is not used", f);
	}
	if (!cfg.n_checks && total) {
		f = json_object_new_object();
		json_object_object_add(f, "shard", shard_json(&s.shard));
		json_object_object_add(f, "config_checks", json_object_new_int64((int64_t)total));
		log_json(LOG_WARN, "no check of the config falls in this shard", f);
	}
	/* Four lookups at once; more wait (a check of an unresolved name beyond 4096: an error). */
	s.main_thread = pthread_self();
	s.resolver = sp_resolver_new(4, 4096, wake_main, &s.main_thread);
	if (!s.resolver) {
		sp_err("cannot start the resolver threads: %s", strerror(errno));
		goto cleanup;
	}
	/* file_sd: a bad file is logged and keeps no targets; serve starts all the same. */
	s.fsd = file_sd_new(wake_main, &s.main_thread);
	if (!s.fsd) {
		sp_err("cannot start the file_sd watcher: %s", strerror(errno));
		goto cleanup;
	}
	if (file_sd_set_globs(s.fsd, &cfg, msg, sizeof(msg))) {
		sp_err("%s", msg);
		goto cleanup;
	}
	err = apply_file_sd(&s, &cfg, &s.shard, &kept);
	if (err) {
		sp_err("cannot set up the checks: %s", strerror(-err));
		goto cleanup;
	}
	s.last_reload_ok = true;
	s.last_reload_ok_time_s = real_time_s();
	f = json_object_new_object();
	json_object_object_add(f, "config", json_object_new_string(a.config_path));
	json_object_object_add(f, "checks", json_object_new_int64((int64_t)s.n_checks));
	json_object_object_add(f, "file_sd_files",
			       json_object_new_int64((int64_t)file_sd_n_files(s.fsd)));
	json_object_object_add(f, "file_sd_failed", json_object_new_int64(s.file_sd_failed));
	json_object_object_add(f, "listen", json_object_new_string(a.listen));
	json_object_object_add(f, "method", json_object_new_string(s.method));
	json_object_object_add(f, "pin_dir", a.pin_dir ? json_object_new_string(a.pin_dir) : NULL);
	json_object_object_add(f, "probe_allow", probe_policy_json(&s, &cfg));
	json_object_object_add(
	    f, "probe_timeout_max_ms",
	    json_object_new_int64(a.http.probe_timeout_max_ms
				      ? a.http.probe_timeout_max_ms
				      : SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_DEFAULT));
	json_object_object_add(f, "shard", shard_json(&s.shard));
	json_object_object_add(f, "config_checks", json_object_new_int64((int64_t)total));
	json_object_object_add(f, "web_config",
			       a.web_config_path ? json_object_new_string(a.web_config_path) : NULL);
	json_object_object_add(f, "tls", json_object_new_boolean(a.http.web &&
								 web_server_tls(a.http.web)));
	json_object_object_add(f, "pid", json_object_new_int64(getpid()));
	log_json(LOG_INFO, "serving", f);
	s.cfg = cfg; /* the running config from now on */
	memset(&cfg, 0, sizeof(cfg));

	err = run_loop(&s);
	ret = err ? SP_EXIT_NOT_OK : SP_EXIT_OK;
	log_json(LOG_INFO, "stopping", NULL);
cleanup:
	file_sd_free(s.fsd);
	serve_http_stop(s.http);
	if (a.http.listen_fd > 0)
		close(a.http.listen_fd);
	web_server_free(a.http.web);
	/* Lookups still running are not waited for: SIGTERM does not wait for a hung resolver. */
	sp_resolver_free(s.resolver);
	synprobe_close(s.sp);
	for (i = 0; i < s.n_checks; i++)
		check_free(s.checks[i]);
	free(s.checks);
	while ((c = s.orphans)) {
		s.orphans = c->next_orphan;
		check_free(c);
	}
	serve_heap_free(&s.heap);
	serve_config_free(&cfg);
	serve_config_free(&s.cfg);
	return ret;
}
