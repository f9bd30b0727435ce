"""PubMed straight from NCBI E-utilities: the client, resumable fetches and saved watches."""
