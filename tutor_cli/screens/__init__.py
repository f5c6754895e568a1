"""The prompt_toolkit screens: the chat REPL (chat.py, with /card), the review screen (review.py),
and the prompts they share (prompts.py: yes/no, one key). prompt_toolkit is imported inside the
functions that draw, never with these modules."""
