"""Domain plug-ins by name. Each `protdidi/domains/<name>/plugin.py` defines `DOMAIN`, a
`protdidi.domains.base.Domain`; this package's import is torch-free (the CLI lists the names for `--help`)."""

from protdidi.registry import Registry

DOMAINS = Registry("domain", {"protein": "protdidi.domains.protein.plugin:DOMAIN",
                              "text": "protdidi.domains.text.plugin:DOMAIN"})
DOMAIN_HELP = "protein (ESM-2 alphabet, FASTA) or text (HF tokenizer + [MASK], JSONL/text)."
