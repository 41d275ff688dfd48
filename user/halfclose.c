// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* halfclose.c - option parsing and the verdict of `synprobe halfclose` (see halfclose.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "halfclose.h"
#include "output.h"
#include "util.h"

#define DEFAULT_LISTEN "0.0.0.0:4000"
#define DEFAULT_SERVER "127.0.0.1:4000"
#define DEFAULT_CHUNK 1024
#define DEFAULT_BUF 1024
#define DEFAULT_SIZE (100ull << 20)
#define DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define CHUNK_MAX (16u << 20)
/* Linux's default net.ipv4.tcp_wmem maximum: what an autotuned send buffer grows to. */
#define DEFAULT_PEER_BUFFER (8ull << 20)

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int sp_parse_log_level(const char *s, int *level)
{
	int i;

	for (i = SP_LOG_DEBUG; i <= SP_LOG_ERROR; i++) {
		if (!strcasecmp(s, level_names[i])) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

int sp_parse_size_bytes(const char *s, __u64 *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))
		return -EINVAL;
	if (!v || v > (1ull << (62 - shift)))
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

const char *sp_hc_verdict_str(enum sp_hc_verdict v)
{
	switch (v) {
	case SP_HC_HONOURED:
		return "half-close honoured";
	case SP_HC_NOT_HONOURED:
		return "half-close not honoured";
	case SP_HC_INCONCLUSIVE:
		break;
	}
	return "inconclusive";
}

__u64 sp_hc_queue_bound(const struct sp_hc_figures *f)
{
	return f->peer_buffer + f->rcvbuf_bytes;
}

/* "the peer's FIN came 7.2 ms after ours", or "EOF came" when its FIN was not seen. */
static void fin_gap_str(const struct sp_hc_figures *f, char *buf, size_t len)
{
	char t[32];

	if (!f->fin_in) {
		snprintf(buf, len, "EOF came");
		return;
	}
	snprintf(buf, len, "the peer's FIN came %s after ours",
		 sp_format_ns(f->fin_in_ns - f->fin_out_ns, t, sizeof(t)));
}

enum sp_hc_verdict sp_hc_verdict(const struct sp_hc_figures *f, char *why, size_t len)
{
	char gap[64];

	if (!f->fin_out) {
		snprintf(why, len, "our FIN never went out: the peer ended first (after %llu bytes); give a shorter --write-timeout",
			 (unsigned long long)f->bytes_read);
		return SP_HC_INCONCLUSIVE;
	}
	if (f->rst_in || f->read_error == ECONNRESET) {
		snprintf(why, len, "the peer reset the connection after our FIN (%llu bytes read, %llu after our FIN)",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->bytes_after_fin);
		return SP_HC_NOT_HONOURED;
	}
	if (f->fin_in && f->fin_in_ns < f->fin_out_ns) {
		snprintf(why, len, "the peer had finished (its FIN came before ours): give a shorter --write-timeout");
		return SP_HC_INCONCLUSIVE;
	}
	if (f->read_error) {
		snprintf(why, len, "read failed: %s", strerror(f->read_error));
		return SP_HC_INCONCLUSIVE;
	}
	if (!f->eof) {
		snprintf(why, len, "no EOF before the read timeout (%llu bytes read, %llu after our FIN)",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->bytes_after_fin);
		return SP_HC_INCONCLUSIVE;
	}
	if (f->expect_bytes && f->bytes_read < f->expect_bytes) {
		snprintf(why, len, "the peer closed after our FIN with %llu of %llu bytes sent (%llu after our FIN)",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->expect_bytes,
			 (unsigned long long)f->bytes_after_fin);
		return SP_HC_NOT_HONOURED;
	}
	if (f->expect_bytes && f->bytes_read > f->expect_bytes) {
		snprintf(why, len, "%llu bytes read, more than the %llu expected: check --expect-bytes",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->expect_bytes);
		return SP_HC_INCONCLUSIVE;
	}
	if (!f->bytes_after_fin) {
		snprintf(why, len, "the peer sent nothing after our FIN and closed (%llu bytes read)",
			 (unsigned long long)f->bytes_read);
		return SP_HC_NOT_HONOURED;
	}
	if (!f->expect_bytes && f->bytes_after_fin <= sp_hc_queue_bound(f)) {
		/*
		 * A peer that closes when it reads our FIN still sends what it had queued, then
		 * its FIN: without knowing the stream's size, bytes after our FIN prove it kept
		 * writing only beyond what it can have queued.
		 */
		fin_gap_str(f, gap, sizeof(gap));
		snprintf(why, len,
			 "%s with %llu bytes in between, no more than the peer can have queued before it (%llu: --peer-buffer %llu and our receive buffer %llu): it may have closed on our FIN; give --expect-bytes, or stream longer after our FIN",
			 gap, (unsigned long long)f->bytes_after_fin,
			 (unsigned long long)sp_hc_queue_bound(f), (unsigned long long)f->peer_buffer,
			 (unsigned long long)f->rcvbuf_bytes);
		return SP_HC_INCONCLUSIVE;
	}
	if (f->expect_bytes)
		snprintf(why, len,
			 "%llu bytes read (all expected), %llu of them after our FIN, all before the peer's FIN",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->bytes_after_fin);
	else
		snprintf(why, len,
			 "%llu bytes read, %llu of them after our FIN (more than the %llu it can have queued), all before the peer's FIN",
			 (unsigned long long)f->bytes_read, (unsigned long long)f->bytes_after_fin,
			 (unsigned long long)sp_hc_queue_bound(f));
	return SP_HC_HONOURED;
}

static void server_usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe halfclose server [OPTIONS]\n"
		"\n"
		"Streams a file (or generated data) to each client that connects, one client at a time,\n"
		"and keeps sending after the client shuts down its write side: the well-behaved peer\n"
		"for 'synprobe halfclose client'.\n"
		"\n"
		"Options:\n"
		"  -l, --listen ADDR:PORT   where to listen (default %s)\n"
		"  -f, --file PATH          file to stream\n"
		"  -s, --size SIZE          without --file: stream SIZE generated bytes (default 100M);\n"
		"                           units k, M, G (binary)\n"
		"  -c, --chunk BYTES        bytes per write (default %d)\n"
		"  -r, --rate SIZE          pace the stream at SIZE bytes per second (e.g. 10M), so that\n"
		"                           it lasts long enough for the client's write timeout\n"
		"      --log-level LEVEL    debug, info, warn or error (default info)\n"
		"  -h, --help               this text\n"
		"\n"
		"Logs are JSON lines on stderr: time, level, msg and the server's fields.\n"
		"\n"
		"Examples:\n"
		"  synprobe halfclose server -f ./data -c 10\n"
		"  synprobe halfclose server --size 20M --rate 10M --listen 10.0.0.1:4000\n",
		DEFAULT_LISTEN, DEFAULT_CHUNK);
}

