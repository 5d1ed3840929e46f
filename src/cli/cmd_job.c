/* `lathe job run [--data-dir DIR] KIND NAME`: the job runner process the server's executor
 * starts for each job (see exec.h); not meant to be typed, but safe to: a second runner of
 * the same job exits at once.
 * `lathe admin interrupt JOB [--data-dir DIR]`: simulates a spot reclaim of a running
 * training job on this machine. */
#include "cli/cli_internal.h"
#include "exec/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lt_cli__cmd_job(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    if (!data_dir) data_dir = LT_CLI_DEFAULT_DATA_DIR;
    const char *words[3] = {0};
    int n = 0;
    for (int i = 2; i < argc; i++)
        if (!used[i] && n < 3) {
            words[n++] = argv[i];
            used[i] = true;
        }
    int status = 2;
    if (n != 3 || strcmp(words[0], "run") != 0 || lt_cli__reject_unused(argc, argv, used, 2)) {
        fprintf(stderr, "usage: lathe job run [--data-dir DIR] training|processing|tuning|transform NAME\n");
    } else {
        lt_err err = {0};
        lt_cli__data data;
        lt_log_debug("job %s: runner started", words[2]);
        int rc = lt_cli__data_open(&data, data_dir, &err);
        if (!rc) {
            lt_log_debug("job %s: data directory open", words[2]);
            rc = strcmp(words[1], "tuning") == 0      ? lt_cli__tuning_run(&data, words[2], &err)
                 : strcmp(words[1], "transform") == 0 ? lt_cli__transform_run(&data, words[2], &err)
                     : lt_exec_job_run(data.store, data.blob, data_dir, words[1], words[2], &err);
            lt_cli__data_close(&data);
        }
        if (rc) fprintf(stderr, "lathe job run %s %s: %s\n", words[1], words[2], err.msg);
        status = rc ? 1 : 0;
    }
    free(used);
    return status;
}

int lt_cli__cmd_admin(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    if (!data_dir) data_dir = LT_CLI_DEFAULT_DATA_DIR;
    const char *kind = lt_cli__option(argc, argv, used, "kind");
    int status = 2;
    if (argc < 4 || strcmp(argv[2], "interrupt") != 0) {
        fprintf(stderr, "usage: lathe admin interrupt JOB [--kind training|processing] "
                        "[--data-dir DIR]\n");
    } else {
        used[2] = used[3] = true;
        if (!lt_cli__reject_unused(argc, argv, used, 2)) {
            lt_err err = {0};
            int rc = lt_exec_job_interrupt(data_dir, kind ? kind : "training", argv[3], &err);
            if (rc) fprintf(stderr, "lathe admin interrupt: %s\n", err.msg);
            else printf("interrupted %s: its checkpoints are being uploaded\n", argv[3]);
            status = rc ? 1 : 0;
        }
    }
    free(used);
    return status;
}
