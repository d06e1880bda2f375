#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
/* usage: mkjpeg in.raw w h comps out.jpg mode   mode: ycck | cmyk_noadobe | adobe_rgb | s440 | s411 | restart | rgb_ids */
int main(int argc, char **argv) {
  FILE *fi = fopen(argv[1], "rb"); int w = atoi(argv[2]), h = atoi(argv[3]), n = atoi(argv[4]);
  unsigned char *buf = malloc(w * h * n); fread(buf, 1, w * h * n, fi); fclose(fi);
  const char *mode = argv[6];
  struct jpeg_compress_struct c; struct jpeg_error_mgr e; c.err = jpeg_std_error(&e); jpeg_create_compress(&c);
  FILE *fo = fopen(argv[5], "wb"); jpeg_stdio_dest(&c, fo);
  c.image_width = w; c.image_height = h; c.input_components = n;
  c.in_color_space = n == 4 ? JCS_CMYK : (n == 1 ? JCS_GRAYSCALE : JCS_RGB);
  jpeg_set_defaults(&c); jpeg_set_quality(&c, 85, TRUE);
  if (!strcmp(mode, "ycck")) jpeg_set_colorspace(&c, JCS_YCCK);
  if (!strcmp(mode, "cmyk_noadobe")) { jpeg_set_colorspace(&c, JCS_CMYK); c.write_Adobe_marker = FALSE; }
  if (!strcmp(mode, "adobe_rgb")) jpeg_set_colorspace(&c, JCS_RGB);
  if (!strcmp(mode, "s440")) { c.comp_info[0].h_samp_factor = 1; c.comp_info[0].v_samp_factor = 2; }
  if (!strcmp(mode, "s411")) { c.comp_info[0].h_samp_factor = 4; c.comp_info[0].v_samp_factor = 1; }
  if (!strcmp(mode, "restart")) { c.restart_interval = 3; c.comp_info[0].h_samp_factor = 2; c.comp_info[0].v_samp_factor = 2; }
  if (!strcmp(mode, "s420_nojfif")) { c.write_JFIF_header = FALSE; }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) { JSAMPROW r = buf + c.next_scanline * w * n; jpeg_write_scanlines(&c, &r, 1); }
  jpeg_finish_compress(&c); fclose(fo); jpeg_destroy_compress(&c); return 0;
}
