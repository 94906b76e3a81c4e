/*
 * mta_proto.h - the MTA side of the milter protocol (version 6)
 *
 * Used by tests/bench/milter_load.c; see mta_proto.c for the
 * description. No dependencies beyond libc.
 */
#ifndef MTA_PROTO_H
#define MTA_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* actions (SMFIF_*) and protocol steps (SMFIP_*) as in libmilter mfdef.h */
#define MTA_F_ADDHDRS		0x001u
#define MTA_F_CHGBODY		0x002u
#define MTA_F_ADDRCPT		0x004u
#define MTA_F_DELRCPT		0x008u
#define MTA_F_CHGHDRS		0x010u
#define MTA_F_QUARANTINE	0x020u
#define MTA_F_CHGFROM		0x040u
#define MTA_F_ADDRCPT_PAR	0x080u
#define MTA_F_SETSYMLIST	0x100u
#define MTA_F_ALL		0x1ffu	/* what Postfix 3.7 offers */

#define MTA_P_NOCONNECT		0x000001u
#define MTA_P_NOHELO		0x000002u
#define MTA_P_NOMAIL		0x000004u
#define MTA_P_NORCPT		0x000008u
#define MTA_P_NOBODY		0x000010u
#define MTA_P_NOHDRS		0x000020u
#define MTA_P_NOEOH		0x000040u
#define MTA_P_NR_HDR		0x000080u
#define MTA_P_NOUNKNOWN		0x000100u
#define MTA_P_NODATA		0x000200u
#define MTA_P_SKIP		0x000400u
#define MTA_P_RCPT_REJ		0x000800u
#define MTA_P_NR_CONN		0x001000u
#define MTA_P_NR_HELO		0x002000u
#define MTA_P_NR_MAIL		0x004000u
#define MTA_P_NR_RCPT		0x008000u
#define MTA_P_NR_DATA		0x010000u
#define MTA_P_NR_UNKN		0x020000u
#define MTA_P_NR_EOH		0x040000u
#define MTA_P_NR_BODY		0x080000u
#define MTA_P_HDR_LEADSPC	0x100000u
#define MTA_P_ALL		0x1fffffu	/* what Postfix 3.7 offers */

#define MTA_VERSION		6
#define MTA_BODY_CHUNK		65535	/* libmilter MILTER_CHUNK_SIZE */
#define MTA_REPLY_MAX		(1024 * 1024)	/* largest packet we accept */
#define MTA_REPLY_PACKETS_MAX	10000	/* packets before a final reply */
#define MTA_ERR_MAX		160
#define MTA_TEXT_MAX		200

/* macro stages of a negotiated symbol list (SMFIM_*) */
enum mta_stage {
	MTA_M_CONNECT, MTA_M_HELO, MTA_M_ENVFROM, MTA_M_ENVRCPT,
	MTA_M_DATA, MTA_M_EOM, MTA_M_EOH, MTA_M_COUNT
};

/* what the milter answered to one step */
enum mta_final {
	MTA_R_NONE,		/* step not sent or negotiated as no-reply */
	MTA_R_CONTINUE,
	MTA_R_ACCEPT,
	MTA_R_REJECT,
	MTA_R_TEMPFAIL,
	MTA_R_DISCARD,
	MTA_R_REPLYCODE,	/* text holds "550 5.7.1 ..." */
	MTA_R_SKIP		/* body: send no more of it */
};

struct mta_reply {
	enum mta_final final;
	char	text[MTA_TEXT_MAX];	/* REPLYCODE text, capped */
	unsigned nmods;			/* modification packets before it */
	unsigned nquarantine;		/* of those, SMFIR_QUARANTINE */
	unsigned nwatch;		/* edits naming the watched field */
	unsigned nprogress;
};

struct mta_macro {
	const char *name;		/* "j", "{daemon_name}" */
	const char *value;
};

struct mta_conn;

extern struct mta_conn *mta_open(const char *spec, int timeout_s,
				 char *err, size_t errlen);
extern void mta_close(struct mta_conn **cp);
extern const char *mta_error(const struct mta_conn *c);
extern uint32_t mta_protocol(const struct mta_conn *c);
extern void mta_watch_header(struct mta_conn *c, const char *name);

extern int mta_optneg(struct mta_conn *c, uint32_t actions, uint32_t proto);
extern int mta_connect(struct mta_conn *c, const struct mta_macro *m,
		       size_t nm, const char *name, const char *addr,
		       unsigned port, struct mta_reply *r);
extern int mta_helo(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		    const char *helo, struct mta_reply *r);
extern int mta_mail(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		    const char *from, struct mta_reply *r);
extern int mta_rcpt(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		    const char *rcpt, struct mta_reply *r);
extern int mta_data(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		    struct mta_reply *r);
extern int mta_header(struct mta_conn *c, const char *name, size_t nlen,
		      const char *value, size_t vlen, struct mta_reply *r);
extern int mta_eoh(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		   struct mta_reply *r);
extern int mta_body(struct mta_conn *c, const char *p, size_t len,
		    struct mta_reply *r);
extern int mta_eom(struct mta_conn *c, const struct mta_macro *m, size_t nm,
		   struct mta_reply *r);
/* mta_flush - send the no-reply commands buffered so far (as an MTA
 * does at each SMTP stage); -1 on a write error */
extern int mta_flush(struct mta_conn *c);
extern int mta_abort(struct mta_conn *c);
extern int mta_quit(struct mta_conn *c);
/* mta_quit_nc - SMFIC_QUIT_NC: end the session, keep the connection
 * (a new CONNECT follows) */
extern int mta_quit_nc(struct mta_conn *c);
/* mta_fd - the socket, for tests writing raw bytes (mta_flush first) */
extern int mta_fd(const struct mta_conn *c);

#endif
