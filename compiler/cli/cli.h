/* cli.h — the commands: each reads its Options (options.h), runs as much of the pipeline as
 * it needs (driver/, train/) and prints what it found. */
#ifndef DLC_CLI_H
#define DLC_CLI_H
#include <stdbool.h>
#include "data.h"
#include "driver.h"
#include "options.h"
#include "outfile.h"

/* The files a command will write, checked before any work against its inputs (the .net
 * file, --resume, --load) and each other (runtime/outfile.h); false after reporting. */
bool outputs_ok(const Options *o, const DlrtNamedPath *outputs, int n_outputs);

/* The model configured for training or inference (inference_only) with o's threads. The
 * profile's counters belong to one thread. NULL after reporting. (model.c) */
Model *cli_load_model(const Options *o, bool inference_only);
/* Builds m's functions: data-parallel steps where the model allows it (then OpenBLAS keeps
 * one thread: never both, or the two oversubscribe the cores); otherwise one thread runs the
 * step and OpenBLAS may use them for large products. False after reporting. */
bool cli_build_model(Model *m, const Options *o, bool training);

int cmd_train(const Options *o);
int cmd_eval(const Options *o);
int cmd_predict(const Options *o);
int cmd_check(const Options *o);
int cmd_graph(const Options *o);
int cmd_ir(const Options *o);
int cmd_gradcheck(const Options *o);
int cmd_preview(const Options *o);
int cmd_compile(const Options *o);
int cmd_profile(const Options *o);
int cmd_export(const Options *o);
int cmd_report(const Options *o);
#endif
