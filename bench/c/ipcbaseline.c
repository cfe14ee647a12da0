/*
 * ipcbaseline: the C reference that ipcbench's figures are compared with.
 *
 * It does what `ipcbench run -io raw -cpus A,B` does for one cell, with the
 * same syscalls and as little else as C allows, so that the ratio
 * ipcbench/C is the cost of the harness and of Go, not of the mechanism:
 *
 *   - two processes (fork, no exec), each pinned with sched_setaffinity to
 *     its CPU: the driver (parent) to A, the peer (child) to B;
 *   - every message is S bytes and starts with ipcbench's 16-byte header
 *     (sequence number with flags in the top byte, send time), which the
 *     receiver checks, so both programs touch the same bytes;
 *   - pingpong: the driver stamps and sends S bytes, the peer reads exactly S
 *     and echoes the same S bytes; each round trip is timed with
 *     clock_gettime(CLOCK_MONOTONIC), kept in an array, and sorted for p50;
 *   - stream: the driver sends S-byte messages back to back, the last one
 *     flagged for an acknowledgement (an S-byte reply); the time runs from
 *     the first send to the acknowledgement;
 *   - a warm-up phase of the same workload runs first and is not counted;
 *   - the cell ends with a message flagged END that the peer acknowledges.
 *
 * Mechanisms, as ipcbench sets them up:
 *   pipe        two anonymous pipes, one per direction, blocking read/write
 *   msgqueue    two IPC_PRIVATE 0600 System V queues, msgsnd/msgrcv; a message
 *               above min(kernel.msgmax, kernel.msgmnb) goes in pieces of that
 *               size, each with its mtype written in place in front of it
 *   unixsocket  SOCK_STREAM on dir/sock in a private mkdtemp directory
 *   tcpsocket   127.0.0.1, ephemeral port, TCP_NODELAY on both ends
 *   fifo        two named FIFOs (mkfifo 0600) in a private mkdtemp directory,
 *               blocking read/write; opened in an agreed order (d2p, then p2d)
 *   posixmq     two POSIX queues (/ipcbaseline-PID-d2p and -p2d, 0600,
 *               O_EXCL), mq_timedsend/mq_timedreceive without a timeout,
 *               depth fs.mqueue.msg_max (less if RLIMIT_MSGQUEUE is small),
 *               message size min(S, fs.mqueue.msgsize_max); a larger message
 *               goes in pieces of msgsize_max
 *   udp         two sockets on 127.0.0.1, ephemeral ports, each connect(2)ed to
 *               the other; a message above 65507 bytes (the IPv4 UDP payload
 *               limit) goes in n equal pieces of ceil(S/n) bytes (the last one
 *               ending at S), each with an 8-byte header (message number,
 *               piece index) written in place in front of it, as ipc.SplitLossy
 *               does, and SO_RCVBUF is raised to hold a whole message (up to
 *               net.core.rmem_max). Loss is counted, not fatal, as harness/lossy.go counts it:
 *               SO_RCVTIMEO max(10 ms, 20 ns per byte); pingpong gives up on a
 *               round trip at it and drops late echoes; a stream's ack carries
 *               the peer's received and reordered counts, asked for again when
 *               lost; the end is retried and the peer lingers. The output gains
 *               "lost" and "reordered"; msgs_per_s counts delivered messages.
 *   unixgram    AF_UNIX SOCK_DGRAM on dir/driver.sock and dir/peer.sock in a
 *               private mkdtemp directory, each connect(2)ed to the other; a
 *               message above SO_SNDBUF-32 goes in datagrams of that size
 *   seqpacket   SOCK_SEQPACKET on dir/sock in a private mkdtemp directory; a
 *               message above SO_SNDBUF-32 goes in records of that size
 *
 * Every read, write, msgsnd and msgrcv retries EINTR. Queues, the socket
 * file and its directory are removed when the driver exits, also on error
 * or on SIGINT/SIGTERM/SIGHUP, and when the peer dies (which wakes a driver
 * blocked on a queue). The peer dies with the driver (PR_SET_PDEATHSIG).
 *
 * Output: one JSON object on stdout with the field names of an ipcbench
 * results.json row (mechanism, workload, size_bytes, messages, elapsed_ns,
 * rtt_ns{min,mean,p50,p90,p99,p999,max}, msgs_per_s, bytes_per_s).
 *
 * Build: gcc -O2 -Wall -o ipcbaseline ipcbaseline.c -lrt
 * Usage: ipcbaseline -m MECH -w pingpong|stream -s SIZE
 *                    [-d SECONDS | -n COUNT] [-u WARMUP_SECONDS]
 *                    [-c DRIVER_CPU,PEER_CPU] [-t TIMEOUT_SECONDS]
 *                    [-o PAYLOAD_OFFSET]
 *
 * Placement: every message buffer on both sides puts its payload exactly
 * PAYLOAD_OFFSET bytes past a page boundary (default 0, page-aligned), with
 * the headroom in front, as ipcbench -offset does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define HEADROOM 8
#define HEADER 16
#define FLAG_ACK (1ULL << 63)
#define FLAG_END (1ULL << 62)
#define SEQ_MASK ((1ULL << 56) - 1)

enum mech { PIPE, MSGQUEUE, UNIXSOCKET, TCPSOCKET, FIFO, POSIXMQ, SEQPACKET, UDP, UNIXGRAM };
static const char *mech_names[] = {"pipe", "msgqueue", "unixsocket", "tcpsocket", "fifo", "posixmq", "seqpacket",
				   "udp", "unixgram"};
#define NMECH ((int)(sizeof mech_names / sizeof *mech_names))

/* What the driver must undo at exit. Written before fork, read by handlers. */
static volatile sig_atomic_t is_driver = 1;
static volatile pid_t child_pid = -1;
static volatile int queues[2] = {-1, -1};
static char sock_dir[64], sock_path[128];
static char fifo_paths[2][128];          /* fifo: d2p, p2d */
static char mq_names[2][64];             /* posixmq: d2p, p2d */
static volatile mqd_t mq_wake = (mqd_t)-1; /* posixmq: the driver's receiving queue, non-blocking */
static char dgram_paths[2][128];         /* unixgram: the driver's and the peer's socket files */

