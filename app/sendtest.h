/*
 * sendtest.h - `toolwatch send-test SINK -c FILE`.
 */
#ifndef TW_SENDTEST_H
#define TW_SENDTEST_H

/* argv[0] is "send-test".  Returns the process exit status. */
int sendtest_main(int argc, char **argv);

#endif
