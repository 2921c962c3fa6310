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

/* One vCPU per process: the page the signal handler pokes. */
static struct kvm_run *volatile kick_run;
static timer_t kick_timer;
static int kick_timer_armed;

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
	if (timer_create(CLOCK_MONOTONIC, &sev, &kick_timer) < 0)
		return -errno;
	kick_timer_armed = 1;
	return machine_kick_arm(m, m->deadline_ns);
}

int machine_kick_arm(struct machine *m, uint64_t abs_ns)
{
	struct itimerspec its;

	(void)m;
	if (!kick_timer_armed)
		return -EINVAL;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(abs_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(abs_ns % 1000000000ULL);
	/* A kick that is lost to a race is retried 10 ms later until disarmed. */
	if (abs_ns)
		its.it_interval.tv_nsec = 10 * 1000 * 1000;
	if (timer_settime(kick_timer, TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

void machine_kick_stop(struct machine *m)
{
	(void)m;
	if (kick_timer_armed) {
		timer_delete(kick_timer);
		kick_timer_armed = 0;
	}
	kick_run = NULL;
}
