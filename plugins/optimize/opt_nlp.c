/* opt_nlp: nonlinear programs through Ipopt, read from AMPL .nl files by the AMPL solver
 * library (ASL), which also evaluates the functions and their first and second
 * derivatives.
 *
 * The ASL ends the process on some malformed files instead of returning an error, so a
 * model is first read in a child process (opt_check_in_child). */
#include <stdlib.h>
#include <string.h>

#include "asl_pfgh.h"
#include <IpStdCInterface.h>

#include "plugins/optimize/optimize.h"

typedef struct nlp {
    ASL *asl;
    double sign;  /* -1 when the model maximizes: Ipopt always minimizes */
    double *cons; /* scratch, n_con values */
    double *ow;   /* the objectives' weights in the Hessian: n_obj values, only the first set */
} nlp;

/* The ASL's macros name their instance "asl". */
#define ASL_OF(ud) ASL *asl = ((nlp *)(ud))->asl

static Bool eval_f(Index n, Number *x, Bool new_x, Number *obj, UserDataPtr ud)
{
    ASL_OF(ud);
    fint ne = 0;
    (void)n, (void)new_x;
    *obj = n_obj ? ((nlp *)ud)->sign * objval(0, x, &ne) : 0.0;
    return ne == 0;
}

static Bool eval_grad_f(Index n, Number *x, Bool new_x, Number *g, UserDataPtr ud)
{
    ASL_OF(ud);
    fint ne = 0;
    (void)new_x;
    if (!n_obj) {
        memset(g, 0, (size_t)n * sizeof *g);
        return TRUE;
    }
    objgrd(0, x, g, &ne);
    for (Index i = 0; i < n; i++)
        g[i] *= ((nlp *)ud)->sign;
    return ne == 0;
}

static Bool eval_g(Index n, Number *x, Bool new_x, Index m, Number *g, UserDataPtr ud)
{
    ASL_OF(ud);
    fint ne = 0;
    (void)n, (void)new_x, (void)m;
    conval(x, g, &ne);
    return ne == 0;
}

static Bool eval_jac_g(Index n, Number *x, Bool new_x, Index m, Index nele, Index *iRow,
                       Index *jCol, Number *values, UserDataPtr ud)
{
    ASL_OF(ud);
    (void)n, (void)new_x, (void)nele;
    if (!values) {
        for (Index i = 0; i < m; i++)
            for (cgrad *cg = Cgrad[i]; cg; cg = cg->next) {
                iRow[cg->goff] = i;
                jCol[cg->goff] = (Index)cg->varno;
            }
        return TRUE;
    }
    fint ne = 0;
    jacval(x, values, &ne);
    return ne == 0;
}

/* The Hessian of the Lagrangian: the ASL gives the upper triangle by columns, which read
 * by rows is the lower triangle Ipopt wants. */
static Bool eval_h(Index n, Number *x, Bool new_x, Number obj_factor, Index m, Number *lambda,
                   Bool new_lambda, Index nele, Index *iRow, Index *jCol, Number *values,
                   UserDataPtr ud)
{
    ASL_OF(ud);
    nlp *p = ud;
    (void)new_x, (void)new_lambda, (void)nele;
    if (!values) {
        Index k = 0;
        for (Index j = 0; j < n; j++)
            for (fint i = sputinfo->hcolstarts[j]; i < sputinfo->hcolstarts[j + 1]; i++) {
                iRow[k] = j;
                jCol[k++] = (Index)sputinfo->hrownos[i];
            }
        return TRUE;
    }
    fint ne = 0;
    /* sphes works at the point of the last evaluation: evaluate at x first. */
    if (n_obj)
        objval(0, x, &ne);
    if (m && !ne)
        conval(x, p->cons, &ne);
    if (ne)
        return FALSE;
    /* With nobj -1, sphes weighs every objective by OW (the first one only is used). */
    if (n_obj)
        p->ow[0] = p->sign * obj_factor;
    sphes(values, -1, n_obj ? p->ow : NULL, m ? lambda : NULL);
    return TRUE;
}

/* ---- reading ---- */

static ASL *read_nl(const char *path, int *failed)
{
    ASL *asl = ASL_alloc(ASL_read_pfgh);
    return_nofile = 1;
    FILE *nl = jac0dim((char *)path, (fint)strlen(path)); /* the ASL does not write to it */
    *failed = nl == NULL;
    if (nl) {
        want_xpi0 = 1;
        *failed = pfgh_read_ASL(asl, nl, ASL_return_read_err | ASL_findgroups) != 0;
    }
    if (*failed)
        ASL_free(&asl);
    return asl;
}

