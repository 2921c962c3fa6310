#include "rt/rt.h"
int main(void) { rt_printf("exits: not written yet\n"); return 1; }
