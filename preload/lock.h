/*
 * lock.h - the one lock that serializes the preloaded allocator.
 *
 * A test-and-test-and-set spinlock rather than a pthread mutex, for two
 * reasons.  Cost: every malloc and free takes the lock, and uncontended a
 * spinlock is one atomic exchange to take and a plain store to release,
 * where glibc's mutex needs an atomic operation for each (its unlock must
 * learn whether a waiter sleeps); the critical sections are a few dozen
 * nanoseconds, shorter than a futex sleep and wake-up.  Safety: the lock
 * is a plain word with no owner and no waiter list, so it needs no
 * initialization call that might allocate, and a child after fork() simply
 * writes it free.
 *
 * The danger of a spinlock is a holder that is descheduled while others
 * spin.  A waiter spins with `pause` for a bounded number of rounds, then
 * yields the CPU (sched_yield) and tries again, so on an oversubscribed
 * machine waiters hand their time slice to the holder instead of burning
 * it.  Waiters read the word until it looks free before trying the
 * exchange, so the cache line is not bounced while the lock is held.
 */
#ifndef PRELOAD_LOCK_H
#define PRELOAD_LOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SPIN_ROUNDS 128 /* pauses before a waiter yields its CPU */

struct spinlock {
	atomic_int held;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void spin_wait(struct spinlock *l)
{
	for (unsigned rounds = 0; atomic_load_explicit(&l->held, memory_order_relaxed); rounds++) {
		if (rounds < SPIN_ROUNDS) {
			cpu_relax();
		} else {
			sched_yield();
			rounds = 0;
		}
	}
}

static inline void spin_lock(struct spinlock *l)
{
	while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
		spin_wait(l);
}

/* Take the lock if it is free, without waiting: for work that can be put off. */
static inline bool spin_trylock(struct spinlock *l)
{
	return !atomic_load_explicit(&l->held, memory_order_relaxed) &&
	       !atomic_exchange_explicit(&l->held, 1, memory_order_acquire);
}

static inline void spin_unlock(struct spinlock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

#endif
