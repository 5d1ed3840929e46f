/* The size behind each instance type name. The figures are AWS's published sizes; a job
 * gets them as its CPU and memory limits and as SM_NUM_CPUS / SM_NUM_GPUS. */
#include "exec/exec.h"

#include <string.h>

static const lt_exec_instance_type types[] = {
    {"ml.t3.medium", 2, 4, 0},      {"ml.t3.large", 2, 8, 0},       {"ml.t3.xlarge", 4, 16, 0},
    {"ml.t3.2xlarge", 8, 32, 0},    {"ml.m4.xlarge", 4, 16, 0},     {"ml.m4.2xlarge", 8, 32, 0},
    {"ml.m4.4xlarge", 16, 64, 0},   {"ml.m4.10xlarge", 40, 160, 0}, {"ml.m4.16xlarge", 64, 256, 0},
    {"ml.m5.large", 2, 8, 0},       {"ml.m5.xlarge", 4, 16, 0},     {"ml.m5.2xlarge", 8, 32, 0},
    {"ml.m5.4xlarge", 16, 64, 0},   {"ml.m5.12xlarge", 48, 192, 0}, {"ml.m5.24xlarge", 96, 384, 0},
    {"ml.m6i.large", 2, 8, 0},      {"ml.m6i.xlarge", 4, 16, 0},    {"ml.m6i.2xlarge", 8, 32, 0},
    {"ml.c4.xlarge", 4, 7, 0},      {"ml.c4.2xlarge", 8, 15, 0},    {"ml.c5.large", 2, 4, 0},
    {"ml.c5.xlarge", 4, 8, 0},      {"ml.c5.2xlarge", 8, 16, 0},    {"ml.c5.4xlarge", 16, 32, 0},
    {"ml.c5.9xlarge", 36, 72, 0},   {"ml.c5.18xlarge", 72, 144, 0}, {"ml.r5.large", 2, 16, 0},
    {"ml.r5.xlarge", 4, 32, 0},     {"ml.r5.2xlarge", 8, 64, 0},    {"ml.r5.4xlarge", 16, 128, 0},
    {"ml.p2.xlarge", 4, 61, 1},     {"ml.p3.2xlarge", 8, 61, 1},    {"ml.p3.8xlarge", 32, 244, 4},
    {"ml.p3.16xlarge", 64, 488, 8}, {"ml.p4d.24xlarge", 96, 1152, 8},
    {"ml.g4dn.xlarge", 4, 16, 1},   {"ml.g4dn.2xlarge", 8, 32, 1},  {"ml.g4dn.12xlarge", 48, 192, 4},
    {"ml.g5.xlarge", 4, 16, 1},     {"ml.g5.2xlarge", 8, 32, 1},    {"ml.g5.12xlarge", 48, 192, 4},
};

const lt_exec_instance_type *lt_exec_instance_type_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    return NULL;
}
