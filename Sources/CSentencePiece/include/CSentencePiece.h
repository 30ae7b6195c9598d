// Plain C API over libsentencepiece (C++), so Swift needs no C++ interop. No C++ exception crosses
// this boundary: every failure comes back as a status code with a message.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

enum {
    SPM_OK = 0,
    SPM_ERR_LOAD = 1,      // the model file or bytes could not be loaded
    SPM_ERR_ENCODE = 2,
    SPM_ERR_DECODE = 3,    // includes ids outside [0, vocabulary size)
    SPM_ERR_MEMORY = 4,
    SPM_ERR_INTERNAL = 5,  // an unexpected C++ exception was caught
};

/// A processor with no model; load one before anything else. NULL when out of memory.
spm_processor *spm_create(void);
void spm_destroy(spm_processor *p);

/// Loads a serialized ModelProto from a file, or from memory.
int spm_load_file(spm_processor *p, const char *path, char *error, size_t error_size);
int spm_load_bytes(spm_processor *p, const void *data, size_t size, char *error, size_t error_size);

/// Encodes UTF-8 text to ids. `*ids` is malloc'd (free with spm_free); `*count` may be 0.
int spm_encode(const spm_processor *p, const char *text, size_t length, int32_t **ids, size_t *count,
               char *error, size_t error_size);

/// Decodes ids to UTF-8 text. `*text` is malloc'd and NUL-terminated (free with spm_free).
int spm_decode(const spm_processor *p, const int32_t *ids, size_t count, char **text, size_t *length,
               char *error, size_t error_size);

void spm_free(void *pointer);

/// Vocabulary size (0 without a model).
int32_t spm_vocab_size(const spm_processor *p);
/// The piece of `id`, valid while the processor lives; NULL for an id out of range.
const char *spm_id_to_piece(const spm_processor *p, int32_t id, size_t *length);
/// The id of a piece, or the unknown id when it is not in the vocabulary.
int32_t spm_piece_to_id(const spm_processor *p, const char *piece, size_t length);
/// Special ids; -1 when the model has none.
int32_t spm_bos_id(const spm_processor *p);
int32_t spm_eos_id(const spm_processor *p);
int32_t spm_unk_id(const spm_processor *p);
int32_t spm_pad_id(const spm_processor *p);
/// 1 when `id` is the unknown piece, a control piece (<s>, </s>) or a byte-fallback piece (<0x41>).
int spm_is_unknown(const spm_processor *p, int32_t id);
int spm_is_control(const spm_processor *p, int32_t id);
int spm_is_byte(const spm_processor *p, int32_t id);
/// 1 when `id` is an unused piece.
int spm_is_unused(const spm_processor *p, int32_t id);
/// The piece's score (its log-probability for unigram models, its merge priority for BPE); 0 out of range.
float spm_score(const spm_processor *p, int32_t id);

#ifdef __cplusplus
}
#endif
#endif
