/* opt_cbc: MIP (and LP) through COIN-OR CBC's C interface. MathProg models are translated
 * by GLPK and handed over in CPLEX LP format, with GLPK's names for the solution. */
#include <stdlib.h>
#include <string.h>

#include <Cbc_C_Interface.h>

#include "plugins/optimize/optimize.h"

typedef struct cbc_call {
    Cbc_Model *m;
    const char *path;
    opt_format format;
} cbc_call;

static int cbc_read(void *ud)
{
    cbc_call *c = ud;
    return c->format == OPT_LP ? Cbc_readLp(c->m, c->path) : Cbc_readMps(c->m, c->path);
}

/* The check in a child process: CBC's MPS reader aborts on some malformed files. */
static int cbc_check(void *ud)
{
    cbc_call c = *(cbc_call *)ud;
    c.m = Cbc_newModel();
    return cbc_read(&c) != 0 || Cbc_getNumCols(c.m) == 0;
}

static int cbc_solve(void *ud)
{
    cbc_call *c = ud;
    return Cbc_solve(c->m);
}

static void set_options(opt_job *job, Cbc_Model *m)
{
    Cbc_setLogLevel(m, 1);
    if (job->time_limit_s > 0)
        Cbc_setMaximumSeconds(m, job->time_limit_s);
    if (job->gap >= 0)
        Cbc_setAllowableFractionGap(m, job->gap);
    if (job->threads > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", job->threads);
        Cbc_setParameter(m, "threads", n);
    }
}

/* The best solution: the incumbent of the search or, for a model without integers (which
 * ends at its LP solve), the LP's optimum. NULL when there is none. */
static const double *solution_of(Cbc_Model *m)
{
    if (Cbc_bestSolution(m))
        return Cbc_bestSolution(m);
    return Cbc_getNumIntegers(m) == 0 && Cbc_isProvenOptimal(m) ? Cbc_getColSolution(m) : NULL;
}

/* The outcome, in the plugin's words; NULL when CBC gave up. */
static const char *status_of(Cbc_Model *m, int *has_solution)
{
    *has_solution = solution_of(m) != NULL;
    if (Cbc_isProvenOptimal(m))
        return "optimal";
    /* A model without integers ends at its LP solve (status -1), where a dual infeasible
     * relaxation reads as "proven infeasible" unless the primal was proven infeasible. */
    int lp_unbounded = Cbc_status(m) == -1 && Cbc_isProvenInfeasible(m) &&
                       !Cbc_isInitialSolveProvenPrimalInfeasible(m);
    if (Cbc_isContinuousUnbounded(m) || Cbc_secondaryStatus(m) == 7 || lp_unbounded)
        return "unbounded";
    if (Cbc_isProvenInfeasible(m) || Cbc_isInitialSolveProvenPrimalInfeasible(m))
        return "infeasible";
    if (Cbc_isSecondsLimitReached(m))
        return "time_limit";
    if (*has_solution && !Cbc_isAbandoned(m))
        return "feasible";
    return NULL;
}

/* The solution, named by CBC or (for a translated model) by the names given. */
static void write_solution(opt_job *job, Cbc_Model *m, char **names, int nnames)
{
    const double *x = solution_of(m);
    size_t cap = Cbc_maxNameLength(m) + 1;
    char *name = malloc(cap < 32 ? 32 : cap);
    for (int j = 0; name && j < Cbc_getNumCols(m); j++) {
        Cbc_getColName(m, j, name, cap);
        if (!name[0])
            snprintf(name, 32, "x%d", j + 1);
        opt_write_value(job, j < nnames ? names[j] : name, x[j]);
    }
    free(name);
}

/* Reads the checked model in this process and solves it. */
static int solve(opt_job *job, cbc_call *cp, opt_text *text, char **names, int nnames)
{
    cbc_call c = *cp;
    int rc = WEFT_OK;
    c.m = Cbc_newModel();
    if (opt_capture(job, cbc_read, &c, text) != 0 || Cbc_getNumCols(c.m) == 0) {
        char why[1024];
        rc = weft_fail(job->ctx, "cbc: cannot read model '%s': %s", job->model_name,
                       opt_text_diagnosis(job, text, why, sizeof why));
    } else {
        set_options(job, c.m);
        opt_capture(job, cbc_solve, &c, text);
        job->status = status_of(c.m, &job->has_solution);
        if (!job->status) {
            char why[1024];
            rc = weft_fail(job->ctx, "cbc: the search was abandoned (status %d/%d): %s",
                           Cbc_status(c.m), Cbc_secondaryStatus(c.m),
                           opt_text_diagnosis(job, text, why, sizeof why));
        } else if (job->has_solution) {
            job->objective = Cbc_getObjValue(c.m);
            write_solution(job, c.m, names, nnames);
        }
    }
    Cbc_deleteModel(c.m);
    return rc;
}

int opt_cbc_solve(opt_job *job)
{
    cbc_call c = {.m = NULL, .path = job->model, .format = job->format};
    char lp[4096], **names = NULL;
    int nnames = 0, rc = WEFT_OK;
    if (job->format == OPT_MATHPROG) {
        const char *wd = weft_info(job->ctx, "workdir");
        snprintf(lp, sizeof lp, "%s/mathprog.lp", wd ? wd : ".");
        rc = opt_glpk_mathprog_to_lp(job, lp, &names, &nnames);
        c.path = lp;
        c.format = OPT_LP;
    }
    opt_text text = {.len = 0};
    if (rc == WEFT_OK)
        rc = opt_check_in_child(job, cbc_check, &c, &text);
    if (rc == WEFT_OK)
        rc = solve(job, &c, &text, names, nnames);
    for (int i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return rc;
}
