/*
 * workq.h: a small work queue served by N worker threads.
 *
 * The queue knows nothing of PostgreSQL.  A task is an opaque pointer owned
 * by the caller; the queue hands it to exactly one worker.  Each worker
 * thread owns whatever it opens (connections, buffers): the queue calls
 * ops->worker_start once in the thread to create that per-worker state,
 * ops->run for every task, and ops->worker_end when the thread leaves.  The
 * only shared state is the queue itself (a priority heap under one mutex).
 *
 * How it works: workq_create starts the threads, which sleep until a task is
 * pushed.  Tasks run highest priority first, in push order among equals.  A
 * running task may push more tasks (for example "all parts of a table are
 * in: verify it").  workq_wait blocks until the queue is empty and no task
 * is running; workq_destroy then stops and joins the threads.  workq_stop
 * drops every task not yet started (after an interrupt or a fatal error);
 * tasks already running finish on their own.
 */
#ifndef PGCARRY_WORKQ_H
#define PGCARRY_WORKQ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct workq workq;

typedef struct workq_ops
{
	/* Called in each worker thread before its first task; returns the
	 * worker's private state (may be NULL).  worker is 0..nworkers-1. */
	void	   *(*worker_start) (int worker, void *ctx);
	/* Runs one task.  Never exits the process; reports through the task. */
	void		(*run) (void *task, int worker, void *worker_state, void *ctx);
	/* Called in the worker thread when it leaves; frees worker_state. */
	void		(*worker_end) (int worker, void *worker_state, void *ctx);
	/* Called (under no lock) for every task dropped by workq_stop, so the
	 * owner can account for it; may be NULL. */
	void		(*dropped) (void *task, void *ctx);
	/* Called (under no lock) in a worker that found no task, before it
	 * waits for one; may be NULL. */
	void		(*idle) (int worker, void *worker_state, void *ctx);
} workq_ops;

/*
 * Starts nworkers (>= 1) threads.  ops is copied; ctx is passed to every
 * callback.  Returns the queue; never NULL (thread creation failure aborts,
 * like out of memory).
 */
workq *workq_create(int nworkers, const workq_ops *ops, void *ctx);

/* Adds a task; higher priority runs first.  Thread-safe, may be called from
 * a running task.  After workq_stop the task is dropped at once. */
void workq_push(workq *q, void *task, int64_t priority);

/* Blocks until no task is queued or running.  Returns false when the queue
 * was stopped (some tasks were dropped), true otherwise. */
bool workq_wait(workq *q);

/* Drops every queued task (ops->dropped is called for each) and makes later
 * pushes drop too.  Running tasks are not interrupted. */
void workq_stop(workq *q);

/* True once workq_stop was called. */
bool workq_stopped(workq *q);

/* Stops the threads (after letting queued tasks run, unless stopped) and
 * frees the queue.  NULL is allowed. */
void workq_destroy(workq *q);

#endif
