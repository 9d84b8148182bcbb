/* progress.h — dlc train's progress on stderr while an epoch runs. On a terminal, one line
 * rewritten in place: a bar, the images done, the epoch's running mean loss, images/s, and
 * the time left in the epoch and in the run. Off a terminal (a log, a pipe), a plain line at
 * each quarter of the epoch. */
#ifndef DLC_PROGRESS_H
#define DLC_PROGRESS_H
#include <stdbool.h>
#include <stdio.h>

typedef struct Progress {
  FILE *out;
  bool tty;
  double epoch_start;
  double eval_seconds; /* the last epoch's evaluation (0 before the first): part of what is left */
  int last_quarter;
} Progress;

/* Progress to out; a terminal if out is one. */
Progress progress_new(FILE *out);
/* Epoch `epoch` of `epochs` (1-based) has done `done` of its `total` images, whose losses sum
 * to loss_sum; done 0 starts the epoch's clock. The line is cleared when done == total. */
void progress_show(Progress *p, int epoch, int epochs, int done, int total, double loss_sum);
/* Clears a line left half drawn (an epoch that ended early: a message follows); nothing off
 * a terminal. */
void progress_clear(Progress *p);
/* "4.2 s", "3m05s", "2h10m". */
const char *progress_duration(double seconds, char *buf, size_t len);
#endif
