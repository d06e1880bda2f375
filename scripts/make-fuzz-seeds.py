"""Writes the small real files that seed the Jazzer fuzz tests in vit-core (FormatFuzzTest).

Run from the repository root with PyTorch, NumPy, safetensors and Pillow installed; the project itself never
needs Python. Every file is made by the library that publishes that format, so the fuzzer starts from real bytes.
"""
import argparse
import io
import json
import os
import pickle
import zipfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = "vit-core/src/test/resources/dev/vitjava/checkpoint/FormatFuzzTestInputs"


def out(target, name):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def tiny_state():
    g = torch.Generator().manual_seed(0)
    return {"patch_embed.proj.weight": torch.randn(4, 3, 2, 2, generator=g),
            "pos_embed": torch.randn(1, 5, 4, generator=g),
            "head.bias": torch.randn(3, generator=g).half()}


def main():
    torch.manual_seed(0)
    state = tiny_state()
    # safetensors
    save_file(state, out("safetensors", "tiny.safetensors"), metadata={"format": "pt"})
    # torch.save zip archives: a plain state dict, a training checkpoint, a strided view
    torch.save(state, out("checkpoint", "state_dict.pth"))
    ckpt = {"model": {"module." + k: v for k, v in state.items()}, "epoch": 3,
            "args": argparse.Namespace(lr=0.1, model="vit"), "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}
    torch.save(ckpt, out("checkpoint", "training.pth"))
    torch.save({"w": torch.arange(12.0).reshape(3, 4).t(), "b": torch.arange(6.0)[1:4],
                "h": torch.tensor([0.5, -1.25]).half(), "bf": torch.tensor([1.5, -2.25, 3.0]).bfloat16(),
                "d": torch.tensor([0.1], dtype=torch.float64), "step": torch.tensor(7)}, out("checkpoint", "views.pt"))
    # the pickles of those archives, for the unpickler alone
    for name in ("state_dict.pth", "training.pth"):
        with zipfile.ZipFile(out("checkpoint", name)) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            with open(out("pickle", name.replace(".pth", ".pkl")), "wb") as f:
                f.write(z.read(pkl))
    # a pickle that runs a command under Python's unpickler (never here)
    with open(out("pickle", "reduce_system.pkl"), "wb") as f:
        f.write(b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    with open(out("pickle", "protocol0.pkl"), "wb") as f:
        f.write(pickle.dumps({"a": [1, 2.5, "x", None, True], "b": (1, 2)}, protocol=0))
    with open(out("pickle", "protocol4.pkl"), "wb") as f:
        f.write(pickle.dumps({"a": [1, 2 ** 70, b"bytes", frozenset([1])], "b": {1, 2}}, protocol=4))
    # JAX-layout npz, stored and deflated
    g = np.random.default_rng(0)
    jax = {"embedding/kernel": g.standard_normal((2, 2, 3, 4), dtype=np.float32),
           "embedding/bias": g.standard_normal(4, dtype=np.float32),
           "cls": g.standard_normal((1, 1, 4), dtype=np.float32),
           "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel":
               g.standard_normal((4, 2, 2), dtype=np.float32),
           "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/out/kernel":
               g.standard_normal((2, 2, 4), dtype=np.float32),
           "head/kernel": g.standard_normal((4, 3)).astype(np.float16)}
    np.savez(out("checkpoint", "jax.npz"), **jax)
    np.savez_compressed(out("checkpoint", "jax_compressed.npz"), **jax)
    for name, arr in (("f32", jax["embedding/kernel"]), ("f16", jax["head/kernel"])):
        buf = io.BytesIO()
        np.save(buf, arr)
        with open(out("npy", name + ".npy"), "wb") as f:
            f.write(buf.getvalue())
    # config files
    with open(out("config", "hf_config.json"), "w") as f:
        json.dump({"model_type": "vit", "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
                   "intermediate_size": 8, "image_size": 4, "patch_size": 2, "num_channels": 3,
                   "layer_norm_eps": 1e-12, "id2label": {"0": "a", "1": "b", "2": "c"}}, f)
    with open(out("config", "timm_config.json"), "w") as f:
        json.dump({"architecture": "vit_tiny_patch16_224", "num_classes": 3,
                   "model_args": {"img_size": 4, "patch_size": 2, "embed_dim": 4, "depth": 1, "num_heads": 2},
                   "pretrained_cfg": {"input_size": [3, 4, 4], "crop_pct": 0.9, "interpolation": "bicubic",
                                      "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
                   "label_names": ["a", "b", "c"]}, f)
    with open(out("config", "preprocessor_config.json"), "w") as f:
        json.dump({"do_resize": True, "size": {"height": 4, "width": 4}, "resample": 2, "do_normalize": True,
                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}, f)
    # images
    rgb = Image.fromarray((g.random((6, 5, 3)) * 255).astype(np.uint8))
    rgb.save(out("image", "rgb.png"))
    rgb.convert("L").save(out("image", "gray.png"))
    rgb.save(out("image", "rgb.jpg"), quality=90)
    rgb.save(out("image", "rgb.bmp"))
    rgb.convert("P").save(out("image", "palette.gif"))
    rgb.save(out("image", "rgb.webp"), lossless=True)
    # anyParser: every seed behind the byte that selects its target
    for selector, target in enumerate(("safetensors", "checkpoint", "pickle", "npy", "config", "image")):
        for name in sorted(os.listdir(os.path.join(ROOT, target))):
            if name.startswith("crash-"):
                continue
            with open(os.path.join(ROOT, target, name), "rb") as f:
                data = f.read()
            with open(out("anyParser", target + "-" + name), "wb") as f:
                f.write(bytes([selector]) + data)


if __name__ == "__main__":
    main()
