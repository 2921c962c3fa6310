#include "rt/rt.h"
int main(void) { rt_printf("crash: not written yet\n"); return 1; }
