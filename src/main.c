/* lathe: the server, the job runner and the command line, in one binary. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return lt_cli_main(argc, argv);
}
