// Included from CSparrowKernels.h (inside its extern "C" block); see there for conventions.
#ifndef SP_IMAGE_OPS_H
#define SP_IMAGE_OPS_H
#include <stddef.h>
#include <stdint.h>

#endif
