/* One bubblewrap sandbox per host. Inside it the host's directory *is* /opt/ml (a bind
 * mount) over a read-only view of the machine, with its own PID, UTS and IPC namespaces
 * and the host name algo-<i>, and no capabilities; lathe's data directory is hidden behind
 * an empty tmpfs.
 *
 * Network: by default the hosts share the machine's network and find each other through
 * an /etc/hosts that gives every algo-<i> its own loopback address. EnableNetworkIsolation
 * gives the job a network namespace of its own with only loopback in it (owned by a small
 * holder process, joined by every host), so the hosts still reach each other and nothing
 * else: not the internet, not the lathe server.
 *
 * Limits: the instance type's vCPUs and memory become cgroup limits (v1 memory + cpu
 * controllers, or v2 memory.max / cpu.max) where this process may create cgroups; where it
 * may not, the host's log says so and the job runs unlimited. */
#include "exec/job_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- network ---------------------------------------------------------------------- */

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr = {0};
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

int lt_exec__network_prepare(lt_exec_job *job, lt_err *err)
{
    if (!json_is_true(json_object_get(job->doc, "EnableNetworkIsolation"))) {
        /* Processing jobs say it in NetworkConfig. */
        json_t *net = json_object_get(job->doc, "NetworkConfig");
        if (!json_is_true(json_object_get(net, "EnableNetworkIsolation"))) return 0;
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return lt_err_set(err, LT_EIO, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(ready[0]);
        close(ready[1]);
        return lt_err_set(err, LT_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char ok = (unshare(CLONE_NEWNET) == 0 && loopback_up() == 0) ? 1 : 0;
        if (write(ready[1], &ok, 1) != 1) _exit(1);
        if (!ok) _exit(1);
        for (;;) pause();
    }
    close(ready[1]);
    char ok = 0;
    ssize_t n;
    do n = read(ready[0], &ok, 1);
    while (n < 0 && errno == EINTR);
    close(ready[0]);
    if (n != 1 || !ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return lt_err_set(err, LT_EIO,
                          "InternalServerError: cannot make an isolated network for the job "
                          "(unshare(CLONE_NEWNET) needs root or user namespaces)");
    }
    job->netns_holder = pid;
    return 0;
}

void lt_exec__network_release(lt_exec_job *job)
{
    if (!job->netns_holder) return;
    kill(job->netns_holder, SIGKILL);
    waitpid(job->netns_holder, NULL, 0);
    job->netns_holder = 0;
}

/* ---- limits ------------------------------------------------------------------------ */

/* This process's cgroup path for a v1 controller ("memory"), or for v2 when controller
 * is NULL; new string or NULL. */
static char *own_cgroup(const char *controller)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return NULL;
    char line[1024];
    char *out = NULL;
    while (!out && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        const char *controllers = c1 + 1;
        if (controller) {
            for (char *p = (char *)controllers; p && *p;) {
                char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                if (n == strlen(controller) && strncmp(p, controller, n) == 0) {
                    out = lt_xstrdup(c2 + 1);
                    break;
                }
                p = comma ? comma + 1 : NULL;
            }
        } else if (!*controllers && strcmp(line, "0") == 0) {
            out = lt_xstrdup(c2 + 1);
        }
    }
    fclose(f);
    return out;
}

static int write_text(const char *dir, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static char *make_cgroup(const char *mount, const char *own, const char *name)
{
    char *dir = lt_xasprintf("%s%s/%s", mount, strcmp(own, "/") == 0 ? "" : own, name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Makes the cgroup `name` under this process's own with a memory limit (memory_bytes; 0:
 * none) and a CPU limit (vcpus; 0: none): dirs[0] (the v2 cgroup, or v1 memory) and dirs[1]
 * (v1 cpu) get the directories to join and later remove. Returns a message for the log
 * when a limit cannot be set, else NULL. */
static const char *cgroup_limits(const char *name, uint64_t memory_bytes, int vcpus,
                                 char *dirs[2])
{
    char mem[32], quota[32], cpu_max[64];
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)memory_bytes);
    snprintf(quota, sizeof quota, "%d", vcpus * 100000);
    snprintf(cpu_max, sizeof cpu_max, "%d 100000", vcpus * 100000);
    char *v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? own_cgroup(NULL) : NULL;
    if (v2) {
        char *dir = make_cgroup("/sys/fs/cgroup", v2, name);
        free(v2);
        if (dir && (!memory_bytes || write_text(dir, "memory.max", mem) == 0) &&
            (!vcpus || write_text(dir, "cpu.max", cpu_max) == 0)) {
            dirs[0] = dir;
            return NULL;
        }
        if (dir) rmdir(dir);
        free(dir);
        return "cgroup v2 limits could not be set: no CPU or memory limit";
    }
    char *mem_own = memory_bytes ? own_cgroup("memory") : NULL;
    char *cpu_own = vcpus ? own_cgroup("cpu") : NULL;
    char *mem_dir = mem_own ? make_cgroup("/sys/fs/cgroup/memory", mem_own, name) : NULL;
    char *cpu_dir = cpu_own ? make_cgroup("/sys/fs/cgroup/cpu", cpu_own, name) : NULL;
    free(mem_own);
    free(cpu_own);
    const char *problem = NULL;
    if (mem_dir && write_text(mem_dir, "memory.limit_in_bytes", mem) == 0) {
        dirs[0] = mem_dir;
    } else {
        if (mem_dir) rmdir(mem_dir);
        free(mem_dir);
        if (memory_bytes) problem = "no memory cgroup could be made: no memory limit";
    }
    if (cpu_dir && write_text(cpu_dir, "cpu.cfs_period_us", "100000") == 0 &&
        write_text(cpu_dir, "cpu.cfs_quota_us", quota) == 0) {
        dirs[1] = cpu_dir;
    } else {
        if (cpu_dir) rmdir(cpu_dir);
        free(cpu_dir);
        if (vcpus)
            problem = problem ? "no cgroup could be made: no CPU or memory limit"
                              : "no cpu cgroup could be made: no CPU limit";
    }
    return problem;
}

static void cgroups_remove(char *dirs[2])
{
    for (int i = 0; i < 2; i++) {
        if (!dirs[i]) continue;
        rmdir(dirs[i]);
        free(dirs[i]);
        dirs[i] = NULL;
    }
}

/* Makes the host's cgroups; returns a message for the log when limits cannot be set. */
static const char *limits_prepare(const lt_exec_job *job, lt_exec_host *h)
{
    const lt_exec_instance_type *t = job->instance;
    if (!t) return "the instance type is not in lathe's table: no CPU or memory limit";
    char *name = lt_xasprintf("lathe-%s-%s-%s", job->job_kind, job->name, h->name);
    const char *problem = cgroup_limits(name, (uint64_t)t->memory_gib << 30, t->vcpus, h->cgroups);
    free(name);
    return problem;
}

void lt_exec__host_release(lt_exec_host *h)
{
    cgroups_remove(h->cgroups);
}

/* ---- the sandbox ---------------------------------------------------------------------- */

static void push(char ***v, size_t *n, const char *s)
{
    *v = lt_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = lt_xstrdup(s);
    (*v)[*n] = NULL;
}

static char **bwrap_argv(lt_exec_job *job, const lt_exec_host *h, char **argv, const char *cwd)
{
    char **v = NULL;
    size_t n = 0;
    char *data_dir = realpath(job->data_dir, NULL);
    /* --cap-drop ALL: a job run by root is uid 0 inside but holds no capability, so it can
     * neither mount nor reach past its namespaces. */
    const char *fixed[] = {"bwrap", "--cap-drop", "ALL", "--die-with-parent", "--unshare-pid", "--unshare-uts",
                           "--unshare-ipc", "--hostname", h->name, "--ro-bind", "/", "/",
                           "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs",
                           "/opt", NULL};
    for (size_t i = 0; fixed[i]; i++) push(&v, &n, fixed[i]);
    if (data_dir) {
        push(&v, &n, "--tmpfs");
        push(&v, &n, data_dir);
    }
    push(&v, &n, "--bind");
    push(&v, &n, h->dir);
    push(&v, &n, "/opt/ml");
    push(&v, &n, "--ro-bind");
    push(&v, &n, job->hosts_file);
    push(&v, &n, "/etc/hosts");
    /* A built-in algorithm runs this very binary, wherever it lives (under /tmp, which the
     * sandbox replaces, in CI): it is bound at a fixed path. */
    if (strcmp(lt_json_str(job->image, "Type"), "algorithm") == 0) {
        push(&v, &n, "--ro-bind");
        push(&v, &n, job->lathe_bin);
        push(&v, &n, LT_EXEC__SANDBOX_LATHE);
    }
    const char *path = lt_json_str(job->image, "Path");
    if (path && strcmp(lt_json_str(job->image, "Type"), "directory") == 0) {
        push(&v, &n, "--ro-bind");
        push(&v, &n, path);
        push(&v, &n, "/opt/program");
    }
    push(&v, &n, "--chdir");
    push(&v, &n, cwd);
    push(&v, &n, "--");
    for (char **a = argv; *a; a++) push(&v, &n, *a);
    free(data_dir);
    return v;
}

/* Forks bwrap with args and env, stdout+stderr into a pipe, in its own process group,
 * optionally joining a network namespace and cgroups first. */
static int spawn_bwrap(char **args, char **env, const char *netns, char *const *cgroups,
                       bool die_with_thread, pid_t *pid_out, int *fd_out, lt_err *err)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return lt_err_set(err, LT_EIO, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return lt_err_set(err, LT_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (die_with_thread) prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        for (int i = 0; cgroups && i < 2; i++)
            if (cgroups[i]) write_text(cgroups[i], "cgroup.procs", "0");
        if (netns && netns[0]) {
            int fd = open(netns, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
                dprintf(2, "[lathe] cannot join the job's isolated network: %s\n", strerror(errno));
                _exit(127);
            }
        }
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvpe("bwrap", args, env);
        dprintf(2, "[lathe] cannot run bwrap (bubblewrap): %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    setpgid(pid, pid); /* also here, so a signal right after fork reaches the group */
    *pid_out = pid;
    *fd_out = out[0];
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    return 0;
}

int lt_exec__host_spawn(lt_exec_job *job, lt_exec_host *h, char **argv, const char *cwd,
                        lt_err *err)
{
    const char *problem = limits_prepare(job, h);
    if (problem) {
        char line[256];
        int n = snprintf(line, sizeof line, "[lathe] %s\n", problem);
        lt_exec_log_write(h->log, line, (size_t)n, lt_now_ms(), NULL, NULL, &(lt_err){0});
    }
    char **env = lt_exec__host_env(job, h);
    char **args = bwrap_argv(job, h, argv, cwd);
    char netns[64] = "";
    if (job->netns_holder) snprintf(netns, sizeof netns, "/proc/%d/ns/net", (int)job->netns_holder);
    pid_t pid = 0;
    int fd = -1;
    int rc = spawn_bwrap(args, env, netns, h->cgroups, false, &pid, &fd, err);
    if (!rc) {
        h->pid = pid;
        h->out_fd = fd;
    }
    lt_exec__strv_free(args);
    lt_exec__strv_free(env);
    return rc;
}

void lt_exec_service_limits_release(lt_exec_service_limits *limits)
{
    cgroups_remove(limits->cgroups);
    limits->problem = NULL;
}

int lt_exec_service_spawn(const lt_exec_service *svc, pid_t *pid, int *out_fd,
                          lt_exec_service_limits *limits, lt_err *err)
{
    memset(limits, 0, sizeof *limits);
    if (svc->limits_name && (svc->memory_bytes || svc->vcpus))
        limits->problem =
            cgroup_limits(svc->limits_name, svc->memory_bytes, svc->vcpus, limits->cgroups);
    char **v = NULL;
    size_t n = 0;
    const char *fixed[] = {"bwrap", "--cap-drop", "ALL", "--die-with-parent", "--unshare-pid",
                           "--unshare-uts", "--unshare-ipc", "--hostname", svc->hostname,
                           "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs",
                           "/tmp", "--tmpfs", "/opt", NULL};
    for (size_t i = 0; fixed[i]; i++) push(&v, &n, fixed[i]);
    char *data_dir = svc->data_dir ? realpath(svc->data_dir, NULL) : NULL;
    if (data_dir) {
        push(&v, &n, "--tmpfs");
        push(&v, &n, data_dir);
    }
    /* Bound after the tmpfs that hides the data directory, where the model lives. */
    if (svc->model_dir) {
        push(&v, &n, "--ro-bind");
        push(&v, &n, svc->model_dir);
        push(&v, &n, "/opt/ml/model");
    }
    if (svc->models_dir) {
        push(&v, &n, "--ro-bind");
        push(&v, &n, svc->models_dir);
        push(&v, &n, "/opt/ml/models");
    }
    push(&v, &n, "--ro-bind");
    push(&v, &n, svc->program_dir);
    push(&v, &n, "/opt/program");
    push(&v, &n, "--chdir");
    push(&v, &n, "/opt/program");
    push(&v, &n, "--");
    for (char *const *a = svc->argv; *a; a++) push(&v, &n, *a);
    free(data_dir);
    int rc = spawn_bwrap(v, (char **)svc->env, NULL, limits->cgroups, true, pid, out_fd, err);
    lt_exec__strv_free(v);
    if (rc) lt_exec_service_limits_release(limits);
    return rc;
}
