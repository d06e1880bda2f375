"""Writes rollout_cases.safetensors: random attention maps and their rollouts, computed in float64 with torch.

The definition (issue 14, after Abnar & Zuidema 2020 and the vit-explain implementation): for each block, fuse the
heads (mean, max or min), zero the lowest floor(T * discard) entries of each fused row except the class-token
column, Â = 0.5·A + 0.5·I with rows renormalised to sum 1, R = Â_L ⋯ Â_1, mask = R[0, 1:] / max.
Run: python3 generate_rollout.py (torch, safetensors).
"""
import torch
from safetensors.torch import save_file

torch.manual_seed(14)
depth, heads, gh, gw = 3, 2, 2, 3
t = 1 + gh * gw
attn = torch.softmax(2.0 * torch.randn(depth, heads, t, t, dtype=torch.float64), dim=-1)


def rollout(attn, fusion, discard):
    r = torch.eye(t, dtype=torch.float64)
    for a in attn:
        f = {"mean": a.mean(0), "max": a.max(0).values, "min": a.min(0).values}[fusion].clone()
        k = int(t * discard)
        if k > 0:
            low = f.topk(k, dim=-1, largest=False).indices
            for i in range(t):
                cols = low[i][low[i] != 0]
                f[i, cols] = 0
        a_hat = 0.5 * f + 0.5 * torch.eye(t, dtype=torch.float64)
        a_hat = a_hat / a_hat.sum(dim=-1, keepdim=True)
        r = a_hat @ r
    mask = r[0, 1:]
    return (mask / mask.max()).reshape(gh, gw)


out = {"attn": attn}
for fusion in ("mean", "max", "min"):
    for discard in (0.0, 0.3, 0.9):
        out[f"rollout_{fusion}_{discard}"] = rollout(attn, fusion, discard)
save_file(out, "rollout_cases.safetensors")
