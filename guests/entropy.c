#include "rt/rt.h"
int main(void) { rt_printf("entropy: not written yet\n"); return 1; }
