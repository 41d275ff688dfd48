// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_cleanup.c - `synprobe cleanup`: remove the tc filters (and the clsact qdiscs) that killed
 * synprobe runs left behind on clsact hooks, and nothing else.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include "cleanup.h"
#include "main.h"
#include "output.h"

#define IFACES_MAX 64

struct cleanup_args {
	bool dry_run;
	bool force;
	int ifindexes[IFACES_MAX];
	size_t n_ifindexes; /* 0: every interface */
};

struct cleanup_stats {
	unsigned int removed, kept, failed, unsure, qdiscs;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe cleanup [OPTIONS]\n"
		"\n"
		"Remove what killed synprobe runs left on clsact hooks: a run stopped by SIGKILL (or\n"
		"the OOM killer) on a kernel without TCX links, or with --clsact, leaves its tc filters\n"
		"and the clsact qdisc it made. A filter is synprobe's when its BPF program is (by\n"
		"name: sp_tc_*, sp_conn_*); it is a dead run's when no process holds that program.\n"
		"Only those go, and a clsact qdisc only when no filter at all is left on it. Filters\n"
		"of running synprobe processes stay. Looks at every interface of the current network\n"
		"namespace (use 'ip netns exec NS synprobe cleanup' for another one).\n"
		"\n"
		"Options:\n"
		"  -n, --dry-run          list what would be removed, remove nothing\n"
		"  -f, --force            also remove the filters of running synprobe processes\n"
		"                         (their checks then see no packet: stop them instead if you can)\n"
		"  -i, --interface IF     only IF (repeat or comma-separate)\n"
		"  -j, --json             JSON Lines: one object per filter and per qdisc, then a summary\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 when nothing of a dead run is left, 1 when something could not be\n"
		"removed or judged (not root: other processes' fds cannot be read), 2 for usage errors.\n"
		"\n"
		"Examples:\n"
		"  synprobe cleanup --dry-run\n"
		"  ip netns exec blue synprobe cleanup -i eth0\n");
}

static int parse_args(int argc, char **argv, struct cleanup_args *a)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "interface", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":nfi:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			a->dry_run = true;
			break;
		case 'f':
			a->force = true;
			break;
		case 'i':
			if (sp_parse_interfaces(optarg, a->ifindexes, &a->n_ifindexes, IFACES_MAX))
				return -EINVAL;
			break;
		case 'j':
			sp_json_output = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return sp_option_error(opt, argv, "cleanup");
		}
	}
	if (optind < argc) {
		sp_err("cleanup takes no argument ('%s'): give interfaces with -i", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
	return buf;
}

/* The command name of process @pid, or "?". */
static const char *comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	snprintf(buf, len, "?");
	f = fopen(path, "re");
	if (!f)
		return buf;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return buf;
}

static void print_json(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* One line (or JSON object) for filter @f: @action, and @note (NULL: none) after it. */
static void report_filter(const struct sp_tc_filter *f, const char *action, const char *note)
{
	const char *hook = f->hook == SP_TC_INGRESS ? "ingress" : "egress";
	char name[IF_NAMESIZE], comm[32];

	ifname(f->ifindex, name);
	if (sp_json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "object", json_object_new_string("filter"));
		json_object_object_add(obj, "interface", json_object_new_string(name));
		json_object_object_add(obj, "ifindex", json_object_new_int(f->ifindex));
		json_object_object_add(obj, "hook", json_object_new_string(hook));
		json_object_object_add(obj, "program", json_object_new_string(f->prog_name));
		json_object_object_add(obj, "prog_id", json_object_new_int64(f->prog_id));
		json_object_object_add(obj, "priority", json_object_new_int(f->priority));
		json_object_object_add(obj, "handle", json_object_new_int64(f->handle));
		json_object_object_add(obj, "held_by_pid",
				       f->holder ? json_object_new_int(f->holder) : NULL);
		json_object_object_add(obj, "held_by_comm",
				       f->holder ? json_object_new_string(comm_of(f->holder, comm, sizeof(comm))) :
						   NULL);
		json_object_object_add(obj, "action", json_object_new_string(action));
		json_object_object_add(obj, "note", note ? json_object_new_string(note) : NULL);
		print_json(obj);
	} else {
		printf("%-12s  %-10s %-7s  %-15s  prog %-6u  pref %-5u  handle 0x%x", action, name,
		       hook, f->prog_name, f->prog_id, f->priority, f->handle);
		if (f->holder)
			printf("  held by pid %d (%s)", (int)f->holder, comm_of(f->holder, comm, sizeof(comm)));
		if (note)
			printf("  (%s)", note);
		printf("\n");
	}
}

