#!/usr/bin/python3
"""The PyTorch baseline of bench/run: diffusers' UNet2DModel architecture written directly in PyTorch (the same
parameter names as diffusion4j's U-Net), trained on the exact batches, timesteps, noise and learning rates the Java
run used, with the same optimiser, gradient clip and EMA. Prints one JSON line.

Usage: torch_unet.py DIR train|forward
DIR holds config.json, init.safetensors and batches.safetensors written by Bench prepare.
"""
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I64": np.int64, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=DTYPES[info["dtype"]], count=(end - begin) // np.dtype(
            DTYPES[info["dtype"]]).itemsize, offset=8 + n + begin)
        out[name] = torch.from_numpy(arr.copy().reshape(info["shape"]))
    return out


def timestep_embedding(t, dim, flip_sin_to_cos, shift):
    half = dim // 2
    exponent = -math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (half - shift)
    args = t.float()[:, None] * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)] if flip_sin_to_cos else [torch.sin(args), torch.cos(args)], 1)
    return F.pad(emb, (0, 1)) if dim % 2 == 1 else emb


class Resnet(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class Attention(nn.Module):
    def __init__(self, c, heads, groups, eps):
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, c, eps)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        seq = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        d = c // self.heads
        q, k, v = (m(seq).view(b, -1, self.heads, d).transpose(1, 2) for m in (self.to_q, self.to_k, self.to_v))
        # torch 1.13 has no scaled_dot_product_attention: the same computation written out.
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), -1) @ v
        out = self.to_out[0](att.transpose(1, 2).reshape(b, h * w, c))
        return out.transpose(1, 2).reshape(b, c, h, w) + x


class Down(nn.Module):
    def __init__(self, cfg, cin, cout, attention, downsample, heads):
        super().__init__()
        g, e = cfg["norm_num_groups"], cfg["norm_eps"]
        temb = cfg["block_out_channels"][0] * 4
        n = cfg["layers_per_block"]
        self.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout, temb, g, e) for j in range(n)])
        self.attentions = nn.ModuleList([Attention(cout, heads(cout), g, e) for _ in range(n)]) if attention else None
        self.pad = cfg["downsample_padding"]
        if downsample:
            op = nn.Module()
            op.conv = nn.Conv2d(cout, cout, 3, stride=2, padding=self.pad)
            self.downsamplers = nn.ModuleList([op])
        else:
            self.downsamplers = None

    def forward(self, x, temb, skips):
        for j, r in enumerate(self.resnets):
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[j](x)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0].conv(F.pad(x, (0, 1, 0, 1)) if self.pad == 0 else x)
            skips.append(x)
        return x


class Up(nn.Module):
    def __init__(self, cfg, cin, cout, prev, attention, upsample, heads):
        super().__init__()
        g, e = cfg["norm_num_groups"], cfg["norm_eps"]
        temb = cfg["block_out_channels"][0] * 4
        n = cfg["layers_per_block"] + 1
        self.resnets = nn.ModuleList([Resnet((prev if j == 0 else cout) + (cin if j == n - 1 else cout), cout, temb,
                                             g, e) for j in range(n)])
        self.attentions = nn.ModuleList([Attention(cout, heads(cout), g, e) for _ in range(n)]) if attention else None
        if upsample:
            op = nn.Module()
            op.conv = nn.Conv2d(cout, cout, 3, padding=1)
            self.upsamplers = nn.ModuleList([op])
        else:
            self.upsamplers = None

    def forward(self, x, temb, skips):
        for j, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], 1), temb)
            if self.attentions is not None:
                x = self.attentions[j](x)
        if self.upsamplers is not None:
            x = self.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class Mid(nn.Module):
    def __init__(self, cfg, c, heads):
        super().__init__()
        g, e = cfg["norm_num_groups"], cfg["norm_eps"]
        temb = cfg["block_out_channels"][0] * 4
        self.resnets = nn.ModuleList([Resnet(c, c, temb, g, e), Resnet(c, c, temb, g, e)])
        self.attentions = nn.ModuleList([Attention(c, heads(c), g, e)])

    def forward(self, x, temb):
        return self.resnets[1](self.attentions[0](self.resnets[0](x, temb)), temb)


