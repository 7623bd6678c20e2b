#!/usr/bin/env python3
"""PyTorch eager baseline for the AlignSharp benchmark (run by bench/run.sh, never by CI).

Implements the same models (bench/configs.json shapes, same init scales), the same fixed synthetic batch and
the same DPO step as bench/AlignSharp.Bench: policy forward, reference forward under no_grad (or log-probs
precomputed once), DPO loss, backward, AdamW step. Prints one JSON object per run on stdout.

  /usr/bin/python3 bench/pytorch_dpo_step.py gemm --threads 2 --size 1024
  /usr/bin/python3 bench/pytorch_dpo_step.py step --model gpt2-small --threads 2 --steps 3 --warmup 1
  /usr/bin/python3 bench/pytorch_dpo_step.py logprobs --mode naive --vocab 50257 --rows 8 --seq 512
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- process memory (Linux /proc)
def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Resets VmHWM to the current RSS (Linux >= 4.0: writing 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mib(kib):
    return round(kib / 1024.0, 1)


# ---------------------------------------------------------------- shared inputs
def load_configs():
    with open(os.path.join(HERE, "configs.json")) as f:
        return json.load(f)


def synthetic_batch(vocab, pairs, prompt, completion):
    """Fixed ids from an integer hash (same values as the C# bench): 2B rows, chosen first, no padding."""
    rows, t = 2 * pairs, prompt + completion
    r = torch.arange(rows, dtype=torch.int64).unsqueeze(1)
    c = torch.arange(t, dtype=torch.int64).unsqueeze(0)
    ids = (r * 7919 + c * 104729 + 12345) % vocab  # (R, T)
    mask = torch.ones(rows, t, dtype=torch.int64)
    pos = (mask.cumsum(1) - 1).clamp_min(0)
    comp = torch.zeros(rows, t)
    comp[:, prompt:] = 1
    return ids, mask, pos, comp


def additive_mask(attention_mask, dtype):
    t = attention_mask.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]  # (B, 1, T, T)
    return torch.where(allowed, torch.zeros(1, dtype=dtype), torch.full((1,), torch.finfo(dtype).min, dtype=dtype))


def eager_attention(q, k, v, mask):
    """Plain eager attention (PyTorch 1.13 has no scaled_dot_product_attention). q, k, v (B, H, T, D)."""
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1])) + mask  # (B, H, T, T)
    return att.softmax(-1) @ v


# ---------------------------------------------------------------- GPT-2 (HF layout, same init as Models/Families/Gpt2.cs)
class Conv1D(nn.Module):
    def __init__(self, nin, nout, std=0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nin, nout) * std)
        self.bias = nn.Parameter(torch.zeros(nout))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class Gpt2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, L = c["hidden"], c["layers"]
        self.heads = c["heads"]
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = Conv1D(d, 3 * d)
        self.attn_proj = Conv1D(d, d, 0.02 / math.sqrt(2 * L))
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = Conv1D(d, c["intermediate"])
        self.mlp_proj = Conv1D(c["intermediate"], d, 0.02 / math.sqrt(2 * L))

    def forward(self, x, mask):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))  # (B, T, C) -> (B, H, T, D)
        y = eager_attention(q, k, v, mask).transpose(1, 2).reshape(b, t, d)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["hidden"])
        self.wpe = nn.Embedding(c["max_positions"], c["hidden"])
        with torch.no_grad():
            self.wte.weight.normal_(0, 0.02)
            self.wpe.weight.normal_(0, 0.01)
        self.h = nn.ModuleList(Gpt2Block(c) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["hidden"], eps=1e-5)

    def hidden(self, ids, attention_mask, pos):
        x = self.wte(ids) + self.wpe(pos)
        mask = additive_mask(attention_mask, x.dtype)
        for block in self.h:
            x = block(x, mask)
        return self.ln_f(x)

    def lm_head(self, hidden):
        return F.linear(hidden, self.wte.weight)