static void report_qdisc(int ifindex, const char *action, const char *note)
{
	char name[IF_NAMESIZE];

	ifname(ifindex, name);
	if (sp_json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "object", json_object_new_string("qdisc"));
		json_object_object_add(obj, "interface", json_object_new_string(name));
		json_object_object_add(obj, "ifindex", json_object_new_int(ifindex));
		json_object_object_add(obj, "qdisc", json_object_new_string("clsact"));
		json_object_object_add(obj, "action", json_object_new_string(action));
		json_object_object_add(obj, "note", note ? json_object_new_string(note) : NULL);
		print_json(obj);
	} else {
		printf("%-12s  %-10s clsact qdisc%s%s%s\n", action, name, note ? " (" : "",
		       note ? note : "", note ? ")" : "");
	}
}

static void report_summary(const struct cleanup_args *a, const struct cleanup_stats *st)
{
	if (sp_json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "summary", json_object_new_boolean(true));
		json_object_object_add(obj, "dry_run", json_object_new_boolean(a->dry_run));
		json_object_object_add(obj, "force", json_object_new_boolean(a->force));
		json_object_object_add(obj, "filters_removed", json_object_new_int(st->removed));
		json_object_object_add(obj, "filters_kept", json_object_new_int(st->kept + st->unsure));
		json_object_object_add(obj, "filters_failed", json_object_new_int(st->failed));
		json_object_object_add(obj, "qdiscs_removed", json_object_new_int(st->qdiscs));
		print_json(obj);
		return;
	}
	if (!st->removed && !st->kept && !st->unsure && !st->failed) {
		fprintf(stderr, "nothing to remove: no tc filter of synprobe's on %s\n",
		       a->n_ifindexes ? "the interfaces given" : "any interface");
		return;
	}
	fprintf(stderr, "%u filter%s %s, %u qdisc%s %s; %u kept (%u of running processes, %u not "
		"judged), %u failed\n",
		st->removed, st->removed == 1 ? "" : "s", a->dry_run ? "to remove" : "removed",
		st->qdiscs, st->qdiscs == 1 ? "" : "s", a->dry_run ? "to remove" : "removed",
		st->kept + st->unsure, st->kept, st->unsure, st->failed);
}

/* Whether filter @i of @f is on @ifindex and goes (it was, or would be, removed). */
static bool goes(const bool *gone, const struct sp_tc_filter *f, size_t i, int ifindex)
{
	return f[i].ifindex == ifindex && gone[i];
}

/*
 * The clsact qdisc of @ifindex, after its filters of ours in @f that @gone marks went: removed
 * (or, for a dry run, reported as going) when no filter at all is left on it.
 */
static int cleanup_qdisc(const struct cleanup_args *a, const struct sp_tc_filter *f,
			 const bool *gone, size_t n, int ifindex, struct cleanup_stats *st)
{
	int left, going = 0, r;
	size_t i;

	if (a->dry_run) {
		for (i = 0; i < n; i++)
			going += goes(gone, f, i, ifindex);
		r = sp_clsact_exists(ifindex);
		left = sp_clsact_filters(ifindex);
		if (r < 0 || left < 0)
			return r < 0 ? r : left;
		if (r && left == going) {
			report_qdisc(ifindex, "would remove", "no other filter on it");
			st->qdiscs++;
		}
		return 0;
	}
	r = sp_clsact_del_if_empty(ifindex);
	if (r == 1) {
		report_qdisc(ifindex, "removed", "no filter left on it");
		st->qdiscs++;
	} else if (r < 0) {
		report_qdisc(ifindex, "failed", strerror(-r));
		st->failed++;
	}
	return 0;
}

