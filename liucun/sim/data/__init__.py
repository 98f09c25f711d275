"""Phrase lists and lexicons of the review-text simulator: data only, no logic."""
