/* The trial runner behind `lathe tune run`: starts COMMAND once per trial with the
 * hyperparameters as `--name value` arguments (or environment variables), at most
 * `parallel` at a time, each in its own process group with stdin from /dev/null; reads the
 * objective from its standard output as lines arrive (the first group of the objective
 * regex, else a line that is a number alone), reports each such value to the tuner as an
 * intermediate value (step 1, 2, ...) and stops the trial when the tuner says so (SIGTERM
 * to the group, SIGKILL 3 s later). The last value is the trial's objective; a trial that
 * exits non-zero or prints none has failed. On a terminal, a live table of trials. */
#include "cli/cli_internal.h"
#include "tune/tune.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pcre2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1 << 20)
#define ERR_TAIL 512
#define KILL_GRACE_NS 3000000000LL

typedef struct {
    int id;
    pid_t pid;
    int out_fd, err_fd;
    lt_buf line;  /* stdout bytes after the last newline */
    char err_tail[ERR_TAIL];
    size_t err_len;
    double value; /* the last objective value printed; NAN if none */
    int n_values;
    bool stop_sent;
    int64_t kill_at_ns;
} trial_proc;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static bool parse_number(const char *s, size_t len, double *out)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
    if (!len || len > 64) return false;
    char buf[72];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* The objective in one line of output, if any. */
static bool line_objective(const lt_cli__tune_run *run, const char *line, size_t len, double *out)
{
    if (!run->regex) return parse_number(line, len, out);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(run->regex, NULL);
    bool ok = false;
    if (pcre2_match(run->regex, (PCRE2_SPTR)line, len, 0, 0, md, NULL) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        int group = pcre2_get_ovector_count(md) > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
        ok = parse_number(line + ov[2 * group], ov[2 * group + 1] - ov[2 * group], out);
    }
    pcre2_match_data_free(md);
    return ok;
}

