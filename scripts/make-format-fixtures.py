"""Writes the checkpoint-format fixtures of vit-tests (src/test/resources/formats/) from the golden timm_tiny case.

Run from the repository root with PyTorch, NumPy and safetensors installed; the project never needs Python. Each
file holds the golden timm_tiny weights (so PyTorch's golden logits apply) in a layout the published formats use:
training checkpoints with DDP/compile prefixes and EMA weights, strided and shared storages, float64 storages,
PyTorch's legacy format, sharded safetensors, and JAX .npz variants (opt/target/, big_vision, compressed, bfloat16).
"""
import argparse
import json
import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file

GOLDEN = "vit-tests/src/test/resources/golden"
OUT = "vit-tests/src/test/resources/formats"


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = load_file(f"{GOLDEN}/timm_tiny/model.safetensors")
    # a training checkpoint: DDP-prefixed weights that are NOT the golden ones, the golden ones as EMA weights
    perturbed = {"module." + k: v + 0.01 for k, v in sd.items()}
    ema = {"_orig_mod." + k: v.clone() for k, v in sd.items()}
    torch.save({"model": perturbed, "state_dict_ema": ema, "epoch": 7,
                "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(3)}}, "param_groups": [{"lr": 0.1}]},
                "args": argparse.Namespace(model="vit_tiny", lr=0.1)}, f"{OUT}/training_ema.pth")
    # strided views, one storage shared by all biases, float64 storages (float32 -> float64 -> float32 is exact)
    views = {}
    biases = [k for k in sd if k.endswith(".bias")]
    shared = torch.cat([sd[k] for k in biases])
    at = 0
    for k, v in sd.items():
        if k in biases:
            views[k] = shared[at:at + v.numel()]
            at += v.numel()
        elif v.dim() == 2:
            views[k] = v.t().contiguous().t()  # column-major: strides (1, rows)
        elif k == "pos_embed":
            views[k] = v.double()
        else:
            views[k] = v
    torch.save(views, f"{OUT}/views_f64.pth")
    torch.save(sd, f"{OUT}/legacy.pth", _use_new_zipfile_serialization=False)
    # sharded safetensors
    os.makedirs(f"{OUT}/sharded", exist_ok=True)
    keys = list(sd)
    shards = {"model-00001-of-00002.safetensors": keys[:len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    weight_map = {}
    for name, ks in shards.items():
        save_file({k: sd[k].contiguous() for k in ks}, f"{OUT}/sharded/{name}", metadata={"format": "pt"})
        weight_map.update({k: name for k in ks})
    with open(f"{OUT}/sharded/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": sum(v.numel() * 4 for v in sd.values())}, "weight_map": weight_map}, f)
    # JAX .npz variants of the golden google-research layout
    npz = dict(np.load(f"{GOLDEN}/formats/timm_tiny_npz/model.npz"))
    np.savez(f"{OUT}/opt_target.npz", **{"opt/target/" + k: v for k, v in npz.items()})
    np.savez_compressed(f"{OUT}/compressed.npz", **npz)
    big = {}
    for k, v in npz.items():
        k = (k.replace("Transformer/posembed_input/pos_embedding", "pos_embedding")
             .replace("MultiHeadDotProductAttention_1", "MultiHeadDotProductAttention_0")
             .replace("LayerNorm_2", "LayerNorm_1").replace("MlpBlock_3", "MlpBlock_0"))
        big["params/" + k] = v
    np.savez(f"{OUT}/big_vision.npz", **big)
    # bfloat16 as ml_dtypes stores it: 2-byte void, the float32's upper half (truncated)
    bf16 = {k: (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view("V2") for k, v in npz.items()}
    np.savez(f"{OUT}/bf16.npz", **bf16)


if __name__ == "__main__":
    main()