/* unixgram: remove the socket files (async-signal-safe). */
static void remove_dgram(void)
{
	for (int i = 0; i < 2; i++) {
		if (dgram_paths[i][0]) {
			unlink(dgram_paths[i]);
			dgram_paths[i][0] = 0;
		}
	}
}

/* fifo, posixmq: remove the FIFOs and the queues (async-signal-safe). */
static void remove_reliable(void)
{
	for (int i = 0; i < 2; i++) {
		if (fifo_paths[i][0]) {
			unlink(fifo_paths[i]);
			fifo_paths[i][0] = 0;
		}
		if (mq_names[i][0]) {
			mq_unlink(mq_names[i]);
			mq_names[i][0] = 0;
		}
	}
}

static void remove_objects(void)
{
	if (!is_driver)
		return;
	for (int i = 0; i < 2; i++) {
		if (queues[i] >= 0) {
			msgctl(queues[i], IPC_RMID, NULL);
			queues[i] = -1;
		}
	}
	if (sock_path[0]) {
		unlink(sock_path);
		sock_path[0] = 0;
	}
	remove_reliable();
	remove_dgram();
	if (sock_dir[0]) {
		rmdir(sock_dir);
		sock_dir[0] = 0;
	}
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ipcbaseline%s: ", is_driver ? "" : " peer");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (is_driver) {
		if (child_pid > 0)
			kill(child_pid, SIGKILL);
		exit(1); /* atexit removes the objects */
	}
	_exit(1);
}

/* io_fail reports a failed send or receive: in the driver, a peer that
 * died explains a broken channel better than the channel's errno does. */
