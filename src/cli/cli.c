/* The `lathe` command dispatcher. */
#include "cli/cli.h"
#include "cli/cli_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LT_VERSION
#define LT_VERSION "dev"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "lathe %s: a self-hosted machine-learning platform that speaks SageMaker\n\n"
            "usage: lathe <command> [options]\n\n"
            "  server [--host H] [--port N] [--data-dir DIR] [--threads N]\n"
            "         [--region R] [--account-id ID]\n"
            "         run the server (control plane, S3 API, /ping, /metrics)\n"
            "  keys create [--description TEXT] | list | delete ACCESS_KEY_ID [--data-dir DIR]\n"
            "         manage the access keys the server accepts\n"
            "  api <Operation> [--json '{...}' | --file F] [--endpoint URL]\n"
            "         sign and send any SageMaker operation; prints the answer\n"
            "  api --list\n"
            "         the operations this build implements\n"
            "  logs JOB [--follow|-f] [--kind training|processing] [--endpoint URL]\n"
            "         print a job's logs (every host's); -f follows until the job ends\n"
            "  algo list | train NAME --train PATH --model-dir DIR [--hp K=V ...]\n"
            "       | predict --model-dir DIR --input PATH [--accept T]\n"
            "         the built-in algorithms without a server\n"
            "  train SCRIPT.py | --algorithm NAME | --image URI [--data CHANNEL=PATH]...\n"
            "        [--hp NAME=VALUE]... [--no-wait]\n"
            "         run a training job (uploads local code and data) and follow its log\n"
            "  jobs [--kind training|processing] [--status S]   list jobs\n"
            "  stop JOB [--kind training|processing]            stop a job\n"
            "  deploy --training-job JOB | --model-data S3URI (--image URI | --algorithm NAME)\n"
            "         [--name ENDPOINT] [--instance-count N]   create an endpoint, wait InService\n"
            "  predict ENDPOINT [--input FILE|-] [--content-type T] [--accept T]\n"
            "         [--variant V] [--target-model KEY]  invoke an endpoint, print the answer\n"
            "  endpoints                                        list endpoints\n"
            "  transform --model NAME --input S3URI --output S3URI [--accept T] [--split Line|None]\n"
            "         run a batch transform of a model's input prefix and wait for it\n"
            "  image push NAME[:TAG] DIR | list [--data-dir DIR]\n"
            "         register a directory (with an executable `train`) as an image\n"
            "  tune run --space SPACE.json --strategy bayesian|random|grid|hyperband --trials N\n"
            "           [--parallel P] [--seed K] [--objective-type Minimize|Maximize]\n"
            "           [--objective-regex RE] [--env] [--early-stopping Auto|Off] -- COMMAND ...\n"
            "         tune any command's hyperparameters locally (ParameterRanges JSON); prints\n"
            "         one JSON line with the best objective and hyperparameters\n"
            "  tune stdio --space SPACE.json --strategy S   the ask/tell protocol on stdin/stdout\n"
            "  tune create [--file] REQUEST.json|.yaml [--name N] | watch NAME\n"
            "         a tuning job from a CreateHyperParameterTuningJob request; watch it\n"
            "  admin interrupt JOB [--data-dir DIR]\n"
            "         simulate a spot reclaim of a running training job\n"
            "  job run KIND NAME [--data-dir DIR]\n"
            "         run one job (the server starts these; safe to repeat)\n"
            "  version\n\n"
            "The endpoint comes from --endpoint, LATHE_ENDPOINT or ~/.lathe/config; credentials\n"
            "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE or\n"
            "~/.aws/credentials (AWS_PROFILE), then ./lathe-data/credentials.\n"
            "LATHE_LOG=debug|info|warn sets how much the server logs.\n",
            LT_VERSION);
}

int lt_cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("lathe %s\n", LT_VERSION);
        return 0;
    }
    const char *level = getenv("LATHE_LOG");
    if (level && strcmp(level, "debug") == 0) lt_log_set_level(LT_LOG_DEBUG);
    else if (level && strcmp(level, "warn") == 0) lt_log_set_level(LT_LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int status;
    if (strcmp(cmd, "server") == 0) status = lt_cli__cmd_server(argc, argv);
    else if (strcmp(cmd, "keys") == 0) status = lt_cli__cmd_keys(argc, argv);
    else if (strcmp(cmd, "api") == 0) status = lt_cli__cmd_api(argc, argv);
    else if (strcmp(cmd, "algo") == 0) status = lt_cli__cmd_algo(argc, argv);
    else if (strcmp(cmd, "job") == 0) status = lt_cli__cmd_job(argc, argv);
    else if (strcmp(cmd, "admin") == 0) status = lt_cli__cmd_admin(argc, argv);
    else if (strcmp(cmd, "image") == 0) status = lt_cli__cmd_image(argc, argv);
    else if (strcmp(cmd, "logs") == 0) status = lt_cli__cmd_logs(argc, argv);
    else if (strcmp(cmd, "train") == 0) status = lt_cli__cmd_train(argc, argv);
    else if (strcmp(cmd, "jobs") == 0) status = lt_cli__cmd_jobs(argc, argv);
    else if (strcmp(cmd, "stop") == 0) status = lt_cli__cmd_stop(argc, argv);
    else if (strcmp(cmd, "deploy") == 0) status = lt_cli__cmd_deploy(argc, argv);
    else if (strcmp(cmd, "predict") == 0) status = lt_cli__cmd_predict(argc, argv);
    else if (strcmp(cmd, "endpoints") == 0) status = lt_cli__cmd_endpoints(argc, argv);
    else if (strcmp(cmd, "transform") == 0) status = lt_cli__cmd_transform(argc, argv);
    else if (strcmp(cmd, "tune") == 0) status = lt_cli__cmd_tune(argc, argv);
    else {
        fprintf(stderr, "lathe: unknown command '%s'\n\n", cmd);
        usage(stderr);
        status = 2;
    }
    curl_global_cleanup();
    return status;
}
