"""Writes <case>/attention_f64.safetensors for the golden cases: what `vit attention` computes, in float64 torch.

For the batch-1 input of timm_tiny, tv_tiny and timm_tiny_resize_48x48: cls_attn (depth, heads, gh, gw), rollout
(gh, gw) (head mean, 0.5·A + 0.5·I rows renormalised, R = Â_L ⋯ Â_1, R[0, 1:] / max), q and k (depth, heads, T,
head_dim) before the scaling, logits (classes). The forward pass is timm's explicit attention path written out
(qkv rows [q | k | v] head-major, softmax(q·kᵀ·hd^-0.5), exact GELU, eps 1e-6, bicubic pos-embed resampling
without antialias); it is checked against shared/golden/cases/<case>/output_f64.safetensors (float64 PyTorch
outputs of the same checkpoints) before anything is written.
Run from this directory: python3 generate_attention.py /path/to/shared/golden/cases
"""
import sys
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

torch.set_default_dtype(torch.float64)
SHARED = sys.argv[1]


def timm_weights(case):
    w = {k: v.double() for k, v in load_file(f"{case}/model.safetensors").items()}
    if "class_token" not in w:
        return w
    # torchvision naming -> timm naming
    out = {"cls_token": w["class_token"], "pos_embed": w["encoder.pos_embedding"],
           "patch_embed.proj.weight": w["conv_proj.weight"], "patch_embed.proj.bias": w["conv_proj.bias"],
           "norm.weight": w["encoder.ln.weight"], "norm.bias": w["encoder.ln.bias"],
           "head.weight": w["heads.head.weight"], "head.bias": w["heads.head.bias"]}
    i = 0
    while f"encoder.layers.encoder_layer_{i}.ln_1.weight" in w:
        p, q = f"encoder.layers.encoder_layer_{i}.", f"blocks.{i}."
        for a, b in [("ln_1", "norm1"), ("ln_2", "norm2"), ("mlp.0", "mlp.fc1"), ("mlp.3", "mlp.fc2"),
                     ("self_attention.out_proj", "attn.proj")]:
            out[q + b + ".weight"] = w[p + a + ".weight"]
            out[q + b + ".bias"] = w[p + a + ".bias"]
        out[q + "attn.qkv.weight"] = w[p + "self_attention.in_proj_weight"]
        out[q + "attn.qkv.bias"] = w[p + "self_attention.in_proj_bias"]
        i += 1
    return out


def forward(w, x, heads):
    d = w["cls_token"].shape[-1]
    p = w["patch_embed.proj.weight"].shape[-1]
    gh, gw = x.shape[2] // p, x.shape[3] // p
    pos = w["pos_embed"].reshape(1, -1, d)
    g0 = int(round((pos.shape[1] - 1) ** 0.5))
    if (gh, gw) != (g0, g0):
        grid = pos[:, 1:].reshape(1, g0, g0, d).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, gh * gw, d)], 1)
    t = F.conv2d(x, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], stride=p).flatten(2).transpose(1, 2)
    t = torch.cat([w["cls_token"].reshape(1, 1, d), t], 1) + pos
    hd = d // heads
    qs, ks, attns = [], [], []
    i = 0
    while f"blocks.{i}.norm1.weight" in w:
        b = f"blocks.{i}."
        h = F.layer_norm(t, (d,), w[b + "norm1.weight"], w[b + "norm1.bias"], 1e-6)
        qkv = F.linear(h, w[b + "attn.qkv.weight"], w[b + "attn.qkv.bias"])
        q, k, v = qkv.reshape(1, -1, 3, heads, hd).permute(2, 0, 3, 1, 4)
        a = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        o = (a @ v).transpose(1, 2).reshape(1, -1, d)
        t = t + F.linear(o, w[b + "attn.proj.weight"], w[b + "attn.proj.bias"])
        m = F.gelu(F.linear(F.layer_norm(t, (d,), w[b + "norm2.weight"], w[b + "norm2.bias"], 1e-6),
                            w[b + "mlp.fc1.weight"], w[b + "mlp.fc1.bias"]))
        t = t + F.linear(m, w[b + "mlp.fc2.weight"], w[b + "mlp.fc2.bias"])
        qs.append(q[0]), ks.append(k[0]), attns.append(a[0])
        i += 1
    t = F.layer_norm(t, (d,), w["norm.weight"], w["norm.bias"], 1e-6)
    logits = F.linear(t[:, 0], w["head.weight"], w["head.bias"])
    return gh, gw, qs, ks, attns, logits[0]


for case in ["timm_tiny", "tv_tiny", "timm_tiny_resize_48x48"]:
    heads = {"timm_tiny": 4, "tv_tiny": 4, "timm_tiny_resize_48x48": 4}[case]
    x = load_file(f"{case}/input.safetensors")["pixel_values_b1"].double()
    gh, gw, qs, ks, attns, logits = forward(timm_weights(case), x, heads)
    ref = load_file(f"{SHARED}/{case}/output_f64.safetensors")
    # the same function: equal to rounding (1e-15), and 8e-8 on the resize case, whose float64 `embed` itself
    # differs by 6e-7 from its patch embedding plus its recorded pos_embed_resized; far inside float32's 1e-6
    assert (logits - ref["logits_b1"][0]).abs().max() < 1e-7, case
    assert (attns[0] - ref["block0_attn_b1"][0]).abs().max() < 1e-7, case
    t = attns[0].shape[-1]
    r = torch.eye(t)
    for a in attns:
        a_hat = 0.5 * a.mean(0) + 0.5 * torch.eye(t)
        r = (a_hat / a_hat.sum(-1, keepdim=True)) @ r
    mask = r[0, 1:]
    save_file({
        "cls_attn": torch.stack([a[:, 0, 1:].reshape(heads, gh, gw) for a in attns]).contiguous(),
        "rollout": (mask / mask.max()).reshape(gh, gw).contiguous(),
        "q": torch.stack(qs).contiguous(),
        "k": torch.stack(ks).contiguous(),
        "logits": logits.contiguous(),
    }, f"{case}/attention_f64.safetensors")
    print(case, "max |logits - output_f64|:", (logits - ref["logits_b1"][0]).abs().max().item())
