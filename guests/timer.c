#include "rt/rt.h"
int main(void) { rt_printf("timer: not written yet\n"); return 1; }
