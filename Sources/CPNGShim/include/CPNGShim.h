// Plain C read/write of 8-bit PNG images through libpng, with libpng's setjmp/longjmp error handling
// kept inside C (a longjmp must never cross Swift frames). Nothing is printed: errors and warnings
// come back as codes and messages.
#ifndef CPNGSHIM_H
#define CPNGSHIM_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

enum {
    SP_PNG_OK = 0,
    SP_PNG_ERR_OPEN = 1,        // the file could not be opened or created
    SP_PNG_ERR_NOT_PNG = 2,     // the signature is not PNG's
    SP_PNG_ERR_LIBPNG = 3,      // libpng reported an error (corrupt data, write failure, ...)
    SP_PNG_ERR_UNSUPPORTED = 4, // a layout this shim does not handle
    SP_PNG_ERR_TOO_LARGE = 5,   // dimensions beyond SP_PNG_MAX_PIXELS, or out of memory
    SP_PNG_ERR_ARGUMENT = 6,    // bad arguments (channel count, text key)
};

/// Largest accepted width * height (256 Mpixel): bigger images are refused before allocating.
#define SP_PNG_MAX_PIXELS ((uint64_t)1 << 28)

/// A text chunk. Keys are 1-79 Latin-1 characters; `is_utf8` marks iTXt values (else tEXt/zTXt,
/// whose values are Latin-1).
typedef struct {
    char *key;
    char *text;
    size_t text_length;
    int is_utf8;
} sp_png_text;

/// A decoded image: rows top to bottom, `channels` interleaved 8-bit samples per pixel
/// (1 gray, 3 RGB, 4 RGBA). Free with sp_png_image_free.
typedef struct {
    uint32_t width, height, channels;
    uint8_t *pixels;
    sp_png_text *texts;
    int text_count;
} sp_png_image;

/// Reads any PNG, converted to 8-bit gray, RGB or RGBA: palettes expand to RGB (RGBA with a tRNS
/// chunk), gray with alpha becomes RGBA, 16-bit samples are scaled to 8 bits, low bit depths expand.
int sp_png_read_file(const char *path, sp_png_image *out, char *error, size_t error_size);

/// Writes 8-bit gray (1), RGB (3) or RGBA (4) pixels and the given text chunks (tEXt when the value
/// is ASCII, iTXt otherwise).
int sp_png_write_file(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                      const sp_png_text *texts, int text_count, char *error, size_t error_size);

/// Releases what sp_png_read_file allocated; safe on a zeroed image.
void sp_png_image_free(sp_png_image *image);

#ifdef __cplusplus
}
#endif
#endif
