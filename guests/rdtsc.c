#include "rt/rt.h"
int main(void) { rt_printf("rdtsc: not written yet\n"); return 1; }