static void client_usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe halfclose client [OPTIONS]\n"
		"\n"
		"Connects to a server (or a proxy, a load balancer in front of one) and reads what it\n"
		"sends. After --write-timeout it shuts down its write side (shutdown(SHUT_WR): a FIN)\n"
		"and reads on until EOF. tc BPF programs stamp our FIN and the peer's, and count the\n"
		"bytes that arrive after ours. The verdict: 'half-close honoured' when the peer kept\n"
		"sending after our FIN and every byte came before its FIN, 'half-close not honoured'\n"
		"when it closed or reset on our FIN. Needs root (CAP_BPF, CAP_NET_ADMIN).\n"
		"\n"
		"Options:\n"
		"  -s, --server HOST:PORT     server to connect to (default %s)\n"
		"  -b, --buf-size BYTES       bytes per read (default %d)\n"
		"  -r, --read-timeout DUR     give up reading after DUR (default 10m)\n"
		"  -w, --write-timeout DUR    shut down the write side after DUR (default 10m);\n"
		"                             DUR takes a unit: 500ms, 2s, 1m; a bare number is seconds\n"
		"  -e, --expect-bytes SIZE    what the server streams (e.g. 20M): then 'honoured' also\n"
		"                             needs every byte, and a peer that closes on our FIN after\n"
		"                             flushing its buffers is told apart\n"
		"  -p, --peer-buffer SIZE     without --expect-bytes: the most the peer can hold unsent\n"
		"                             (default 4M, Linux's tcp_wmem maximum; raise it for a\n"
		"                             proxy with large buffers). A peer that closes on our FIN\n"
		"                             still sends that much: 'honoured' needs more after our\n"
		"                             FIN than it plus our receive buffer, else inconclusive\n"
		"      --log-level LEVEL      debug, info, warn or error (default info)\n"
		"  -j, --json                 the verdict as one JSON object on stdout\n"
		"  -h, --help                 this text\n"
		"\n"
		"Logs are JSON lines on stderr. Exit status: 0 honoured, 1 not honoured or\n"
		"inconclusive, 2 for usage or set-up errors.\n"
		"\n"
		"Examples:\n"
		"  synprobe halfclose client -s localhost:4000 -w 10s\n"
		"  synprobe halfclose client -s lb.example:443 -w 1s -e 20M --json\n",
		DEFAULT_SERVER, DEFAULT_BUF);
}

/* --log-level LEVEL of either role: one error line and -EINVAL on a bad LEVEL. */
static int parse_log_level_opt(const char *arg, int *log_level)
{
	if (sp_parse_log_level(arg, log_level)) {
		sp_err("--log-level '%s': give debug, info, warn or error", arg);
		return -EINVAL;
	}
	return 0;
}