static void io_fail(const char *op)
{
	int err = errno;
	siginfo_t si = {0};
	if (is_driver && child_pid > 0 &&
	    waitid(P_PID, (id_t)child_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0) {
		if (si.si_code == CLD_EXITED)
			die("%s: the peer process exited with status %d", op, si.si_status);
		die("%s: the peer process was killed by signal %d", op, si.si_status);
	}
	die("%s: %s", op, strerror(err));
}

/* Signals that end the run: clean up, then exit (async-signal-safe calls only). */
static void on_fatal_signal(int sig)
{
	if (is_driver && child_pid > 0)
		kill(child_pid, SIGKILL);
	remove_objects();
	if (sig == SIGALRM) {
		static const char m[] = "ipcbaseline: timed out: the peer stopped answering\n";
		write(2, m, sizeof m - 1);
	}
	_exit(1);
}

/* The peer died: removing the queues wakes a driver blocked on one with
 * EIDRM (a pipe or socket reports the closed end by itself). A peer that
 * exited 0 has sent its last acknowledgement, which may still wait in its
 * queue for the driver: then the queues stay until the driver is done. */
static void on_child(int sig)
{
	(void)sig;
	siginfo_t si = {0};
	if (child_pid <= 0 || waitid(P_PID, (id_t)child_pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	    si.si_pid == 0 || (si.si_code == CLD_EXITED && si.si_status == 0))
		return;
	for (int i = 0; i < 2; i++)
		if (queues[i] >= 0)
			msgctl(queues[i], IPC_RMID, NULL);
	/* Unlinking a POSIX queue wakes nobody: an empty message does. */
	if (mq_wake != (mqd_t)-1)
		mq_send(mq_wake, "", 0, 0);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		die("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

/* One side's end of the channel. */
struct chan {
	enum mech mech;
	int rfd, wfd;     /* pipe and sockets */
	int sndq, rcvq;   /* msgqueue */
	size_t size;      /* message size */
	size_t piece;     /* msgqueue: most text in one kernel message;
	                     posixmq, seqpacket: most bytes in one message */
	mqd_t sndmq, rcvmq;        /* posixmq */
	unsigned char *scratch;    /* posixmq: one message of the queue's size */
	int lossy;                 /* udp: count loss (see the lossy functions) */
	size_t dg_n, dg_len;       /* udp: pieces per message and their length */
	uint32_t dg_next;          /* udp: the number of the next message sent */
};

static int dgram_send(struct chan *c, unsigned char *p);
static int dgram_recv(struct chan *c, unsigned char *p);

/* posixmq and seqpacket: each message goes as pieces of at most c->piece
 * bytes, each one kernel message received whole (a shorter one is an error). */
static int rel_send(struct chan *c, unsigned char *p)
{
	for (size_t off = 0;; off += c->piece) {
		size_t n = c->size - off < c->piece ? c->size - off : c->piece;
		int r;
		if (c->mech == POSIXMQ)
			while ((r = mq_send(c->sndmq, (const char *)p + off, n, 0)) < 0 && errno == EINTR)
				;
		else {
			ssize_t w;
			while ((w = write(c->wfd, p + off, n)) < 0 && errno == EINTR)
				;
			r = w < 0 ? -1 : 0;
		}
		if (r < 0)
			return -1;
		if (off + n >= c->size)
			return 0;
	}
}

static int rel_recv(struct chan *c, unsigned char *p)
{
	for (size_t off = 0;; off += c->piece) {
		size_t n = c->size - off < c->piece ? c->size - off : c->piece;
		ssize_t got;
		if (c->mech == POSIXMQ) {
			/* mq_receive wants a buffer of the queue's message size. */
			char *buf = n < c->piece ? (char *)c->scratch : (char *)p + off;
			while ((got = mq_receive(c->rcvmq, buf, c->piece, NULL)) < 0 && errno == EINTR)
				;
			if (got == 0) {
				errno = EPIPE; /* the wake-up: the peer died */
				return -1;
			}
			if (got > 0 && buf != (char *)p + off)
				memcpy(p + off, buf, (size_t)got < n ? (size_t)got : n);
		} else {
			while ((got = recv(c->rfd, p + off, n, MSG_TRUNC)) < 0 && errno == EINTR)
				;
			if (got == 0) {
				errno = EPIPE;
				return -1;
			}
		}
		if (got < 0)
			return -1;
		if ((size_t)got != n) {
			errno = EMSGSIZE;
			return -1;
		}
		if (off + n >= c->size)
			return 0;
	}
}

static int chan_send(struct chan *c, unsigned char *frame)
{
	unsigned char *p = frame + HEADROOM;
	if (c->mech == UDP || c->mech == UNIXGRAM)
		return dgram_send(c, p);
	if (c->mech == POSIXMQ || c->mech == SEQPACKET)
		return rel_send(c, p);
	if (c->mech != MSGQUEUE) {
		size_t left = c->size;
		while (left > 0) {
			ssize_t n = write(c->wfd, p, left);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			p += n;
			left -= (size_t)n;
		}
		return 0;
	}
	for (size_t off = 0;; off += c->piece) {
		size_t n = c->size - off < c->piece ? c->size - off : c->piece;
		unsigned char *h = p + off - sizeof(long);
		unsigned char saved[sizeof(long)];
		memcpy(saved, h, sizeof saved);
		long mtype = 1;
		memcpy(h, &mtype, sizeof mtype);
		int r;
		while ((r = msgsnd(c->sndq, h, n, 0)) < 0 && errno == EINTR)
			;
		memcpy(h, saved, sizeof saved);
		if (r < 0)
			return -1;
		if (off + n >= c->size)
			return 0;
	}
}

static int chan_recv(struct chan *c, unsigned char *frame)
{
	unsigned char *p = frame + HEADROOM;
	if (c->mech == UDP || c->mech == UNIXGRAM)
		return dgram_recv(c, p);
	if (c->mech == POSIXMQ || c->mech == SEQPACKET)
		return rel_recv(c, p);
	if (c->mech != MSGQUEUE) {
		size_t left = c->size;
		while (left > 0) {
			ssize_t n = read(c->rfd, p, left);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (n == 0) {
				errno = EPIPE;
				return -1;
			}
			p += n;
			left -= (size_t)n;
		}
		return 0;
	}
	for (size_t off = 0;; off += c->piece) {
		size_t n = c->size - off < c->piece ? c->size - off : c->piece;
		unsigned char *h = p + off - sizeof(long);
		unsigned char saved[sizeof(long)];
		memcpy(saved, h, sizeof saved);
		ssize_t got;
		while ((got = msgrcv(c->rcvq, h, n, 0, 0)) < 0 && errno == EINTR)
			;
		memcpy(h, saved, sizeof saved);
		if (got < 0)
			return -1;
		if ((size_t)got != n) {
			errno = EMSGSIZE;
			return -1;
		}
		if (off + n >= c->size)
			return 0;
	}
}

/* udp, unixgram: one datagram per piece. unixgram (reliable) cuts a message
 * into pieces of at most c->piece bytes, the last one shorter, as ipc.Split
 * does. udp cuts it into c->dg_n equal pieces of c->dg_len bytes, the last
 * one ending at the message's end, each with a header in the 8 bytes in
 * front of it (saved and put back): the message number and the piece index,
 * as ipc.SplitLossy does, so that a receiver that lost a piece drops that
 * message and starts again at the next first piece. */
#define PIECE_HEADER 8

static size_t piece_at(struct chan *c, size_t k)
{
	return k == c->dg_n - 1 ? c->size - c->dg_len : k * c->dg_len;
}

static int dgram_send(struct chan *c, unsigned char *p)
{
	if (!c->lossy) {
		for (size_t off = 0;; off += c->piece) {
			size_t n = c->size - off < c->piece ? c->size - off : c->piece;
			ssize_t w;
			while ((w = send(c->wfd, p + off, n, 0)) < 0 && errno == EINTR)
				;
			if (w < 0)
				return -1;
			if (off + n >= c->size)
				return 0;
		}
	}
	int split = c->dg_n > 1;
	uint32_t msg = c->dg_next++;
	for (size_t k = 0; k < c->dg_n; k++) {
		unsigned char *s = p + piece_at(c, k), saved[PIECE_HEADER];
		size_t len = c->dg_len;
		if (split) {
			s -= PIECE_HEADER, len += PIECE_HEADER;
			memcpy(saved, s, PIECE_HEADER);
			uint32_t idx = (uint32_t)k;
			memcpy(s, &msg, 4);
			memcpy(s + 4, &idx, 4);
		}
		ssize_t w;
		while ((w = send(c->wfd, s, len, 0)) < 0 && errno == EINTR)
			;
		if (split)
			memcpy(s, saved, PIECE_HEADER);
		if (w < 0)
			return -1;
	}
	return 0;
}

/* dgram_recv returns 0 for a message, -1 with errno set on failure, and -2
 * when SO_RCVTIMEO passed (udp: the message is lost). */
static int dgram_recv(struct chan *c, unsigned char *p)
{
	if (!c->lossy) {
		for (size_t off = 0;; off += c->piece) {
			size_t n = c->size - off < c->piece ? c->size - off : c->piece;
			ssize_t got;
			while ((got = recv(c->rfd, p + off, n, MSG_TRUNC)) < 0 && errno == EINTR)
				;
			if (got <= 0) {
				if (got == 0)
					errno = EPIPE;
				return -1;
			}
			if ((size_t)got != n) {
				errno = EMSGSIZE;
				return -1;
			}
			if (off + n >= c->size)
				return 0;
		}
	}
	int split = c->dg_n > 1;
	uint32_t msg = 0;
	for (size_t k = 0; k < c->dg_n;) {
		size_t o = piece_at(c, k);
		unsigned char *s = p + o, saved[PIECE_HEADER];
		size_t len = c->dg_len;
		if (split) {
			s -= PIECE_HEADER, len += PIECE_HEADER;
			memcpy(saved, s, PIECE_HEADER);
		}
		ssize_t got;
		while ((got = recv(c->rfd, s, len, MSG_TRUNC)) < 0 && errno == EINTR)
			;
		uint32_t m = 0, idx = 0;
		if (split) {
			memcpy(&m, s, 4);
			memcpy(&idx, s + 4, 4);
			memcpy(s, saved, PIECE_HEADER);
		}
		if (got < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
		if (got == 0) {
			errno = EPIPE;
			return -1;
		}
		if ((size_t)got != len) {
			errno = EMSGSIZE;
			return -1;
		}
		if (!split || (idx == k && (k == 0 || m == msg))) {
			msg = m;
			k++;
		} else if (idx == 0) {
			/* A first piece where piece k was expected: the message being
			 * assembled lost a piece, and this one starts the next. */
			memmove(p, p + o, c->dg_len);
			msg = m;
			k = 1;
		} else {
			k = 0; /* a piece of a message whose start was lost */
		}
	}
	return 0;
}

static void put_header(unsigned char *msg, uint64_t seq, uint64_t flags, int64_t stamp)
{
	uint64_t w = (seq & SEQ_MASK) | flags;
	memcpy(msg, &w, 8);
	memcpy(msg + 8, &stamp, 8);
}

static uint64_t get_header(const unsigned char *msg, uint64_t *flags)
{
	uint64_t w;
	memcpy(&w, msg, 8);
	*flags = w & ~SEQ_MASK;
	return w & SEQ_MASK;
}

/* The peer: receive, check order, echo (pingpong) or acknowledge what asks. */
/* Where every payload starts past a page boundary (-o), as ipcbench's
 * -offset: 0 is page-aligned. */
static long payload_offset;

/* new_frame allocates a zeroed frame of HEADROOM + size bytes whose payload
 * (frame + HEADROOM) starts exactly payload_offset bytes past a page
 * boundary, as ipcbench's ipc.NewFrame does: malloc's placement is not the
 * mechanism's, and on some CPUs the kernel's copy speed depends on it. */
static unsigned char *new_frame(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *base;
	if (posix_memalign(&base, (size_t)page, (size_t)(2 * page) + size) != 0)
		die("out of memory");
	memset(base, 0, (size_t)(2 * page) + size);
	return (unsigned char *)base + page + payload_offset - HEADROOM;
}

static void serve(struct chan *c, int echo)
{
	unsigned char *frame = new_frame(c->size);
	unsigned char *msg = frame + HEADROOM;
	uint64_t want = 0;
	if (!frame)
		die("out of memory");
	for (;;) {
		if (chan_recv(c, frame) < 0)
			io_fail("receive");
		uint64_t flags, seq = get_header(msg, &flags);
		if (seq != want)
			die("received message %llu, expected %llu", (unsigned long long)seq, (unsigned long long)want);
		want++;
		if (flags & (FLAG_ACK | FLAG_END)) {
			put_header(msg, seq, FLAG_ACK, 0);
			if (chan_send(c, frame) < 0)
				io_fail("send");
			if (flags & FLAG_END)
				return;
		} else if (echo) {
			if (chan_send(c, frame) < 0)
				io_fail("send");
		}
	}
}

struct driver {
	struct chan *c;
	unsigned char *out, *in; /* frames */
	uint64_t seq;
	int64_t *rtt;            /* one per round trip */
	size_t cap;
};

/* A phase ends after count messages, or (count 0) when the clock passes until. */
static int done(int64_t count, int64_t until, int64_t n, int64_t now)
{
	return count > 0 ? n >= count : now >= until;
}

static int64_t pingpong(struct driver *d, int64_t count, int64_t until, int record, int64_t *elapsed)
{
	unsigned char *out = d->out + HEADROOM, *in = d->in + HEADROOM;
	int64_t n = 0, start = now_ns(), t = start;
	while (!done(count, until, n, t)) {
		uint64_t seq = d->seq;
		int64_t t0 = now_ns();
		put_header(out, seq, 0, t0);
		if (chan_send(d->c, d->out) < 0)
			io_fail("send");
		if (chan_recv(d->c, d->in) < 0)
			io_fail("receive");
		t = now_ns();
		uint64_t flags;
		if (get_header(in, &flags) != seq)
			die("echo out of order");
		if (record) {
			if ((size_t)n == d->cap)
				die("more round trips than the %zu preallocated", d->cap);
			d->rtt[n] = t - t0;
		}
		d->seq++;
		n++;
	}
	*elapsed = t - start;
	return n;
}

static void await_ack(struct driver *d, uint64_t seq)
{
	if (chan_recv(d->c, d->in) < 0)
		io_fail("receive");
	uint64_t flags;
	if (get_header(d->in + HEADROOM, &flags) != seq || !(flags & FLAG_ACK))
		die("expected the acknowledgement of message %llu", (unsigned long long)seq);
}

static int64_t stream(struct driver *d, int64_t count, int64_t until, int64_t *elapsed)
{
	unsigned char *out = d->out + HEADROOM;
	int64_t n = 0, start = now_ns();
	for (;;) {
		uint64_t seq = d->seq, flags = 0;
		n++;
		if (done(count, until, n, now_ns()))
			flags = FLAG_ACK;
		put_header(out, seq, flags, 0);
		if (chan_send(d->c, d->out) < 0)
			io_fail("send");
		d->seq++;
		if (flags) {
			await_ack(d, seq);
			*elapsed = now_ns() - start;
			return n;
		}
	}
}

/* udp: loss is counted, not fatal, as harness/lossy.go counts it. */
#define FLAG_CTL (1ULL << 61) /* a control message: ask again for an acknowledgement */
#define COUNT_BITS 40
#define LINGER_TIMEOUTS 5

static int64_t pack_counts(int64_t received, int64_t reordered)
{
	int64_t maxr = (1LL << (63 - COUNT_BITS)) - 1;
	return (received & ((1LL << COUNT_BITS) - 1)) | (reordered < maxr ? reordered : maxr) << COUNT_BITS;
}

/* The receive deadline of a lossy Recv: max(10 ms, 20 ns per byte). */
static int64_t recv_timeout_ns(size_t size)
{
	int64_t t = 20 * (int64_t)size;
	return t > 10000000 ? t : 10000000;
}

static struct {
	int64_t lost, reordered;                    /* this phase */
	int64_t acked_received, acked_reordered;    /* in the last acknowledgement */
	int64_t patience_ns;                        /* -t */
} loss;

/* The peer over a lossy channel: late messages are counted and gaps skipped;
 * acknowledgements carry the counts; after the end it stays to answer again. */
static void serve_lossy(struct chan *c, int echo)
{
	unsigned char *frame = calloc(1, HEADROOM + c->size);
	unsigned char *msg = frame + HEADROOM;
	uint64_t want = 0;
	int64_t received = 0, reordered = 0;
	int ending = 0, quiet = 0;
	if (!frame)
		die("out of memory");
	for (;;) {
		int r = chan_recv(c, frame);
		if (r == -2) {
			if (ending && ++quiet >= LINGER_TIMEOUTS)
				return;
			continue;
		}
		if (r < 0) {
			if (ending)
				return;
			io_fail("receive");
		}
		quiet = 0;
		uint64_t flags, seq = get_header(msg, &flags);
		int data = !(flags & (FLAG_END | FLAG_CTL));
		if (seq == want)
			want++;
		else if (seq < want)
			reordered += data;
		else
			want = seq + 1;
		if (!data || (flags & FLAG_ACK)) {
			received += data;
			put_header(msg, seq, FLAG_ACK, pack_counts(received, reordered));
			if (chan_send(c, frame) < 0)
				io_fail("send");
			if (flags & FLAG_END)
				ending = 1;
			continue;
		}
		received++;
		if (echo && chan_send(c, frame) < 0)
			io_fail("send");
	}
}

/* Wait for the acknowledgement of any message from first on; after each
 * receive deadline, ask again with a new message of the retry flags. */
static void await_ack_lossy(struct driver *d, uint64_t first, uint64_t retry, int64_t *received, int64_t *reordered)
{
	int64_t deadline = now_ns() + loss.patience_ns;
	for (;;) {
		int r = chan_recv(d->c, d->in);
		if (r == 0) {
			uint64_t flags, got = get_header(d->in + HEADROOM, &flags);
			if ((flags & FLAG_ACK) && got >= first && got < d->seq) {
				int64_t stamp;
				memcpy(&stamp, d->in + HEADROOM + 8, 8);
				*received = stamp & ((1LL << COUNT_BITS) - 1);
				*reordered = stamp >> COUNT_BITS;
				loss.acked_received = *received, loss.acked_reordered = *reordered;
				return;
			}
			if (got < first)
				continue; /* a late echo or acknowledgement */
			die("expected an acknowledgement of message %llu or later", (unsigned long long)first);
		}
		if (r != -2) {
			if (retry == FLAG_END && errno == ECONNREFUSED)
				return; /* the peer acknowledged the end and has left */
			io_fail("receive");
		}
		if (now_ns() > deadline)
			die("the peer did not acknowledge message %llu in time", (unsigned long long)first);
		put_header(d->out + HEADROOM, d->seq, retry, 0);
		if (chan_send(d->c, d->out) < 0) {
			if (retry == FLAG_END && errno == ECONNREFUSED)
				return;
			io_fail("send");
		}
		d->seq++;
	}
}

static int64_t pingpong_lossy(struct driver *d, int64_t count, int64_t until, int record, int64_t *elapsed)
{
	unsigned char *out = d->out + HEADROOM, *in = d->in + HEADROOM;
	int64_t n = 0, recorded = 0, start = now_ns(), t = start;
	loss.lost = loss.reordered = 0;
	while (!done(count, until, n, t)) {
		uint64_t seq = d->seq;
		int64_t t0 = now_ns();
		put_header(out, seq, 0, t0);
		if (chan_send(d->c, d->out) < 0)
			io_fail("send");
		int ok = 0;
		for (;;) {
			int r = chan_recv(d->c, d->in);
			if (r == -2) {
				loss.lost++;
				break;
			}
			if (r < 0)
				io_fail("receive");
			uint64_t flags, got = get_header(in, &flags);
			if (got == seq) {
				ok = 1;
				break;
			}
			if (got > seq)
				die("echo out of order");
			loss.reordered++; /* a late echo of a round trip given up */
		}
		t = now_ns();
		if (ok && record) {
			if ((size_t)recorded == d->cap)
				die("more round trips than the %zu preallocated", d->cap);
			d->rtt[recorded++] = t - t0;
		}
		d->seq++;
		n++;
	}
	*elapsed = t - start;
	return n;
}

static int64_t stream_lossy(struct driver *d, int64_t count, int64_t until, int64_t *elapsed)
{
	unsigned char *out = d->out + HEADROOM;
	int64_t n = 0, start = now_ns();
	int64_t from_received = loss.acked_received, from_reordered = loss.acked_reordered;
	for (;;) {
		uint64_t seq = d->seq, flags = 0;
		n++;
		if (done(count, until, n, now_ns()))
			flags = FLAG_ACK;
		put_header(out, seq, flags, 0);
		if (chan_send(d->c, d->out) < 0)
			io_fail("send");
		d->seq++;
		if (flags) {
			int64_t received, reordered;
			await_ack_lossy(d, seq, FLAG_ACK | FLAG_CTL, &received, &reordered);
			*elapsed = now_ns() - start;
			loss.lost = n - (received - from_received);
			if (loss.lost < 0)
				loss.lost = 0;
			loss.reordered = reordered - from_reordered;
			return n;
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t pct(const int64_t *v, int64_t n, double q)
{
	int64_t i = (int64_t)(q / 100.0 * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static long read_sysctl(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (!f || fscanf(f, "%ld", &v) != 1)
		die("cannot read kernel.%s", name);
	fclose(f);
	return v;
}

/* fs.mqueue.NAME, or die. */
static long read_mq_sysctl(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (!f || fscanf(f, "%ld", &v) != 1)
		die("cannot read fs.mqueue.%s", name);
	fclose(f);
	return v;
}

/* A private directory for the FIFOs or the socket, in sock_dir. */
static void make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(sock_dir, sizeof sock_dir, "%s/ipcbaseline-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(sock_dir)) {
		sock_dir[0] = 0;
		die("mkdtemp: %s", strerror(errno));
	}
}

/* fifo, posixmq: create the channel before fork, as ipcbench's Listen does. */
static void setup_reliable(struct chan *c)
{
	switch (c->mech) {
	case FIFO:
		make_dir();
		for (int i = 0; i < 2; i++) {
			char path[128];
			snprintf(path, sizeof path, "%s/%s", sock_dir, i == 0 ? "d2p" : "p2d");
			if (mkfifo(path, 0600) < 0)
				die("mkfifo %s: %s", path, strerror(errno));
			strcpy(fifo_paths[i], path);
		}
		break;
	case POSIXMQ: {
		long msg_max = read_mq_sysctl("msg_max"), msgsize_max = read_mq_sysctl("msgsize_max");
		if (msg_max < 1 || msgsize_max < 1)
			die("fs.mqueue.msg_max or fs.mqueue.msgsize_max is below 1");
		/* As ipcbench: the message size is S, at most msgsize_max; the depth
		 * msg_max, less if two queues of it would not fit in RLIMIT_MSGQUEUE. */
		long msgsize = (long)c->size < msgsize_max ? (long)c->size : msgsize_max;
		long maxmsg = msg_max;
		struct rlimit rl;
		if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
			long fit = (long)(rl.rlim_cur / 4 / (rlim_t)(msgsize + 128));
			maxmsg = fit < maxmsg ? fit : maxmsg;
			maxmsg = maxmsg < 1 ? 1 : maxmsg;
		}
		c->piece = (size_t)msgsize;
		c->scratch = malloc((size_t)msgsize);
		if (!c->scratch)
			die("out of memory");
		struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
		mqd_t q[2];
		for (int i = 0; i < 2; i++) {
			char name[64];
			snprintf(name, sizeof name, "/ipcbaseline-%d-%s", (int)getpid(), i == 0 ? "d2p" : "p2d");
			if ((q[i] = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a)) == (mqd_t)-1)
				die("mq_open %s: %s", name, strerror(errno));
			strcpy(mq_names[i], name);
		}
		/* Both sides inherit both queues; each uses one per direction. */
		c->sndmq = q[0], c->rcvmq = q[1];
		break;
	}
	default:
		break;
	}
}

/* fifo: open the FIFOs by path in the order both sides agree on (d2p, then
 * p2d), so that neither open blocks for ever; the alarm bounds the wait. */
static void open_fifos(struct chan *c, int driver)
{
	int fd0 = open(fifo_paths[0], (driver ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd0 < 0)
		die("open %s: %s", fifo_paths[0], strerror(errno));
	int fd1 = open(fifo_paths[1], (driver ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
	if (fd1 < 0)
		die("open %s: %s", fifo_paths[1], strerror(errno));
	if (driver)
		c->wfd = fd0, c->rfd = fd1;
	else
		c->rfd = fd0, c->wfd = fd1;
}

/* udp, unixgram: both sockets are made, bound and connect(2)ed to each other
 * before fork, as ipcbench's driver and peer each do for their own; the
 * driver keeps c->rfd, the peer's is *peer. */
static void setup_dgram(struct chan *c, int *peer)
{
	int fd[2];
	struct sockaddr_storage a[2];
	socklen_t alen[2];
	for (int i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof a[i]);
		if (c->mech == UDP) {
			struct sockaddr_in *in = (struct sockaddr_in *)&a[i];
			in->sin_family = AF_INET;
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			alen[i] = sizeof *in;
		} else {
			if (i == 0)
				make_dir();
			struct sockaddr_un *un = (struct sockaddr_un *)&a[i];
			un->sun_family = AF_UNIX;
			snprintf(un->sun_path, sizeof un->sun_path, "%s/%s", sock_dir, i == 0 ? "driver.sock" : "peer.sock");
			alen[i] = sizeof *un;
		}
		if ((fd[i] = socket(c->mech == UDP ? AF_INET : AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (bind(fd[i], (struct sockaddr *)&a[i], alen[i]) < 0)
			die("bind: %s", strerror(errno));
		if (c->mech == UNIXGRAM)
			strcpy(dgram_paths[i], ((struct sockaddr_un *)&a[i])->sun_path);
		if (getsockname(fd[i], (struct sockaddr *)&a[i], &alen[i]) < 0)
			die("getsockname: %s", strerror(errno));
	}
	for (int i = 0; i < 2; i++)
		if (connect(fd[i], (struct sockaddr *)&a[1 - i], alen[1 - i]) < 0)
			die("connect: %s", strerror(errno));
	c->rfd = c->wfd = fd[0];
	*peer = fd[1];
	if (c->mech == UNIXGRAM) {
		/* The largest datagram: the send buffer less the kernel's 32 bytes. */
		int sb;
		socklen_t sl = sizeof sb;
		if (getsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &sb, &sl) < 0 || sb <= 32)
			die("SO_SNDBUF: %s", strerror(errno));
		c->piece = (size_t)sb - 32;
		return;
	}
	c->lossy = 1;
	size_t max = 65507;
	c->dg_n = c->size <= max ? 1 : (c->size - 1) / max + 1;
	c->dg_len = (c->size - 1) / c->dg_n + 1;
	if (c->dg_n > 1) {
		/* As ipcbench: room for a whole message of dg_n datagrams sent back
		 * to back, as far as net.core.rmem_max allows (the kernel doubles it). */
		long want = (long)(c->size + c->dg_n * 2048), max_rcv = -1;
		FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
		if (!f || fscanf(f, "%ld", &max_rcv) != 1)
			die("cannot read net.core.rmem_max");
		fclose(f);
		int rcv = (int)(want < max_rcv ? want : max_rcv);
		for (int i = 0; i < 2; i++)
			if (setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) < 0)
				die("SO_RCVBUF: %s", strerror(errno));
	}
	int64_t t = recv_timeout_ns(c->size);
	struct timeval tv = {.tv_sec = t / 1000000000, .tv_usec = (t % 1000000000) / 1000};
	for (int i = 0; i < 2; i++)
		if (setsockopt(fd[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
			die("SO_RCVTIMEO: %s", strerror(errno));
}

/* udp: warm up, measure and end the cell, counting loss. */
static void run_lossy(struct driver *d, int echo, int64_t count, double duration, double warmup, int64_t *n,
		      int64_t *elapsed)
{
	if (warmup > 0) {
		int64_t until = now_ns() + (int64_t)(warmup * 1e9);
		if (echo)
			pingpong_lossy(d, 0, until, 0, elapsed);
		else
			stream_lossy(d, 0, until, elapsed);
	}
	int64_t until = now_ns() + (int64_t)(duration * 1e9);
	*n = echo ? pingpong_lossy(d, count, until, 1, elapsed) : stream_lossy(d, count, until, elapsed);
	int64_t lost = loss.lost, reordered = loss.reordered, r, o;
	uint64_t seq = d->seq++;
	put_header(d->out + HEADROOM, seq, FLAG_END, 0);
	if (chan_send(d->c, d->out) < 0)
		io_fail("send");
	await_ack_lossy(d, seq, FLAG_END, &r, &o);
	loss.lost = lost, loss.reordered = reordered;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ipcbaseline -m pipe|msgqueue|unixsocket|tcpsocket|fifo|posixmq|seqpacket|udp|unixgram\n"
		"                   -w pingpong|stream -s SIZE\n"
		"                   [-d SECONDS | -n COUNT] [-u WARMUP_SECONDS] [-c DRIVER_CPU,PEER_CPU] [-t TIMEOUT_SECONDS]\n"
		"                   [-o PAYLOAD_OFFSET (0..4095)]\n");
	exit(2);
}

static int64_t parse_size(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v < HEADER || v > (64 << 20))
		usage();
	return v;
}

int main(int argc, char **argv)
{
	int mech = -1, echo = -1, cpus[2] = {-1, -1};
	int64_t size = 0, count = 0;
	double duration = 1.0, warmup = 0.1, timeout = 10;
	int opt;
	while ((opt = getopt(argc, argv, "m:w:s:d:n:u:c:t:o:")) != -1) {
		switch (opt) {
		case 'm':
			for (int i = 0; i < NMECH; i++)
				if (strcmp(optarg, mech_names[i]) == 0)
					mech = i;
			break;
		case 'w':
			echo = strcmp(optarg, "pingpong") == 0 ? 1 : strcmp(optarg, "stream") == 0 ? 0 : -1;
			break;
		case 's': size = parse_size(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'n': count = atoll(optarg); break;
		case 'u': warmup = atof(optarg); break;
		case 't': timeout = atof(optarg); break;
		case 'o': {
			char *end;
			payload_offset = strtol(optarg, &end, 10);
			if (*end || end == optarg || payload_offset < 0 || payload_offset >= sysconf(_SC_PAGESIZE))
				usage();
			break;
		}
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpus[0], &cpus[1]) != 2 || cpus[0] < 0 || cpus[1] < 0)
				usage();
			break;
		default: usage();
		}
	}
	if (mech < 0 || echo < 0 || size == 0 || optind != argc || (count <= 0 && duration <= 0) || timeout <= 0)
		usage();

	atexit(remove_objects);
	struct sigaction sa = {0};
	sa.sa_handler = on_fatal_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a dead peer is EPIPE, not a silent death */

	/* Create the channel before fork; each side then takes its end. */
	struct chan c = {.mech = mech, .size = (size_t)size, .rfd = -1, .wfd = -1};
	int peer_r = -1, peer_w = -1, lfd = -1, d2p = -1, p2d = -1;
	struct sockaddr_storage addr;
	socklen_t addrlen = 0;
	switch (mech) {
	case PIPE: {
		int down[2], up[2];
		if (pipe(down) < 0 || pipe(up) < 0)
			die("pipe: %s", strerror(errno));
		c.wfd = down[1], peer_r = down[0];
		c.rfd = up[0], peer_w = up[1];
		break;
	}
	case MSGQUEUE: {
		long msgmax = read_sysctl("msgmax"), msgmnb = read_sysctl("msgmnb");
		c.piece = (size_t)(msgmax < msgmnb ? msgmax : msgmnb);
		if (c.piece < 1)
			die("kernel.msgmax or kernel.msgmnb is below 1");
		if ((d2p = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			die("msgget: %s", strerror(errno));
		queues[0] = d2p;
		if ((p2d = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			die("msgget: %s", strerror(errno));
		queues[1] = p2d;
		break;
	}
	case FIFO:
	case POSIXMQ:
		setup_reliable(&c);
		break;
	case SEQPACKET:
	case UNIXSOCKET: {
		make_dir();
		struct sockaddr_un *un = (struct sockaddr_un *)&addr;
		memset(un, 0, sizeof *un);
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof un->sun_path, "%s/sock", sock_dir);
		addrlen = sizeof *un;
		if ((lfd = socket(AF_UNIX, (mech == SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (mech == SEQPACKET) {
			/* A record must fit in the send buffer, less 32 bytes. */
			int sb;
			socklen_t sl = sizeof sb;
			if (getsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &sb, &sl) < 0 || sb <= 32)
				die("SO_SNDBUF: %s", strerror(errno));
			c.piece = (size_t)sb - 32;
		}
		if (bind(lfd, (struct sockaddr *)un, addrlen) < 0)
			die("bind: %s", strerror(errno));
		strcpy(sock_path, un->sun_path);
		if (listen(lfd, 1) < 0)
			die("listen: %s", strerror(errno));
		break;
	}
	case UDP:
	case UNIXGRAM:
		setup_dgram(&c, &peer_r);
		break;
	case TCPSOCKET: {
		struct sockaddr_in *in = (struct sockaddr_in *)&addr;
		memset(in, 0, sizeof *in);
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addrlen = sizeof *in;
		if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (bind(lfd, (struct sockaddr *)in, addrlen) < 0 || listen(lfd, 1) < 0 ||
		    getsockname(lfd, (struct sockaddr *)in, &addrlen) < 0)
			die("listen on loopback: %s", strerror(errno));
		break;
	}
	}

	fflush(NULL);
	pid_t driver_pid = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* The peer. */
		is_driver = 0;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != driver_pid)
			_exit(1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		pin(cpus[1]);
		struct chan p = c;
		switch (mech) {
		case PIPE:
			close(c.rfd), close(c.wfd);
			p.rfd = peer_r, p.wfd = peer_w;
			break;
		case MSGQUEUE:
			p.sndq = p2d, p.rcvq = d2p;
			break;
		case FIFO:
			open_fifos(&p, 0);
			break;
		case POSIXMQ:
			p.sndmq = c.rcvmq, p.rcvmq = c.sndmq;
			break;
		case UDP:
		case UNIXGRAM:
			close(c.rfd);
			p.rfd = p.wfd = peer_r;
			break;
		default: {
			close(lfd);
			int fd = socket(mech == TCPSOCKET ? AF_INET : AF_UNIX,
					(mech == SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addrlen) < 0)
				die("connect: %s", strerror(errno));
			if (mech == TCPSOCKET) {
				int one = 1;
				if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
					die("TCP_NODELAY: %s", strerror(errno));
			}
			p.rfd = p.wfd = fd;
		}
		}
		if (p.lossy)
			serve_lossy(&p, echo);
		else
			serve(&p, echo);
		_exit(0);
	}

	/* The driver. */
	child_pid = pid;
	pin(cpus[0]);
	alarm((unsigned)(timeout + duration + warmup + 1));
	switch (mech) {
	case PIPE:
		close(peer_r), close(peer_w);
		break;
	case MSGQUEUE:
		c.sndq = d2p, c.rcvq = p2d;
		break;
	case FIFO:
		open_fifos(&c, 1);
		break;
	case UDP:
	case UNIXGRAM:
		close(peer_r);
		break;
	case POSIXMQ: {
		/* A non-blocking descriptor of the receiving queue for on_child. */
		mqd_t w = mq_open(mq_names[1], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (w == (mqd_t)-1)
			die("mq_open %s: %s", mq_names[1], strerror(errno));
		mq_wake = w;
		break;
	}
	default: {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		close(lfd);
		if (mech == TCPSOCKET) {
			int one = 1;
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
				die("TCP_NODELAY: %s", strerror(errno));
		}
		c.rfd = c.wfd = fd;
	}
	}

	struct driver d = {.c = &c};
	d.out = new_frame((size_t)size);
	d.in = new_frame((size_t)size);
	if (!d.out || !d.in)
		die("out of memory");
	for (int64_t i = HEADER; i < size; i++)
		d.out[HEADROOM + i] = (unsigned char)(7 + i);
	if (echo) {
		/* Room for one round trip every 250 ns, touched now so that no page
		 * fault lands in the timed loop. */
		d.cap = count > 0 ? (size_t)count : (size_t)(duration * 4e6) + 1024;
		d.rtt = malloc(d.cap * sizeof *d.rtt);
		if (!d.rtt)
			die("out of memory");
		memset(d.rtt, 0, d.cap * sizeof *d.rtt);
	}

	int64_t n, elapsed;
	if (c.lossy) {
		loss.patience_ns = (int64_t)(timeout * 1e9);
		run_lossy(&d, echo, count, duration, warmup, &n, &elapsed);
	} else {
		if (warmup > 0) {
			int64_t until = now_ns() + (int64_t)(warmup * 1e9);
			if (echo)
				pingpong(&d, 0, until, 0, &elapsed);
			else
				stream(&d, 0, until, &elapsed);
		}
		int64_t until = now_ns() + (int64_t)(duration * 1e9);
		if (echo)
			n = pingpong(&d, count, until, 1, &elapsed);
		else
			n = stream(&d, count, until, &elapsed);

		/* End the cell: the peer acknowledges and exits. */
		uint64_t seq = d.seq++;
		put_header(d.out + HEADROOM, seq, FLAG_END, 0);
		if (chan_send(&c, d.out) < 0)
			io_fail("send");
		await_ack(&d, seq);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = -1;
	alarm(0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the peer failed");
	remove_objects();

	double secs = (double)elapsed / 1e9;
	int64_t delivered = c.lossy ? n - loss.lost : n; /* udp: the rates count delivered messages */
	double mps = secs > 0 ? (double)delivered / secs : 0;
	printf("{\"impl\":\"c\",\"mechanism\":\"%s\",\"workload\":\"%s\",\"size_bytes\":%lld,"
	       "\"payload_offset\":%ld,\"cpus\":[%d,%d],\"messages\":%lld,\"elapsed_ns\":%lld,",
	       mech_names[mech], echo ? "pingpong" : "stream", (long long)size,
	       /* Where the driver's payload really starts, read back from its
	        * address: a test checks it against -o. */
	       (long)((uintptr_t)(d.in + HEADROOM) % (uintptr_t)sysconf(_SC_PAGESIZE)),
	       cpus[0], cpus[1], (long long)n, (long long)elapsed);
	if (c.lossy)
		printf("\"lost\":%lld,\"reordered\":%lld,", (long long)loss.lost, (long long)loss.reordered);
	if (echo)
		n = delivered; /* the round trips recorded */
	if (echo && n > 0) {
		double sum = 0;
		for (int64_t i = 0; i < n; i++)
			sum += (double)d.rtt[i];
		qsort(d.rtt, (size_t)n, sizeof *d.rtt, cmp_i64);
		printf("\"rtt_ns\":{\"min\":%lld,\"mean\":%.1f,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld},",
		       (long long)d.rtt[0], sum / (double)n, (long long)pct(d.rtt, n, 50), (long long)pct(d.rtt, n, 90),
		       (long long)pct(d.rtt, n, 99), (long long)pct(d.rtt, n, 99.9), (long long)d.rtt[n - 1]);
	}
	printf("\"msgs_per_s\":%.1f,\"bytes_per_s\":%.1f}\n", mps, mps * (double)size);
	return 0;
}
