"""Dialogs: albums, the prompt-set editor, failed files, the search model and the large preview."""