int sp_hc_parse_server(int argc, char **argv, struct sp_hc_server_args *a)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool size_given = false;
	__u64 v;
	int opt;

	memset(a, 0, sizeof(*a));
	a->listen = DEFAULT_LISTEN;
	a->size_bytes = DEFAULT_SIZE;
	a->chunk_bytes = DEFAULT_CHUNK;
	a->log_level = SP_LOG_INFO;
	optind = 0; /* 0: glibc re-initialises getopt fully, also when called again (unit tests) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":l:f:s:c:r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			a->listen = optarg;
			break;
		case 'f':
			a->file = optarg;
			break;
		case 's':
			if (sp_parse_size_bytes(optarg, &a->size_bytes)) {
				sp_err("--size '%s': give a byte count such as 1048576, 64k, 20M or 1G",
				       optarg);
				return -EINVAL;
			}
			size_given = true;
			break;
		case 'c':
			if (sp_parse_size_bytes(optarg, &v) || v > CHUNK_MAX) {
				sp_err("--chunk '%s': give bytes per write from 1 to 16M, e.g. 1024",
				       optarg);
				return -EINVAL;
			}
			a->chunk_bytes = (__u32)v;
			break;
		case 'r':
			if (sp_parse_size_bytes(optarg, &a->rate_bytes_s)) {
				sp_err("--rate '%s': give bytes per second such as 10M", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			server_usage(stdout);
			return 1;
		case ':':
			return sp_option_error(opt, argv, "halfclose server");
		case 'L':
			if (parse_log_level_opt(optarg, &a->log_level))
				return -EINVAL;
			break;
		default:
			return sp_option_error(opt, argv, "halfclose server");
		}
	}
	if (optind < argc) {
		sp_err("unexpected argument '%s': see 'synprobe halfclose server --help'",
		       argv[optind]);
		return -EINVAL;
	}
	if (a->file && size_given) {
		sp_err("--file and --size together: --size is for generated data, give one");
		return -EINVAL;
	}
	return 0;
}

int sp_hc_parse_client(int argc, char **argv, struct sp_hc_client_args *a)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "buf-size", required_argument, NULL, 'b' },
		{ "read-timeout", required_argument, NULL, 'r' },
		{ "write-timeout", required_argument, NULL, 'w' },
		{ "expect-bytes", required_argument, NULL, 'e' },
		{ "peer-buffer", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	__u64 v;
	int opt;

	memset(a, 0, sizeof(*a));
	a->server = DEFAULT_SERVER;
	a->buf_size = DEFAULT_BUF;
	a->read_timeout_ms = DEFAULT_TIMEOUT_MS;
	a->write_timeout_ms = DEFAULT_TIMEOUT_MS;
	a->peer_buffer = DEFAULT_PEER_BUFFER;
	a->log_level = SP_LOG_INFO;
	optind = 0; /* 0: glibc re-initialises getopt fully, also when called again (unit tests) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:b:r:w:e:p:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			a->server = optarg;
			break;
		case 'b':
			if (sp_parse_size_bytes(optarg, &v) || v > CHUNK_MAX) {
				sp_err("--buf-size '%s': give bytes per read from 1 to 16M, e.g. 1024",
				       optarg);
				return -EINVAL;
			}
			a->buf_size = (__u32)v;
			break;
		case 'r':
		case 'w':
			if (sp_parse_duration_ms(optarg, opt == 'r' ? &a->read_timeout_ms :
								     &a->write_timeout_ms)) {
				sp_err("--%s-timeout '%s': give a duration such as 500ms, 10s or 1m",
				       opt == 'r' ? "read" : "write", optarg);
				return -EINVAL;
			}
			break;
		case 'e':
			if (sp_parse_size_bytes(optarg, &a->expect_bytes)) {
				sp_err("--expect-bytes '%s': give a byte count such as 20971520 or 20M",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			if (sp_parse_size_bytes(optarg, &a->peer_buffer)) {
				sp_err("--peer-buffer '%s': give a byte count such as 4M or 64M", optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			a->json = true;
			sp_json_output = true;
			break;
		case 'h':
			client_usage(stdout);
			return 1;
		case ':':
			return sp_option_error(opt, argv, "halfclose client");
		case 'L':
			if (parse_log_level_opt(optarg, &a->log_level))
				return -EINVAL;
			break;
		default:
			return sp_option_error(opt, argv, "halfclose client");
		}
	}
	if (optind < argc) {
		sp_err("unexpected argument '%s': the server is given with --server HOST:PORT",
		       argv[optind]);
		return -EINVAL;
	}
	return 0;
}

