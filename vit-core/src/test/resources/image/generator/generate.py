"""Regenerates the test images in ../formats and the expected outputs in ../expected.safetensors.

Run with Debian 12's python3-pil (Pillow 9.4.0) and python3-numpy, from this directory, with gcc and libjpeg
(libjpeg62-turbo-dev) available for mkjpeg.c:  python3 generate.py
The expected values are what PIL 9.4 and the torchvision 0.14 / timm 1.0 / transformers eval pipelines compute
(their size arithmetic is reproduced below; ToTensor/Normalize are float32 numpy operations, which equal torch's).
The Java tests only read the outputs; the project never runs Python.
"""
import json
import math
import os
import struct
import subprocess
import zlib

import numpy as np
import PIL
from PIL import Image, ImageCms, ImageOps

assert PIL.__version__ == '9.4.0', PIL.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = os.path.join(HERE, '..', 'formats')
os.makedirs(FORMATS, exist_ok=True)
rng = np.random.default_rng(20240601)
tensors = {}   # name -> (dtype, shape, bytes)
meta = {}


def u8(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    tensors[name] = ('U8', list(arr.shape), arr.tobytes())


def f32(name, arr):
    arr = np.ascontiguousarray(arr, dtype='<f4')
    tensors[name] = ('F32', list(arr.shape), arr.tobytes())


def smooth(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    chans = []
    for i in range(c):
        f = np.sin(x / (5 + 3 * i)) * 60 + np.cos(y / (7 + i)) * 60 + 128 + rng.normal(0, 20, (h, w))
        chans.append(np.clip(f, 0, 255))
    return np.stack(chans, -1).astype(np.uint8)


def path(name):
    return os.path.join(FORMATS, name)


files = []


def save(name, im, **kw):
    im.save(path(name), **kw)
    files.append(name)


def png_raw(name, w, h, bitdepth, colortype, rows):
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = b''.join(b'\x00' + r for r in rows)
    data = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bitdepth, colortype, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
    open(path(name), 'wb').write(data)
    files.append(name)


def bmp16(name, w, h, pix, masks):
    rowbytes = (w * 2 + 3) & ~3
    data = b''
    for y in range(h - 1, -1, -1):
        r = b''.join(struct.pack('<H', int(v)) for v in pix[y])
        data += r + b'\x00' * (rowbytes - len(r))
    hdr = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 16, 3 if masks else 0, len(data), 2835, 2835, 0, 0)
    if masks:
        hdr += struct.pack('<III', *masks)
    off = 14 + len(hdr)
    open(path(name), 'wb').write(b'BM' + struct.pack('<IHHI', off + len(data), 0, 0, off) + hdr + data)
    files.append(name)


# ---------------- decoding: one small file per PIL mode / format variant ----------------
rgb = smooth(37, 53, 3)
rgba = smooth(31, 29, 4)
gray = smooth(30, 41, 1)[..., 0]
save('rgb.png', Image.fromarray(rgb))
save('rgba.png', Image.fromarray(rgba, 'RGBA'))
save('l.png', Image.fromarray(gray))
save('la.png', Image.fromarray(smooth(30, 41, 2), 'LA'))
pal = Image.fromarray(rgb).quantize(colors=50)
save('p.png', pal)
save('p_trns.png', pal, transparency=3)
save('p4bit.png', Image.fromarray(rgb).quantize(colors=16), bits=4)
save('bw1.png', Image.fromarray(gray).convert('1'))
g16 = smooth(20, 26, 1)[..., 0].astype(np.uint16) * 257
g16[0, :8] = [0, 1, 100, 255, 256, 1000, 65535, 254]
save('g16.png', Image.fromarray(g16))
save('l_trns.png', Image.fromarray(gray), transparency=7)
png_raw('rgb16.png', 13, 11, 16, 2, [r.astype('>u2').tobytes() for r in rng.integers(0, 65536, (11, 13, 3), dtype=np.uint16)])
png_raw('rgba16.png', 13, 11, 16, 6, [r.astype('>u2').tobytes() for r in rng.integers(0, 65536, (11, 13, 4), dtype=np.uint16)])
png_raw('la16.png', 13, 11, 16, 4, [r.astype('>u2').tobytes() for r in rng.integers(0, 65536, (11, 13, 2), dtype=np.uint16)])
g2 = rng.integers(0, 4, (9, 16), dtype=np.uint8)
png_raw('g2.png', 16, 9, 2, 0, [bytes((r[j] << 6) | (r[j + 1] << 4) | (r[j + 2] << 2) | r[j + 3] for j in range(0, 16, 4)) for r in g2])
icc_lab = ImageCms.ImageCmsProfile(ImageCms.createProfile('LAB')).tobytes()
save('rgb_icc.png', Image.fromarray(rgb), icc_profile=icc_lab)

big = smooth(37, 51, 3)
for sub, tag in [(0, '444'), (1, '422'), (2, '420')]:
    save(f'j{tag}.jpg', Image.fromarray(big), quality=88, subsampling=sub)
save('jprog.jpg', Image.fromarray(big), quality=80, progressive=True)
save('jgray.jpg', Image.fromarray(big[..., 0]), quality=85)
save('jodd.jpg', Image.fromarray(smooth(17, 33, 3)), quality=70, subsampling=2)
save('jicc.jpg', Image.fromarray(big), quality=85, icc_profile=icc_lab)
cmyk = smooth(40, 50, 4)
save('jcmyk.jpg', Image.fromarray(cmyk, 'CMYK'), quality=90)
b = open(path('j444.jpg'), 'rb').read()
n = struct.unpack('>H', b[4:6])[0]
open(path('j444_nojfif.jpg'), 'wb').write(b[:2] + b[4 + n:])
files.append('j444_nojfif.jpg')
# libjpeg-written variants PIL cannot write: YCCK, RGB (Adobe transform 0), 4:4:0, 4:1:1, restart markers
mk = os.path.join('/tmp', 'vit_mkjpeg')
subprocess.run(['gcc', '-O2', '-o', mk, os.path.join(HERE, 'mkjpeg.c'), '-ljpeg'], check=True)
src = np.array(Image.open(path('j444.jpg')).convert('RGB'))
odd = np.array(Image.fromarray(big).resize((45, 29)))
for name, arr, mode in [('jycck.jpg', cmyk, 'ycck'), ('jcmyk_noadobe.jpg', cmyk, 'cmyk_noadobe'),
                        ('jadobe_rgb.jpg', src, 'adobe_rgb'), ('j440.jpg', src, 's440'), ('j440_odd.jpg', odd, 's440'),
                        ('j411.jpg', src, 's411'), ('jrestart.jpg', odd, 'restart')]:
    raw = '/tmp/vit_mkjpeg.raw'
    arr.tofile(raw)
    subprocess.run([mk, raw, str(arr.shape[1]), str(arr.shape[0]), str(arr.shape[2]), path(name), mode], check=True)
    files.append(name)

save('rgb.bmp', Image.fromarray(rgb))
save('p.bmp', pal)
save('l.bmp', Image.fromarray(gray))
save('bw1.bmp', Image.fromarray(gray).convert('1'))
save('rgba.bmp', Image.fromarray(rgba, 'RGBA'))
pix = rng.integers(0, 65536, (7, 9))
bmp16('rgb565.bmp', 9, 7, pix, (0xF800, 0x07E0, 0x001F))
bmp16('rgb555.bmp', 9, 7, pix & 0x7fff, None)

save('p.gif', pal)
save('p_trns.gif', pal, transparency=5)
# a first frame smaller than the logical screen, at an offset: PIL draws it on the screen-sized canvas
small = Image.fromarray(smooth(8, 10, 3)).quantize(colors=20)
for name, trns in [('offset.gif', None), ('offset_trns.gif', 4)]:
    small.save(path(name), **({'transparency': trns} if trns is not None else {}))
    g = bytearray(open(path(name), 'rb').read())
    g[6:10] = struct.pack('<HH', 17, 13)
    i = g.index(b'\x2c', 13 + 3 * (2 << (g[10] & 7)))
    g[i + 1:i + 5] = struct.pack('<HH', 5, 3)
    open(path(name), 'wb').write(bytes(g))
    files.append(name)

save('lossless.webp', Image.fromarray(rgb), lossless=True)
save('lossless_a.webp', Image.fromarray(rgba, 'RGBA'), lossless=True)
save('lossy.webp', Image.fromarray(big), quality=80)   # decodes, but not bit-exact (see ImageDecoderTest)

coffee = Image.open(os.path.join(HERE, '..', 'coffee.png')).convert('RGB')
save('photo.jpg', coffee.resize((180, 120), Image.BICUBIC), quality=82)
save('tall.png', Image.fromarray(smooth(71, 29, 3)))
save('tiny.png', Image.fromarray(smooth(17, 20, 3)))

decode_meta = {}
for name in files:
    im = Image.open(path(name))
    decode_meta[name] = im.mode
    u8(f'decode.{name}.rgb', np.array(im.convert('RGB')))
    u8(f'decode.{name}.l', np.array(im.convert('L')))
meta['decode'] = json.dumps(decode_meta, sort_keys=True)

# ---------------- resize: every filter, down, up, mixed, 1x1 ----------------
noise_rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
noise_rgb[:18] = np.where(noise_rgb[:18] > 127, 255, 0)     # hard edges: negative lobes and clipping
noise_l = rng.integers(0, 256, (23, 31), dtype=np.uint8)
noise_l[:, :15] = np.where(noise_l[:, :15] > 127, 255, 0)
Image.fromarray(noise_rgb).save(path('noise_rgb.png'))
Image.fromarray(noise_l).save(path('noise_l.png'))
resize_cases = []
for srcname in ['noise_rgb.png', 'noise_l.png']:
    im = Image.open(path(srcname))
    for (w, h) in [(16, 11), (60, 45), (12, 70), (1, 1), (53, 5), (7, 23)]:
        for f, fname in [(0, 'nearest'), (1, 'lanczos'), (2, 'bilinear'), (3, 'bicubic'), (4, 'box'), (5, 'hamming')]:
            key = f'resize.{srcname}.{w}x{h}.{fname}'
            u8(key, np.array(im.resize((w, h), f)))
            resize_cases.append(key)
meta['resize'] = json.dumps(resize_cases)

# ---------------- pipelines ----------------
INTERP = {'nearest': 0, 'lanczos': 1, 'bilinear': 2, 'bicubic': 3, 'box': 4, 'hamming': 5}


def tv_resize(im, size, interp, max_size=None):
    """torchvision 0.14 F.resize on a PIL image; size is an int (shortest edge) or [h, w]."""
    w, h = im.size
    if isinstance(size, int):
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size, int(size * long / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_h, new_w = size
    if (new_h, new_w) == (h, w):
        return im
    return im.resize((new_w, new_h), interp)


def tv_center_crop(im, h, w, fill=0):
    """torchvision 0.14 F.center_crop on a PIL image, = timm center_crop_or_pad."""
    iw, ih = im.size
    if w > iw or h > ih:
        pad = [(w - iw) // 2 if w > iw else 0, (h - ih) // 2 if h > ih else 0,
               (w - iw + 1) // 2 if w > iw else 0, (h - ih + 1) // 2 if h > ih else 0]
        im = ImageOps.expand(im, border=tuple(pad), fill=fill)
        iw, ih = im.size
        if (w, h) == (iw, ih):
            return im
    top = int(round((ih - h) / 2.0))
    left = int(round((iw - w) / 2.0))
    return im.crop((left, top, left + w, top + h))


def keep_ratio(im, th, tw, longest, interp):
    """timm ResizeKeepRatio."""
    iw, ih = im.size
    rh, rw = ih / th, iw / tw
    ratio = max(rh, rw) * longest + min(rh, rw) * (1. - longest)
    return tv_resize(im, [round(ih / ratio), round(iw / ratio)], interp)


def to_tensor_normalize(im, mean, std):
    a = np.asarray(im, dtype=np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    x = a.astype(np.float32) / np.float32(255)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x.transpose(2, 0, 1)


def timm_eval(im, cfg):
    c, h, w = cfg.get('input_size', [3, 224, 224])
    im = im.convert('L' if c == 1 else 'RGB')
    interp = INTERP[cfg.get('interpolation', 'bicubic')]
    crop_pct = cfg.get('crop_pct') or 0.875
    mode = cfg.get('crop_mode') or 'center'
    mean = cfg.get('mean', [0.485, 0.456, 0.406])
    std = cfg.get('std', [0.229, 0.224, 0.225])
    sh, sw = math.floor(h / crop_pct), math.floor(w / crop_pct)
    if mode == 'squash':
        im = tv_resize(im, [sh, sw], interp)
        im = tv_center_crop(im, h, w)
    elif mode == 'border':
        fill = tuple(round(255 * v) for v in mean)
        im = keep_ratio(im, sh, sw, 1.0, interp)
        im = tv_center_crop(im, h, w, fill=fill if c == 3 else fill[0])
    else:
        im = tv_resize(im, sh, interp) if sh == sw else keep_ratio(im, sh, sw, 0.0, INTERP['bilinear'])
        im = tv_center_crop(im, h, w)
    return to_tensor_normalize(im, mean, std)


def hf_eval(im, cfg):
    """transformers' slow image processors (ViTImageProcessor / DeiT-style center crop)."""
    im = im.convert('RGB')
    if cfg.get('do_resize', True):
        size = cfg.get('size', {'height': 224, 'width': 224})
        interp = cfg.get('resample', 2)
        if 'shortest_edge' in size:
            im = tv_resize(im, size['shortest_edge'], interp, size.get('longest_edge'))
        else:
            im = im.resize((size['width'], size['height']), interp)
    a = np.array(im)
    if cfg.get('do_center_crop', False):
        cs = cfg['crop_size']
        ch, cw = cs['height'], cs['width']
        top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
        a = a[top:top + ch, left:left + cw]
    x = a
    if cfg.get('do_rescale', True):
        x = (a.astype(np.float64) * cfg.get('rescale_factor', 1 / 255)).astype(np.float32)
    x = x.astype(np.float32)
    if cfg.get('do_normalize', True):
        x = (x - np.array(cfg.get('image_mean', [0.5] * 3), np.float32)) / np.array(cfg.get('image_std', [0.5] * 3), np.float32)
    return x.transpose(2, 0, 1)


IMNET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
pipes = {
    'timm_center_bicubic': ('photo.jpg', 'timm', dict(input_size=[3, 64, 64], interpolation='bicubic', crop_pct=0.9, **IMNET)),
    'timm_center_nonsquare': ('photo.jpg', 'timm', dict(input_size=[3, 48, 64], interpolation='bicubic', crop_pct=0.875, mean=[0.5] * 3, std=[0.5] * 3)),
    'timm_center_tall': ('tall.png', 'timm', dict(input_size=[3, 24, 24], interpolation='bilinear', crop_pct=0.95)),
    'timm_squash_lanczos': ('j444.jpg', 'timm', dict(input_size=[3, 40, 40], interpolation='lanczos', crop_pct=1.0, crop_mode='squash')),
    'timm_border': ('tall.png', 'timm', dict(input_size=[3, 40, 40], interpolation='bicubic', crop_pct=0.95, crop_mode='border', mean=[0.5] * 3, std=[0.5] * 3)),
    'timm_nearest_upscale': ('tiny.png', 'timm', dict(input_size=[3, 40, 40], interpolation='nearest', crop_pct=0.875)),
    'timm_hamming_rgba': ('rgba.png', 'timm', dict(input_size=[3, 24, 24], interpolation='hamming', crop_pct=0.8)),
    'timm_box_cmyk': ('jcmyk.jpg', 'timm', dict(input_size=[3, 20, 20], interpolation='box', crop_pct=0.875)),
    'timm_gray_model': ('j420.jpg', 'timm', dict(input_size=[1, 32, 32], interpolation='bilinear', crop_pct=1.0, mean=[0.5], std=[0.25])),
    'timm_gray_source': ('l.png', 'timm', dict(input_size=[3, 28, 28], interpolation='bicubic', crop_pct=0.875)),
    'hf_exact_bicubic': ('j420.jpg', 'hf', {'size': {'height': 30, 'width': 45}, 'resample': 3, 'image_mean': IMNET['mean'], 'image_std': IMNET['std']}),
    'hf_shortest_crop': ('j422.jpg', 'hf', {'size': {'shortest_edge': 33}, 'do_center_crop': True, 'crop_size': {'height': 28, 'width': 29}, 'resample': 2}),
    'hf_raw': ('rgb.png', 'hf', {'do_resize': False, 'do_rescale': False, 'do_normalize': False}),
    'hf_gray_source_upscale': ('jgray.jpg', 'hf', {'size': {'height': 60, 'width': 72}}),
}
for name, (srcname, kind, cfg) in pipes.items():
    im = Image.open(path(srcname))
    out = timm_eval(im, cfg) if kind == 'timm' else hf_eval(im, cfg)
    f32(f'pipe.{name}', out)
meta['pipes'] = json.dumps({k: {'src': s, 'kind': k2, 'cfg': c} for k, (s, k2, c) in pipes.items()}, sort_keys=True)

# torchvision preset at a smaller size, and a crop larger than the image (zero padding, odd differences)
im = Image.open(path('tiny.png')).convert('RGB')
f32('pipe.torchvision_28', to_tensor_normalize(tv_center_crop(tv_resize(im, 32, 2), 28, 28), IMNET['mean'], IMNET['std']))
im = Image.open(path('rgb.png')).convert('RGB')
f32('pipe.crop_pad', to_tensor_normalize(tv_center_crop(im, 40, 50), [0.0] * 3, [1.0] * 3))
im = Image.open(path('tall.png')).convert('RGB')
f32('pipe.crop_pad_both', to_tensor_normalize(tv_center_crop(im, 76, 34), [0.0] * 3, [1.0] * 3))

# ---------------- write safetensors ----------------
header = {'__metadata__': meta}
offset = 0
blobs = []
for name in sorted(tensors):
    dtype, shape, data = tensors[name]
    header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
hbytes = json.dumps(header, separators=(',', ':')).encode()
hbytes += b' ' * ((8 - len(hbytes) % 8) % 8)
with open(os.path.join(HERE, '..', 'expected.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(hbytes)))
    f.write(hbytes)
    for b in blobs:
        f.write(b)
print(len(tensors), 'tensors,', offset, 'bytes of data,', len(files), 'format files')
