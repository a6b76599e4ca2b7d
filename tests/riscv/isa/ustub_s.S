# ustub_s.S — ustub.S running the program in S-mode under Sv39 (see ustub.S).
#define USTUB_VM 1
#define USTUB_S 1
#include "ustub.S"