# ---------------------------------------------------------------- Llama (HF LlamaForCausalLM shapes, initializer_range 0.02)
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def linear(nin, nout):
    layer = nn.Linear(nin, nout, bias=False)
    with torch.no_grad():
        layer.weight.normal_(0, 0.02)
    return layer


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h, self.kv = c["hidden"], c["heads"], c["kv_heads"]
        self.hd = d // self.h
        self.input_layernorm = RMSNorm(d)
        self.q_proj = linear(d, self.h * self.hd)
        self.k_proj = linear(d, self.kv * self.hd)
        self.v_proj = linear(d, self.kv * self.hd)
        self.o_proj = linear(self.h * self.hd, d)
        self.post_attention_layernorm = RMSNorm(d)
        self.gate_proj = linear(d, c["intermediate"])
        self.up_proj = linear(d, c["intermediate"])
        self.down_proj = linear(c["intermediate"], d)

    def forward(self, x, mask, cos, sin):
        b, t, _ = x.shape
        n = self.input_layernorm(x)
        q = self.q_proj(n).view(b, t, self.h, self.hd).transpose(1, 2)  # (B, T, H*D) -> (B, H, T, D)
        k = self.k_proj(n).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(n).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        y = eager_attention(q, k, v, mask).transpose(1, 2).reshape(b, t, -1)
        x = x + self.o_proj(y)
        n = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden"]
        self.hd = d // c["heads"]
        self.theta = 10000.0
        self.embed_tokens = nn.Embedding(c["vocab"], d)
        with torch.no_grad():
            self.embed_tokens.weight.normal_(0, 0.02)
        self.layers = nn.ModuleList(LlamaBlock(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(d)
        self.head = None if c["tie"] else linear(d, c["vocab"])

    def hidden(self, ids, attention_mask, pos):
        x = self.embed_tokens(ids)
        mask = additive_mask(attention_mask, x.dtype)
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        freqs = pos.float()[..., None] * inv  # (B, T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # (B, 1, T, D)
        cos, sin = emb.cos(), emb.sin()
        for block in self.layers:
            x = block(x, mask, cos, sin)
        return self.norm(x)

    def lm_head(self, hidden):
        return F.linear(hidden, self.embed_tokens.weight if self.head is None else self.head.weight)


def build(c):
    return Gpt2(c) if c["family"] == "gpt2" else Llama(c)


# ---------------------------------------------------------------- log-probs
def logprobs_selected(model, ids, mask, pos, comp, chunk=1024):
    """Same work as AlignSharp's SequenceLogProbs: only scored positions go through the LM head, in chunks."""
    hidden = model.hidden(ids, mask, pos)
    rows, t, c = hidden.shape
    scored = comp[:, 1:].bool()
    flat = scored.reshape(-1).nonzero().squeeze(1)
    h = hidden[:, :-1].reshape(-1, c).index_select(0, flat)
    targets = ids[:, 1:].reshape(-1).index_select(0, flat)
    row_of = torch.div(flat, t - 1, rounding_mode="floor")
    parts = []
    for s in range(0, flat.shape[0], chunk):
        logits = model.lm_head(h[s:s + chunk])
        parts.append(F.log_softmax(logits, 1).gather(1, targets[s:s + chunk, None]).squeeze(1))
    lp = torch.cat(parts) if parts else hidden.new_zeros(0)
    return hidden.new_zeros(rows).index_add(0, row_of, lp)


def logprobs_full(model, ids, mask, pos, comp):
    """TRL's default: full (R, T, V) logits and log-softmax, then gather and mask."""
    logits = model.lm_head(model.hidden(ids, mask, pos))[:, :-1]
    lp = F.log_softmax(logits, -1).gather(2, ids[:, 1:, None]).squeeze(2)
    return (lp * comp[:, 1:]).sum(1)


def dpo_loss(policy, reference, pairs, beta=0.1):
    pw, pl = policy[:pairs], policy[pairs:]
    rw, rl = reference[:pairs], reference[pairs:]
    return -F.logsigmoid(beta * ((pw - rw) - (pl - rl))).mean()


# ---------------------------------------------------------------- modes
def run_gemm(a):
    torch.set_num_threads(a.threads)
    n = a.size
    x, y = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        torch.mm(x, y)
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        torch.mm(x, y)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    # A BLAS kernel forced onto the wrong CPU can be fast and wrong: check one product against float64.
    xs, ys = x[:256, :256], y[:256, :256]
    err = (torch.mm(xs, ys).double() - torch.mm(xs.double(), ys.double())).abs().max().item()
    return {"kind": "gemm", "threads": a.threads, "size": n, "seconds": med, "gflops": 2 * n ** 3 / med / 1e9,
            "max_abs_error_vs_fp64": err, "correct": err < 1e-3,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")}


def run_step(a):
    torch.set_num_threads(a.threads)
    cfgs = load_configs()
    c = cfgs["models"][a.model]
    bt = cfgs["batch"]
    pairs = bt["pairs"]
    torch.manual_seed(a.seed)
    policy = build(c)
    ids, mask, pos, comp = synthetic_batch(c["vocab"], pairs, bt["prompt"], bt["completion"])
    logprobs = logprobs_full if a.logprobs == "full" else logprobs_selected
    reference = None
    cached = None
    if a.reference == "forward":
        torch.manual_seed(a.seed)
        reference = build(c)
        reference.requires_grad_(False)
        reference.eval()
    else:  # precompute once with the initial policy (== reference), then keep only the (2B) log-probs
        with torch.no_grad():
            cached = logprobs(policy, ids, mask, pos, comp)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6, weight_decay=0.0)
    params = sum(p.numel() for p in policy.parameters())
    rss_init = status_kib("VmRSS")
    peak_reset = reset_peak()
    steps = []
    phase_peaks = []  # per step (warm-up included), VmHWM at the end of each phase after a reset at its start
    def phase_end():
        kib = status_kib("VmHWM")
        reset_peak()
        return mib(kib)
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        pol = logprobs(policy, ids, mask, pos, comp)
        t1 = time.perf_counter()
        m1 = phase_end()
        if reference is not None:
            with torch.no_grad():
                ref = logprobs(reference, ids, mask, pos, comp)
        else:
            ref = cached
        t2 = time.perf_counter()
        m2 = phase_end()
        loss = dpo_loss(pol, ref, pairs)
        loss.backward()
        t3 = time.perf_counter()
        m3 = phase_end()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        m4 = phase_end()
        phase_peaks.append({"policy_forward": m1, "reference_forward": m2, "backward": m3, "optimizer": m4})
        if i >= a.warmup:
            steps.append({"policy_forward": t1 - t0, "reference_forward": t2 - t1, "backward": t3 - t2,
                          "optimizer": t4 - t3, "total": t4 - t0, "loss": float(loss)})
        del pol, ref, loss
    return {"kind": "step", "model": a.model, "threads": a.threads, "reference": a.reference, "logprobs": a.logprobs,
            "params": params, "tokens_per_step": int(ids.numel()), "scored_per_step": int(comp[:, 1:].sum()),
            "rss_after_init_mib": mib(rss_init),
            "peak_rss_mib": max([mib(status_kib("VmHWM"))] + [v for p in phase_peaks for v in p.values()]),
            "peak_is_training_only": peak_reset, "phase_peak_rss_mib": phase_peaks, "steps": steps,
            "torch": torch.__version__}


def run_hh(a):
    """The real-data batches AlignSharp's `hh --write-batches` saved, right-padded, through the same DPO step."""
    torch.set_num_threads(a.threads)
    c = load_configs()["models"][a.model]
    with open(a.batches) as f:
        batches = [json.loads(line) for line in f if line.strip()]
    torch.manual_seed(a.seed)
    policy = build(c)
    torch.manual_seed(a.seed)
    reference = build(c)
    reference.requires_grad_(False)
    reference.eval()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6, weight_decay=0.0)
    tensors = []
    for b in batches:
        rows = b["rows"]
        t = max(len(r["ids"]) for r in rows)
        ids = torch.zeros(len(rows), t, dtype=torch.long)
        mask = torch.zeros(len(rows), t, dtype=torch.long)
        comp = torch.zeros(len(rows), t)
        for i, r in enumerate(rows):
            n = len(r["ids"])
            ids[i, :n] = torch.tensor(r["ids"])
            mask[i, :n] = 1
            comp[i, r["prompt"]:n] = 1
        pos = (mask.cumsum(1) - 1).clamp_min(0)
        tensors.append((b["pairs"], ids, mask, pos, comp))
    reset_peak()
    useful = padded = 0
    seconds = 0.0
    losses = []
    for i in range(-1, len(tensors)):  # -1: warm-up on the first batch, not counted
        pairs, ids, mask, pos, comp = tensors[max(i, 0)]
        t0 = time.perf_counter()
        pol = logprobs_selected(policy, ids, mask, pos, comp)
        with torch.no_grad():
            ref = logprobs_selected(reference, ids, mask, pos, comp)
        loss = dpo_loss(pol, ref, pairs)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - t0
        if i < 0:
            continue
        seconds += elapsed
        useful += int(mask.sum())
        padded += int(ids.numel())
        losses.append(float(loss))
        del pol, ref, loss
    return {"kind": "hh", "model": a.model, "batching": a.batching, "threads": a.threads, "batches": len(tensors),
            "useful_tokens": useful, "computed_tokens": padded, "padded_tokens": padded, "seconds": seconds,
            "useful_tokens_per_second": useful / seconds, "peak_rss_mib": mib(status_kib("VmHWM")),
            "losses": losses, "torch": torch.__version__}


def run_logprobs(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = {"family": "gpt2", "vocab": a.vocab, "hidden": a.hidden, "layers": 1, "heads": 4, "kv_heads": 4,
         "intermediate": 4 * a.hidden, "max_positions": a.seq, "tie": True}
    model = build(c)
    ids, mask, pos, comp = synthetic_batch(a.vocab, a.rows // 2, a.seq // 2, a.seq - a.seq // 2)
    before = status_kib("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    fn = logprobs_full if a.mode == "naive" else logprobs_selected
    if a.grad:
        fn(model, ids, mask, pos, comp).sum().backward()
    else:
        with torch.no_grad():
            fn(model, ids, mask, pos, comp)
    dt = time.perf_counter() - t0
    peak = status_kib("VmHWM")
    return {"kind": "logprobs", "mode": a.mode, "grad": a.grad, "vocab": a.vocab, "rows": a.rows, "seq": a.seq,
            "seconds": dt, "rss_before_mib": mib(before), "peak_rss_mib": mib(peak), "peak_delta_mib": mib(peak - before)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--size", type=int, default=1024)
    g.add_argument("--reps", type=int, default=5)
    s = sub.add_parser("step")
    s.add_argument("--model", required=True)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--warmup", type=int, default=1)
    s.add_argument("--reference", choices=["forward", "cached"], default="forward")
    s.add_argument("--logprobs", choices=["selected", "full"], default="selected")
    s.add_argument("--seed", type=int, default=1234)
    lp = sub.add_parser("logprobs")
    lp.add_argument("--mode", choices=["chunked", "naive"], required=True)
    lp.add_argument("--vocab", type=int, default=50257)
    lp.add_argument("--rows", type=int, default=8)
    lp.add_argument("--seq", type=int, default=512)
    lp.add_argument("--hidden", type=int, default=256)
    lp.add_argument("--threads", type=int, default=2)
    lp.add_argument("--grad", action="store_true")
    h = sub.add_parser("hh")
    h.add_argument("--batches", required=True)
    h.add_argument("--batching", required=True)
    h.add_argument("--model", default="hh-small")
    h.add_argument("--threads", type=int, default=2)
    h.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    out = {"gemm": run_gemm, "step": run_step, "logprobs": run_logprobs, "hh": run_hh}[a.cmd](a)
    out["lib"] = "pytorch"
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