static int check_read(void *ud)
{
    int failed;
    read_nl(ud, &failed);
    return failed;
}

/* ---- solving ---- */

static const char *status_of(enum ApplicationReturnStatus st, int *has_solution)
{
    *has_solution = st == Solve_Succeeded || st == Solved_To_Acceptable_Level ||
                    st == Feasible_Point_Found;
    switch (st) {
    case Solve_Succeeded:
        return "optimal";
    case Solved_To_Acceptable_Level:
    case Feasible_Point_Found:
        return "feasible";
    case Infeasible_Problem_Detected:
        return "infeasible";
    case Diverging_Iterates:
        return "unbounded";
    case Maximum_CpuTime_Exceeded:
        return "time_limit";
    default:
        return NULL;
    }
}

typedef struct solve_call {
    IpoptProblem problem;
    nlp *p;
    double *x, obj;
    enum ApplicationReturnStatus status;
} solve_call;

static int ipopt_solve(void *ud)
{
    solve_call *c = ud;
    c->status = IpoptSolve(c->problem, c->x, NULL, &c->obj, NULL, NULL, NULL, c->p);
    return 0;
}

/* Bounds of n items: the ASL keeps them interleaved in lu, or lower in lu and upper in u. */
static void split_bounds(const real *lu, const real *u, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++) {
        lo[i] = u ? lu[i] : lu[2 * i];
        hi[i] = u ? u[i] : lu[2 * i + 1];
    }
}

static IpoptProblem make_problem(opt_job *job, nlp *p)
{
    ASL *asl = p->asl;
    int n = n_var, m = n_con;
    double *b = malloc(sizeof *b * (size_t)(2 * n + 2 * m + 1));
    split_bounds(LUv, Uvx, n, b, b + n);
    split_bounds(LUrhs, Urhsx, m, b + 2 * n, b + 2 * n + m);
    fint nnzh = sphsetup(-1, n_obj > 0, m > 0, 1);
    IpoptProblem pr = CreateIpoptProblem(n, b, b + n, m, b + 2 * n, b + 2 * n + m, (Index)nzc,
                                         (Index)nnzh, 0, eval_f, eval_g, eval_grad_f,
                                         eval_jac_g, eval_h);
    free(b);
    if (!pr)
        return NULL;
    AddIpoptStrOption(pr, "sb", "yes");
    if (job->time_limit_s > 0)
        AddIpoptNumOption(pr, "max_cpu_time", job->time_limit_s);
    if (job->gap >= 0 || job->threads > 0)
        weft_log(job->ctx, "ipopt: gap and threads do not apply to a nonlinear solve; ignored");
    return pr;
}

static int solve(opt_job *job, nlp *p, opt_text *text)
{
    ASL *asl = p->asl;
    solve_call c = {.problem = make_problem(job, p), .p = p};
    if (!c.problem)
        return weft_fail(job->ctx, "ipopt: the model '%s' has no variables or inconsistent "
                         "sizes", job->model_name);
    c.x = calloc((size_t)n_var, sizeof *c.x);
    if (X0)
        memcpy(c.x, X0, (size_t)n_var * sizeof *c.x);
    opt_capture(job, ipopt_solve, &c, text);
    int rc = WEFT_OK;
    job->status = status_of(c.status, &job->has_solution);
    if (!job->status) {
        char why[1024];
        rc = weft_fail(job->ctx, "ipopt: the solve stopped with status %d: %s", (int)c.status,
                       opt_text_diagnosis(job, text, why, sizeof why));
    } else if (job->has_solution) {
        job->objective = p->sign * c.obj;
        for (int i = 0; i < n_var; i++)
            opt_write_value(job, var_name_ASL(asl, i), c.x[i]);
    }
    free(c.x);
    FreeIpoptProblem(c.problem);
    return rc;
}

int opt_nlp_solve(opt_job *job)
{
    opt_text text = {.len = 0};
    if (opt_check_in_child(job, check_read, (void *)job->model, &text) != WEFT_OK)
        return WEFT_FAIL;
    int failed;
    nlp p = {.asl = read_nl(job->model, &failed), .sign = 1};
    if (failed)
        return weft_fail(job->ctx, "ipopt: cannot read model '%s'", job->model_name);
    ASL *asl = p.asl;
    if (n_obj && objtype[0])
        p.sign = -1;
    p.cons = calloc((size_t)n_con + 1, sizeof *p.cons);
    p.ow = calloc((size_t)n_obj + 1, sizeof *p.ow);
    int rc = solve(job, &p, &text);
    free(p.cons);
    free(p.ow);
    ASL_free(&p.asl);
    return rc;
}