static int spawn(const lt_cli__tune_run *run, const double *values, trial_proc *p, lt_err *err)
{
    const lt_tune_space *space = run->space;
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC) != 0) return lt_err_set(err, LT_EIO, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return lt_err_set(err, LT_EIO, "pipe: %s", strerror(errno));
    }
    size_t n_args = (size_t)run->argc + (run->use_env ? 0 : 2 * space->n_params) + 1;
    char **args = lt_xcalloc(n_args, sizeof(char *));
    char **owned = lt_xcalloc(space->n_params * 2 + 1, sizeof(char *));
    size_t k = 0;
    for (int i = 0; i < run->argc; i++) args[k++] = run->argv[i];
    for (size_t i = 0; i < space->n_params; i++) {
        char value[128];
        lt_tune_space_format(space, i, values[i], value, sizeof value);
        owned[2 * i + 1] = lt_xstrdup(value);
        if (!run->use_env) {
            owned[2 * i] = lt_xasprintf("--%s", space->params[i].name);
            args[k++] = owned[2 * i];
            args[k++] = owned[2 * i + 1];
        }
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        if (run->use_env)
            for (size_t i = 0; i < space->n_params; i++) {
                char env_name[300];
                size_t j = 0;
                setenv(space->params[i].name, owned[2 * i + 1], 1);
                /* SageMaker script mode's SM_HP_<NAME> as well. */
                j = (size_t)snprintf(env_name, sizeof env_name, "SM_HP_");
                for (const char *c = space->params[i].name; *c && j + 1 < sizeof env_name; c++)
                    env_name[j++] = (*c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c == '-' ? '_' : *c;
                env_name[j] = '\0';
                setenv(env_name, owned[2 * i + 1], 1);
            }
        execvp(args[0], args);
        fprintf(stderr, "lathe tune: cannot run %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    int saved = errno;
    close(out[1]);
    close(errp[1]);
    for (size_t i = 0; i < space->n_params * 2; i++) free(owned[i]);
    free(owned);
    free(args);
    if (pid < 0) {
        close(out[0]);
        close(errp[0]);
        return lt_err_set(err, LT_EIO, "fork: %s", strerror(saved));
    }
    setpgid(pid, pid); /* also here, so a kill right after fork reaches the group */
    p->pid = pid;
    p->out_fd = out[0];
    p->err_fd = errp[0];
    p->value = NAN;
    lt_buf_init(&p->line, LINE_MAX_BYTES);
    return 0;
}

/* ---- the live table ------------------------------------------------------------------- */

static void table_status(const lt_cli__tune_run *run, size_t running, size_t done, bool best_known,
                         double best)
{
    if (!run->tty) return;
    printf("\r\033[K  running %zu, done %zu/%d", running, done, run->n_trials);
    if (best_known) printf(", best %.6g", best);
    fflush(stdout);
}

static void table_row(const lt_cli__tune_run *run, int id, const char *status, double value,
                      bool best_known, double best)
{
    if (!run->tty) return;
    if (run->rows == 0)
        printf("\r\033[K%6s  %-9s  %14s  %14s  %s\n", "trial", "status", "objective", "best",
               "hyperparameters");
    json_t *hp = lt_tune_space_to_json(run->space, lt_tune_trial_values(run->tune, id), false);
    char *text = lt_json_dump(hp);
    char v[32] = "-", b[32] = "-";
    if (isfinite(value)) snprintf(v, sizeof v, "%.8g", value);
    if (best_known) snprintf(b, sizeof b, "%.8g", best);
    printf("\r\033[K%6d  %-9s  %14s  %14s  %s\n", id + 1, status, v, b, text);
    free(text);
    json_decref(hp);
    ((lt_cli__tune_run *)run)->rows++;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void handle_line(lt_cli__tune_run *run, trial_proc *p, const char *line, size_t len)
{
    double v;
    if (!line_objective(run, line, len, &v)) return;
    p->value = v;
    p->n_values++;
    if (p->stop_sent || !run->intermediate) return;
    lt_err err = {0};
    if (lt_tune_report(run->tune, p->id, p->n_values, v, &err) == 0 &&
        lt_tune_should_stop(run->tune, p->id)) {
        kill(-p->pid, SIGTERM);
        p->stop_sent = true;
        p->kill_at_ns = lt_monotonic_ns() + KILL_GRACE_NS;
    }
}

/* Reads what is there; false at end of file. */
static bool drain(lt_cli__tune_run *run, trial_proc *p, bool is_err)
{
    char chunk[65536];
    ssize_t n = read(is_err ? p->err_fd : p->out_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    if (is_err) {
        /* Keep the tail for the failure message. */
        size_t keep = (size_t)n < ERR_TAIL - 1 ? (size_t)n : ERR_TAIL - 1;
        if (p->err_len + keep >= ERR_TAIL) {
            size_t drop = p->err_len + keep - (ERR_TAIL - 1);
            memmove(p->err_tail, p->err_tail + drop, p->err_len - drop);
            p->err_len -= drop;
        }
        memcpy(p->err_tail + p->err_len, chunk + n - keep, keep);
        p->err_len += keep;
        p->err_tail[p->err_len] = '\0';
        return true;
    }
    for (ssize_t i = 0, start = 0; i < n; i++) {
        if (chunk[i] != '\n') {
            if (i + 1 == n) {
                lt_err err = {0};
                if (lt_buf_append(&p->line, chunk + start, (size_t)(n - start), &err) != 0)
                    lt_buf_reset(&p->line); /* an endless line holds no objective */
            }
            continue;
        }
        lt_err err = {0};
        if (p->line.len) {
            if (lt_buf_append(&p->line, chunk + start, (size_t)(i - start), &err) == 0)
                handle_line(run, p, p->line.data, p->line.len);
            lt_buf_reset(&p->line);
        } else {
            handle_line(run, p, chunk + start, (size_t)(i - start));
        }
        start = i + 1;
    }
    return true;
}

static const char *last_line(const char *s)
{
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
    size_t start = len;
    while (start && s[start - 1] != '\n') start--;
    static __thread char buf[ERR_TAIL];
    snprintf(buf, sizeof buf, "%.*s", (int)(len - start), s + start);
    return buf;
}

static void finish(lt_cli__tune_run *run, trial_proc *p, int wstatus)
{
    if (p->line.len) handle_line(run, p, p->line.data, p->line.len);
    lt_buf_free(&p->line);
    lt_err err = {0};
    const char *status;
    bool ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    if (p->stop_sent) {
        lt_tune_tell(run->tune, p->id, LT_TUNE_STOPPED, p->value, &err);
        status = "Stopped";
    } else if (ok && isfinite(p->value)) {
        lt_tune_tell(run->tune, p->id, LT_TUNE_COMPLETED, p->value, &err);
        status = "Completed";
    } else {
        lt_tune_tell(run->tune, p->id, LT_TUNE_FAILED, NAN, &err);
        status = "Failed";
        if (run->tty) printf("\r\033[K");
        if (!ok && WIFEXITED(wstatus))
            fprintf(stderr, "lathe tune: trial %d failed: exit status %d%s%s\n", p->id + 1,
                    WEXITSTATUS(wstatus), p->err_len ? ": " : "", last_line(p->err_tail));
        else if (!ok)
            fprintf(stderr, "lathe tune: trial %d failed: killed by signal %d\n", p->id + 1,
                    WTERMSIG(wstatus));
        else
            fprintf(stderr, "lathe tune: trial %d failed: it printed no objective value\n",
                    p->id + 1);
    }
    run->done++;
    int best_id;
    double best;
    bool known = lt_tune_best(run->tune, &best_id, &best) == 0;
    table_row(run, p->id, status, p->value, known, best);
}

int lt_cli__tune_run_trials(lt_cli__tune_run *run, lt_err *err)
{
    size_t parallel = run->parallel > 0 ? (size_t)run->parallel : 1;
    trial_proc *procs = lt_xcalloc(parallel, sizeof *procs);
    struct pollfd *fds = lt_xcalloc(2 * parallel, sizeof *fds);
    size_t n_running = 0;
    int launched = 0, rc = 0;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool exhausted = false;
    while (!rc) {
        while (!interrupted && !exhausted && n_running < parallel && launched < run->n_trials) {
            int id;
            size_t got = 0;
            if ((rc = lt_tune_ask(run->tune, 1, &id, &got, err))) break;
            if (!got) { /* Grid ran out */
                exhausted = true;
                break;
            }
            trial_proc *p = &procs[n_running];
            memset(p, 0, sizeof *p);
            p->id = id;
            if ((rc = spawn(run, lt_tune_trial_values(run->tune, id), p, err))) {
                lt_tune_tell(run->tune, id, LT_TUNE_FAILED, NAN, NULL);
                break;
            }
            n_running++;
            launched++;
        }
        if (n_running == 0) break;
        int best_id;
        double best;
        bool known = lt_tune_best(run->tune, &best_id, &best) == 0;
        table_status(run, n_running, run->done, known, best);
        size_t nfds = 0;
        for (size_t i = 0; i < n_running; i++) {
            fds[nfds++] = (struct pollfd){.fd = procs[i].out_fd, .events = POLLIN};
            fds[nfds++] = (struct pollfd){.fd = procs[i].err_fd, .events = POLLIN};
        }
        int ready = poll(fds, nfds, 250);
        if (ready < 0 && errno != EINTR) {
            rc = lt_err_set(err, LT_EIO, "poll: %s", strerror(errno));
            break;
        }
        int64_t now = lt_monotonic_ns();
        for (size_t i = 0; i < n_running;) {
            trial_proc *p = &procs[i];
            bool open_out = p->out_fd >= 0, open_err = p->err_fd >= 0;
            if (ready > 0 && open_out && (fds[2 * i].revents & (POLLIN | POLLHUP | POLLERR)))
                open_out = drain(run, p, false);
            if (ready > 0 && open_err && (fds[2 * i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                open_err = drain(run, p, true);
            if (interrupted && !p->stop_sent) {
                kill(-p->pid, SIGTERM);
                p->stop_sent = true;
                p->kill_at_ns = now + KILL_GRACE_NS;
            }
            if (p->stop_sent && now > p->kill_at_ns) kill(-p->pid, SIGKILL);
            int wstatus = 0;
            if (!open_out && !open_err) {
                /* Both streams closed: the process is exiting (or detached them). */
                waitpid(p->pid, &wstatus, 0);
                if (p->out_fd >= 0) close(p->out_fd);
                if (p->err_fd >= 0) close(p->err_fd);
                p->out_fd = p->err_fd = -1;
                finish(run, p, wstatus);
                procs[i] = procs[--n_running];
                /* fds no longer match the moved slot; stop scanning this round */
                ready = 0;
                continue;
            }
            if (!open_out && p->out_fd >= 0) {
                close(p->out_fd);
                p->out_fd = -1;
            }
            if (!open_err && p->err_fd >= 0) {
                close(p->err_fd);
                p->err_fd = -1;
            }
            i++;
        }
        /* A closed stream polls as fd -1 next time, which poll ignores. */
    }
    for (size_t i = 0; i < n_running; i++) { /* only after an error */
        kill(-procs[i].pid, SIGKILL);
        waitpid(procs[i].pid, NULL, 0);
        lt_buf_free(&procs[i].line);
    }
    if (run->tty) printf("\r\033[K");
    fflush(stdout);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(fds);
    free(procs);
    run->launched = launched;
    run->interrupted = interrupted;
    return rc;
}
