#include "rt/rt.h"
int main(void) { rt_printf("preempt: not written yet\n"); return 1; }
