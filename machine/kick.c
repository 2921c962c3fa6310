/* SPDX-License-Identifier: MIT */
#include "machine/kick.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "machine/machine.h"

#define KICK_SIGNAL SIGUSR1

/* The page the signal handler pokes (see machine/kick.h). */
static struct kvm_run *volatile kick_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (kick_run)
		kick_run->immediate_exit = 1;
}

void machine_kick_now(void)
{
	kick_handler(KICK_SIGNAL);
}

int machine_kick_start(struct machine *m)
{
	struct sigaction sa;
	struct sigevent sev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;   /* no SA_RESTART: KVM_RUN must return EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	kick_run = m->vcpu.run;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = KICK_SIGNAL;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &m->kick.timer) < 0)
		return -errno;
	m->kick.started = true;
	return machine_kick_arm(m, m->deadline_ns);
}

int machine_kick_arm(struct machine *m, uint64_t abs_ns)
{
	struct itimerspec its;

	if (!m->kick.started)
		return -EINVAL;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(abs_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(abs_ns % 1000000000ULL);
	/* A kick that is lost to a race is retried 10 ms later until disarmed. */
	if (abs_ns)
		its.it_interval.tv_nsec = 10 * 1000 * 1000;
	if (timer_settime(m->kick.timer, TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	m->kick.at_ns = abs_ns;
	return 0;
}

int machine_kick_arm_by(struct machine *m, uint64_t abs_ns, uint64_t now)
{
	if (m->kick.at_ns > now && m->kick.at_ns <= abs_ns)
		return 0;
	return machine_kick_arm(m, abs_ns);
}

void machine_kick_stop(struct machine *m)
{
	if (m->kick.started) {
		timer_delete(m->kick.timer);
		m->kick.started = false;
	}
	m->kick.at_ns = 0;
	kick_run = NULL;
}
