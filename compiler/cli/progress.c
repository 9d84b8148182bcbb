/* progress.c — the progress line of dlc train; see progress.h. */
#include "progress.h"
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "dlrt.h"

Progress progress_new(FILE *out) { return (Progress){.out = out, .tty = isatty(fileno(out))}; }

const char *progress_duration(double seconds, char *buf, size_t len) {
  if (!isfinite(seconds) || seconds < 0) snprintf(buf, len, "?");
  else if (seconds < 60) snprintf(buf, len, "%.1f s", seconds);
  else if (seconds < 3600) snprintf(buf, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
  else snprintf(buf, len, "%dh%02dm", (int)(seconds / 3600), (int)fmod(seconds / 60, 60));
  return buf;
}

/* The terminal's width (80 if it does not say). */
static int columns(FILE *out) {
  struct winsize ws;
  return ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* "epoch 3/20 [######......] 30400/60000  loss 0.1060  141509 img/s  left: epoch 0.2 s, run 6.1 s",
 * the bar as wide as the terminal leaves room for (at most 30; none under 5), so the line
 * never wraps (a wrapped line cannot be rewritten in place). */
static void terminal_line(Progress *p, int epoch, int epochs, int done, int total, double loss_sum, double rate) {
  double epoch_left = (total - done) / rate, epoch_time = total / rate + p->eval_seconds;
  double run_left = epoch_left + p->eval_seconds + (epochs - epoch) * epoch_time;
  char head[32], fields[160], a[24], b[24];
  snprintf(head, sizeof head, "epoch %d/%d", epoch, epochs);
  snprintf(fields, sizeof fields, "%d/%d  loss %.4f  %.0f img/s  left: epoch %s, run %s", done, total, loss_sum / done,
           rate, progress_duration(epoch_left, a, sizeof a), progress_duration(run_left, b, sizeof b));
  enum { MAX_BAR = 30 };
  int width = columns(p->out) - (int)strlen(head) - (int)strlen(fields) - 5;
  width = width > MAX_BAR ? MAX_BAR : width;
  char bar[MAX_BAR + 4] = "";
  if (width >= 5) {
    int fill = (int)((double)width * done / total);
    bar[0] = '[';
    for (int i = 0; i < width; i++) bar[1 + i] = i < fill ? '#' : '.';
    bar[width + 1] = ']';
    bar[width + 2] = 0;
  }
  fprintf(p->out, "\r%s %s%s%s\033[K", head, bar, *bar ? " " : "", fields);
  if (done == total) fputs("\r\033[K", p->out);
}

void progress_clear(Progress *p) {
  if (p->tty) fputs("\r\033[K", p->out);
}

void progress_show(Progress *p, int epoch, int epochs, int done, int total, double loss_sum) {
  if (done == 0) { /* the epoch starts */
    p->epoch_start = dlrt_seconds();
    p->last_quarter = 0;
    return;
  }
  double el = dlrt_seconds() - p->epoch_start, rate = done / (el > 0 ? el : 1e-9);
  if (p->tty) {
    terminal_line(p, epoch, epochs, done, total, loss_sum, rate);
  } else {
    int quarter = (int)(4.0 * done / total);
    if (quarter > p->last_quarter && done < total)
      fprintf(p->out, "epoch %d/%d: %d/%d images, %.0f img/s\n", epoch, epochs, done, total, rate);
    p->last_quarter = quarter;
  }
  fflush(p->out);
}
