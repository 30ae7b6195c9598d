// Included from CSparrowKernels.h (inside its extern "C" block); see there for conventions.
#ifndef SP_CONV_H
#define SP_CONV_H
#include <stddef.h>
#include <stdint.h>

#endif
