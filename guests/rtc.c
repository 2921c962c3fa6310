#include "rt/rt.h"
int main(void) { rt_printf("rtc: not written yet\n"); return 1; }
