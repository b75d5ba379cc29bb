/*
 * demo.h - `toolwatch demo`: stream, service and a verifying receiver in
 * one process, no setup.
 */
#ifndef TW_DEMO_H
#define TW_DEMO_H

/* argv[0] is "demo".  Returns the process exit status. */
int demo_main(int argc, char **argv);

#endif
