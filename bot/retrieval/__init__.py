"""Retrieval: BM25 and dense search over the store, fused and merged per article."""
