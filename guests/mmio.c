#include "rt/rt.h"
int main(void) { rt_printf("mmio: not written yet\n"); return 1; }
