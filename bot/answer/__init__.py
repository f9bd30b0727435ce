"""Answering: the answerability gate, the extractive digest, the LLM answer and their citations."""