class UNet2DModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.get("num_class_embeds") is not None:
            raise ValueError("the baseline covers unconditional U-Nets")
        self.cfg = cfg
        ch = cfg["block_out_channels"]
        hd = cfg.get("attention_head_dim")
        heads = (lambda c: c // hd) if hd else (lambda c: 1)
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(ch[0], temb)
        self.time_embedding.linear_2 = nn.Linear(temb, temb)
        levels = len(ch)
        self.down_blocks = nn.ModuleList()
        out = ch[0]
        for i in range(levels):
            cin, out = out, ch[i]
            self.down_blocks.append(Down(cfg, cin, out, cfg["down_block_types"][i].startswith("Attn"), i < levels - 1,
                                         heads))
        self.mid_block = Mid(cfg, ch[-1], heads)
        self.up_blocks = nn.ModuleList()
        out = ch[-1]
        for i in range(levels):
            prev, out = out, ch[levels - 1 - i]
            cin = ch[max(levels - 2 - i, 0)]
            self.up_blocks.append(Up(cfg, cin, out, prev, cfg["up_block_types"][i].startswith("Attn"),
                                     i < levels - 1, heads))
        self.conv_norm_out = nn.GroupNorm(cfg["norm_num_groups"], ch[0], cfg["norm_eps"])
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def forward(self, x, t):
        cfg = self.cfg
        emb = timestep_embedding(t, cfg["block_out_channels"][0], cfg["flip_sin_to_cos"], cfg["freq_shift"])
        emb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(emb)))
        h = self.conv_in(x)
        skips = [h]
        for b in self.down_blocks:
            h = b(h, emb, skips)
        h = self.mid_block(h, emb)
        for b in self.up_blocks:
            h = b(h, emb, skips)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    run_dir, mode = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    with open(f"{run_dir}/config.json") as f:
        setup = json.load(f)
    model = UNet2DModel(setup["model"])
    init = read_safetensors(f"{run_dir}/init.safetensors")
    missing = model.load_state_dict(init, strict=True)
    params = [p for _, p in model.named_parameters()]
    batches = read_safetensors(f"{run_dir}/batches.safetensors")
    x0, eps, t, lr = batches["x0"], batches["eps"], batches["t"], batches["lr"]
    alpha_tab, sigma_tab = batches["alpha"], batches["sigma"]
    result = {"framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
              "parameters": sum(p.numel() for p in params)}
    if mode == "forward":
        model.eval()
        xt = x0[0] * alpha_tab[t[0]].view(-1, 1, 1, 1) + eps[0] * sigma_tab[t[0]].view(-1, 1, 1, 1)
        times = []
        with torch.no_grad():
            out = model(xt, t[0].float())
            for _ in range(setup["forward_repeats"]):
                start = time.perf_counter()
                model(xt, t[0].float())
                times.append(time.perf_counter() - start)
            with torch.profiler.profile(with_flops=True) as prof:
                model(xt, t[0].float())
        result["forward_flops"] = sum(e.flops for e in prof.key_averages() if e.flops)
        result["forward_ms"] = 1000 * float(np.median(times))
        result["output_checksum"] = [float(out.abs().sum()), float(out[0, 0, 0, 0])]
        np.asarray(out.numpy(), dtype=np.float32).tofile(f"{run_dir}/torch-forward.f32")
    elif mode == "sample":
        # DDIM as diffusion4j runs it: trailing timesteps, eta 0, x0 clipped to [-1, 1] with eps re-derived from it
        # (diffusers' use_clipped_model_output=True), the last step to alpha-bar 1.
        model.eval()
        steps = setup["sample_steps"]
        abar = alpha_tab.double() ** 2
        T = abar.shape[0]
        ratio = T / steps
        timesteps = [int(round(T - i * ratio)) - 1 for i in range(steps)]
        x = eps[0].clone()
        with torch.no_grad():
            model(x, torch.zeros(x.shape[0]))  # warm-up, as the Java side does
            start = time.perf_counter()
            for i, tt in enumerate(timesteps):
                a_t = float(abar[tt])
                prev = tt - T // steps
                a_prev = float(abar[prev]) if prev >= 0 else 1.0
                e = model(x, torch.full((x.shape[0],), float(tt)))
                x0p = ((x - (1 - a_t) ** 0.5 * e) / a_t ** 0.5).clamp(-1, 1)
                e = (x - a_t ** 0.5 * x0p) / (1 - a_t) ** 0.5
                x = a_prev ** 0.5 * x0p + (1 - a_prev) ** 0.5 * e
            result["sample_ms"] = 1000 * (time.perf_counter() - start)
        result["steps"] = steps
        np.asarray(x.numpy(), dtype=np.float32).tofile(f"{run_dir}/torch-sample.f32")
    else:
        model.train()
        opt = torch.optim.AdamW(params, lr=float(lr[0]), betas=(0.9, 0.999), eps=setup["adam_eps"],
                                weight_decay=0.0)
        ema = [p.detach().clone() for p in params]
        ema_decay = setup["ema_decay"]
        losses, times = [], []
        for s in range(x0.shape[0]):
            start = time.perf_counter()
            ts = t[s]
            a = alpha_tab[ts].view(-1, 1, 1, 1)
            sg = sigma_tab[ts].view(-1, 1, 1, 1)
            xt = x0[s] * a + eps[s] * sg
            out = model(xt, ts.float())
            loss = (out - eps[s]).square().flatten(1).mean(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, setup["grad_clip"])
            losses.append(loss.item())
            for g in opt.param_groups:
                g["lr"] = float(lr[s])
            opt.step()
            if ema_decay > 0:
                d = min(ema_decay, (1.0 + s) / (10.0 + s))
                with torch.no_grad():
                    for e, p in zip(ema, params):
                        e.lerp_(p, 1 - d)
            times.append(time.perf_counter() - start)
        result["losses"] = losses
        result["step_ms"] = 1000 * float(np.median(times[2:] if len(times) > 4 else times))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
