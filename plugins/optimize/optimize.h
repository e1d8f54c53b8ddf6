/* optimize: the optimization plugin's shared pieces.
 *
 * Every solver task reads the same inputs (model, data, format, time_limit, gap, threads)
 * into an opt_job, runs its solver, and reports through the same outputs: status, objective
 * (when there is a solution) and solution (a CSV of variable,value). The solver's own log
 * goes to the task log. An infeasible or unbounded model is a result; a model the solver
 * cannot read is a fatal error quoting the solver's message. */
#ifndef WEFT_OPTIMIZE_H
#define WEFT_OPTIMIZE_H

#include <stdio.h>

#include <weft/plugin.h>

typedef enum { OPT_MATHPROG, OPT_LP, OPT_MPS, OPT_NL } opt_format;

typedef struct opt_job {
    weft_ctx *ctx;
    const char *solver;     /* "glpk", "cbc", "ipopt": prefixes messages */
    const char *model;      /* local path of the model */
    const char *model_name; /* its name as submitted ("steel.mod"), for messages */
    const char *data;       /* local path of the data file, or NULL */
    const char *data_name;
    opt_format format;
    double time_limit_s;    /* 0: none */
    double gap;             /* relative MIP gap; < 0: the solver's default */
    int threads;            /* 0: the solver's default */
    /* results */
    const char *status;     /* optimal feasible infeasible unbounded time_limit */
    int has_solution;
    double objective;
    FILE *solution;         /* the solution CSV, header written */
} opt_job;

/* Solvers: each returns WEFT_OK with job->status set (and, with a solution, the objective
 * and one opt_write_value per variable), or a failure through weft_fail. */
int opt_glpk_solve(opt_job *job);
int opt_cbc_solve(opt_job *job);
int opt_nlp_solve(opt_job *job);

/* Writes one row of the solution CSV (the name quoted when it holds a comma or quote). */
void opt_write_value(opt_job *job, const char *name, double value);

/* The text a solver printed, kept to quote in an error: a bounded tail of it, with the
 * local paths of the model and data replaced by the names they were submitted under. */
typedef struct opt_text {
    char buf[4096];
    size_t len;
} opt_text;
void opt_text_add(opt_text *t, const char *s);
/* The lines of t that look like the solver's diagnosis (those naming the model or data
 * file, or holding "error"), joined with "; ", in out. Falls back to the last line. */
const char *opt_text_diagnosis(const opt_job *job, const opt_text *t, char *out, size_t n);

/* Runs fn(ud) with the process's stdout and stderr captured (solvers that print there),
 * copying what was printed to the task log and into *text. Returns fn's result. */
int opt_capture(opt_job *job, int (*fn)(void *ud), void *ud, opt_text *text);

/* Runs read(ud) in a child process, its output captured into *text: 0 from read means the
 * model reads cleanly. Solver libraries that abort or exit on a malformed file are checked
 * this way before the executor reads the file itself. Returns WEFT_OK, or fails the task
 * with "cannot read model" and the solver's diagnosis. */
int opt_check_in_child(opt_job *job, int (*read)(void *ud), void *ud, opt_text *text);

/* GLPK's translator for MathProg, shared with CBC: writes the problem GLPK builds to path
 * in CPLEX LP format (which keeps the objective's sense, unlike free MPS) and returns its
 * columns' names in order in *names (*n of them; free each and the array), since the LP
 * format changes brackets to parentheses. */
int opt_glpk_mathprog_to_lp(opt_job *job, const char *path, char ***names, int *n);

#endif
