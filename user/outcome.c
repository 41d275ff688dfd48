// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* outcome.c - the belief rules of a check, kept apart from the event loop to be unit-tested. */
#include <errno.h>
#include "outcome.h"

void sp_decide_outcome(const struct sp_observed *obs, struct synprobe_result *res)
{
	const struct sp_flow *rec = obs->rec;

	res->evidence = SYNPROBE_EVIDENCE_NONE;
	res->has_rtt = false;
	res->rtt_ns = 0;
	res->reply_ts_ns = 0;
	res->error = 0;
	res->syn_ts_ns = rec && rec->state != SP_FLOW_REGISTERED ? rec->syn_ts_ns : 0;
	res->syn_retransmits = rec ? rec->syn_retransmits : 0;

	if (rec && rec->state == SP_FLOW_REPLIED && rec->reply != SP_REPLY_NONE &&
	    rec->reply_ts_ns >= rec->syn_ts_ns && rec->reply_ts_ns <= obs->reply_by_ns) {
		res->outcome = rec->reply == SP_REPLY_RST ? SYNPROBE_CLOSED : SYNPROBE_OPEN;
		res->evidence = SYNPROBE_EVIDENCE_BPF;
		res->reply_ts_ns = rec->reply_ts_ns;
		res->rtt_ns = rec->reply_ts_ns - rec->syn_ts_ns;
		res->has_rtt = true;
	} else if (obs->connect_err) {
		res->outcome = SYNPROBE_ERROR;
		res->error = obs->connect_err;
	} else if (obs->sock_connected) {
		res->outcome = SYNPROBE_OPEN;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
	} else if (obs->sock_err == ECONNREFUSED) {
		res->outcome = SYNPROBE_CLOSED;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
	} else if (obs->sock_err) {
		res->outcome = SYNPROBE_ERROR;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
		res->error = obs->sock_err;
	} else {
		res->outcome = SYNPROBE_TIMEOUT;
	}
}
