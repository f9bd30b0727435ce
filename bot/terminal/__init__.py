"""`litbot chat` in a terminal or a pipe: the conversation, the REPL, rendering, slash commands."""
