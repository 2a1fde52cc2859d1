#!/usr/bin/python3
"""The PyTorch twin of bench/java's DiTBench: DiT-S/2 (diffusers' DiTTransformer2DModel, the same parameter names)
written directly in PyTorch 1.13, on the weights and inputs DiTBench prepare wrote. Prints one JSON line.

Usage: torch_dit.py DIR forward|train [THREADS]
"""
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_unet import read_safetensors  # noqa: E402


def timestep_features(t):
    # diffusers' Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=1), in float32.
    exponent = -math.log(10000.0) * torch.arange(128, dtype=torch.float32) / (128 - 1)
    args = t.float()[:, None] * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], 1)


def positions(dim, grid):
    omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim // 4))
    coords = np.arange(grid, dtype=np.float32)
    rows, cols = np.meshgrid(coords, coords, indexing="ij")
    def enc(v):
        out = np.einsum("m,d->md", v.reshape(-1).astype(np.float64), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    return torch.from_numpy(np.concatenate([enc(cols), enc(rows)], axis=1)).float()[None]


def linear(w, name, x):
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def forward(w, cfg, x, t, labels):
    b = x.shape[0]
    p, d, heads = cfg["patch_size"], cfg["num_attention_heads"] * cfg["attention_head_dim"], cfg["num_attention_heads"]
    g = x.shape[2] // p
    h = F.conv2d(x, w["pos_embed.proj.weight"], w["pos_embed.proj.bias"], stride=p).flatten(2).transpose(1, 2)
    h = h + positions(d, g)
    feats = timestep_features(t)
    first = None
    for i in range(cfg["num_layers"]):
        n = f"transformer_blocks.{i}."
        c = linear(w, n + "norm1.emb.timestep_embedder.linear_2",
                   F.silu(linear(w, n + "norm1.emb.timestep_embedder.linear_1", feats)))
        c = c + F.embedding(labels, w[n + "norm1.emb.class_embedder.embedding_table.weight"])
        first = c if first is None else first
        m = linear(w, n + "norm1.linear", F.silu(c)).chunk(6, dim=1)
        a = F.layer_norm(h, (d,), eps=1e-6) * (1 + m[1][:, None]) + m[0][:, None]
        q, k, v = (linear(w, n + "attn1." + s, a).view(b, -1, heads, d // heads).transpose(1, 2)
                   for s in ("to_q", "to_k", "to_v"))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), dim=-1) @ v
        h = h + m[2][:, None] * linear(w, n + "attn1.to_out.0", att.transpose(1, 2).reshape(b, -1, d))
        f = F.layer_norm(h, (d,), eps=cfg["norm_eps"]) * (1 + m[4][:, None]) + m[3][:, None]
        f = linear(w, n + "ff.net.2", F.gelu(linear(w, n + "ff.net.0.proj", f), approximate="tanh"))
        h = h + m[5][:, None] * f
    shift, scale = linear(w, "proj_out_1", F.silu(first)).chunk(2, dim=1)
    h = linear(w, "proj_out_2", F.layer_norm(h, (d,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None])
    out = cfg["out_channels"]
    return h.reshape(b, g, g, p, p, out).permute(0, 5, 1, 3, 2, 4).reshape(b, out, g * p, g * p)


def main():
    run_dir, mode = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    with open(f"{run_dir}/config.json") as f:
        cfg = json.load(f)
    w = read_safetensors(f"{run_dir}/weights.safetensors")
    inputs = read_safetensors(f"{run_dir}/inputs.safetensors")
    x, t, labels = inputs["x"], inputs["t"], inputs["labels"]
    result = {"framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
              "parameters": sum(v.numel() for v in w.values())}
    times = []
    if mode == "forward":
        with torch.no_grad():
            out = forward(w, cfg, x, t, labels)
            for _ in range(5):
                start = time.perf_counter()
                forward(w, cfg, x, t, labels)
                times.append(time.perf_counter() - start)
        out.numpy().astype("<f4").tofile(f"{run_dir}/torch-forward.f32")
        result["forward_ms"] = 1000 * float(np.median(times))
    else:
        for v in w.values():
            v.requires_grad_(True)
        for i in range(6):
            start = time.perf_counter()
            forward(w, cfg, x, t, labels).square().mean().backward()
            if i > 0:
                times.append(time.perf_counter() - start)
            for v in w.values():
                v.grad = None
        result["step_ms"] = 1000 * float(np.median(times))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
