#ifndef SPARROW_DIFFUSION_OPS_H
#define SPARROW_DIFFUSION_OPS_H
// Kernels the diffusion models need (group norm, layer norm, tiled attention, GELU); filled in by issue 6.
#include <stddef.h>
#include <stdint.h>
#endif
