/* Long options in either `--name value` or `--name=value` form. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <string.h>

const char *lt_cli__option(int argc, char **argv, bool *used, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] != '-' || strncmp(a + 2, name, n) != 0) continue;
        if (a[2 + n] == '=') {
            used[i] = true;
            return a + 3 + n;
        }
        if (a[2 + n] == '\0' && i + 1 < argc) {
            used[i] = used[i + 1] = true;
            return argv[i + 1];
        }
    }
    return NULL;
}

bool lt_cli__flag(int argc, char **argv, bool *used, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0) {
            used[i] = true;
            return true;
        }
    return false;
}

int lt_cli__reject_unused(int argc, char **argv, const bool *used, int first)
{
    for (int i = first; i < argc; i++)
        if (!used[i]) {
            fprintf(stderr, "lathe: unexpected argument '%s' (see `lathe help`)\n", argv[i]);
            return 2;
        }
    return 0;
}

const char *lt_cli__positional(int argc, char **argv, bool *used, int first)
{
    for (int i = first; i < argc; i++)
        if (!used[i] && argv[i][0] != '-') {
            used[i] = true;
            return argv[i];
        }
    return NULL;
}
