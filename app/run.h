/*
 * run.h - `toolwatch run -c FILE`: the service.
 */
#ifndef TW_RUN_H
#define TW_RUN_H

#include <stdint.h>

/* argv[0] is "run".  Returns the process exit status (cli.h). */
int run_main(int argc, char **argv);

/* What an embedding command (the demo) may ask of the service. */
struct run_hooks {
    int64_t stop_after_ms;   /* stop cleanly after this long; 0: never */
    /* called once everything has started; status_port 0 when disabled */
    void (*started)(void *ud, unsigned status_port);
    void *ud;
};

/* Run the service with the configuration file at `path` until SIGTERM /
 * SIGINT (or hooks->stop_after_ms).  hooks may be NULL.  Returns the exit
 * status. */
int run_service(const char *path, const struct run_hooks *hooks);

#endif
