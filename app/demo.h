/*
 * demo.h - `toolwatch demo`: stream, service and a verifying receiver in
 * one process, no setup.
 */
#ifndef TW_DEMO_H
#define TW_DEMO_H

/* The demo's stream: scenario `demo` (sim/gen.h) at this pace, which its
 * rules (demo.c) are tuned to; tests/unit/test_gen.c checks the stream
 * against them. */
#define DEMO_RATE 80          /* events per second (--rate) */
#define DEMO_PHASE_MS 8000    /* each anomaly's phase */
#define DEMO_QUIET_MS 4000    /* normal traffic before and between them */
#define DEMO_DURATION_S 120   /* one cycle, every alert resolved */

/* argv[0] is "demo".  Returns the process exit status. */
int demo_main(int argc, char **argv);

#endif
