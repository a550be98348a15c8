// SPDX-License-Identifier: GPL-2.0
/*
 * Prints the host's TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC_RAW, for tsc_early_khz= on a QEMU TCG guest's command
 * line. Under TCG the guest's RDTSC reads the host's TSC, and the guest's
 * own calibration against the emulated PIT sometimes fails on a busy host:
 * the guest then marks its TSC unstable and local_clock() counts jiffies.
 *
 * Exits 1 (printing nothing) if the median of five readings agrees with
 * neither of its neighbours to 0.1%.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#define SAMPLES 5
#define INTERVAL_NS 50000000L

/* A TSC reading and the time taken at the middle of it, in ns. */
static int sample(unsigned long long *tsc, double *ns)
{
	struct timespec t;
	unsigned long long before, after;
	int try;

	/* A reading interrupted between the two RDTSCs is retried. */
	for (try = 0; try < 100; try++) {
		before = __rdtsc();
		if (clock_gettime(CLOCK_MONOTONIC_RAW, &t))
			return -1;
		after = __rdtsc();
		if (after - before < 100000) {
			*tsc = before + (after - before) / 2;
			*ns = t.tv_sec * 1e9 + t.tv_nsec;
			return 0;
		}
	}
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct timespec pause = { 0, INTERVAL_NS };
	double khz[SAMPLES], ns0, ns1;
	unsigned long long tsc0, tsc1;
	int i;

	for (i = 0; i < SAMPLES; i++) {
		if (sample(&tsc0, &ns0) || nanosleep(&pause, NULL) ||
		    sample(&tsc1, &ns1) || ns1 <= ns0)
			return 1;
		khz[i] = (tsc1 - tsc0) / (ns1 - ns0) * 1e6;
	}
	qsort(khz, SAMPLES, sizeof(khz[0]), cmp_double);
	/* The median, if a neighbour agrees with it. */
	for (i = SAMPLES / 2 - 1; i <= SAMPLES / 2; i++)
		if (khz[i + 1] - khz[i] < khz[i] / 1000) {
			printf("%.0f\n", khz[SAMPLES / 2]);
			return 0;
		}
	return 1;
}
