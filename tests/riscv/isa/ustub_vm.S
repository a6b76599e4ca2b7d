# ustub_vm.S — ustub.S with Sv39 paging for the user program (see ustub.S).
#define USTUB_VM 1
#include "ustub.S"
