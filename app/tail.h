/*
 * tail.h - `toolwatch tail URL`: print an audit stream's events as NDJSON.
 */
#ifndef TW_TAIL_H
#define TW_TAIL_H

#include <stdio.h>

/* argv[0] is "tail".  Returns the process exit status (cli.h). */
int tail_main(int argc, char **argv);

void tail_usage(FILE *f);

#endif
