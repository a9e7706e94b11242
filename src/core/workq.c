/*
 * workq.c: priority work queue and worker threads (see workq.h).
 */
#include "core/workq.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct workq_entry
{
	int64_t		priority;
	uint64_t	seq;
	void	   *task;
} workq_entry;

struct workq
{
	workq_ops	ops;
	void	   *ctx;
	int			nworkers;
	pthread_t  *threads;

	pthread_mutex_t lock;
	pthread_cond_t	has_work;	/* signalled on push and on shutdown */
	pthread_cond_t	idle;		/* signalled when nothing is queued or running */

	/* Guarded by lock. */
	workq_entry *heap;
	size_t		len;
	size_t		cap;
	uint64_t	next_seq;
	int			running;
	bool		stopped;
	bool		shutdown;
};

typedef struct workq_thread_arg
{
	workq	   *q;
	int			worker;
} workq_thread_arg;

/* ------------------------------------------------------------------------
 * The heap: entry a comes before b when its priority is higher, or equal
 * and pushed earlier.
 * ------------------------------------------------------------------------ */

static bool
workq_before(const workq_entry *a, const workq_entry *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return a->seq < b->seq;
}

static void
workq_swap(workq_entry *a, workq_entry *b)
{
	workq_entry t = *a;
	*a = *b;
	*b = t;
}

static void
workq_heap_push(workq *q, workq_entry e)
{
	if (q->len == q->cap)
	{
		q->cap = q->cap ? q->cap * 2 : 64;
		q->heap = xrealloc(q->heap, q->cap * sizeof *q->heap);
	}
	size_t i = q->len++;
	q->heap[i] = e;
	while (i > 0)
	{
		size_t parent = (i - 1) / 2;
		if (!workq_before(&q->heap[i], &q->heap[parent]))
			break;
		workq_swap(&q->heap[i], &q->heap[parent]);
		i = parent;
	}
}

static workq_entry
workq_heap_pop(workq *q)
{
	workq_entry top = q->heap[0];
	q->heap[0] = q->heap[--q->len];
	size_t i = 0;
	for (;;)
	{
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < q->len && workq_before(&q->heap[l], &q->heap[best]))
			best = l;
		if (r < q->len && workq_before(&q->heap[r], &q->heap[best]))
			best = r;
		if (best == i)
			break;
		workq_swap(&q->heap[i], &q->heap[best]);
		i = best;
	}
	return top;
}

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------ */

static void *
workq_thread(void *arg)
{
	workq_thread_arg *ta = arg;
	workq	   *q = ta->q;
	int			worker = ta->worker;
	free(ta);

	void	   *state = q->ops.worker_start ? q->ops.worker_start(worker, q->ctx) : NULL;
	pthread_mutex_lock(&q->lock);
	bool		idle_told = false;
	for (;;)
	{
		while (q->len == 0 && !q->shutdown)
		{
			if (q->ops.idle && !idle_told)
			{
				idle_told = true;
				pthread_mutex_unlock(&q->lock);
				q->ops.idle(worker, state, q->ctx);
				pthread_mutex_lock(&q->lock);
				continue;
			}
			pthread_cond_wait(&q->has_work, &q->lock);
		}
		if (q->len == 0 && q->shutdown)
			break;
		workq_entry e = workq_heap_pop(q);
		idle_told = false;
		q->running++;
		pthread_mutex_unlock(&q->lock);

		q->ops.run(e.task, worker, state, q->ctx);

		pthread_mutex_lock(&q->lock);
		q->running--;
		if (q->running == 0 && q->len == 0)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->lock);
	if (q->ops.worker_end)
		q->ops.worker_end(worker, state, q->ctx);
	return NULL;
}

workq *
workq_create(int nworkers, const workq_ops *ops, void *ctx)
{
	if (nworkers < 1)
		nworkers = 1;
	workq	   *q = xcalloc(1, sizeof *q);
	q->ops = *ops;
	q->ctx = ctx;
	q->nworkers = nworkers;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->has_work, NULL);
	pthread_cond_init(&q->idle, NULL);
	q->threads = xcalloc((size_t) nworkers, sizeof *q->threads);
	for (int i = 0; i < nworkers; i++)
	{
		workq_thread_arg *ta = xmalloc(sizeof *ta);
		ta->q = q;
		ta->worker = i;
		int rc = pthread_create(&q->threads[i], NULL, workq_thread, ta);
		if (rc != 0)
		{
			/* Like running out of memory: through the log, then abort. */
			log_error("could not start a worker thread: %s", strerror(rc));
			abort();
		}
	}
	return q;
}

void
workq_push(workq *q, void *task, int64_t priority)
{
	pthread_mutex_lock(&q->lock);
	if (q->stopped)
	{
		pthread_mutex_unlock(&q->lock);
		if (q->ops.dropped)
			q->ops.dropped(task, q->ctx);
		return;
	}
	workq_entry e = {.priority = priority, .seq = q->next_seq++, .task = task};
	workq_heap_push(q, e);
	pthread_cond_signal(&q->has_work);
	pthread_mutex_unlock(&q->lock);
}

bool
workq_wait(workq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->len > 0 || q->running > 0)
		pthread_cond_wait(&q->idle, &q->lock);
	bool ok = !q->stopped;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void
workq_stop(workq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = true;
	size_t n = q->len;
	workq_entry *dropped = n ? xmalloc(n * sizeof *dropped) : NULL;
	for (size_t i = 0; i < n; i++)
		dropped[i] = q->heap[i];
	q->len = 0;
	if (q->running == 0)
		pthread_cond_broadcast(&q->idle);
	pthread_mutex_unlock(&q->lock);
	if (q->ops.dropped)
		for (size_t i = 0; i < n; i++)
			q->ops.dropped(dropped[i].task, q->ctx);
	free(dropped);
}

bool
workq_stopped(workq *q)
{
	pthread_mutex_lock(&q->lock);
	bool s = q->stopped;
	pthread_mutex_unlock(&q->lock);
	return s;
}

void
workq_destroy(workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->has_work);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nworkers; i++)
		pthread_join(q->threads[i], NULL);
	free(q->threads);
	free(q->heap);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->has_work);
	pthread_cond_destroy(&q->idle);
	free(q);
}
