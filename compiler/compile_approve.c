/* compile_approve: a task of the scheduler's own type approve (typereg.h's TT_APPROVE).
 *
 *   approve_deploy:
 *     type: approve
 *     timeout: 24h                       # its own only: defaults' timeout is for compute
 *     with: { message: "Deploy the model with AUC ${ eval.outputs.auc }?" }
 *     outputs: { note: string }          # what `weft signal ... -i note=...` must carry
 *
 * No worker runs it, so what places, repeats or memoizes an attempt means nothing for it
 * and is refused by name; `when`, `needs`, `catch` and `timeout` apply. */

#include "compiler/compile_int.h"
#include "compiler/diag.h"

const char *const cc_worker_fields[] = {"map", "max_parallel", "min_success", "cache", "retry",
                                        "resources", "labels", "pool", "priority",
                                        "schedule_timeout", "heartbeat", "secrets", NULL};

void cc_approval(cc *c, int self, const ynode *tn)
{
    dag_task *t = &c->g->tasks[self];
    t->kind = DK_APPROVE;
    const ynode *k;
    for (size_t pos = 0; (k = cc_refused_key(tn, cc_worker_fields, &pos));)
        diag_add(c->d, k->line, k->col, "task '%s': an approval (type: approve) waits for a "
                 "person, not a worker: '%s' does not apply to it", t->name, k->text);
}
