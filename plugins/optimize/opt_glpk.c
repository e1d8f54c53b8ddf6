/* opt_glpk: LP and MIP through GLPK, and GLPK's MathProg translator. */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <glpk.h>

#include "plugins/optimize/optimize.h"

/* GLPK's terminal output: each line to the task log, the tail kept for error messages. */
typedef struct glpk_out {
    opt_job *job;
    opt_text text;
    char line[1024];
    size_t len;
    jmp_buf fatal; /* GLPK's error hook returns here instead of aborting */
} glpk_out;

static int term_hook(void *info, const char *s)
{
    glpk_out *o = info;
    opt_text_add(&o->text, s);
    for (; *s; s++) {
        if (*s == '\n' || o->len + 1 == sizeof o->line) {
            o->line[o->len] = '\0';
            weft_log(o->job->ctx, "%s", o->line);
            o->len = 0;
        }
        if (*s != '\n')
            o->line[o->len++] = *s;
    }
    return 1; /* printed here, not on stdout */
}

static void error_hook(void *info)
{
    glpk_out *o = info;
    longjmp(o->fatal, 1);
}

static void hooks_on(glpk_out *o)
{
    glp_term_hook(term_hook, o);
    glp_error_hook(error_hook, o);
}

/* Ends a GLPK session: after an error GLPK's state is unusable until glp_free_env. */
static void hooks_off(glpk_out *o)
{
    if (o->len)
        term_hook(o, "\n");
    glp_free_env();
}

static int read_failed(opt_job *job, glpk_out *o, const char *what)
{
    char why[1024];
    return weft_fail(job->ctx, "%s: cannot read %s '%s': %s", job->solver, what,
                     what[0] == 'd' ? job->data_name : job->model_name,
                     opt_text_diagnosis(job, &o->text, why, sizeof why));
}

/* Reads the model into P (MathProg through *tran, which the caller frees). */
static int load(opt_job *job, glpk_out *o, glp_prob *P, glp_tran **tran)
{
    switch (job->format) {
    case OPT_MATHPROG:
        *tran = glp_mpl_alloc_wksp();
        if (glp_mpl_read_model(*tran, job->model, job->data != NULL) != 0)
            return read_failed(job, o, "model");
        if (job->data && glp_mpl_read_data(*tran, job->data) != 0)
            return read_failed(job, o, "data");
        if (glp_mpl_generate(*tran, NULL) != 0)
            return read_failed(job, o, "model");
        glp_mpl_build_prob(*tran, P);
        return WEFT_OK;
    case OPT_LP:
        return glp_read_lp(P, NULL, job->model) ? read_failed(job, o, "model") : WEFT_OK;
    case OPT_MPS:
        return glp_read_mps(P, GLP_MPS_FILE, NULL, job->model) ? read_failed(job, o, "model")
                                                                : WEFT_OK;
    case OPT_NL:
        break;
    }
    return weft_fail(job->ctx, "%s: cannot read .nl models", job->solver);
}

static const char *mip_status(int rc, int st)
{
    if (rc == GLP_ENOPFS || (rc == 0 && st == GLP_NOFEAS))
        return "infeasible";
    if (rc == GLP_ENODFS)
        return "unbounded";
    if (rc == GLP_ETMLIM)
        return "time_limit";
    if (rc == 0 && st == GLP_OPT)
        return "optimal";
    if ((rc == 0 || rc == GLP_EMIPGAP) && (st == GLP_FEAS || st == GLP_OPT))
        return "feasible";
    return NULL;
}

static const char *lp_status(int rc, int st)
{
    if (rc == GLP_ENOPFS || (rc == 0 && (st == GLP_NOFEAS || st == GLP_INFEAS)))
        return "infeasible";
    if (rc == GLP_ENODFS || (rc == 0 && st == GLP_UNBND))
        return "unbounded";
    if (rc == GLP_ETMLIM)
        return "time_limit";
    if (rc == 0 && st == GLP_OPT)
        return "optimal";
    if (rc == 0 && st == GLP_FEAS)
        return "feasible";
    return NULL;
}

