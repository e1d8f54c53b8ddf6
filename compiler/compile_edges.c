/* compile_edges: the DAG's edges from each task's dependencies, and its topological order
 * (a cycle is reported, naming its tasks). */
#include <stdio.h>
#include <stdlib.h>

#include "common/xmem.h"
#include "compiler/compile_int.h"
#include "compiler/diag.h"

/* Fills parents from deps (already computed per task) and children from parents. */
void cc_link_edges(dag *g, int **deps, size_t *ndeps)
{
    size_t *nchild = xcalloc(g->ntasks, sizeof *nchild);
    for (size_t i = 0; i < g->ntasks; i++) {
        g->tasks[i].parents = deps[i];
        g->tasks[i].nparents = ndeps[i];
        deps[i] = NULL;
        for (size_t k = 0; k < g->tasks[i].nparents; k++)
            nchild[g->tasks[i].parents[k]]++;
    }
    for (size_t i = 0; i < g->ntasks; i++)
        g->tasks[i].children = xcalloc(nchild[i] + 1, sizeof(int));
    for (size_t i = 0; i < g->ntasks; i++)
        for (size_t k = 0; k < g->tasks[i].nparents; k++) {
            dag_task *p = &g->tasks[g->tasks[i].parents[k]];
            p->children[p->nchildren++] = (int)i;
        }
    free(nchild);
}

/* Kahn's algorithm; on a cycle, reports it by walking parents among unsorted tasks. */
void cc_order_tasks(cc *c)
{
    dag *g = c->g;
    size_t n = g->ntasks, head = 0, tail = 0;
    size_t *indeg = xcalloc(n + 1, sizeof *indeg);
    g->order = xcalloc(n + 1, sizeof *g->order);
    for (size_t i = 0; i < n; i++)
        indeg[i] = g->tasks[i].nparents;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            g->order[tail++] = (int)i;
    while (head < tail) {
        dag_task *t = &g->tasks[g->order[head++]];
        for (size_t k = 0; k < t->nchildren; k++)
            if (--indeg[t->children[k]] == 0)
                g->order[tail++] = t->children[k];
    }
    if (tail < n) {
        /* Every unsorted task has an unsorted parent: walk parents until one repeats. */
        int start = -1;
        for (size_t i = 0; i < n && start < 0; i++)
            if (indeg[i])
                start = (int)i;
        int *seen_at = xcalloc(n, sizeof *seen_at), *path = xcalloc(n + 1, sizeof *path);
        size_t len = 0;
        int cur = start;
        while (!seen_at[cur]) {
            seen_at[cur] = (int)++len;
            path[len - 1] = cur;
            const dag_task *t = &g->tasks[cur];
            int next = -1;
            for (size_t k = 0; k < t->nparents && next < 0; k++)
                if (indeg[t->parents[k]])
                    next = t->parents[k];
            cur = next;
        }
        /* path[seen_at[cur]-1 .. len-1] is the cycle, walked child -> parent. */
        char msg[900];
        size_t off = 0;
        size_t from = (size_t)seen_at[cur] - 1;
        for (size_t i = len; i-- > from && off < sizeof msg - 64;)
            off += (size_t)snprintf(msg + off, sizeof msg - off, "%s -> ", g->tasks[path[i]].name);
        snprintf(msg + off, sizeof msg - off, "%s", g->tasks[path[len - 1]].name);
        const dag_task *first = &g->tasks[path[len - 1]];
        diag_add(c->d, first->line, first->col, "dependency cycle: %s", msg);
        free(seen_at);
        free(path);
    }
    free(indeg);
}
