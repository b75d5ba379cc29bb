/*
 * run.h - `toolwatch run -c FILE`: the service.
 */
#ifndef TW_RUN_H
#define TW_RUN_H

/* argv[0] is "run".  Returns the process exit status (cli.h). */
int run_main(int argc, char **argv);

#endif
