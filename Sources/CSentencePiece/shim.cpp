// C wrappers over sentencepiece::SentencePieceProcessor. Each entry point catches every exception.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

struct spm_processor {
    sentencepiece::SentencePieceProcessor processor;
    bool loaded = false;
};

namespace {

void set_error(char *error, size_t size, const char *message) {
    if (error && size > 0) std::snprintf(error, size, "%s", message);
}

int fail(char *error, size_t size, int code, const char *message) {
    set_error(error, size, message);
    return code;
}

// Runs body, turning any C++ exception into an error code and message (none may cross into C).
template <typename Body> int guarded(char *error, size_t error_size, Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(error, error_size, SPM_ERR_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return fail(error, error_size, SPM_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(error, error_size, SPM_ERR_INTERNAL, "unknown exception");
    }
}

bool in_range(const spm_processor *p, int32_t id) {
    return p && p->loaded && id >= 0 && id < p->processor.GetPieceSize();
}

}  // namespace

extern "C" {

spm_processor *spm_create(void) {
    try {
        return new (std::nothrow) spm_processor();
    } catch (...) {
        return nullptr;
    }
}

void spm_destroy(spm_processor *p) {
    try {
        delete p;
    } catch (...) {
    }
}

int spm_load_file(spm_processor *p, const char *path, char *error, size_t error_size) {
    return guarded(error, error_size, [&]() -> int {
        p->loaded = false;
        auto status = p->processor.Load(path);
        if (!status.ok()) return fail(error, error_size, SPM_ERR_LOAD, status.ToString().c_str());
        p->loaded = true;
        return SPM_OK;
    });
}

int spm_load_bytes(spm_processor *p, const void *data, size_t size, char *error, size_t error_size) {
    return guarded(error, error_size, [&]() -> int {
        p->loaded = false;
        auto status = p->processor.LoadFromSerializedProto(
            std::string_view(static_cast<const char *>(data), size));
        if (!status.ok()) return fail(error, error_size, SPM_ERR_LOAD, status.ToString().c_str());
        p->loaded = true;
        return SPM_OK;
    });
}

int spm_encode(const spm_processor *p, const char *text, size_t length, int32_t **ids, size_t *count,
               char *error, size_t error_size) {
    *ids = nullptr;
    *count = 0;
    if (!p->loaded) return fail(error, error_size, SPM_ERR_ENCODE, "no model loaded");
    return guarded(error, error_size, [&]() -> int {
        std::vector<int> out;
        auto status = p->processor.Encode(std::string_view(text, length), &out);
        if (!status.ok()) return fail(error, error_size, SPM_ERR_ENCODE, status.ToString().c_str());
        // malloc(0) may return NULL; allocate at least one element so NULL always means failure.
        auto *buffer = static_cast<int32_t *>(std::malloc((out.size() + 1) * sizeof(int32_t)));
        if (!buffer) return fail(error, error_size, SPM_ERR_MEMORY, "out of memory");
        for (size_t i = 0; i < out.size(); i++) buffer[i] = static_cast<int32_t>(out[i]);
        *ids = buffer;
        *count = out.size();
        return SPM_OK;
    });
}

int spm_decode(const spm_processor *p, const int32_t *ids, size_t count, char **text, size_t *length,
               char *error, size_t error_size) {
    *text = nullptr;
    *length = 0;
    if (!p->loaded) return fail(error, error_size, SPM_ERR_DECODE, "no model loaded");
    return guarded(error, error_size, [&]() -> int {
        std::vector<int> in(count);
        for (size_t i = 0; i < count; i++) {
            if (!in_range(p, ids[i])) {
                char message[96];
                std::snprintf(message, sizeof message, "id %d at position %zu is outside the vocabulary", ids[i], i);
                return fail(error, error_size, SPM_ERR_DECODE, message);
            }
            in[i] = ids[i];
        }
        std::string out;
        auto status = p->processor.Decode(in, &out);
        if (!status.ok()) return fail(error, error_size, SPM_ERR_DECODE, status.ToString().c_str());
        auto *buffer = static_cast<char *>(std::malloc(out.size() + 1));
        if (!buffer) return fail(error, error_size, SPM_ERR_MEMORY, "out of memory");
        std::memcpy(buffer, out.data(), out.size());
        buffer[out.size()] = 0;
        *text = buffer;
        *length = out.size();
        return SPM_OK;
    });
}

void spm_free(void *pointer) { std::free(pointer); }

int32_t spm_vocab_size(const spm_processor *p) {
    try {
        return p->loaded ? p->processor.GetPieceSize() : 0;
    } catch (...) {
        return 0;
    }
}

const char *spm_id_to_piece(const spm_processor *p, int32_t id, size_t *length) {
    if (!in_range(p, id)) return nullptr;
    try {
        const std::string &piece = p->processor.IdToPiece(id);
        if (length) *length = piece.size();
        return piece.c_str();
    } catch (...) {
        return nullptr;
    }
}

int32_t spm_piece_to_id(const spm_processor *p, const char *piece, size_t length) {
    if (!p->loaded) return -1;
    try {
        return p->processor.PieceToId(std::string_view(piece, length));
    } catch (...) {
        return -1;
    }
}

#define SPM_ID_GETTER(name, method)                \
    int32_t name(const spm_processor *p) {         \
        if (!p->loaded) return -1;                 \
        try {                                      \
            return p->processor.method();          \
        } catch (...) {                            \
            return -1;                             \
        }                                          \
    }
SPM_ID_GETTER(spm_bos_id, bos_id)
SPM_ID_GETTER(spm_eos_id, eos_id)
SPM_ID_GETTER(spm_unk_id, unk_id)
SPM_ID_GETTER(spm_pad_id, pad_id)
#undef SPM_ID_GETTER

#define SPM_ID_PREDICATE(name, method)                 \
    int name(const spm_processor *p, int32_t id) {     \
        if (!in_range(p, id)) return 0;                \
        try {                                          \
            return p->processor.method(id) ? 1 : 0;    \
        } catch (...) {                                \
            return 0;                                  \
        }                                              \
    }
SPM_ID_PREDICATE(spm_is_unknown, IsUnknown)
SPM_ID_PREDICATE(spm_is_control, IsControl)
SPM_ID_PREDICATE(spm_is_byte, IsByte)
SPM_ID_PREDICATE(spm_is_unused, IsUnused)
#undef SPM_ID_PREDICATE

float spm_score(const spm_processor *p, int32_t id) {
    if (!in_range(p, id)) return 0.0f;
    try {
        return p->processor.GetScore(id);
    } catch (...) {
        return 0.0f;
    }
}

}  // extern "C"
