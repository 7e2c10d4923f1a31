"""The scorer: every enriched permit scored 0–100 by an LLM, or visibly RETRY (docs/scorer.md)."""
