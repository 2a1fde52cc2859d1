#!/usr/bin/python3
"""The PyTorch twin of bench's Throughput: the same network (weights written by Throughput prepare), the same
sampler loop (DPM-Solver++(3M) SDE on the recorded noise levels for images, ancestral DDPM over every step for 2-D
data) on the same starting noise and noise draws. Prints one JSON line.

Usage: torch_sample.py DIR REPEATS [THREADS]
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_unet import UNet2DModel, peak_rss_mb, read_safetensors, timestep_embedding

WARMUP = 3  # network evaluations before the timed loops, as on the Java side


class Mlp(nn.Module):
    """diffusion4j's MlpNet: h = in_proj(x); h += fc2(silu(fc1(silu(h)) + temb)) per block; out_proj(silu(h))."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.get("num_class_embeds") is not None:
            raise ValueError("the twin covers unconditional MLPs")
        h, self.tdim = cfg["hidden"], cfg["time_embed_dim"]
        self.time_fc1 = nn.Linear(self.tdim, h)
        self.time_fc2 = nn.Linear(h, h)
        self.in_proj = nn.Linear(cfg["data_dim"], h)
        self.depth = cfg["depth"]
        for i in range(self.depth):
            setattr(self, f"blocks_{i}_fc1", nn.Linear(h, h))
            setattr(self, f"blocks_{i}_fc2", nn.Linear(h, h))
        self.out_proj = nn.Linear(h, cfg["data_dim"])

    def forward(self, x, t):
        temb = self.time_fc2(F.silu(self.time_fc1(timestep_embedding(t, self.tdim, True, 0))))
        h = self.in_proj(x)
        for i in range(self.depth):
            fc1, fc2 = getattr(self, f"blocks_{i}_fc1"), getattr(self, f"blocks_{i}_fc2")
            h = h + fc2(F.silu(fc1(F.silu(h)) + temb))
        return self.out_proj(F.silu(h))


def x0_of(out, x, alpha, sigma, prediction):
    if prediction == "flow":
        return (x - sigma * out) / (alpha + sigma)
    if prediction == "epsilon":
        return (x - sigma * out) / alpha
    raise ValueError(f"the twin knows flow and epsilon prediction, not {prediction}")


def dpmpp_3m_sde(net, x, levels, draws, prediction, clip):
    """Java's DpmSolverSampler with order 3, midpoint, SDE, lower order final (fewer than 15 steps)."""
    n = len(levels) - 1
    lambdas, x0s = [], []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n):
            t, a, s = (np.float64(v) for v in levels[i])
            _, a2, s2 = (np.float64(v) for v in levels[i + 1])
            out = net(x, torch.full((x.shape[0],), float(t)))
            x0 = x0_of(out, x, float(a), float(s), prediction)
            if clip:
                x0 = x0.clamp(-1, 1)
            lower_final = i == n - 1 and (s2 == 0 or n < 15)
            order = 1 if lower_final else min(3, i + 1, 2 if (i == n - 2 and n < 15) else 3)
            e = (s2 / a2) / (s / a)
            lam = np.log(a) - np.log(s)
            decay = 1 - e * e
            keep = s2 / s * e
            nxt = x * float(keep) + x0 * float(a2 * decay)
            h = -np.log(e)
            h_eff = 2 * h
            phi2 = 1 - decay / h_eff
            if order == 2:
                r = (lam - lambdas[-1]) / h
                nxt = nxt + ((x0 - x0s[-1]) * float(1 / r)) * float(0.5 * a2 * decay)
            elif order == 3:
                r0 = (lam - lambdas[-1]) / h
                r1 = (lambdas[-1] - lambdas[-2]) / h
                d10 = (x0 - x0s[-1]) * float(1 / r0)
                d11 = (x0s[-1] - x0s[-2]) * float(1 / r1)
                bend = d10 - d11
                d1 = d10 + bend * float(r0 / (r0 + r1))
                d2 = bend * float(1 / (r0 + r1))
                phi3 = 0.5 - (h_eff - decay) / (h_eff * h_eff)
                nxt = nxt + d1 * float(a2 * phi2) + d2 * float(a2 * phi3)
            nxt = nxt + draws[i] * float(s2 * np.sqrt(decay))
            x0s = (x0s + [x0])[-2:]
            lambdas.append(lam)
            x = nxt
    return x


def ddpm(net, x, steps, draws, prediction, clip):
    """Java's DdpmSampler, fixed_small variance: x' = posterior mean + sqrt(beta-tilde) z while t > 0."""
    k = 0
    for t, abar, prev in steps:
        out = net(x, torch.full((x.shape[0],), float(t)))
        x0 = x0_of(out, x, abar ** 0.5, (1 - abar) ** 0.5, prediction)
        if clip:
            x0 = x0.clamp(-1, 1)
        alpha_t = abar / prev
        beta = 1 - alpha_t
        mean = x0 * (prev ** 0.5 * beta / (1 - abar)) + x * (alpha_t ** 0.5 * (1 - prev) / (1 - abar))
        if t > 0:
            mean = mean + draws[k] * max((1 - prev) / (1 - abar) * beta, 1e-20) ** 0.5
            k += 1
        x = mean
    return x


def main():
    run_dir, repeats = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    with open(f"{run_dir}/setup.json") as f:
        setup = json.load(f)
    net = UNet2DModel(setup["model"]) if setup["model_type"] == "unet" else Mlp(setup["model"])
    net.load_state_dict(read_safetensors(f"{run_dir}/model.safetensors"), strict=True)
    net.eval()
    noise = read_safetensors(f"{run_dir}/noise.safetensors")
    x_t, draws = noise["x_T"], noise["draws"]
    times = []
    first_t = setup["levels"][0][0] if "levels" in setup else setup["steps"][0][0]
    with torch.no_grad():
        for _ in range(WARMUP):
            net(x_t, torch.full((x_t.shape[0],), float(first_t)))
        for _ in range(repeats):
            start = time.perf_counter()
            if "levels" in setup:
                x = dpmpp_3m_sde(net, x_t, setup["levels"], draws, setup["prediction"], setup["clip"])
            else:
                x = ddpm(net, x_t, setup["steps"], draws, setup["prediction"], setup["clip"])
            times.append(time.perf_counter() - start)
    np.asarray(x.numpy(), dtype=np.float32).tofile(f"{run_dir}/torch-out.f32")
    ms = 1000 * float(np.median(times))
    print(json.dumps({"framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
                      "sample_ms": ms, "images_per_s": x_t.shape[0] / (ms / 1000), "peak_rss_mb": peak_rss_mb(),
                      "max_abs_diff_vs_java": float((x - noise["reference"]).abs().max())}))


if __name__ == "__main__":
    main()