static int solve(opt_job *job, glpk_out *o, glp_prob *P, glp_tran *tran)
{
    int mip = glp_get_num_int(P) > 0, rc, st;
    int tm_lim = job->time_limit_s > 0 ? (int)(job->time_limit_s * 1000) : 0;
    if (job->threads > 1)
        weft_log(job->ctx, "glpk: solves on one thread; threads: %d ignored", job->threads);
    if (mip) {
        glp_iocp p;
        glp_init_iocp(&p);
        p.presolve = GLP_ON;
        if (tm_lim)
            p.tm_lim = tm_lim;
        if (job->gap >= 0)
            p.mip_gap = job->gap;
        rc = glp_intopt(P, &p);
        st = glp_mip_status(P);
        job->status = mip_status(rc, st);
        job->has_solution = st == GLP_OPT || st == GLP_FEAS;
    } else {
        glp_smcp p;
        glp_init_smcp(&p);
        p.presolve = GLP_ON;
        if (tm_lim)
            p.tm_lim = tm_lim;
        rc = glp_simplex(P, &p);
        st = glp_get_status(P);
        job->status = lp_status(rc, st);
        job->has_solution = rc == 0 && (st == GLP_OPT || st == GLP_FEAS);
    }
    if (!job->status) {
        char why[1024];
        return weft_fail(job->ctx, "glpk: the solver stopped (code %d): %s", rc,
                         opt_text_diagnosis(job, &o->text, why, sizeof why));
    }
    if (!job->has_solution)
        return WEFT_OK;
    job->objective = mip ? glp_mip_obj_val(P) : glp_get_obj_val(P);
    char name[32];
    for (int j = 1; j <= glp_get_num_cols(P); j++) {
        const char *n = glp_get_col_name(P, j);
        if (!n)
            snprintf(name, sizeof name, "x%d", j);
        opt_write_value(job, n ? n : name, mip ? glp_mip_col_val(P, j) : glp_get_col_prim(P, j));
    }
    if (tran) /* the model's own printf and display statements */
        glp_mpl_postsolve(tran, P, mip ? GLP_MIP : GLP_SOL);
    return WEFT_OK;
}

/* The column names of P, in order (for a translated model). */
static void column_names(glp_prob *P, char ***names, int *n)
{
    *n = glp_get_num_cols(P);
    *names = calloc((size_t)*n + 1, sizeof **names);
    for (int j = 1; j <= *n; j++) {
        const char *name = glp_get_col_name(P, j);
        char buf[32];
        snprintf(buf, sizeof buf, "x%d", j);
        (*names)[j - 1] = strdup(name ? name : buf);
    }
}

/* Solves, or (with lp_path) translates to CPLEX LP, in one guarded GLPK session. */
static int session(opt_job *job, const char *lp_path, char ***names, int *n)
{
    glpk_out o = {.job = job};
    volatile int rc = WEFT_FAIL;
    glp_prob *volatile P = NULL;
    glp_tran *volatile tran = NULL;
    hooks_on(&o);
    if (setjmp(o.fatal) == 0) {
        P = glp_create_prob();
        glp_tran *t = NULL;
        rc = load(job, &o, P, &t);
        tran = t;
        if (rc == WEFT_OK && lp_path && glp_write_lp(P, NULL, lp_path) != 0)
            rc = weft_fail(job->ctx, "%s: cannot write the translated model", job->solver);
        else if (rc == WEFT_OK && lp_path)
            column_names(P, names, n);
        else if (rc == WEFT_OK)
            rc = solve(job, &o, P, tran);
        glp_delete_prob(P);
        if (tran)
            glp_mpl_free_wksp(tran);
    } else {
        char why[1024];
        rc = weft_fail(job->ctx, "%s: GLPK stopped on an internal error: %s", job->solver,
                       opt_text_diagnosis(job, &o.text, why, sizeof why));
    }
    hooks_off(&o); /* frees everything GLPK allocated, also after an error */
    return rc;
}

int opt_glpk_solve(opt_job *job)
{
    return session(job, NULL, NULL, NULL);
}

int opt_glpk_mathprog_to_lp(opt_job *job, const char *path, char ***names, int *n)
{
    return session(job, path, names, n);
}
