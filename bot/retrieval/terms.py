"""The lexical tokeniser lives with the lexical index on the write side (:mod:`ingest.terms`)."""

from ingest.terms import MIN_SHARED_PREFIX, STOPWORDS, normalise, same_stem, stem_word, tokenize

__all__ = ["MIN_SHARED_PREFIX", "STOPWORDS", "normalise", "same_stem", "stem_word", "tokenize"]
