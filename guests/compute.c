#include "rt/rt.h"
int main(void) { rt_printf("compute: not written yet\n"); return 1; }
