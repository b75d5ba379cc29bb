/*
 * simulate.h - `toolwatch simulate`: serve a synthetic audit stream.
 */
#ifndef TW_SIMULATE_H
#define TW_SIMULATE_H

/* argv[0] is "simulate".  Returns the process exit status. */
int simulate_main(int argc, char **argv);

#endif
