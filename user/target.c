// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* target.c - TARGET syntax (host:port, [ipv6]:port, host with -p) and getaddrinfo(). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "target.h"
#include "util.h"

static bool is_ipv6_literal(const char *host)
{
	struct addrinfo hints = { .ai_family = AF_INET6, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	int rc;

	/* getaddrinfo() rather than inet_pton(): it also takes a zone, as in fe80::1%eth0. */
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (res)
		freeaddrinfo(res);
	return rc == 0;
}

static int port_part(const char *arg, const char *s, __u16 *port, char *err, size_t errlen)
{
	int rc = sp_parse_port(s, port);

	if (rc)
		snprintf(err, errlen, "target '%s': port '%s' is not a number from 1 to 65535", arg, s);
	return rc ? -EINVAL : 0;
}

static int target_parse(const char *arg, __u16 default_port, struct sp_target_spec *out,
			char *err, size_t errlen)
{
	const char *host = arg, *port = NULL, *colon;
	size_t host_len;

	memset(out, 0, sizeof(*out));
	if (!arg || !*arg) {
		snprintf(err, errlen, "empty target: write host:port, [ipv6]:port, or host with -p PORT");
		return -EINVAL;
	}

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close) {
			snprintf(err, errlen, "target '%s': missing ']' after the IPv6 address; write [ipv6]:port", arg);
			return -EINVAL;
		}
		host = arg + 1;
		host_len = close - host;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1]) {
			snprintf(err, errlen, "target '%s': expected ':port' after ']'; write [ipv6]:port", arg);
			return -EINVAL;
		}
		out->ipv6_literal = true;
	} else {
		colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Two or more colons: a bare IPv6 literal, with its port from -p. */
			host_len = strlen(arg);
			out->ipv6_literal = true;
		} else if (colon) {
			host_len = colon - arg;
			port = colon + 1;
		} else {
			host_len = strlen(arg);
		}
	}

	if (host_len == 0) {
		snprintf(err, errlen, "target '%s': no host before the port; write host:port", arg);
		return -EINVAL;
	}
	if (host_len >= sizeof(out->host)) {
		snprintf(err, errlen, "target '%.40s...': host name longer than %zu characters", arg,
			 sizeof(out->host) - 1);
		return -EINVAL;
	}
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';

	if (out->ipv6_literal && !is_ipv6_literal(out->host)) {
		if (arg[0] == '[')
			snprintf(err, errlen, "target '%s': '%s' is not a valid IPv6 address; write [ipv6]:port with a valid one, or host:port for a name",
				 arg, out->host);
		else
			snprintf(err, errlen, "target '%s': not a valid IPv6 address; write [ipv6]:port or host:port", arg);
		return -EINVAL;
	}

	if (port)
		return port_part(arg, port, &out->port, err, errlen);
	if (out->ipv6_literal && arg[0] != '[' && default_port == 0) {
		snprintf(err, errlen, "target '%s': no port; write [%s]:port or give -p PORT", arg, arg);
		return -EINVAL;
	}
	if (default_port == 0) {
		snprintf(err, errlen, "target '%s': no port; write %s:port or give -p PORT", arg, arg);
		return -EINVAL;
	}
	out->port = default_port;
	return 0;
}

int sp_target_parse(const char *arg, __u16 default_port, struct sp_target_spec *out, char *err,
		    size_t errlen)
{
	int rc = target_parse(arg, default_port, out, err, errlen);

	/* The message echoes @arg: one line whatever it holds ("a\nb" from a config, /probe). */
	if (rc && errlen)
		sp_one_line(err);
	return rc;
}

static bool same_address(const struct sp_address *a, const struct addrinfo *ai)
{
	return a->addrlen == ai->ai_addrlen && !memcmp(&a->addr, ai->ai_addr, ai->ai_addrlen);
}

int sp_target_resolve(const struct sp_target_spec *t, int family, bool all, struct sp_address *out,
		      size_t max, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	char port[8];
	size_t n = 0, i;
	int rc;

	snprintf(port, sizeof(port), "%u", t->port);
	if (t->ipv6_literal)
		hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc) {
		const char *fam = family == AF_INET ? "IPv4" : "IPv6";

		if (rc == EAI_ADDRFAMILY || (rc == EAI_NONAME && family != AF_UNSPEC) ||
		    (rc == EAI_NODATA && family != AF_UNSPEC) || (rc == EAI_FAMILY)) {
			snprintf(err, errlen, "target '%s': no %s address; drop -%c or use another address",
				 t->host, fam, family == AF_INET ? '4' : '6');
			return -ENOENT;
		}
		if (rc == EAI_AGAIN) {
			snprintf(err, errlen, "target '%s': the resolver failed for now (%s); try again or give an address",
				 t->host, gai_strerror(rc));
			return -EAGAIN;
		}
		snprintf(err, errlen, "target '%s': cannot resolve it (%s); check the name or give an address",
			 t->host, gai_strerror(rc));
		return -ENOENT;
	}

	for (ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		for (i = 0; i < n; i++)
			if (same_address(&out[i], ai))
				break;
		if (i < n)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].addr, ai->ai_addr, ai->ai_addrlen);
		out[n].addrlen = ai->ai_addrlen;
		n++;
		if (!all)
			break;
	}
	freeaddrinfo(res);
	if (!n) {
		snprintf(err, errlen, "target '%s': resolved to no IPv4 or IPv6 address", t->host);
		return -ENOENT;
	}
	return (int)n;
}

char *sp_address_str(const struct sockaddr_storage *addr, char *buf, size_t len, __u16 *port)
{
	socklen_t alen = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						       sizeof(struct sockaddr_in);

	if (getnameinfo((const struct sockaddr *)addr, alen, buf, len, NULL, 0, NI_NUMERICHOST))
		snprintf(buf, len, "?");
	if (port)
		*port = ntohs(addr->ss_family == AF_INET6 ?
				      ((const struct sockaddr_in6 *)addr)->sin6_port :
				      ((const struct sockaddr_in *)addr)->sin_port);
	return buf;
}
