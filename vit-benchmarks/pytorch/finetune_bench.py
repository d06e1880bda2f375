"""PyTorch's side of the `vit finetune` speed comparison in docs/training.md (never run by the build).

Usage: OMP_WAIT_POLICY=PASSIVE python3 finetune_bench.py IMAGES-idx3-ubyte EPOCHS [THREADS [MODEL.safetensors]]
Trains what `vit finetune --freeze-blocks 4 --batch 64 --optimizer adamw --augment none` trains on the demo model and
prints images/s per epoch. Interleave it with `vit finetune ... --threads THREADS` runs on the same images.
"""
# timm-compatible ViT (same state-dict names and math as timm's VisionTransformer, fused SDPA attention),
# written out because the mirror's torchvision does not load with torch 2.13+cpu (so timm cannot be imported).
import sys, time, gzip, struct, json
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import load_file

class Attn(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h; s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
    def forward(s, x):
        B, N, C = x.shape
        q, k, v = s.qkv(x).reshape(B, N, 3, s.h, C // s.h).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return s.proj(x.transpose(1, 2).reshape(B, N, C))

class Mlp(nn.Module):
    def __init__(s, d, hid):
        super().__init__(); s.fc1 = nn.Linear(d, hid); s.fc2 = nn.Linear(hid, d)
    def forward(s, x):
        return s.fc2(F.gelu(s.fc1(x)))

class Block(nn.Module):
    def __init__(s, d, h, hid, eps):
        super().__init__(); s.norm1 = nn.LayerNorm(d, eps=eps); s.attn = Attn(d, h); s.norm2 = nn.LayerNorm(d, eps=eps); s.mlp = Mlp(d, hid)
    def forward(s, x):
        x = x + s.attn(s.norm1(x))
        return x + s.mlp(s.norm2(x))

class PatchEmbed(nn.Module):
    def __init__(s, c, d, p):
        super().__init__(); s.proj = nn.Conv2d(c, d, p, p)
    def forward(s, x):
        return s.proj(x).flatten(2).transpose(1, 2)

class ViT(nn.Module):
    def __init__(s, img, p, c, d, depth, h, classes, mlp=4.0, eps=1e-6):
        super().__init__()
        s.patch_embed = PatchEmbed(c, d, p)
        s.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        s.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img // p) ** 2, d))
        s.blocks = nn.Sequential(*[Block(d, h, int(d * mlp), eps) for _ in range(depth)])
        s.norm = nn.LayerNorm(d, eps=eps); s.head = nn.Linear(d, classes)
    def embed(s, x):
        x = s.patch_embed(x)
        return torch.cat([s.cls_token.expand(x.shape[0], -1, -1), x], 1) + s.pos_embed
    def forward_from(s, x, first):
        for b in s.blocks[first:]:
            x = b(x)
        return s.head(s.norm(x)[:, 0])
    def forward(s, x):
        return s.forward_from(s.embed(x), 0)

# PyTorch doing what `vit finetune --freeze-blocks 4 --batch 64 --optimizer adamw --augment none` does on the demo
# model: frozen patch_embed/cls/pos/blocks 0-3, AdamW(lr 1e-3, wd 0.01), shuffled batches, mean cross-entropy.
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
images, epochs = sys.argv[1], int(sys.argv[2])
raw = open(images, 'rb').read()
if raw[:2] == b'\x1f\x8b': raw = gzip.decompress(raw)
n = struct.unpack('>I', raw[4:8])[0]
lab = open(images.replace('images-idx3', 'labels-idx1'), 'rb').read()
if lab[:2] == b'\x1f\x8b': lab = gzip.decompress(lab)
y_all = torch.from_numpy(np.frombuffer(lab[8:8 + n], np.uint8).astype(np.int64))
u8 = np.frombuffer(raw[16:16 + n * 784], np.uint8).reshape(n, 1, 28, 28)
m = ViT(28, 4, 1, 96, 6, 3, 10)
m.load_state_dict(load_file(sys.argv[4] if len(sys.argv) > 4 else 'vit-cli/src/main/resources/dev/vitjava/cli/demo/vit-fashion-mnist/model.safetensors'))
m.train()
for name, p in m.named_parameters():
    p.requires_grad = not name.startswith(('patch_embed', 'cls_token', 'pos_embed', 'blocks.0.', 'blocks.1.', 'blocks.2.', 'blocks.3.'))
opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01)
g = torch.Generator().manual_seed(0)
for epoch in range(epochs):
    t0 = time.perf_counter(); tot = 0.0; correct = 0
    order = torch.randperm(n, generator=g)
    for i in range(0, n, 64):
        idx = order[i:i + 64]
        x = (torch.from_numpy(u8[idx.numpy()]).float() / 255 - 0.286) / 0.353   # ToTensor + Normalize, per batch
        y = y_all[idx]
        opt.zero_grad(set_to_none=True)
        logits = m(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        tot += loss.item() * len(idx); correct += (logits.argmax(1) == y).sum().item()
    dt = time.perf_counter() - t0
    print(json.dumps({'epoch': epoch + 1, 'loss': tot / n, 'accuracy': correct / n, 'images_per_second': n / dt}), flush=True)
