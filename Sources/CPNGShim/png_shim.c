// libpng calls with setjmp-based error recovery confined to this file.
#include "CPNGShim.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Error state handed to libpng as its error pointer: the message is kept, then libpng's jump buffer
// returns control to the setjmp in the calling function.
typedef struct {
    char *message;
    size_t size;
} sp_error_sink;

static void set_error(char *error, size_t size, const char *message) {
    if (error && size > 0) snprintf(error, size, "%s", message);
}

static void on_error(png_structp png, png_const_charp message) {
    sp_error_sink *sink = (sp_error_sink *)png_get_error_ptr(png);
    if (sink) set_error(sink->message, sink->size, message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;  // libraries print nothing; warnings do not stop decoding
}

static char *copy_string(const char *s, size_t n) {
    char *out = (char *)malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

void sp_png_image_free(sp_png_image *image) {
    if (!image) return;
    free(image->pixels);
    for (int i = 0; i < image->text_count; i++) {
        free(image->texts[i].key);
        free(image->texts[i].text);
    }
    free(image->texts);
    memset(image, 0, sizeof *image);
}

// Appends libpng's current text chunks that are not yet in `out` (text may sit before or after IDAT).
static int collect_text(png_structp png, png_infop info, sp_png_image *out) {
    png_textp texts = NULL;
    int count = 0;
    png_get_text(png, info, &texts, &count);
    if (count <= out->text_count) return 1;
    sp_png_text *grown = (sp_png_text *)realloc(out->texts, (size_t)count * sizeof(sp_png_text));
    if (!grown) return 0;
    out->texts = grown;
    for (int i = out->text_count; i < count; i++) {
        size_t n = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE ? texts[i].itxt_length : texts[i].text_length;
        sp_png_text *t = &out->texts[i];
        t->key = copy_string(texts[i].key, strlen(texts[i].key));
        t->text = copy_string(texts[i].text ? texts[i].text : "", texts[i].text ? n : 0);
        t->text_length = texts[i].text ? n : 0;
        t->is_utf8 = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE;
        out->text_count = i + 1;
        if (!t->key || !t->text) return 0;
    }
    return 1;
}

int sp_png_read_file(const char *path, sp_png_image *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        set_error(error, error_size, "cannot open the file");
        return SP_PNG_ERR_OPEN;
    }
    unsigned char signature[8];
    if (fread(signature, 1, 8, fp) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
        fclose(fp);
        set_error(error, error_size, "not a PNG file (bad signature)");
        return SP_PNG_ERR_NOT_PNG;
    }
    sp_error_sink sink = {error, error_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;  // volatile: read after a longjmp
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fclose(fp);
        set_error(error, error_size, "out of memory");
        return SP_PNG_ERR_TOO_LARGE;
    }
    // Everything the longjmp branch reads is set before setjmp, lives in `out`, or is volatile.
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        sp_png_image_free(out);
        return SP_PNG_ERR_LIBPNG;
    }
    png_init_io(png, fp);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if ((uint64_t)width * height > SP_PNG_MAX_PIXELS) {
        set_error(error, error_size, "image is larger than 2^28 pixels");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return SP_PNG_ERR_TOO_LARGE;
    }
    if (depth == 16) png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t channels = png_get_channels(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 3 && channels != 4)) {
        set_error(error, error_size, "unsupported PNG layout after conversion");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return SP_PNG_ERR_UNSUPPORTED;
    }
    size_t stride = (size_t)width * channels;
    out->pixels = (uint8_t *)malloc(stride * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!out->pixels || !rows) {
        free(rows);
        sp_png_image_free(out);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        set_error(error, error_size, "out of memory");
        return SP_PNG_ERR_TOO_LARGE;
    }
    out->width = width;
    out->height = height;
    out->channels = channels;
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out->pixels + (size_t)y * stride;
    png_read_image(png, rows);
    png_read_end(png, info);
    int ok = collect_text(png, info, out);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    if (!ok) {
        sp_png_image_free(out);
        set_error(error, error_size, "out of memory");
        return SP_PNG_ERR_TOO_LARGE;
    }
    return SP_PNG_OK;
}

static int is_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

int sp_png_write_file(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                      const sp_png_text *texts, int text_count, char *error, size_t error_size) {
    int color;
    switch (channels) {
    case 1: color = PNG_COLOR_TYPE_GRAY; break;
    case 3: color = PNG_COLOR_TYPE_RGB; break;
    case 4: color = PNG_COLOR_TYPE_RGBA; break;
    default:
        set_error(error, error_size, "channels must be 1 (gray), 3 (RGB) or 4 (RGBA)");
        return SP_PNG_ERR_ARGUMENT;
    }
    if (width == 0 || height == 0 || (uint64_t)width * height > SP_PNG_MAX_PIXELS) {
        set_error(error, error_size, "width and height must be positive and their product at most 2^28");
        return SP_PNG_ERR_ARGUMENT;
    }
    for (int i = 0; i < text_count; i++) {
        size_t n = strlen(texts[i].key);
        if (n < 1 || n > 79) {
            set_error(error, error_size, "text keys must be 1 to 79 characters");
            return SP_PNG_ERR_ARGUMENT;
        }
    }
    png_text *chunks = text_count > 0 ? (png_text *)calloc((size_t)text_count, sizeof(png_text)) : NULL;
    if (text_count > 0 && !chunks) {
        set_error(error, error_size, "out of memory");
        return SP_PNG_ERR_TOO_LARGE;
    }
    for (int i = 0; i < text_count; i++) {
        int ascii = is_ascii(texts[i].text, texts[i].text_length);
        chunks[i].compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
        chunks[i].key = texts[i].key;
        chunks[i].text = texts[i].text;
        if (ascii) chunks[i].text_length = texts[i].text_length;
        else chunks[i].itxt_length = texts[i].text_length;
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(chunks);
        set_error(error, error_size, "cannot create the file");
        return SP_PNG_ERR_OPEN;
    }
    sp_error_sink sink = {error, error_size};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        fclose(fp);
        free(chunks);
        set_error(error, error_size, "out of memory");
        return SP_PNG_ERR_TOO_LARGE;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        remove(path);  // never leave a truncated image behind
        free(chunks);
        return SP_PNG_ERR_LIBPNG;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, width, height, 8, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (text_count > 0) png_set_text(png, info, chunks, text_count);
    png_write_info(png, info);
    size_t stride = (size_t)width * channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(chunks);
    if (fclose(fp) != 0) {
        remove(path);
        set_error(error, error_size, "writing the file failed");
        return SP_PNG_ERR_OPEN;
    }
    return SP_PNG_OK;
}
