/*
 * NAME
 *	milter.h - the milter protocol steps of mailauthd
 * DESCRIPTION
 *	The callbacks translate the milter protocol into engine calls and
 *	apply the engine's verdict. The daemon (main.c) installs the engine
 *	snapshot to serve with ma_milter_set_engine() before
 *	ma_mserver_run() and may swap it later (reload); sessions keep the snapshot they started
 *	with.
 */
#ifndef MAILAUTH_MILTER_H
#define MAILAUTH_MILTER_H

#include <mailauth/engine.h>

struct ma_report_store;
struct ma_mhandler;

/* ma_milter_set_report_store - DMARC history rows go there (before serving) */
void	ma_milter_set_report_store(struct ma_report_store *s);

/* ma_milter_handler - the steps for ma_mserver_run() (mproto.h) */
const struct ma_mhandler *ma_milter_handler(void);

/*
 * ma_milter_set_engine - serve new sessions with engine e (a reference is
 * taken; NULL drops the current one) and apply on_error when the engine
 * cannot decide. Thread-safe.
 */
void	ma_milter_set_engine(struct ma_engine *e, enum ma_action on_error);

/* ma_milter_set_log_json - LogFormat json: per-message lines as JSON */
void	ma_milter_set_log_json(int on);

#endif
