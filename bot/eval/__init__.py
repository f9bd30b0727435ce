"""Evaluation on benchmark data: BEIR retrieval metrics and answer quality."""
