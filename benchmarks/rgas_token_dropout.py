"""RGAS on a teacher with ESM-2 token dropout, as every real fair-esm / HF ESM-2 / DPLM checkpoint loads.

    python benchmarks/rgas_token_dropout.py                # this checkout → rgas_token_dropout.{json,md}
    python benchmarks/rgas_token_dropout.py --stem NAME    # another result name (e.g. for an older checkout)

The committed "before" result ran this script on the commit before the fix:
    git worktree add /tmp/old 85f3ce8 && cp benchmarks/rgas_token_dropout.py /tmp/old/benchmarks/
    cd /tmp/old && PROTDIDI_CATH_FASTA=<the CATH FASTA> python benchmarks/rgas_token_dropout.py \
        --work /tmp/rgas-before --stem rgas_token_dropout_before

Token dropout zeroes the embedding of every position whose id is the mask. RGAS's gradient tilt feeds soft tokens
at exactly those positions, so before the fix (commit 85f3ce8) ∂D/∂logits was 0 there and "tilting" changed
nothing. The check, all on CPU in a few minutes:
  1. a tiny ESM-2 (2 layers x 64, token_dropout=True, random weights, seed 0) is written as a fair-esm `.pt` and
     loaded through `protdidi`'s own loader, as a user's ESM-2 file would be;
  2. `protdidi distill` (DiDi-Instruct) runs for --steps iterations on the CATH training split, which trains the
     discriminator (data vs the student's samples);
  3. the student samples --n sequences of --length residues at --nfe steps, same seed, with RGAS's tilt only
     (rerank_ratio 0, guidance 30 → 40, the spec's) and with the tilt switched off (guidance 0). Reported: the
     largest |∂ΣD/∂logits| at the first (all-mask) step, the fraction of residues where the two sample sets
     differ, and the discriminator's mean logit on the final samples (higher = more data-like to it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from bench import RESULTS, ROOT, add_replot, command_line, machine, run_or_load, save_markdown, table


def run(args) -> dict:
    from protdidi.adapters.esm_weights import save_fair_esm
    from protdidi.config import load_config
    from protdidi.domains.protein.data import default_cath_fasta
    from protdidi.domains.protein.distill import ProteinDistillConfig
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.generation.driver import sample_batch
    from protdidi.methods.distillation import run_distillation
    from protdidi.models.esm2 import Esm2, Esm2Config
    from protdidi.sampling.rgas import RgasSampler

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    teacher = work / "tiny-esm2-token-dropout.pt"
    save_fair_esm(Esm2(Esm2Config(num_layers=2, embed_dim=64, attention_heads=4, token_dropout=True)), teacher)
    sets = [f"teacher={teacher}", f"data.fasta={args.fasta or default_cath_fasta()}", "data.max_length=128",
            "didi.disc_unfrozen_blocks=1", "didi.student_lr=1e-4", "didi.disc_lr=1e-3", "didi.warmup_steps=5",
            f"loop.steps={args.steps}", "loop.batch_size=4", f"loop.save_every={args.steps}",
            f"loop.eval_every={args.steps}", "loop.eval_samples=8", "device=cpu"]
    cfg = load_config(ProteinDistillConfig, None, sets)
    run_dir = work / "didi"
    run_distillation(PROTEIN, cfg, run_dir, resume=(run_dir / "last" / "trainer_state.pt").exists())
    student = PROTEIN.load_model(str(run_dir / "last"))
    assert student.denoiser.backbone.cfg.token_dropout, "the loaded teacher lost token_dropout"
    disc = student.load_discriminator()

    def sample(guidance: float):
        sampler = RgasSampler(schedule=student.schedule, discriminator=disc, num_candidates=1, rerank_ratio=0.0,
                              guidance_start=guidance * 30.0, guidance_end=guidance * 40.0)
        return torch.stack(sample_batch(sampler, student.denoiser, args.n, args.length, args.nfe,
                                        torch.Generator().manual_seed(args.seed)).rows)

    vocab = student.denoiser.vocab
    x = torch.full((args.n, args.length), vocab.mask_id)
    t = torch.ones(args.n)
    with torch.no_grad():
        logits = student.denoiser.logits(x, t).float()
    grad = RgasSampler._reward_gradient(disc, logits, x, t, None, torch.ones_like(x, dtype=torch.bool))
    tilted, plain = sample(1.0), sample(0.0)
    with torch.no_grad():
        final_t = torch.full((args.n,), 1e-5)
        score = {name: float(disc(tokens, final_t).mean())
                 for name, tokens in (("tilted", tilted), ("plain", plain))}
    return {"command": command_line(), "code": code_revision(), "n": args.n, "length": args.length,
            "nfe": args.nfe, "seed": args.seed, "distill_steps": args.steps,
            "max_abs_tilt_gradient": float(grad.abs().max()),
            "fraction_residues_changed_by_tilt": float((tilted != plain).float().mean()),
            "disc_mean_logit_tilted": score["tilted"], "disc_mean_logit_untilted": score["plain"],
            "machine": machine()}


def code_revision() -> str:
    """The commit this checkout is at (+ "with local changes" when its tracked files differ)."""
    import subprocess

    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "protdidi"]).returncode != 0
    return (head or "unknown") + (" with local changes to protdidi/" if dirty else "")


def markdown(r: dict) -> str:
    rows = [["max \\|∂ΣD/∂logits\\| at the all-mask step", f"{r['max_abs_tilt_gradient']:.4g}"],
            ["residues changed by the tilt (same seed)", f"{100 * r['fraction_residues_changed_by_tilt']:.1f}%"],
            ["discriminator mean logit, tilted samples", f"{r['disc_mean_logit_tilted']:.3f}"],
            ["discriminator mean logit, untilted samples", f"{r['disc_mean_logit_untilted']:.3f}"]]
    return "\n".join([
        "# RGAS gradient tilt on a token-dropout ESM-2 teacher", "",
        f"Command: `{r['command']}` (code: {r.get('code', 'unknown')})  ",
        f"Tiny ESM-2 (2 x 64, token_dropout=True, random weights) as a fair-esm .pt; DiDi-Instruct for "
        f"{r['distill_steps']} iterations on CATH; {r['n']} samples of {r['length']} residues, {r['nfe']} NFE, "
        f"seed {r['seed']}, tilt only (guidance 30 → 40) vs guidance 0; {r['machine']}.", "",
        *table(["quantity", "value"], rows)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fasta", help="training FASTA (default: the CATH S40 file)")
    parser.add_argument("--work", default=str(ROOT / "runs" / "rgas-token-dropout"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--nfe", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stem", default="rgas_token_dropout")
    parser.add_argument("--out", default=str(RESULTS))
    add_replot(parser)
    args = parser.parse_args()
    result = run_or_load(args, args.stem, run)
    save_markdown(args, args.stem, markdown(result))


if __name__ == "__main__":
    sys.exit(main())
