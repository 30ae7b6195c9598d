// Plain C API over libsentencepiece (C++), so Swift needs no C++ interop.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H
#ifdef __cplusplus
extern "C" {
#endif
typedef struct spm_processor spm_processor;
#ifdef __cplusplus
}
#endif
#endif