/* The filters of the interfaces asked for (all when none was), into *@f and *@n. */
static int list_filters(const struct cleanup_args *a, struct sp_tc_filter **f, size_t *n)
{
	struct sp_tc_filter *all = NULL, *one, *v;
	size_t n_all = 0, n_one, i;
	int err;

	if (!a->n_ifindexes)
		return sp_tc_filters_ours(0, f, n);
	for (i = 0; i < a->n_ifindexes; i++) {
		err = sp_tc_filters_ours(a->ifindexes[i], &one, &n_one);
		if (err) {
			free(all);
			return err;
		}
		if (n_one) {
			v = realloc(all, (n_all + n_one) * sizeof(*v));
			if (!v) {
				free(one);
				free(all);
				return -ENOMEM;
			}
			all = v;
			memcpy(all + n_all, one, n_one * sizeof(*one));
			n_all += n_one;
		}
		free(one);
	}
	*f = all;
	*n = n_all;
	return 0;
}

int do_cleanup(int argc, char **argv)
{
	struct cleanup_args a = {};
	struct cleanup_stats st = {};
	struct sp_tc_filter *f = NULL;
	const char *why = NULL;
	bool *gone = NULL;
	size_t n = 0, i, j;
	int err, holders;

	err = parse_args(argc, argv, &a);
	if (err)
		return err > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;

	err = list_filters(&a, &f, &n);
	if (err) {
		sp_err("cannot list the tc filters: %s%s", strerror(-err),
		       err == -EPERM ? ": run as root" : "");
		return SP_EXIT_USAGE;
	}
	gone = calloc(n ? n : 1, sizeof(*gone));
	if (!gone) {
		sp_err("out of memory");
		err = -ENOMEM;
		goto cleanup;
	}
	holders = sp_prog_holders(f, n);
	if (holders == -EACCES)
		why = "cannot tell whether a live process holds it: processes hide their fds from this one (a synprobe with more privileges, or /proc's hidepid), run as root";
	else if (holders == -EXDEV)
		why = "cannot tell whether a live process holds it: /proc does not show every process (a container?)";
	else if (holders)
		why = "cannot tell whether a live process holds it: /proc cannot be read";

	for (i = 0; i < n; i++) {
		if (!a.force && f[i].holder) {
			report_filter(&f[i], "kept", "a running process holds it; --force removes it");
			st.kept++;
			continue;
		}
		if (!a.force && why) {
			report_filter(&f[i], "kept", why);
			st.unsure++;
			continue;
		}
		if (a.dry_run) {
			report_filter(&f[i], "would remove", NULL);
			gone[i] = true;
			st.removed++;
			continue;
		}
		err = sp_tc_filter_del(&f[i]);
		if (err == -EPERM) {
			sp_err("removing tc filters needs CAP_NET_ADMIN: run as root");
			goto cleanup;
		}
		if (err) {
			report_filter(&f[i], "failed", strerror(-err));
			st.failed++;
			continue;
		}
		report_filter(&f[i], "removed", NULL);
		gone[i] = true;
		st.removed++;
	}
	/* Each interface a filter went from, once. */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && !(gone[j] && f[j].ifindex == f[i].ifindex); j++)
			;
		if (!gone[i] || j < i)
			continue;
		err = cleanup_qdisc(&a, f, gone, n, f[i].ifindex, &st);
		if (err) {
			sp_err("cannot read the qdiscs: %s", strerror(-err));
			goto cleanup;
		}
	}
	report_summary(&a, &st);
	err = 0;

cleanup:
	free(gone);
	free(f);
	if (err)
		return SP_EXIT_USAGE;
	return st.failed || st.unsure ? SP_EXIT_NOT_OK : SP_EXIT_OK;
}
