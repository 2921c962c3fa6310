#include "rt/rt.h"
int main(void) { rt_printf("echo: not written yet\n"); return 1; }
