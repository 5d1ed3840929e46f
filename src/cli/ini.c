/* A reader for the AWS shared credentials and config files: `[section]` headers and
 * `key = value` lines, '#' and ';' comments. */
#include "cli/cli_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

char *lt_cli__ini_get(const char *path, const char *section, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[4096];
    bool in_section = false;
    char *found = NULL;
    while (!found && fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (*s == '#' || *s == ';' || *s == '\0') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) continue;
            *end = '\0';
            char *name = trim(s + 1);
            if (strncmp(name, "profile ", 8) == 0) name = trim(name + 8);
            in_section = strcmp(name, section) == 0;
            continue;
        }
        if (!in_section) continue;
        char *eq = strchr(s, '=');
        if (!eq) continue;
        *eq = '\0';
        if (strcmp(trim(s), key) == 0) found = lt_xstrdup(trim(eq + 1));
    }
    fclose(f);
    return found;
}
