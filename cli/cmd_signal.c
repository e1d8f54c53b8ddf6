/* weft signal RUN TASK --approve [-i name=value]... | --reject REASON: decides an approval
 * (a task of type approve) that is waiting. The scheduler checks who may, that the task
 * waits, and types the values against what the task's outputs: declares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int request(source *s, cli_opts *o, uint64_t run)
{
    Weft__SignalRequest rq = WEFT__SIGNAL_REQUEST__INIT;
    char key[33];
    rq.run_id = run;
    rq.task = o->args[1];
    rq.approve = o->approve;
    rq.reason = (char *)(o->reject ? o->reject : "");
    rq.idempotency_key = (char *)cli_request_key(o, key);
    Weft__Param *vals;
    Weft__Param **pv = cli_wire_params(o->params, o->nparams, &vals);
    rq.values = pv;
    rq.n_values = o->nparams;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SIGNAL;
    env.signal = &rq;
    Weft__Envelope *reply = NULL;
    weft_err err = {0};
    int rc = 0;
    if (client_call_retry(source_client(s), &env, &reply, &err) < 0)
        rc = cli_exit_for(&err);
    else if (reply->reply->code != 0)
        rc = cli_refused(reply->reply);
    else
        printf("run %llu: task %s %s\n", (unsigned long long)run, rq.task,
               o->approve ? "approved" : "rejected");
    if (reply)
        weft__envelope__free_unpacked(reply, NULL);
    free(pv);
    free(vals);
    return rc;
}

int cmd_signal(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs != 2 || !o->approve == !o->reject) {
        fprintf(stderr, "weft: signal takes RUN TASK and one of --approve [-i name=value]... "
                        "or --reject REASON\n");
        return EXIT_USAGE;
    }
    if (cli_parse_run(o->args[0], &run))
        return EXIT_USAGE;
    for (size_t i = 0; i < o->nparams; i++)
        if (!o->params[i].option || strcmp(o->params[i].option, "-i") != 0) {
            fprintf(stderr, "weft: signal takes values as -i name=value, not %s\n",
                    o->params[i].option ? o->params[i].option : "-p");
            return EXIT_USAGE;
        }
    if (o->reject && o->nparams) {
        fprintf(stderr, "weft: a rejection carries no values (-i)\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    int rc = cli_open_scheduler(o, &s);
    if (!rc)
        rc = request(s, o, run);
    source_close(&s);
    return rc;
}
